"""Adadelta: steps with the units of the parameters, for torch tensors."""

from __future__ import annotations

import torch

from ... import optim as reference
from .base import Optimizer, as_real, direction


def adadelta_(
    param: torch.Tensor,
    grad: torch.Tensor,
    square_avg: torch.Tensor,
    acc_delta: torch.Tensor,
    *,
    lr: float,
    rho: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
) -> None:
    r"""One Adadelta step on ``param``, in place, as torch.optim.Adadelta's
    for-loop.

        d  = grad + weight_decay * param          (grad negated when maximize)
        v  <- rho * v + (1 - rho) * d * d
        dx = sqrt(u + eps) / sqrt(v + eps) * d
        u  <- rho * u + (1 - rho) * dx * dx
        param <- param - lr * dx

    For a complex parameter, v, dx and u are computed on the real and imaginary
    parts (:func:`as_real`).

    Formula and sources: :class:`gdbook.optim.Adadelta`, the NumPy reference.
    """
    d = direction(param, grad, weight_decay, maximize)
    d, square_avg, acc_delta = map(as_real, (d, square_avg, acc_delta))
    square_avg.mul_(rho).addcmul_(d, d, value=1 - rho)
    std = square_avg.add(eps).sqrt_()
    delta = acc_delta.add(eps).sqrt_().div_(std).mul_(d)
    acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
    param.add_(
        torch.view_as_complex(delta) if param.is_complex() else delta,
        alpha=-lr,
    )


class Adadelta(Optimizer):
    """Adadelta, equal to ``torch.optim.Adadelta`` (same arguments, defaults
    and state)."""

    kernel = staticmethod(adadelta_)
    reference_class = reference.Adadelta

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        *,
        capturable: bool = False,
        maximize: bool = False,
        differentiable: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                rho=rho,
                eps=eps,
                weight_decay=weight_decay,
                maximize=maximize,
                capturable=capturable,
                foreach=foreach,
                differentiable=differentiable,
            ),
        )

    def _init_state(self, param, group):
        return {
            "step": torch.tensor(0.0),
            "square_avg": torch.zeros_like(param),
            "acc_delta": torch.zeros_like(param),
        }

    def _update(self, param, grad, state, group):
        state["step"] += 1
        self._kernel(
            param,
            grad,
            state["square_avg"],
            state["acc_delta"],
            lr=group["lr"],
            rho=group["rho"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
        )
