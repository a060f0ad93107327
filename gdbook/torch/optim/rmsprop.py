"""RMSprop: step sizes from a moving average of squared gradients, for torch
tensors."""

from __future__ import annotations

import torch

from ... import optim as reference
from .base import Optimizer, as_real, direction


def rmsprop_(
    param: torch.Tensor,
    grad: torch.Tensor,
    square_avg: torch.Tensor,
    grad_avg: torch.Tensor | None,
    momentum_buffer: torch.Tensor | None,
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    maximize: bool,
) -> None:
    r"""One RMSprop step on ``param``, in place, as torch.optim.RMSprop's
    for-loop.

        d = grad + weight_decay * param      (grad negated when maximize)
        v <- alpha * v + (1 - alpha) * d * d
        m <- alpha * m + (1 - alpha) * d
        s = sqrt(v - m * m) + eps            (centered: grad_avg given)
            sqrt(v) + eps                    (otherwise)
        b <- momentum * b + d / s
        param <- param - lr * b              (momentum > 0)
                 param - lr * d / s          (otherwise)

    A complex parameter is updated, after d, as its real and imaginary parts
    (:func:`as_real`).

    Formula and sources: :class:`gdbook.optim.RMSprop`, the NumPy reference.
    """
    d = direction(param, grad, weight_decay, maximize)
    param, d, square_avg, grad_avg, momentum_buffer = map(
        as_real, (param, d, square_avg, grad_avg, momentum_buffer)
    )
    square_avg.mul_(alpha).addcmul_(d, d, value=1 - alpha)
    if grad_avg is not None:
        grad_avg.lerp_(d, 1 - alpha)
        avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
    else:
        avg = square_avg.sqrt()
    avg = avg.add_(eps)
    if momentum:
        momentum_buffer.mul_(momentum).addcdiv_(d, avg)
        param.add_(momentum_buffer, alpha=-lr)
    else:
        param.addcdiv_(d, avg, value=-lr)


class RMSprop(Optimizer):
    """RMSprop, equal to ``torch.optim.RMSprop`` (same arguments, defaults and
    state)."""

    kernel = staticmethod(rmsprop_)
    reference_class = reference.RMSprop

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                alpha=alpha,
                eps=eps,
                centered=centered,
                weight_decay=weight_decay,
                capturable=capturable,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
            ),
        )

    def _init_state(self, param, group):
        state = {
            "step": torch.tensor(0.0),
            "square_avg": torch.zeros_like(param),
        }
        if group["momentum"]:
            state["momentum_buffer"] = torch.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = torch.zeros_like(param)
        return state

    def _update(self, param, grad, state, group):
        state["step"] += 1
        self._kernel(
            param,
            grad,
            state["square_avg"],
            state.get("grad_avg"),
            state.get("momentum_buffer"),
            lr=group["lr"],
            alpha=group["alpha"],
            eps=group["eps"],
            momentum=group["momentum"],
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
        )
