"""Schedule-Free AdamW, for torch tensors."""

from __future__ import annotations

import torch

from ...optim.schedule_free import AdamWScheduleFree as Reference
from .base import Optimizer


def adamw_schedule_free_(
    y: torch.Tensor,
    grad: torch.Tensor,
    z: torch.Tensor,
    exp_avg_sq: torch.Tensor,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    ckp1: float,
    bias_correction2: float,
) -> None:
    r"""One Schedule-Free AdamW step on ``y`` (the parameter in train mode)
    and ``z``, in place, with the operations of ``schedulefree``'s loop.

        v <- beta2 * v + (1 - beta2) * grad * grad
        u  = grad / (sqrt(v / bias_correction2) + eps) + weight_decay * y
        y <- (1 - ckp1) * y + ckp1 * z + lr * (beta1 * (1 - ckp1) - 1) * u
        z <- z - lr * u

    ``grad`` is left as it is (schedulefree overwrites it with u). Formula
    and source: :class:`gdbook.optim.schedule_free.AdamWScheduleFree`, the
    NumPy reference.
    """
    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
    denom = exp_avg_sq.div(bias_correction2).sqrt_().add_(eps)
    u = grad.div(denom)
    if weight_decay != 0:
        u.add_(y, alpha=weight_decay)
    y.lerp_(end=z, weight=ckp1)
    y.add_(u, alpha=lr * (beta1 * (1 - ckp1) - 1))
    z.sub_(u, alpha=lr)


class AdamWScheduleFree(Optimizer):
    """Schedule-Free AdamW, equal to ``schedulefree.AdamWScheduleFree``
    (same arguments, defaults, param group keys ``k``, ``train_mode``,
    ``weight_sum``, ``lr_max``, ``scheduled_lr`` and state ``z``,
    ``exp_avg_sq``).

    Call :meth:`train` before training steps and :meth:`eval` before
    evaluating or saving: in train mode the parameters hold y, the point
    gradients are taken at; in eval mode x, the average. ``foreach`` is
    accepted with any value: the result is the same.
    """

    kernel = staticmethod(adamw_schedule_free_)
    reference_class = Reference

    def __init__(
        self,
        params,
        lr: float | torch.Tensor = 0.0025,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0,
        warmup_steps: int = 0,
        r: float = 0.0,
        weight_lr_power: float = 2.0,
        foreach: bool | None = hasattr(torch, "_foreach_mul_"),
    ):
        super().__init__(
            params,
            dict(
                lr=lr,
                betas=betas,
                eps=eps,
                r=r,
                k=0,
                warmup_steps=warmup_steps,
                train_mode=False,
                weight_sum=0.0,
                lr_max=-1.0,
                scheduled_lr=0.0,
                weight_lr_power=weight_lr_power,
                weight_decay=weight_decay,
                foreach=foreach,
            ),
        )

    def _check(self, hyper: dict) -> None:
        """As the base class, except that ``foreach`` (True by default, as in
        schedulefree) changes nothing and so is accepted whatever it is."""
        super()._check({k: v for k, v in hyper.items() if k != "foreach"})

    @torch.no_grad()
    def eval(self) -> None:
        """Put x, the average, in the parameters."""
        self._move(train=False)

    @torch.no_grad()
    def train(self) -> None:
        """Put y, where gradients are taken, in the parameters."""
        self._move(train=True)

    def _move(self, train: bool) -> None:
        for group in self.param_groups:
            if group["train_mode"] == train:
                continue
            beta1 = group["betas"][0]
            for param in group["params"]:
                z = self.state[param].get("z") if param in self.state else None
                if z is not None:
                    param.lerp_(
                        end=z.to(param.device),
                        weight=1 - beta1 if train else 1 - 1 / beta1,
                    )
            group["train_mode"] = train

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter, in train mode only; ``closure``
        (optional) re-evaluates the loss and returns it."""
        if not self.param_groups[0]["train_mode"]:
            raise RuntimeError(
                "AdamWScheduleFree.step() needs train mode: call "
                "optimizer.train() before training steps and "
                "optimizer.eval() before evaluating or saving"
            )
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        self._refuse_sparse_grads(
            param for group in self.param_groups for param in group["params"]
        )
        for group in self.param_groups:
            beta1, beta2 = group["betas"]
            k = group["k"]
            sched = (
                (k + 1) / group["warmup_steps"]
                if k < group["warmup_steps"]
                else 1.0
            )
            lr = group["scheduled_lr"] = group["lr"] * sched
            lr_max = group["lr_max"] = max(lr, group["lr_max"])
            weight = (k + 1) ** group["r"] * lr_max ** group["weight_lr_power"]
            weight_sum = group["weight_sum"] = group["weight_sum"] + weight
            ckp1 = weight / weight_sum if weight_sum else 0.0
            for param in group["params"]:
                if param.grad is None:
                    continue
                state = self.state[param]
                if "z" not in state:
                    state["z"] = param.clone()
                    state["exp_avg_sq"] = torch.zeros_like(param)
                self._kernel(
                    param,
                    param.grad,
                    state["z"],
                    state["exp_avg_sq"],
                    lr=lr,
                    beta1=beta1,
                    beta2=beta2,
                    eps=group["eps"],
                    weight_decay=group["weight_decay"],
                    ckp1=ckp1,
                    bias_correction2=1 - beta2 ** (k + 1),
                )
            group["k"] = k + 1
        return loss
