"""LARS and LAMB for torch tensors: each parameter tensor is one layer."""

from __future__ import annotations

import torch

from ... import optim as reference
from .base import Optimizer


def _ratio(numerator: torch.Tensor, denominator: torch.Tensor):
    """numerator / denominator of two norms, or 1 where either is zero, as a
    0-d tensor (no host synchronisation on a GPU)."""
    both = (numerator > 0) & (denominator > 0)
    return torch.where(both, numerator / denominator, 1.0)


def lars_(
    param: torch.Tensor,
    grad: torch.Tensor,
    momentum_buffer: torch.Tensor,
    *,
    lr: float,
    momentum: float,
    weight_decay: float,
    trust: float,
) -> None:
    r"""One LARS step on ``param`` (one layer), in place.

        lambda = trust * ||w|| / (||g|| + weight_decay * ||w||)
        v <- momentum * v + lr * lambda * (g + weight_decay * w);  w <- w - v

    Formula and source: :class:`gdbook.optim.LARS`, the NumPy reference.
    """
    w_norm, g_norm = param.norm(), grad.norm()
    both = (w_norm > 0) & (g_norm > 0)
    local = torch.where(
        both, trust * w_norm / (g_norm + weight_decay * w_norm), 1.0
    )
    update = grad.add(param, alpha=weight_decay).mul_(local * lr)
    momentum_buffer.mul_(momentum).add_(update)
    param.sub_(momentum_buffer)


def lamb_(
    param: torch.Tensor,
    grad: torch.Tensor,
    exp_avg: torch.Tensor,
    exp_avg_sq: torch.Tensor,
    *,
    step: int,
    lr: float,
    betas: tuple[float, float],
    eps: float,
    weight_decay: float,
) -> None:
    r"""One LAMB step on ``param`` (one layer), in place.

        r = m^ / (sqrt(v^) + eps) + weight_decay * w
        w <- w - lr * (||w|| / ||r||) * r

    Formula and source: :class:`gdbook.optim.LAMB`, the NumPy reference.
    """
    beta1, beta2 = betas
    exp_avg.mul_(beta1).add_(grad, alpha=1 - beta1)
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    m_hat = exp_avg / (1 - beta1**step)
    v_hat = exp_avg_sq / (1 - beta2**step)
    r = m_hat.div_(v_hat.sqrt_().add_(eps)).add_(param, alpha=weight_decay)
    param.sub_(r.mul_(_ratio(param.norm(), r.norm()) * lr))


class _LayerWise(Optimizer):
    """An optimizer whose step uses each parameter tensor's norm."""

    def _refuse_complex(self, param):
        """A layer's norm ratio has no complex analogue in the papers."""
        if param.is_complex():
            raise TypeError(
                f"{type(self).__name__} supports real parameters only, got "
                f"a {param.dtype} parameter"
            )


class LARS(_LayerWise):
    """LARS (You, Gitman & Ginsburg 2017): SGD with momentum whose step is
    scaled per parameter tensor by trust * ||w|| / (||g|| + wd ||w||).
    State: ``momentum_buffer``."""

    kernel = staticmethod(lars_)
    reference_class = reference.LARS

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 1.0,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        trust: float = 0.001,
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                momentum=momentum,
                weight_decay=weight_decay,
                trust=trust,
            ),
        )

    def _init_state(self, param, group):
        return {"momentum_buffer": torch.zeros_like(param)}

    def _update(self, param, grad, state, group):
        self._refuse_complex(param)
        self._kernel(
            param,
            grad,
            state["momentum_buffer"],
            lr=group["lr"],
            momentum=group["momentum"],
            weight_decay=group["weight_decay"],
            trust=group["trust"],
        )


class LAMB(_LayerWise):
    """LAMB (You et al. 2020): Adam's direction plus decoupled weight decay,
    scaled per parameter tensor by ||w|| / ||r||. State: ``step``,
    ``exp_avg``, ``exp_avg_sq``."""

    kernel = staticmethod(lamb_)
    reference_class = reference.LAMB

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-6,
        weight_decay: float = 0.0,
    ):
        super().__init__(
            params,
            dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay),
        )

    def _init_state(self, param, group):
        return {
            "step": torch.tensor(0.0),
            "exp_avg": torch.zeros_like(param),
            "exp_avg_sq": torch.zeros_like(param),
        }

    def _update(self, param, grad, state, group):
        self._refuse_complex(param)
        state["step"] += 1
        self._kernel(
            param,
            grad,
            state["exp_avg"],
            state["exp_avg_sq"],
            step=int(state["step"].item()),
            lr=group["lr"],
            betas=group["betas"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
        )
