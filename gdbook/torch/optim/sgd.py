"""SGD with optional heavy-ball or Nesterov momentum, for torch tensors."""

from __future__ import annotations

import torch

from ... import optim as reference
from .base import Optimizer, direction


def sgd_(
    param: torch.Tensor,
    grad: torch.Tensor,
    momentum_buffer: torch.Tensor | None,
    *,
    lr: float,
    momentum: float,
    dampening: float,
    nesterov: bool,
    weight_decay: float,
    maximize: bool,
    first_step: bool,
) -> None:
    r"""One SGD step on ``param``, in place, with the operations of
    torch.optim.SGD's for-loop.

        d = grad + weight_decay * param      (grad negated when maximize)
        b = d  on the first step,
            else  b = momentum * b + (1 - dampening) * d    (if momentum > 0)
        d = d + momentum * b   if nesterov   else   b
        param <- param - lr * d

    A complex parameter is updated in complex arithmetic, as in torch.optim.

    Formula and sources: :class:`gdbook.optim.SGD`, the NumPy reference.
    """
    d = direction(param, grad, weight_decay, maximize)
    if momentum:
        if first_step:
            momentum_buffer.copy_(d)
        else:
            momentum_buffer.mul_(momentum).add_(d, alpha=1 - dampening)
        d = (
            d.add(momentum_buffer, alpha=momentum)
            if nesterov
            else momentum_buffer
        )
    param.add_(d, alpha=-lr)


class SGD(Optimizer):
    """SGD, equal to ``torch.optim.SGD`` (same arguments, defaults and state:
    ``momentum_buffer``)."""

    kernel = staticmethod(sgd_)
    reference_class = reference.SGD
    fused_alternative = "FlatSGD"

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        differentiable: bool = False,
        fused: bool | None = None,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                dampening=dampening,
                weight_decay=weight_decay,
                nesterov=nesterov,
                maximize=maximize,
                foreach=foreach,
                differentiable=differentiable,
                fused=fused,
            ),
        )

    def _update(self, param, grad, state, group):
        first_step = "momentum_buffer" not in state
        if group["momentum"] and first_step:
            state["momentum_buffer"] = torch.empty_like(param)
        self._kernel(
            param,
            grad,
            state.get("momentum_buffer"),
            lr=group["lr"],
            momentum=group["momentum"],
            dampening=group["dampening"],
            nesterov=group["nesterov"],
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
            first_step=first_step,
        )
