"""NAdam, for torch tensors."""

from __future__ import annotations

import torch

from ...optim.nadam import NAdam as Reference
from .base import Optimizer, as_real, direction


def momentum_coefficients(
    beta1: float, momentum_decay: float, step: float
) -> tuple[float, float]:
    """NAdam's momentum coefficients of steps ``step`` and ``step + 1``,
    ``mu_t = beta1 * (1 - 0.5 * 0.96^(t * momentum_decay))`` (Dozat 2016, as
    torch.optim.NAdam)."""
    mu = beta1 * (1.0 - 0.5 * 0.96 ** (step * momentum_decay))
    mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((step + 1) * momentum_decay))
    return mu, mu_next


def nadam_(
    param: torch.Tensor,
    grad: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_sq: torch.Tensor,
    mu_product: torch.Tensor,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    momentum_decay: float,
    decoupled_weight_decay: bool,
    maximize: bool,
    step: float,
) -> None:
    r"""NAdam step number ``step`` (1, 2, ...) on ``param``, in place, as
    torch.optim.NAdam's for-loop; ``mu_product``, a 0-d tensor, is
    multiplied by this step's momentum coefficient.

        d = grad + weight_decay * param
            (grad negated when maximize; with decoupled_weight_decay instead
             param <- (1 - lr * weight_decay) * param and d = grad)
        mu      = beta1 * (1 - 0.5 * 0.96^(step * momentum_decay))
        mu_next = beta1 * (1 - 0.5 * 0.96^((step + 1) * momentum_decay))
        mu_product <- mu_product * mu
        m <- beta1 * m + (1 - beta1) * d
        v <- beta2 * v + (1 - beta2) * d * d
        D = sqrt(v / (1 - beta2^step)) + eps
        param <- param - lr * (1 - mu) / (1 - mu_product) * d / D
                       - lr * mu_next / (1 - mu_product * mu_next) * m / D

    A complex parameter is updated, after d, as its real and imaginary parts
    (:func:`as_real`).

    Formula and sources: :class:`gdbook.optim.NAdam`, the NumPy reference.
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
    mu, mu_next = momentum_coefficients(beta1, momentum_decay, step)
    mu_product *= mu
    product = mu_product.item()
    exp_avg.lerp_(d, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(d, d, value=1 - beta2)
    denom = exp_avg_sq.div(1 - beta2**step).sqrt().add_(eps)
    param.addcdiv_(d, denom, value=-lr * (1.0 - mu) / (1.0 - product))
    param.addcdiv_(
        exp_avg, denom, value=-lr * mu_next / (1.0 - product * mu_next)
    )


class NAdam(Optimizer):
    """NAdam, equal to ``torch.optim.NAdam`` (same arguments, defaults and
    state: ``step``, ``mu_product``, ``exp_avg``, ``exp_avg_sq``)."""

    kernel = staticmethod(nadam_)
    reference_class = Reference
    fused_alternative = "FlatNAdam"

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        momentum_decay: float = 4e-3,
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
                momentum_decay=momentum_decay,
                decoupled_weight_decay=decoupled_weight_decay,
                maximize=maximize,
                foreach=foreach,
                capturable=capturable,
                differentiable=differentiable,
            ),
        )

    def __setstate__(self, state: dict) -> None:
        """As torch.optim.NAdam: a Python float ``mu_product`` from an older
        state dict becomes a tensor."""
        super().__setstate__(state)
        for param_state in self.state.values():
            if "mu_product" in param_state and not torch.is_tensor(
                param_state["mu_product"]
            ):
                param_state["mu_product"] = torch.tensor(
                    float(param_state["mu_product"])
                )

    def _init_state(self, param, group):
        return {
            "step": torch.tensor(0.0),
            "mu_product": torch.tensor(1.0),
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
            state["mu_product"],
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            momentum_decay=group["momentum_decay"],
            decoupled_weight_decay=group["decoupled_weight_decay"],
            maximize=group["maximize"],
            step=state["step"].item(),
        )
