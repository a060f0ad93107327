"""The loop shared by gdbook's torch optimizers: one readable update per
parameter tensor.

Each optimizer is a ``torch.optim.Optimizer`` (so param groups,
``state_dict`` / ``load_state_dict``, hooks and torch's LR schedulers all work)
whose ``step`` calls a plain function on one tensor at a time, e.g.
:func:`gdbook.torch.optim.adam.adam_`. That function is the algorithm, written
with the same in-place operations as torch.optim's for-loop implementation, so
both agree to the last bit.

Hyper-parameters, those of the constructor and those of every param group, are
checked by the NumPy reference class of the same name in :mod:`gdbook.optim`,
so the two accept exactly the same values and raise the same errors. The
constructors take torch.optim's arguments, implementation flags included.
"""

from __future__ import annotations

import inspect
import re

import torch

from ... import optim as reference
from . import backends

# torch.optim's implementation flags: the values that describe what gdbook
# does, and why not the others.
KERNELS = (
    "gdbook picks its kernels itself (torch.optim's for-loop per tensor; a "
    "Flat class's backend)"
)
FLAGS = {
    "foreach": ((None, False), KERNELS),
    "fused": ((None, False), KERNELS),
    "capturable": (
        (False,),
        "its step reads the step count on the host, so a CUDA graph cannot "
        "capture it",
    ),
    "differentiable": (
        (False,),
        "its step updates in place under torch.no_grad()",
    ),
}


def direction(
    param: torch.Tensor,
    grad: torch.Tensor,
    weight_decay: float,
    maximize: bool,
) -> torch.Tensor:
    """``grad`` (negated to maximize) plus the coupled L2 term
    ``weight_decay * param``, as torch.optim."""
    grad = -grad if maximize else grad
    return grad.add(param, alpha=weight_decay) if weight_decay else grad


def as_real(tensor: torch.Tensor | None) -> torch.Tensor | None:
    """A complex tensor as a real one with a last axis (real, imaginary),
    ``torch.view_as_real``. torch.optim updates a complex parameter as its real
    and imaginary parts (Adam's second moment is re² and im², not the complex
    g²) after computing the direction d in complex arithmetic; so do the
    kernels."""
    return (
        torch.view_as_real(tensor)
        if tensor is not None and tensor.is_complex()
        else tensor
    )


def as_scalar(value):
    """A 1-element tensor hyper-parameter as a 0-d one, which torch's
    ``alpha=`` and ``value=`` accept (``torch.optim.optimizer._to_scalar``);
    anything else as it is."""
    return (
        value.squeeze()
        if isinstance(value, torch.Tensor) and value.dim()
        else value
    )


def as_number(name: str, value):
    """``value`` as the NumPy reference class checks it: a tensor (torch takes
    one for ``lr`` and ``betas``) by its single value; ``betas`` must be both
    numbers or both tensors, as in torch.optim."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(
                f"Tensor {name} must be 1-element, got shape "
                f"{tuple(value.shape)}"
            )
        return value.item()
    if name == "betas" and isinstance(value, (tuple, list)):
        if len({isinstance(beta, torch.Tensor) for beta in value}) > 1:
            raise ValueError(
                "betas must be either both floats or both Tensors, got "
                f"{value!r}"
            )
        return tuple(
            as_number(f"betas[{i}]", beta) for i, beta in enumerate(value)
        )
    return value


def in_torch_words(message: str, hyper: dict) -> str:
    """A range error of the NumPy reference, ``"momentum must be >= 0.0, got
    -0.5"``, led by torch.optim's wording of it, ``"Invalid momentum value:
    -0.5"``, so code that matches torch's messages matches gdbook's too."""
    name = message.split(" ", 1)[0]
    index = re.fullmatch(r"betas\[(\d)\]", name)
    if index:
        value = hyper["betas"][int(index[1])]
        return (
            f"Invalid beta parameter at index {index[1]}: {value}; {message}"
        )
    if name not in hyper or isinstance(hyper[name], (tuple, list)):
        return message
    words = {"lr": "learning rate", "eps": "epsilon value"}
    return (
        f"Invalid {words.get(name, name + ' value')}: {hyper[name]}; {message}"
    )


class Optimizer(torch.optim.Optimizer):
    """Calls ``self._update(param, grad, state, group)`` for every parameter
    that has a gradient.

    Subclasses set ``kernel``, the update of one tensor (e.g.
    :func:`~gdbook.torch.optim.adam.adam_`), ``reference_class``, the NumPy
    class that checks the hyper-parameters,
    ``_init_state(param, group) -> dict`` (the state before the first step) and
    ``_update``, which calls ``self._kernel``. A parameter whose ``.grad`` is
    None is skipped, as in torch.optim.
    """

    kernel = None
    reference_class: type[reference.Optimizer]
    fused_alternative: str | None = (
        None  # gdbook's fused version of this class, e.g. "FlatAdam"
    )

    def __init__(self, params, defaults: dict):
        self._check(defaults)
        super().__init__(params, defaults)

    def _check(self, hyper: dict) -> None:
        """Raise, naming the argument and what is allowed, if a hyper-parameter
        in ``hyper`` (the constructor's arguments, or a param group over them)
        is out of range, or an implementation flag asks for what gdbook does
        not do. One home for the ranges: the NumPy reference class."""
        if callable(hyper["lr"]):
            raise TypeError(
                "lr must be a real number; for a schedule use "
                "torch.optim.lr_scheduler"
            )
        for flag, (allowed, reason) in FLAGS.items():
            if flag in hyper and hyper[flag] not in allowed:
                name = type(self).__name__
                offer = f"torch.optim.{name.removeprefix('Flat')}({flag}=True)"
                if flag in ("foreach", "fused") and self.fused_alternative:
                    offer = (
                        f"gdbook.torch.{self.fused_alternative} for one "
                        "fused update of all parameters, "
                        f"or {offer}"
                    )
                elif flag in ("foreach", "fused") and name.startswith("Flat"):
                    offer = (
                        "backend='fused' (torch's fused kernel on the flat "
                        "buffer, the default on CPU)"
                        if "fused" in backends.available(type(self).kernel)
                        else "backend='auto' (one update of the flat buffer: "
                        "eager on CPU, compiled on CUDA)"
                    )
                raise ValueError(
                    f"{name} does not support {flag}={hyper[flag]!r}: "
                    f"{reason}; "
                    f"{flag} may be {' or '.join(map(repr, allowed))}. "
                    f"Instead use {offer}"
                )
        names = inspect.signature(self.reference_class).parameters
        try:
            self.reference_class(
                **{
                    name: as_number(name, hyper[name])
                    for name in names
                    if name in hyper
                }
            )
        except ValueError as err:
            raise ValueError(in_torch_words(str(err), hyper)) from None

    def add_param_group(self, param_group: dict) -> None:
        """As torch.optim's, after checking the group's hyper-parameters as the
        constructor checks its own."""
        if isinstance(param_group, dict):  # else torch.optim's TypeError
            self._check({**self.defaults, **param_group})
        super().add_param_group(param_group)

    def __setstate__(self, state: dict) -> None:
        """Also what ``load_state_dict`` calls. As torch.optim, a state dict
        saved by an older torch loads: a group key it lacks (e.g. ``maximize``)
        takes the constructor's default, and a Python float ``step`` becomes a
        tensor."""
        super().__setstate__(state)
        defaults = {
            name: p.default
            for name, p in inspect.signature(
                self._constructor()
            ).parameters.items()
            if name in self.defaults
        }
        for group in self.param_groups:
            for name, value in defaults.items():
                group.setdefault(name, value)
            for param in group["params"]:
                param_state = self.state.get(param, {})
                if "step" in param_state and not torch.is_tensor(
                    param_state["step"]
                ):
                    param_state["step"] = torch.tensor(
                        float(param_state["step"])
                    )

    @classmethod
    def _constructor(cls):
        """The constructor whose arguments the param groups hold (for a flat
        class, its per-tensor class)."""
        return next(
            c
            for c in cls.__mro__
            if "lr" in inspect.signature(c.__init__).parameters
        )

    @torch.no_grad()
    def step(self, closure=None):
        """One update of every parameter; ``closure`` (optional) re-evaluates
        the loss and returns it."""
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
        """``(param, grad, state, group)`` for each tensor that ``step``
        updates. A parameter's state is kept once it holds something (SGD
        without momentum keeps none, as torch.optim)."""
        self._refuse_sparse_grads(
            param for group in self.param_groups for param in group["params"]
        )
        for group in self.param_groups:
            for param in group["params"]:
                if param.grad is not None:
                    state = self.state.get(param, {})
                    yield param, param.grad, state, group
                    if state:
                        self.state[param] = state

    def _refuse_sparse_grads(self, params) -> None:
        """Raise before any update if one of ``params`` has a sparse
        gradient."""
        if any(
            param.grad is not None and param.grad.is_sparse for param in params
        ):
            raise TypeError(
                f"{type(self).__name__} does not support sparse gradients; "
                "make them dense "
                "(grad.to_dense()) or use torch.optim.SGD, Adagrad or "
                "SparseAdam"
            )

    def _kernel(self, *tensors: torch.Tensor | None, **hyper) -> None:
        """``self.kernel(*tensors, **hyper)`` with a 1-element tensor
        hyper-parameter as a 0-d one, as torch.optim's for-loop passes them
        (e.g. ``lr=torch.tensor([1e-3])``)."""
        self.kernel(
            *tensors,
            **{name: as_scalar(value) for name, value in hyper.items()},
        )

    def _init_state(self, param: torch.Tensor, group: dict) -> dict:
        return {}

    def _update(
        self, param: torch.Tensor, grad: torch.Tensor, state: dict, group: dict
    ) -> None:
        raise NotImplementedError
