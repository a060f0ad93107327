"""The loop shared by gdbook's torch optimizers: one readable update per parameter tensor.

Each optimizer is a ``torch.optim.Optimizer`` (so param groups, ``state_dict`` / ``load_state_dict``,
hooks and torch's LR schedulers all work) whose ``step`` calls a plain function on one tensor at a
time, e.g. :func:`gdbook.torch.optim.adam.adam_`. That function is the algorithm, written with the
same in-place operations as torch.optim's for-loop implementation, so both agree to the last bit.

Hyper-parameters are checked by the NumPy reference class of the same name in :mod:`gdbook.optim`,
so the two accept exactly the same values and raise the same errors.
"""

from __future__ import annotations

import torch

from ... import optim as reference


def hyper_parameters(cls: type[reference.Optimizer], lr, **kwargs) -> dict:
    """The validated hyper-parameters of the NumPy optimizer ``cls``, as a param-group ``defaults`` dict."""
    if callable(lr):
        raise TypeError("lr must be a real number; for a schedule use torch.optim.lr_scheduler")
    return dict(vars(cls(lr=lr, **kwargs)))


def direction(param: torch.Tensor, grad: torch.Tensor, weight_decay: float, maximize: bool) -> torch.Tensor:
    """``grad`` (negated to maximize) plus the coupled L2 term ``weight_decay * param``, as torch.optim."""
    grad = -grad if maximize else grad
    return grad.add(param, alpha=weight_decay) if weight_decay else grad


class Optimizer(torch.optim.Optimizer):
    """Calls ``self._update(param, grad, state, group)`` for every parameter that has a gradient.

    Subclasses set ``kernel``, the update of one tensor (e.g. :func:`~gdbook.torch.optim.adam.adam_`),
    ``_init_state(param, group) -> dict`` (the state before the first step) and ``_update``, which
    calls ``self.kernel``. A parameter whose ``.grad`` is None is skipped, as in torch.optim.
    """

    kernel = None

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter; ``closure`` (optional) re-evaluates the loss and returns it."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for param, grad, state, group in self._tensors():
            if not state:
                state.update(self._init_state(param, group))
            self._update(param, grad, state, group)
        return loss

    def _tensors(self):
        """``(param, grad, state, group)`` for each tensor that ``step`` updates."""
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is None:
                    continue
                if param.grad.is_sparse:
                    raise TypeError(f"{type(self).__name__} does not support sparse gradients")
                yield param, param.grad, self.state[param], group

    def _init_state(self, param: torch.Tensor, group: dict) -> dict:
        return {}

    def _update(self, param: torch.Tensor, grad: torch.Tensor, state: dict, group: dict) -> None:
        raise NotImplementedError
