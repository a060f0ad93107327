"""Adamax, for torch tensors."""

from __future__ import annotations

import torch

from ...optim.adamax import Adamax as Reference
from .base import Optimizer, as_real, direction


def adamax_(
    param: torch.Tensor,
    grad: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_inf: torch.Tensor,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
    step: float,
) -> None:
    r"""Adamax step number ``step`` (1, 2, ...) on ``param``, in place, as
    torch.optim.Adamax's for-loop.

        d = grad + weight_decay * param      (grad negated when maximize)
        m <- beta1 * m + (1 - beta1) * d
        u <- max(beta2 * u, |d| + eps)
        param <- param - lr / (1 - beta1^step) * m / u

    A complex parameter is updated, after d, as its real and imaginary parts
    (:func:`as_real`).

    Formula and sources: :class:`gdbook.optim.Adamax`, the NumPy reference.
    """
    d = direction(param, grad, weight_decay, maximize)
    param, d, exp_avg, exp_inf = map(as_real, (param, d, exp_avg, exp_inf))
    exp_avg.lerp_(d, 1 - beta1)
    torch.maximum(exp_inf.mul_(beta2), d.abs().add_(eps), out=exp_inf)
    param.addcdiv_(exp_avg, exp_inf, value=-(lr / (1 - beta1**step)))


class Adamax(Optimizer):
    """Adamax, equal to ``torch.optim.Adamax`` (same arguments, defaults and
    state: ``step``, ``exp_avg``, ``exp_inf``)."""

    kernel = staticmethod(adamax_)
    reference_class = Reference
    fused_alternative = "FlatAdamax"

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
                capturable=capturable,
            ),
        )

    def _init_state(self, param, group):
        return {
            "step": torch.tensor(0.0),
            "exp_avg": torch.zeros_like(param),
            "exp_inf": torch.zeros_like(param),
        }

    def _update(self, param, grad, state, group):
        state["step"] += 1
        beta1, beta2 = group["betas"]
        self._kernel(
            param,
            grad,
            state["exp_avg"],
            state["exp_inf"],
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
            step=state["step"].item(),
        )
