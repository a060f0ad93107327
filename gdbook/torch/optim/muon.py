"""Muon, for torch tensors (2-D parameters)."""

from __future__ import annotations

import functools

import torch

from ...optim.muon import Muon as Reference
from .base import Optimizer


def newton_schulz(
    grad: torch.Tensor,
    coefficients: tuple[float, float, float],
    steps: int,
    eps: float,
) -> torch.Tensor:
    r"""torch.optim.Muon's orthogonalisation, in bfloat16 as there:

        X = G / max(||G||_F, eps)     (transposed if G has more rows)
        X <- a X + (b (X X^T) + c (X X^T)^2) X      ``steps`` times

    Formula: :func:`gdbook.optim.muon.newton_schulz`, the float64
    reference."""
    a, b, c = coefficients
    tall = grad.size(0) > grad.size(1)
    X = grad.bfloat16()
    if tall:
        X = X.T
    X.div_(X.norm().clamp(min=eps))
    for _ in range(steps):
        gram = X @ X.T
        update = torch.addmm(gram, gram, gram, beta=b, alpha=c)
        X = torch.addmm(X, update, X, beta=a)
    return X.T if tall else X


def muon_(
    param: torch.Tensor,
    grad: torch.Tensor,
    momentum_buffer: torch.Tensor,
    *,
    lr: float,
    adjusted_lr: float,
    weight_decay: float,
    momentum: float,
    nesterov: bool,
    ns_coefficients: tuple[float, float, float],
    ns_steps: int,
    eps: float,
) -> None:
    r"""One Muon step on the matrix ``param``, in place, with the operations
    of torch.optim.Muon's loop.

        B <- momentum * B + (1 - momentum) * grad
        U  = (1 - momentum) * grad + momentum * B   if nesterov   else   B
        param <- (1 - lr * weight_decay) * param - adjusted_lr * NS(U)

    Formula and sources: :class:`gdbook.optim.muon.Muon`, the NumPy
    reference.
    """
    momentum_buffer.lerp_(grad, 1 - momentum)
    update = (
        grad.lerp(momentum_buffer, momentum) if nesterov else momentum_buffer
    )
    update = newton_schulz(update, ns_coefficients, ns_steps, eps)
    param.mul_(1 - lr * weight_decay)
    param.add_(update, alpha=-adjusted_lr)


class Muon(Optimizer):
    """Muon, equal to ``torch.optim.Muon`` (same arguments, defaults and
    state: ``momentum_buffer``); every parameter must be a real matrix."""

    kernel = staticmethod(muon_)
    reference_class = Reference

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 1e-3,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = (
            3.4445,
            -4.7750,
            2.0315,
        ),
        eps: float = 1e-7,
        ns_steps: int = 5,
        adjust_lr_fn: str | None = None,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                weight_decay=weight_decay,
                momentum=momentum,
                nesterov=nesterov,
                ns_coefficients=ns_coefficients,
                eps=eps,
                ns_steps=ns_steps,
                adjust_lr_fn=adjust_lr_fn,
            ),
        )

    def _check(self, hyper: dict) -> None:
        """As the base class; the reference class also needs a shape, which
        any (checked in :meth:`add_param_group`) will do."""
        self.reference_class = functools.partial(Reference, (1, 1))
        try:
            super()._check(hyper)
        finally:
            del self.reference_class

    def add_param_group(self, param_group: dict) -> None:
        """As the base class, refusing a parameter that is not a real
        matrix."""
        params = (
            param_group.get("params")
            if isinstance(param_group, dict)
            else None
        )
        params = [params] if isinstance(params, torch.Tensor) else params
        for param in params or ():
            if isinstance(param, torch.Tensor) and (
                param.ndim != 2 or param.is_complex()
            ):
                raise ValueError(
                    "Muon only supports real 2-D parameters (matrices); got "
                    f"a parameter of shape {tuple(param.shape)} and dtype "
                    f"{param.dtype}: optimize it with AdamW, say"
                )
        super().add_param_group(param_group)

    def _init_state(self, param, group):
        return {"momentum_buffer": torch.zeros_like(param)}

    def _update(self, param, grad, state, group):
        rows, columns = param.shape
        self._kernel(
            param,
            grad,
            state["momentum_buffer"],
            lr=group["lr"],
            adjusted_lr=Reference(
                (rows, columns), adjust_lr_fn=group["adjust_lr_fn"]
            ).adjusted_lr(group["lr"]),
            weight_decay=group["weight_decay"],
            momentum=group["momentum"],
            nesterov=group["nesterov"],
            ns_coefficients=group["ns_coefficients"],
            ns_steps=group["ns_steps"],
            eps=group["eps"],
        )
