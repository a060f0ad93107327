"""Adagrad: per-coordinate step sizes from the sum of all past squared gradients, for torch tensors."""

from __future__ import annotations

import torch

from ... import optim as reference
from .base import Optimizer, direction, hyper_parameters


def adagrad_(param: torch.Tensor, grad: torch.Tensor, state_sum: torch.Tensor, *, lr: float, lr_decay: float,
             eps: float, weight_decay: float, maximize: bool, step: float) -> None:
    r"""Adagrad step number ``step`` (1, 2, ...) on ``param``, in place, as torch.optim.Adagrad's for-loop.

        d = grad + weight_decay * param        (grad negated when maximize)
        s <- s + d * d
        param <- param - lr / (1 + (step - 1) * lr_decay) * d / (sqrt(s) + eps)

    Formula and sources: :class:`gdbook.optim.Adagrad`, the NumPy reference.
    """
    d = direction(param, grad, weight_decay, maximize)
    clr = lr / (1 + (step - 1) * lr_decay)
    state_sum.addcmul_(d, d, value=1)
    std = state_sum.sqrt().add_(eps)
    param.addcdiv_(d, std, value=-clr)


class Adagrad(Optimizer):
    """Adagrad, equal to ``torch.optim.Adagrad`` (same arguments, defaults and state: ``step``, ``sum``)."""

    kernel = staticmethod(adagrad_)

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *, maximize: bool = False):
        super().__init__(params, hyper_parameters(
            reference.Adagrad, lr, lr_decay=lr_decay, weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value, eps=eps, maximize=maximize))

    def _init_state(self, param, group):
        return {"step": torch.tensor(0.0), "sum": torch.full_like(param, group["initial_accumulator_value"])}

    def _update(self, param, grad, state, group):
        state["step"] += 1
        self.kernel(param, grad, state["sum"], lr=group["lr"], lr_decay=group["lr_decay"], eps=group["eps"],
                    weight_decay=group["weight_decay"], maximize=group["maximize"], step=state["step"].item())
