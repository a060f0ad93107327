"""Flat optimizers: all parameters and gradients are views into one buffer, so a step is one kernel.

An optimizer step is memory-bound: Adam reads p, g, m, v and writes p, m, v, 28 bytes per float32
parameter, and does a few flops on each. A for-loop over a model's tensors launches several kernels
per tensor and leaves the GPU idle between small ones. Here every parameter of a param group (per
device and dtype) is copied end to end into one contiguous buffer and ``p.data`` becomes a view of
it; each ``p.grad`` is a view into a second buffer, so ``backward()`` accumulates straight into it.
The update is then the per-tensor function (:func:`~gdbook.torch.optim.adam.adam_`) applied once to
the whole buffer, run by one of the backends of :mod:`gdbook.torch.optim.backends`.

Per-parameter state (``opt.state[p]``, ``state_dict()``) holds views into the flat state buffers, in
the layout of the per-tensor optimizer, so state dicts load across ``FlatAdam`` and
``torch.optim.Adam``. Two differences from torch.optim, both from sharing one buffer:

* ``zero_grad()`` zeroes the gradient buffer instead of setting grads to None;
* a parameter whose ``.grad`` is None at ``step()`` counts as having a zero gradient (torch.optim
  skips it), and parameters with ``requires_grad=False`` are left out and never updated.

As with any optimizer, create it after ``model.to(device)``: moving the model afterwards gives it new
tensors that the optimizer does not see.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from . import backends
from .adam import Adam
from .sgd import SGD

ALIGNMENT_BYTES = 64  # every parameter starts on a 64-byte boundary, so kernels on its view stay vectorised


@dataclass
class FlatBuffer:
    """The parameters of one param group with one device and dtype, laid end to end in ``param``."""

    group_index: int
    params: list[torch.Tensor]
    offsets: list[int]
    param: torch.Tensor
    grad: torch.Tensor
    grad_views: list[torch.Tensor] = field(default_factory=list)
    state: dict[str, torch.Tensor] = field(default_factory=dict)

    def view(self, flat: torch.Tensor, i: int) -> torch.Tensor:
        """Parameter ``i``'s part of the flat tensor ``flat``, in the parameter's shape."""
        shape = self.params[i].shape
        return flat[self.offsets[i]:self.offsets[i] + shape.numel()].view(shape)

    def gather_grads(self) -> None:
        """Point each ``p.grad`` back at its view, copying in any gradient that was put elsewhere.

        ``model.zero_grad()`` sets grads to None and the next ``backward()`` allocates new ones; the
        first step after it copies them in (or zeros the view, for a grad that is still None).
        """
        for param, view in zip(self.params, self.grad_views):
            if param.grad is view:
                continue
            if param.grad is None:
                view.zero_()
            else:
                view.copy_(param.grad)
            param.grad = view


def flatten(group_index: int, params: list[torch.Tensor]) -> FlatBuffer:
    """Copy ``params`` (one device and dtype) into a new buffer and make each one, and its grad, a view."""
    align = max(1, ALIGNMENT_BYTES // params[0].element_size())
    offsets, total = [], 0
    for p in params:
        offsets.append(total)
        total += -(-p.numel() // align) * align
    flat = torch.zeros(total, dtype=params[0].dtype, device=params[0].device)
    buffer = FlatBuffer(group_index, params, offsets, flat, torch.zeros_like(flat))
    for i, p in enumerate(params):
        grad = p.grad
        buffer.view(buffer.param, i).copy_(p.detach())
        p.data = buffer.view(buffer.param, i)
        buffer.grad_views.append(buffer.view(buffer.grad, i))
        if grad is not None:
            buffer.grad_views[i].copy_(grad)
        p.grad = buffer.grad_views[i]
    return buffer


class FlatOptimizer:
    """Mixin that turns a gdbook.torch optimizer (the next class in the MRO) into a flat one.

    ``step`` runs the optimizer's own ``_init_state`` and ``_update`` on each flat buffer instead of
    on each parameter, with ``self.kernel`` swapped for the chosen backend's version.
    """

    def __init__(self, params, *args, backend: str = "auto", **kwargs):
        backends.resolve(backend, [])  # checks the name
        self.requested_backend = backend
        self.buffers: list[FlatBuffer] = []
        super().__init__(params, *args, **kwargs)

    @torch.no_grad()
    def add_param_group(self, param_group: dict) -> None:
        """Add a param group, as torch.optim, and flatten its parameters (per device and dtype)."""
        super().add_param_group(param_group)
        index = len(self.param_groups) - 1
        by_kind: dict[tuple, list[torch.Tensor]] = {}
        for p in dict.fromkeys(self.param_groups[index]["params"]):
            if not p.is_floating_point():
                raise TypeError(f"{type(self).__name__} needs real floating-point parameters, got {p.dtype}")
            if p.requires_grad:
                by_kind.setdefault((p.device, p.dtype), []).append(p)
        self.buffers += [flatten(index, params) for params in by_kind.values()]
        self.backend = backends.resolve(self.requested_backend, [b.param for b in self.buffers])
        self.kernel = backends.kernel(type(self).kernel, self.backend)

    def _tensors(self):
        for buffer in self.buffers:
            buffer.gather_grads()
            yield buffer.param, buffer.grad, buffer.state, self.param_groups[buffer.group_index]
            self._expose_state(buffer)  # runs after the caller's update of this buffer

    def _expose_state(self, buffer: FlatBuffer) -> None:
        """Give each parameter its views of the flat state, as the per-tensor optimizer would hold it."""
        if self.state[buffer.params[0]].keys() == buffer.state.keys():
            return
        for i, p in enumerate(buffer.params):
            self.state[p] = {name: value if value.dim() == 0 else buffer.view(value, i)
                             for name, value in buffer.state.items()}

    @torch.no_grad()
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Zero the gradient buffers; grads stay views into them, whatever ``set_to_none`` says."""
        for buffer in self.buffers:
            buffer.gather_grads()
            buffer.grad.zero_()

    def state_dict(self) -> dict:
        """As torch.optim's, but each parameter gets its own copy of the buffer's ``step`` counter, so
        that an optimizer loading it that counts per parameter (``torch.optim.Adam``) counts right."""
        state_dict = super().state_dict()
        state_dict["state"] = {index: {name: value.clone() if value.dim() == 0 else value
                                       for name, value in state.items()}
                               for index, state in state_dict["state"].items()}
        return state_dict

    @torch.no_grad()
    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state dict of this class or of the per-tensor optimizer (e.g. ``torch.optim.Adam``'s)."""
        super().load_state_dict(state_dict)
        for buffer in self.buffers:
            loaded = [self.state.pop(p, {}) for p in buffer.params]
            buffer.state = {}
            if not any(loaded):
                continue
            names = loaded[0].keys()
            if any(state.keys() != names for state in loaded):
                raise ValueError(f"{type(self).__name__}.load_state_dict: the parameters of one flat buffer "
                                 "must all have the same state entries, got "
                                 f"{sorted({tuple(sorted(state)) for state in loaded})}")
            for name in names:
                buffer.state[name] = self._gather_state(buffer, name, [state[name] for state in loaded])
            self._expose_state(buffer)

    def _gather_state(self, buffer: FlatBuffer, name: str, values: list[torch.Tensor]) -> torch.Tensor:
        """One flat state tensor from the per-parameter ``values`` of state entry ``name``."""
        if values[0].dim() == 0:
            distinct = {float(v) for v in values}
            if len(distinct) > 1:
                raise ValueError(f"{type(self).__name__}.load_state_dict: the parameters of one flat buffer "
                                 f"share one {name!r}, got {sorted(distinct)}")
            return values[0].clone()
        flat = torch.zeros_like(buffer.param)
        for i, value in enumerate(values):
            buffer.view(flat, i).copy_(value)
        return flat


class FlatAdam(FlatOptimizer, Adam):
    """Adam on flat buffers: arguments of :class:`gdbook.torch.Adam` plus ``backend``
    (``"auto" | "triton" | "compile" | "eager"``, see :mod:`gdbook.torch.optim.backends`)."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, amsgrad: bool = False, *, maximize: bool = False,
                 decoupled_weight_decay: bool = False, backend: str = "auto"):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=decoupled_weight_decay, backend=backend)


class FlatAdamW(FlatAdam):
    """AdamW on flat buffers: :class:`FlatAdam` with decoupled weight decay (default 1e-2)."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 backend: str = "auto"):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize=maximize,
                         decoupled_weight_decay=True, backend=backend)


class FlatSGD(FlatOptimizer, SGD):
    """SGD (with momentum) on flat buffers: arguments of :class:`gdbook.torch.SGD` plus ``backend``."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, *, maximize: bool = False,
                 backend: str = "auto"):
        super().__init__(params, lr, momentum, dampening, weight_decay, nesterov, maximize=maximize,
                         backend=backend)
