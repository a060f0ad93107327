"""Lion, for torch tensors."""

from __future__ import annotations

import torch

from ...optim.lion import Lion as Reference
from .base import Optimizer


def lion_(
    param: torch.Tensor,
    grad: torch.Tensor,
    exp_avg: torch.Tensor,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    weight_decay: float,
) -> None:
    r"""One Lion step on ``param``, in place, with the operations of
    ``lion_pytorch``'s ``update_fn``.

        param <- (1 - lr * weight_decay) * param
        param <- param - lr * sign(beta1 * m + (1 - beta1) * grad)
        m     <- beta2 * m + (1 - beta2) * grad

    (``weight_decay`` here is already divided by the initial lr when the
    decay is decoupled.) Formula and source: :class:`gdbook.optim.lion.Lion`,
    the NumPy reference.
    """
    param.mul_(1 - lr * weight_decay)
    update = exp_avg.mul(beta1).add_(grad, alpha=1 - beta1).sgn_()
    param.add_(update, alpha=-lr)
    exp_avg.mul_(beta2).add_(grad, alpha=1 - beta2)


class Lion(Optimizer):
    """Lion, equal to ``lion_pytorch.Lion`` (same arguments, defaults, param
    group keys and state: ``exp_avg``).

    As in lion_pytorch, ``decoupled_weight_decay`` and the initial lr it
    divides by belong to the optimizer, not to a param group, so a state dict
    carries neither; ``use_triton`` may only be False (gdbook has no Triton
    kernel for Lion; use ``lion_pytorch.Lion(use_triton=True)``).
    """

    kernel = staticmethod(lion_)
    reference_class = Reference
    fused_alternative = "FlatLion"

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
        use_triton: bool = False,
        decoupled_weight_decay: bool = False,
    ):
        if use_triton is not False:
            raise ValueError(
                f"{type(self).__name__} does not support "
                f"use_triton={use_triton!r}: gdbook "
                "has no Triton kernel for Lion; use_triton may be False. "
                "Instead use lion_pytorch.Lion(use_triton=True)"
            )
        self._check(
            dict(
                lr=lr,
                betas=betas,
                weight_decay=weight_decay,
                decoupled_weight_decay=decoupled_weight_decay,
            )
        )
        self._init_lr = lr
        self.decoupled_wd = decoupled_weight_decay
        super().__init__(
            params, dict(lr=lr, betas=betas, weight_decay=weight_decay)
        )

    def __getstate__(self) -> dict:
        """What deepcopy and pickle keep: torch.optim's, and the two
        optimizer-wide settings of the decoupled decay."""
        return {
            **super().__getstate__(),
            "_init_lr": self._init_lr,
            "decoupled_wd": self.decoupled_wd,
        }

    def _init_state(self, param, group):
        return {"exp_avg": torch.zeros_like(param)}

    def _update(self, param, grad, state, group):
        beta1, beta2 = group["betas"]
        weight_decay = group["weight_decay"]
        if self.decoupled_wd:
            weight_decay = weight_decay / self._init_lr
        self._kernel(
            param,
            grad,
            state["exp_avg"],
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            weight_decay=weight_decay,
        )
