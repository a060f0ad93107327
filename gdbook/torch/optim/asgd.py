"""ASGD: SGD with a decaying step size and a running average of the
iterates, for torch tensors."""

from __future__ import annotations

import torch

from ...optim.asgd import ASGD as Reference
from .base import Optimizer, as_real, as_scalar, direction


def scalar_dtype() -> torch.dtype:
    """The dtype torch.optim keeps its scalar state in (``step``, ASGD's
    ``eta`` and ``mu``): float64 if that is torch's default, else float32."""
    return (
        torch.float64
        if torch.get_default_dtype() == torch.float64
        else torch.float32
    )


def asgd_(
    param: torch.Tensor,
    grad: torch.Tensor,
    ax: torch.Tensor,
    eta: torch.Tensor,
    mu: torch.Tensor,
    *,
    lr: float,
    lambd: float,
    alpha: float,
    t0: float,
    weight_decay: float,
    maximize: bool,
    step: float,
) -> None:
    r"""ASGD step number ``step`` (1, 2, ...) on ``param``, in place, as
    torch.optim.ASGD's for-loop; ``eta`` and ``mu`` are 0-d state tensors.

        d = grad + weight_decay * param      (grad negated when maximize)
        param <- (1 - lambd * eta) * param - eta * d
        ax <- param   if mu == 1   else   ax + mu * (param - ax)
        eta <- lr / (1 + lambd * lr * step)^alpha
        mu <- 1 / max(1, step - t0)

    A complex parameter is updated, after d, as its real and imaginary parts
    (:func:`as_real`).

    Formula and sources: :class:`gdbook.optim.ASGD`, the NumPy reference.
    """
    d = direction(param, grad, weight_decay, maximize)
    param, d, ax = map(as_real, (param, d, ax))
    eta_value = eta.item()
    param.mul_(1 - lambd * eta_value)
    param.add_(d, alpha=-eta_value)
    if mu.item() != 1:
        ax.add_(param.sub(ax).mul_(mu))
    else:
        ax.copy_(param)
    eta.copy_(torch.as_tensor(lr / ((1 + lambd * lr * step) ** alpha)))
    mu.copy_(torch.as_tensor(1 / max(1, step - t0)))


class ASGD(Optimizer):
    """ASGD, equal to ``torch.optim.ASGD`` (same arguments, defaults and
    state: ``step``, ``eta``, ``mu`` and ``ax``, the averaged iterate)."""

    kernel = staticmethod(asgd_)
    reference_class = Reference

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 1e-2,
        lambd: float = 1e-4,
        alpha: float = 0.75,
        t0: float = 1e6,
        weight_decay: float = 0.0,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
        capturable: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                lambd=lambd,
                alpha=alpha,
                t0=t0,
                weight_decay=weight_decay,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
                capturable=capturable,
            ),
        )

    def _init_state(self, param, group):
        dtype = scalar_dtype()
        return {
            "step": torch.zeros((), dtype=dtype),
            "eta": torch.as_tensor(as_scalar(group["lr"]), dtype=dtype)
            .clone()
            .detach(),
            "mu": torch.ones((), dtype=dtype),
            "ax": torch.zeros_like(param),
        }

    def _update(self, param, grad, state, group):
        state["step"] += 1
        self._kernel(
            param,
            grad,
            state["ax"],
            state["eta"],
            state["mu"],
            lr=group["lr"],
            lambd=group["lambd"],
            alpha=group["alpha"],
            t0=group["t0"],
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
            step=state["step"].item(),
        )
