"""Adam and AdamW, for torch tensors."""

from __future__ import annotations

import torch

from ... import optim as reference
from .base import Optimizer, as_real, direction


def adam_(
    param: torch.Tensor,
    grad: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_sq: torch.Tensor,
    max_exp_avg_sq: torch.Tensor | None,
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
    r"""Adam step number ``step`` (1, 2, ...) on ``param``, in place, as
    torch.optim.Adam's for-loop.

        d = grad + weight_decay * param
            (grad negated when maximize; AdamW instead shrinks
             param <- (1 - lr * weight_decay) * param and keeps d = grad)
        m <- beta1 * m + (1 - beta1) * d
        v <- beta2 * v + (1 - beta2) * d * d
        v^ <- max(v^, v), and v^ replaces v below
            (AMSGrad: max_exp_avg_sq given)
        param <- param - lr / (1 - beta1^step) * m
                         / (sqrt(v) / sqrt(1 - beta2^step) + eps)

    A complex parameter is updated, after d, as its real and imaginary parts
    (:func:`as_real`).

    The same function updates one tensor (:class:`Adam`) or a whole flat buffer
    (:class:`gdbook.torch.FlatAdam`, eager backend). Formula and sources:
    :class:`gdbook.optim.Adam` and :class:`gdbook.optim.AdamW`, the NumPy
    references.
    """
    if decoupled_weight_decay:
        d = direction(param, grad, 0.0, maximize)
        if weight_decay:
            param.mul_(1 - lr * weight_decay)
    else:
        d = direction(param, grad, weight_decay, maximize)
    param, d, exp_avg, exp_avg_sq, max_exp_avg_sq = map(
        as_real, (param, d, exp_avg, exp_avg_sq, max_exp_avg_sq)
    )
    exp_avg.lerp_(d, 1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(d, d, value=1 - beta2)
    if max_exp_avg_sq is not None:
        torch.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
    second_moment = exp_avg_sq if max_exp_avg_sq is None else max_exp_avg_sq
    bias_correction1 = 1 - beta1**step
    bias_correction2 = 1 - beta2**step
    denom = (second_moment.sqrt() / bias_correction2**0.5).add_(eps)
    param.addcdiv_(exp_avg, denom, value=-(lr / bias_correction1))


class Adam(Optimizer):
    """Adam, equal to ``torch.optim.Adam`` (same arguments, defaults and state:
    ``step``, ``exp_avg``, ``exp_avg_sq`` and, with ``amsgrad``,
    ``max_exp_avg_sq``)."""

    kernel = staticmethod(adam_)
    reference_class = reference.Adam
    fused_alternative = "FlatAdam"

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 1e-3,
        betas: tuple[float | torch.Tensor, float | torch.Tensor] = (
            0.9,
            0.999,
        ),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        foreach: bool | None = None,
        maximize: bool = False,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
        decoupled_weight_decay: bool = False,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                weight_decay=weight_decay,
                amsgrad=amsgrad,
                maximize=maximize,
                foreach=foreach,
                capturable=capturable,
                differentiable=differentiable,
                fused=fused,
                decoupled_weight_decay=decoupled_weight_decay,
            ),
        )

    def _init_state(self, param, group):
        state = {
            "step": torch.tensor(0.0),
            "exp_avg": torch.zeros_like(param),
            "exp_avg_sq": torch.zeros_like(param),
        }
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = torch.zeros_like(param)
        return state

    def _update(self, param, grad, state, group):
        state["step"] += 1
        beta1, beta2 = group["betas"]
        self._kernel(
            param,
            grad,
            state["exp_avg"],
            state["exp_avg_sq"],
            state.get("max_exp_avg_sq"),
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            eps=group["eps"],
            maximize=group["maximize"],
            weight_decay=group["weight_decay"],
            step=state["step"].item(),
            decoupled_weight_decay=group["decoupled_weight_decay"],
        )


class AdamW(Adam):
    """AdamW, equal to ``torch.optim.AdamW``: Adam with decoupled weight decay
    (default 1e-2)."""

    reference_class = reference.AdamW
    fused_alternative = "FlatAdamW"

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 1e-3,
        betas: tuple[float | torch.Tensor, float | torch.Tensor] = (
            0.9,
            0.999,
        ),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
        fused: bool | None = None,
    ):
        super().__init__(
            params,
            lr,
            betas,
            eps,
            weight_decay,
            amsgrad,
            foreach=foreach,
            maximize=maximize,
            capturable=capturable,
            differentiable=differentiable,
            fused=fused,
            decoupled_weight_decay=True,
        )

    def __setstate__(self, state: dict) -> None:
        """As torch.optim.AdamW: whatever a loaded state dict says (Adam's,
        say), the decay is decoupled."""
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
