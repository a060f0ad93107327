"""Flat optimizers: all parameters and gradients are views into one buffer, so
a step is one kernel.

An optimizer step is memory-bound: Adam reads p, g, m, v and writes p, m, v, 28
bytes per float32 parameter, and does a few flops on each. A for-loop over a
model's tensors launches several kernels per tensor and leaves the GPU idle
between small ones. Here every parameter of a param group (per device and
dtype) is copied end to end into one contiguous buffer and ``p.data`` becomes a
view of it; each ``p.grad`` is a view into a second buffer, so ``backward()``
accumulates straight into it. The update is then the per-tensor function
(:func:`~gdbook.torch.optim.adam.adam_`) applied once to the whole buffer, run
by one of the backends of :mod:`gdbook.torch.optim.backends`.

Per-parameter state (``opt.state[p]``, ``state_dict()``) holds views into the
flat state buffers, in the layout of the per-tensor optimizer, so state dicts
load across ``FlatAdam`` and ``torch.optim.Adam`` (``FlatAdamax``,
``FlatNAdam`` and theirs, ``FlatLion`` and ``lion_pytorch.Lion`` alike). Two
differences from torch.optim, both from sharing one buffer:

* ``zero_grad()`` zeroes the gradient buffer instead of setting grads to None;
* a parameter whose ``.grad`` is None at ``step()`` counts as having a zero
  gradient (torch.optim skips it), and parameters with ``requires_grad=False``
  are left out and never updated.

As with any optimizer, create it after ``model.to(device)``: moving the model
afterwards gives it new tensors that the optimizer does not see.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field

import torch

from . import backends
from .adam import Adam, AdamW
from .adamax import Adamax
from .lion import Lion
from .nadam import NAdam
from .sgd import SGD

# every parameter starts on a 64-byte boundary, so kernels on its view stay
# vectorised
ALIGNMENT_BYTES = 64


@dataclass
class FlatBuffer:
    """The parameters of one param group with one device and dtype, laid end to
    end in ``param``."""

    group_index: int
    params: list[torch.Tensor]
    offsets: list[int]
    param: torch.Tensor
    grad: torch.Tensor
    grad_views: list[torch.Tensor] = field(default_factory=list)
    state: dict[str, torch.Tensor] = field(default_factory=dict)

    def view(self, flat: torch.Tensor, i: int) -> torch.Tensor:
        """Parameter ``i``'s part of the flat tensor ``flat``, in the
        parameter's shape."""
        shape = self.params[i].shape
        return flat[self.offsets[i] : self.offsets[i] + shape.numel()].view(
            shape
        )

    def gather_grads(self) -> None:
        """Point each ``p.grad`` back at its view, copying in any gradient that
        was put elsewhere.

        ``model.zero_grad()`` sets grads to None and the next ``backward()``
        allocates new ones; the first step after it copies them in (or zeros
        the view, for a grad that is still None).
        """
        for param, view in zip(self.params, self.grad_views, strict=True):
            if param.grad is view:
                continue
            if param.grad is None:
                view.zero_()
            else:
                view.copy_(param.grad)
            param.grad = view


def flatten(group_index: int, params: list[torch.Tensor]) -> FlatBuffer:
    """Copy ``params`` (one device and dtype) into a new buffer and make each
    one, and its grad, a view."""
    align = max(1, ALIGNMENT_BYTES // params[0].element_size())
    offsets, total = [], 0
    for p in params:
        offsets.append(total)
        total += -(-p.numel() // align) * align
    flat = torch.zeros(total, dtype=params[0].dtype, device=params[0].device)
    buffer = FlatBuffer(
        group_index, params, offsets, flat, torch.zeros_like(flat)
    )
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
    """Mixin that turns a gdbook.torch optimizer (the next class in the MRO)
    into a flat one.

    ``step`` runs the optimizer's own ``_init_state`` and ``_update`` on each
    flat buffer instead of on each parameter, with ``self.kernel`` swapped for
    the chosen backend's version.
    """

    fused_alternative = (
        None  # it is gdbook's fused update (see base.Optimizer._check)
    )

    def __init__(self, params, *args, backend: str = "auto", **kwargs):
        # checks the name, and that this optimizer's update has the backend
        backends.resolve(backend, [], type(self).kernel, type(self).__name__)
        self.requested_backend = backend
        self.buffers: list[FlatBuffer] = []
        super().__init__(params, *args, **kwargs)

    def __init_subclass__(cls, **kwargs):
        """Give a flat class, for help() and inspect, the signature that it
        accepts: its per-tensor class's (e.g.
        :class:`~gdbook.torch.optim.adam.Adam`'s) plus the keyword
        ``backend``."""
        super().__init_subclass__(**kwargs)
        signature = inspect.signature(cls._constructor())
        backend = inspect.Parameter(
            "backend",
            inspect.Parameter.KEYWORD_ONLY,
            default="auto",
            annotation="str",
        )
        cls.__signature__ = signature.replace(
            parameters=[*signature.parameters.values(), backend]
        )

    @torch.no_grad()
    def add_param_group(self, param_group: dict) -> None:
        """Add a param group, as torch.optim, and flatten its parameters (per
        device and dtype)."""
        super().add_param_group(param_group)
        index = len(self.param_groups) - 1
        group_params = list(dict.fromkeys(self.param_groups[index]["params"]))
        try:
            self._refuse_unfit(group_params)
        except TypeError:
            self.param_groups.pop()  # as it was
            raise
        by_kind: dict[tuple, list[torch.Tensor]] = {}
        for p in group_params:
            if p.requires_grad:
                by_kind.setdefault((p.device, p.dtype), []).append(p)
        self.buffers += [flatten(index, params) for params in by_kind.values()]
        self.backend = backends.resolve(
            self.requested_backend,
            [b.param for b in self.buffers],
            type(self).kernel,
            type(self).__name__,
        )
        self.kernel = backends.kernel(type(self).kernel, self.backend)

    def _refuse_unfit(self, params: list[torch.Tensor]) -> None:
        """Raise if a parameter cannot join a flat buffer: it is not real
        floating-point, or its gradient (which flattening copies in) is
        sparse."""
        not_real = [p.dtype for p in params if not p.is_floating_point()]
        if not_real:
            per_tensor = self._constructor().__name__
            raise TypeError(
                f"{type(self).__name__} needs real floating-point "
                f"parameters, got {not_real[0]}"
                + (
                    f"; gdbook.torch.{per_tensor} updates complex ones"
                    if not_real[0].is_complex
                    else ""
                )
            )
        self._refuse_sparse_grads(params)

    def _tensors(self):
        self._refuse_sparse_grads(
            p for buffer in self.buffers for p in buffer.params
        )
        for buffer in self.buffers:
            buffer.gather_grads()
            yield (
                buffer.param,
                buffer.grad,
                buffer.state,
                self.param_groups[buffer.group_index],
            )
            self._expose_state(
                buffer
            )  # runs after the caller's update of this buffer

    def _expose_state(self, buffer: FlatBuffer) -> None:
        """Give each parameter its views of the flat state, as the per-tensor
        optimizer would hold it."""
        if self.state.get(buffer.params[0], {}).keys() == buffer.state.keys():
            # already exposed, or no state (SGD without momentum keeps none, as
            # torch.optim)
            return
        for i, p in enumerate(buffer.params):
            self.state[p] = {
                name: value if value.dim() == 0 else buffer.view(value, i)
                for name, value in buffer.state.items()
            }

    @torch.no_grad()
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Zero the gradient buffers; grads stay views into them, whatever
        ``set_to_none`` says."""
        for buffer in self.buffers:
            buffer.gather_grads()
            buffer.grad.zero_()

    def state_dict(self) -> dict:
        """As torch.optim's, but each parameter gets its own copy of the
        buffer's ``step`` counter, so that an optimizer loading it that counts
        per parameter (``torch.optim.Adam``) counts right. Entries that a
        state-dict pre-hook added to ``self.state`` pass as they are."""

        def own_step(state):
            if not isinstance(state, dict):
                return state
            return {
                name: value.clone()
                if torch.is_tensor(value) and value.dim() == 0
                else value
                for name, value in state.items()
            }

        state_dict = super().state_dict()
        state_dict["state"] = {
            key: own_step(state) for key, state in state_dict["state"].items()
        }
        return state_dict

    @torch.no_grad()
    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state dict of this class or of the per-tensor optimizer (e.g.
        ``torch.optim.Adam``'s)."""
        super().load_state_dict(state_dict)
        self._load_flat_state()

    def _load_flat_state(self) -> None:
        """Move the per-parameter state that torch.optim's loading left in
        ``self.state`` into the buffers."""
        for buffer in self.buffers:
            loaded = [self.state.pop(p, {}) for p in buffer.params]
            buffer.state = {}
            if not any(loaded):
                continue
            names = loaded[0].keys()
            if any(state.keys() != names for state in loaded):
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: the parameters "
                    "of one flat buffer "
                    "must all have the same state entries, got "
                    f"{sorted({tuple(sorted(state)) for state in loaded})}"
                )
            for name in names:
                buffer.state[name] = self._gather_state(
                    buffer, name, [state[name] for state in loaded]
                )
            self._expose_state(buffer)

    def _gather_state(
        self, buffer: FlatBuffer, name: str, values: list[torch.Tensor]
    ) -> torch.Tensor:
        """One flat state tensor from the per-parameter ``values`` of state
        entry ``name``."""
        if values[0].dim() == 0:
            distinct = {float(v) for v in values}
            if len(distinct) > 1:
                raise ValueError(
                    f"{type(self).__name__}.load_state_dict: the parameters "
                    "of one flat buffer "
                    f"share one {name!r}, got {sorted(distinct)}"
                )
            return values[0].clone()
        flat = torch.zeros_like(buffer.param)
        for i, value in enumerate(values):
            buffer.view(flat, i).copy_(value)
        return flat

    def __getstate__(self) -> dict:
        """What deepcopy and pickle keep: torch.optim's (defaults,
        per-parameter state, param groups) and the backend asked for; the
        buffers are built again from them, as by the constructor."""
        return {
            **super().__getstate__(),
            "requested_backend": self.requested_backend,
        }

    @torch.no_grad()
    def __setstate__(self, state: dict) -> None:
        """After deepcopy or unpickling, flatten the copied parameters into new
        buffers and move their state in. ``load_state_dict`` calls this too,
        with the loaded state and param groups only."""
        if "requested_backend" not in state:
            super().__setstate__(state)
            return
        super().__setstate__({**state, "param_groups": []})
        self.buffers = []
        for group in state["param_groups"]:
            self.add_param_group(group)
        self._load_flat_state()


class FlatAdam(FlatOptimizer, Adam):
    """Adam on flat buffers: the arguments of :class:`gdbook.torch.Adam` plus
    the keyword ``backend`` (where the update runs, see
    :mod:`gdbook.torch.optim.backends`)."""


class FlatAdamW(FlatOptimizer, AdamW):
    """AdamW on flat buffers: the arguments of :class:`gdbook.torch.AdamW` plus
    ``backend``."""


class FlatSGD(FlatOptimizer, SGD):
    """SGD (with momentum) on flat buffers: the arguments of
    :class:`gdbook.torch.SGD` plus ``backend``."""


class FlatLion(FlatOptimizer, Lion):
    """Lion on flat buffers: the arguments of :class:`gdbook.torch.Lion` plus
    ``backend`` (``"auto"``, ``"compile"`` or ``"eager"``: torch has no fused
    Lion kernel)."""


class FlatAdamax(FlatOptimizer, Adamax):
    """Adamax on flat buffers: the arguments of :class:`gdbook.torch.Adamax`
    plus ``backend`` (``"auto"``, ``"compile"`` or ``"eager"``)."""


class FlatNAdam(FlatOptimizer, NAdam):
    """NAdam on flat buffers: the arguments of :class:`gdbook.torch.NAdam` plus
    ``backend`` (``"auto"``, ``"compile"`` or ``"eager"``). Its
    ``mu_product``, like ``step``, is one 0-d tensor per buffer."""
