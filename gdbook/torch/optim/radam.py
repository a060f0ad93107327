"""RAdam, for torch tensors."""

from __future__ import annotations

import torch

from ...optim.radam import RAdam as Reference
from .base import Optimizer, as_real, direction


def radam_(
    param: torch.Tensor,
    grad: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_sq: torch.Tensor,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
    maximize: bool,
    step: float,
) -> None:
    r"""RAdam step number ``step`` (1, 2, ...) on ``param``, in place, as
    torch.optim.RAdam's for-loop.

        d = grad + weight_decay * param
            (grad negated when maximize; with decoupled_weight_decay instead
             param <- (1 - lr * weight_decay) * param and d = grad)
        m <- beta1 * m + (1 - beta1) * d
        v <- beta2 * v + (1 - beta2) * d * d
        m^ = m / (1 - beta1^step)
        rho_inf = 2 / (1 - beta2) - 1
        rho = rho_inf - 2 step beta2^step / (1 - beta2^step)
        param <- param - lr * m^ * r * sqrt(1 - beta2^step) / (sqrt(v) + eps)
                 with r = sqrt((rho - 4) (rho - 2) rho_inf
                               / ((rho_inf - 4) (rho_inf - 2) rho))
                 if rho > 5, else  param <- param - lr * m^

    A complex parameter is updated, after d, as its real and imaginary parts
    (:func:`as_real`).

    Formula and sources: :class:`gdbook.optim.RAdam`, the NumPy reference.
    """
    if decoupled_weight_decay:
        d = direction(param, grad, 0.0, maximize)
        if weight_decay:
            param.mul_(1 - lr * weight_decay)
    else:
        d = direction(param, grad, weight_decay, maximize)
    param, d, exp_avg, exp_avg_sq = map(
        as_real, (param, d, exp_avg, exp_avg_sq)
    )
    exp_avg.lerp_(d, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(d, d, value=1 - beta2)
    bias_correction2 = 1 - beta2**step
    m_hat = exp_avg / (1 - beta1**step)
    rho_inf = 2 / (1 - beta2) - 1
    rho = rho_inf - 2 * step * (beta2**step) / bias_correction2
    if rho > 5.0:
        rect = (
            (rho - 4)
            * (rho - 2)
            * rho_inf
            / ((rho_inf - 4) * (rho_inf - 2) * rho)
        ) ** 0.5
        adaptive = bias_correction2**0.5 / exp_avg_sq.sqrt().add_(eps)
        param.add_(m_hat * lr * adaptive * rect, alpha=-1.0)
    else:
        param.add_(m_hat * lr, alpha=-1.0)


class RAdam(Optimizer):
    """RAdam, equal to ``torch.optim.RAdam`` (same arguments, defaults and
    state: ``step``, ``exp_avg``, ``exp_avg_sq``)."""

    kernel = staticmethod(radam_)
    reference_class = Reference

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        decoupled_weight_decay: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                maximize=maximize,
                foreach=foreach,
                capturable=capturable,
                decoupled_weight_decay=decoupled_weight_decay,
                differentiable=differentiable,
            ),
        )

    def _init_state(self, param, group):
        return {
            "step": torch.tensor(0.0),
            "exp_avg": torch.zeros_like(param),
            "exp_avg_sq": torch.zeros_like(param),
        }

    def _update(self, param, grad, state, group):
        state["step"] += 1
        beta1, beta2 = group["betas"]
        self._kernel(
            param,
            grad,
            state["exp_avg"],
            state["exp_avg_sq"],
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            decoupled_weight_decay=group["decoupled_weight_decay"],
            maximize=group["maximize"],
            step=state["step"].item(),
        )
