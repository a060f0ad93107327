"""Adagrad: per-coordinate step sizes from the sum of all past squared
gradients, for torch tensors."""

from __future__ import annotations

import torch

from ... import optim as reference
from .base import Optimizer, as_real, direction


def adagrad_(
    param: torch.Tensor,
    grad: torch.Tensor,
    state_sum: torch.Tensor,
    *,
    lr: float,
    lr_decay: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
    step: float,
) -> None:
    r"""Adagrad step number ``step`` (1, 2, ...) on ``param``, in place, as
    torch.optim.Adagrad's for-loop.

        d = grad + weight_decay * param        (grad negated when maximize)
        s <- s + d * d
        param <- param - lr / (1 + (step - 1) * lr_decay) * d / (sqrt(s) + eps)

    A complex parameter is updated, after d, as its real and imaginary parts
    (:func:`as_real`).

    Formula and sources: :class:`gdbook.optim.Adagrad`, the NumPy reference.
    """
    d = direction(param, grad, weight_decay, maximize)
    param, d, state_sum = map(as_real, (param, d, state_sum))
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum.addcmul_(d, d, value=1)
    std = state_sum.sqrt().add_(eps)
    param.addcdiv_(d, std, value=-clr)


class Adagrad(Optimizer):
    """Adagrad, equal to ``torch.optim.Adagrad`` (same arguments, defaults and
    state: ``step``, ``sum``)."""

    kernel = staticmethod(adagrad_)
    reference_class = reference.Adagrad

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        foreach: bool | None = None,
        *,
        maximize: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                lr_decay=lr_decay,
                eps=eps,
                weight_decay=weight_decay,
                initial_accumulator_value=initial_accumulator_value,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
                fused=fused,
            ),
        )

    def _init_state(self, param, group):
        state_sum = torch.empty_like(param)
        as_real(state_sum).fill_(
            group["initial_accumulator_value"]
        )  # both parts of a complex one, as torch
        return {"step": torch.tensor(0.0), "sum": state_sum}

    def _update(self, param, grad, state, group):
        state["step"] += 1
        self._kernel(
            param,
            grad,
            state["sum"],
            lr=group["lr"],
            lr_decay=group["lr_decay"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
            step=state["step"].item(),
        )
