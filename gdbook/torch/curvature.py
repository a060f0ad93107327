"""Curvature of a torch model's loss without forming its Hessian: the
Hessian-vector product by double backward, and the sharpness (the largest
Hessian eigenvalue) by power iteration on it.

    H v = d/dw (grad f(w) . v)                      (Pearlmutter 1994)

costs about two gradients and never builds H, whose size is the square of
the number of parameters. Cohen et al. (ICLR 2021) track the sharpness
lambda_max(H) along full-batch gradient descent: it rises to about 2/lr, the
stability limit of a quadratic, and then hovers there ("the edge of
stability").
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence

import torch

from .. import _validate


def _parameters(params) -> list[torch.Tensor]:
    """``params`` as a non-empty list of floating tensors that require
    grad, or raise naming ``params``."""
    if isinstance(params, torch.Tensor):
        params = [params]
    try:
        params = list(params)
    except TypeError:
        raise TypeError(
            "params must be a tensor or a sequence of tensors, got "
            f"{type(params).__name__}"
        ) from None
    if not params:
        raise ValueError("params must hold at least one tensor, got none")
    for i, p in enumerate(params):
        if not isinstance(p, torch.Tensor):
            raise TypeError(
                f"params[{i}] must be a tensor, got {type(p).__name__}"
            )
        if not (p.is_floating_point() and p.requires_grad):
            raise ValueError(
                f"params[{i}] must be a floating tensor with "
                f"requires_grad=True, got dtype {p.dtype}, "
                f"requires_grad={p.requires_grad}"
            )
    return params


def _scalar_loss(loss) -> torch.Tensor:
    """Require the loss to be a real scalar tensor."""
    if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
        shape = tuple(loss.shape) if isinstance(loss, torch.Tensor) else None
        raise ValueError(
            "the loss must be a scalar tensor, got "
            f"{type(loss).__name__}{'' if shape is None else f' {shape}'}"
        )
    if not loss.requires_grad:
        raise ValueError(
            "the loss does not depend on params (requires_grad=False)"
        )
    return loss.reshape(())


def _hvp_operator(loss: torch.Tensor, params: list[torch.Tensor]):
    """v -> H v for the Hessian of ``loss`` in ``params``: the gradient's
    graph is built once and kept, so each product costs one backward."""
    grads = torch.autograd.grad(
        loss, params, create_graph=True, allow_unused=True
    )
    # a parameter the loss ignores, or enters linearly, adds nothing to H v
    used = [
        i for i, g in enumerate(grads) if g is not None and g.requires_grad
    ]
    if not used:  # the loss is linear in params: H = 0
        return lambda v: [torch.zeros_like(p) for p in params]

    def apply(v):
        with torch.enable_grad():  # also inside a torch.no_grad() block
            dot = sum((grads[i] * v[i]).sum() for i in used)
            hv = torch.autograd.grad(
                dot, params, retain_graph=True, allow_unused=True
            )
        return [
            torch.zeros_like(p) if h is None else h.detach()
            for h, p in zip(hv, params, strict=True)
        ]

    return apply


def _vectors(v, params: list[torch.Tensor]) -> list[torch.Tensor]:
    """``v`` as tensors of the shapes of ``params``, or raise naming ``v``."""
    if isinstance(v, torch.Tensor):
        v = [v]
    v = list(v)
    if len(v) != len(params):
        raise ValueError(
            f"v must hold one tensor per parameter ({len(params)}), got "
            f"{len(v)}"
        )
    for i, (u, p) in enumerate(zip(v, params, strict=True)):
        if not isinstance(u, torch.Tensor) or u.shape != p.shape:
            got = tuple(u.shape) if isinstance(u, torch.Tensor) else type(u)
            raise ValueError(
                f"v[{i}] must be a tensor of shape {tuple(p.shape)}, like "
                f"params[{i}], got {got}"
            )
        if not torch.isfinite(u).all():
            raise ValueError(f"v[{i}] must be finite")
    return [
        u.to(dtype=p.dtype, device=p.device)
        for u, p in zip(v, params, strict=True)
    ]


def hessian_vector_product(
    loss_fn: Callable[[], torch.Tensor],
    params: Sequence[torch.Tensor] | torch.Tensor,
    v: Sequence[torch.Tensor] | torch.Tensor,
) -> list[torch.Tensor]:
    """H v, with H the Hessian of the scalar ``loss_fn()`` in ``params``
    and ``v`` one tensor per parameter (same shapes): the gradient of
    ``grad f . v`` (double backward, Pearlmutter 1994). Returns a list of
    detached tensors shaped like ``params``."""
    params = _parameters(params)
    v = _vectors(v, params)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {loss_fn!r}")
    with torch.enable_grad():  # also inside a torch.no_grad() block
        return _hvp_operator(_scalar_loss(loss_fn()), params)(v)


def _dot(a, b) -> float:
    return float(sum((x * y).sum() for x, y in zip(a, b, strict=True)))


def _start(params, generator) -> list[torch.Tensor]:
    """A random unit vector (standard normal, normalised) shaped like
    ``params``."""
    v = [
        torch.randn(p.shape, generator=generator, dtype=p.dtype).to(p.device)
        for p in params
    ]
    norm = math.sqrt(_dot(v, v))
    return [u / norm for u in v]


def _power_iteration(hvp, v, shift, iters, tol):
    """Largest-magnitude eigenvalue of H - shift I from the start ``v``
    (unit norm): (Rayleigh quotient, vector, converged)."""
    lam = math.nan
    for _ in range(iters):
        hv = hvp(v)
        w = [h - shift * u for h, u in zip(hv, v, strict=True)]
        new = _dot(v, w)  # Rayleigh quotient, v has unit norm
        norm = math.sqrt(_dot(w, w))
        if norm == 0.0:  # v is in the null space of H - shift I
            return 0.0, v, True
        v = [x / norm for x in w]
        if abs(new - lam) <= tol * abs(new):
            return new, v, True
        lam = new
    return lam, v, False


def top_eigenpair(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: tuple[torch.Tensor, torch.Tensor],
    v0: Sequence[torch.Tensor] | None = None,
    iters: int = 100,
    tol: float = 1e-7,
    seed: int = 0,
) -> tuple[float, list[torch.Tensor]]:
    """The largest eigenvalue lambda_max of the Hessian of
    ``loss_fn(model(X), y)`` in the model's parameters, on ``data = (X, y)``,
    and a unit eigenvector (one tensor per parameter), by power iteration on
    Hessian-vector products.

    It starts from ``v0`` (e.g. the vector of the previous call, when the
    sharpness is tracked along training) or else from a normal vector drawn
    with ``seed``, and stops when the Rayleigh quotient changes by at most
    ``tol`` relative, or after ``iters`` products (with a RuntimeWarning).
    Power iteration finds the eigenvalue of largest *magnitude*, mu; if mu is
    negative (negative curvature dominates), a second run on H - mu I, whose
    largest-magnitude eigenvalue is lambda_max - mu >= 0, gives lambda_max
    (which may itself be negative). The error shrinks by about
    (lambda_2 / lambda_1)^2 per product: slowly when the top two are close.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(
            f"model must be a torch.nn.Module, got {type(model).__name__}"
        )
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable, got {loss_fn!r}")
    if not (isinstance(data, (tuple, list)) and len(data) == 2):
        raise TypeError("data must be a pair (X, y) of tensors")
    iters = _validate.integer("iters", iters, low=1)
    tol = _validate.real("tol", tol, low=0.0)
    seed = _validate.integer("seed", seed, low=0)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("model has no parameters with requires_grad=True")
    params = _parameters(params)
    generator = torch.Generator().manual_seed(seed)
    if v0 is None:
        v = _start(params, generator)
    else:
        v = _vectors(v0, params)
        norm = math.sqrt(_dot(v, v))
        if norm == 0.0:
            raise ValueError("v0 must not be zero")
        v = [u / norm for u in v]
    X, y = data
    with torch.enable_grad():  # also inside a torch.no_grad() block
        hvp = _hvp_operator(_scalar_loss(loss_fn(model(X), y)), params)

    mu, v, converged = _power_iteration(hvp, v, 0.0, iters, tol)
    if converged and mu < 0.0:  # the negative end dominates: shift it
        # a fresh start: the vector found is in the null space of H - mu I
        shifted, v, converged = _power_iteration(
            hvp, _start(params, generator), mu, iters, tol
        )
        mu = shifted + mu
    if not converged:
        warnings.warn(
            f"power iteration did not reach tol={tol} in iters={iters} "
            "Hessian-vector products",
            RuntimeWarning,
            stacklevel=2,
        )
    return mu, v


def sharpness(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: tuple[torch.Tensor, torch.Tensor],
    iters: int = 100,
    tol: float = 1e-7,
    seed: int = 0,
) -> float:
    """The sharpness lambda_max(H), the largest eigenvalue of the Hessian of
    ``loss_fn(model(X), y)`` in the model's parameters on ``data = (X, y)``,
    as Cohen et al. (ICLR 2021) track it along full-batch gradient descent:
    :func:`top_eigenpair` from a random start (``seed``), without the
    vector."""
    return top_eigenpair(
        model, loss_fn, data, iters=iters, tol=tol, seed=seed
    )[0]
