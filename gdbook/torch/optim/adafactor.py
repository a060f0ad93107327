"""Adafactor: a factored second moment and relative step sizes, for torch
tensors."""

from __future__ import annotations

import torch

from ...optim.adafactor import Adafactor as Reference
from .asgd import scalar_dtype
from .base import Optimizer


def adafactor_(
    param: torch.Tensor,
    grad: torch.Tensor,
    row_var: torch.Tensor | None,
    col_var: torch.Tensor | None,
    variance: torch.Tensor | None,
    *,
    lr: float,
    beta2_decay: float,
    eps1: float | None,
    eps2: float,
    d: float,
    weight_decay: float,
    maximize: bool,
    step: float,
) -> None:
    r"""Adafactor step number ``step`` (1, 2, ...) on ``param``, in place, as
    torch.optim.Adafactor's for-loop; a parameter with 2 or more axes keeps
    ``row_var`` and ``col_var`` (factored over its last two axes), a vector
    ``variance``.

        G = grad (negated when maximize); b = step^beta2_decay
        alpha = max(eps2, RMS(param)) * min(lr, 1 / sqrt(step))
        param <- (1 - lr * weight_decay) * param
        R <- lerp(R, mean(G*G, last axis), b)
        C <- lerp(C, mean(G*G, next-to-last axis), b)
        V = R C / max(mean(R, next-to-last axis), eps1)
            (a vector: V <- lerp(V, G*G, b))
        U = G / sqrt(max(V, eps1^2))
        param <- param - alpha / max(1, RMS(U) / d) * U

    Formula and sources: :class:`gdbook.optim.Adafactor`, the NumPy
    reference.
    """
    grad = -grad if maximize else grad
    if eps1 is None:
        eps1 = torch.finfo(param.dtype).eps
    one_minus_beta2 = step**beta2_decay
    rho = min(lr, 1 / step**0.5)
    alpha = max(eps2, param.norm(2).item() / param.numel() ** 0.5) * rho
    if weight_decay:
        param.mul_(1 - lr * weight_decay)
    if grad.dim() > 1:
        row_mean = torch.norm(grad, dim=-1, keepdim=True).square_()
        row_var.lerp_(row_mean.div_(grad.size(-1)), one_minus_beta2)
        col_mean = torch.norm(grad, dim=-2, keepdim=True).square_()
        col_var.lerp_(col_mean.div_(grad.size(-2)), one_minus_beta2)
        var_estimate = row_var @ col_var
        var_estimate.div_(row_var.mean(dim=-2, keepdim=True).clamp_(min=eps1))
    else:
        variance.lerp_(grad * grad, one_minus_beta2)
        var_estimate = variance.clone()
    update = var_estimate.clamp_(min=eps1 * eps1).rsqrt_().mul_(grad)
    denom = max(1.0, update.norm(2).item() / (update.numel() ** 0.5 * d))
    param.add_(update, alpha=-alpha / denom)


class Adafactor(Optimizer):
    """Adafactor, equal to ``torch.optim.Adafactor`` (same arguments,
    defaults and state: ``step`` and, for a parameter with 2 or more axes,
    ``row_var`` and ``col_var``, else ``variance``)."""

    kernel = staticmethod(adafactor_)
    reference_class = Reference

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 1e-2,
        beta2_decay: float = -0.8,
        eps: tuple[float | None, float] = (None, 1e-3),
        d: float = 1.0,
        weight_decay: float = 0.0,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                beta2_decay=beta2_decay,
                eps=eps,
                d=d,
                weight_decay=weight_decay,
                foreach=foreach,
                maximize=maximize,
            ),
        )

    def _init_state(self, param, group):
        if param.is_complex():
            raise TypeError(
                "Adafactor does not support complex parameters; optimise "
                "torch.view_as_real(param) instead"
            )
        state = {"step": torch.tensor(0.0, dtype=scalar_dtype())}
        if param.dim() > 1:
            state["row_var"] = param.new_zeros(param.shape[:-1] + (1,))
            state["col_var"] = param.new_zeros(
                param.shape[:-2] + (1, param.shape[-1])
            )
        else:
            state["variance"] = torch.zeros_like(param)
        return state

    def _update(self, param, grad, state, group):
        state["step"] += 1
        eps1, eps2 = group["eps"]
        self._kernel(
            param,
            grad,
            state.get("row_var"),
            state.get("col_var"),
            state.get("variance"),
            lr=group["lr"],
            beta2_decay=group["beta2_decay"],
            eps1=eps1,
            eps2=eps2,
            d=group["d"],
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
            step=state["step"].item(),
        )
