"""Rprop: sign-based steps with per-coordinate step sizes, for torch
tensors."""

from __future__ import annotations

import torch

from ...optim.rprop import Rprop as Reference
from .asgd import scalar_dtype
from .base import Optimizer, as_real, as_scalar


def rprop_(
    param: torch.Tensor,
    grad: torch.Tensor,
    prev: torch.Tensor,
    step_size: torch.Tensor,
    *,
    eta_minus: float,
    eta_plus: float,
    step_size_min: float,
    step_size_max: float,
    maximize: bool,
) -> None:
    r"""One Rprop step on ``param``, in place, as torch.optim.Rprop's
    for-loop.

        f = eta_plus where grad * prev > 0, eta_minus where < 0, else 1
                                             (grad negated when maximize)
        step_size <- clamp(f * step_size, step_size_min, step_size_max)
        grad <- 0 where grad * prev < 0
        param <- param - sign(grad) * step_size
        prev <- grad

    A complex parameter is updated as its real and imaginary parts
    (:func:`as_real`).

    Formula and sources: :class:`gdbook.optim.Rprop`, the NumPy reference.
    """
    grad = -grad if maximize else grad
    param, grad, prev, step_size = map(as_real, (param, grad, prev, step_size))
    sign = grad.mul(prev).sign()
    sign[sign.gt(0)] = eta_plus
    sign[sign.lt(0)] = eta_minus
    sign[sign.eq(0)] = 1
    step_size.mul_(sign).clamp_(step_size_min, step_size_max)
    grad = grad.clone()
    grad[sign.eq(eta_minus)] = 0
    param.addcmul_(grad.sign(), step_size, value=-1)
    prev.copy_(grad)


class Rprop(Optimizer):
    """Rprop, equal to ``torch.optim.Rprop`` (same arguments, defaults and
    state: ``step``, ``prev`` and ``step_size``)."""

    kernel = staticmethod(rprop_)
    reference_class = Reference

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 1e-2,
        etas: tuple[float, float] = (0.5, 1.2),
        step_sizes: tuple[float, float] = (1e-6, 50),
        *,
        capturable: bool = False,
        foreach: bool | None = None,
        maximize: bool = False,
        differentiable: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                etas=etas,
                step_sizes=step_sizes,
                foreach=foreach,
                maximize=maximize,
                differentiable=differentiable,
                capturable=capturable,
            ),
        )

    def _init_state(self, param, group):
        lr = float(as_scalar(group["lr"]))
        return {
            "step": torch.zeros((), dtype=scalar_dtype()),
            "prev": torch.zeros_like(param),
            "step_size": torch.full_like(
                param, complex(lr, lr) if param.is_complex() else lr
            ),
        }

    def _update(self, param, grad, state, group):
        state["step"] += 1
        eta_minus, eta_plus = group["etas"]
        step_size_min, step_size_max = group["step_sizes"]
        self._kernel(
            param,
            grad,
            state["prev"],
            state["step_size"],
            eta_minus=eta_minus,
            eta_plus=eta_plus,
            step_size_min=step_size_min,
            step_size_max=step_size_max,
            maximize=group["maximize"],
        )
