"""``minimize``: run an optimizer on a problem, record the history, stop on convergence or divergence.

The result has the shape of ``scipy.optimize.minimize``'s: ``x, fun, nit, success, message`` plus
``history``, the per-iteration arrays that the book plots against the theory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from tqdm import tqdm

from . import _validate
from .data import minibatches
from .optim import OPTIMIZERS, SGD, Optimizer

METHODS = ("gd",) + tuple(OPTIMIZERS)
DIVERGENCE_FACTOR = 1e6  # a run whose optimality gap grows this many times over its start has diverged


@dataclass
class OptimizeResult:
    """The outcome of :func:`minimize`.

    ``history`` holds NumPy arrays: ``x`` (nit+1, dim), ``f`` and ``grad_norm`` (nit+1,), i.e. the values at
    x_0, ..., x_nit, and ``lr`` (nit,), the learning rate of each step.
    """

    x: np.ndarray
    fun: float
    nit: int
    success: bool
    message: str
    history: dict = field(repr=False)

    def __repr__(self) -> str:
        return (f"OptimizeResult(success={self.success}, nit={self.nit}, fun={self.fun:.6g}, "
                f"message={self.message!r})")


def minimize(objective, x0, method: str | Optimizer = "gd", *, lr=None, max_iter: int = 1000,
             tol: float = 1e-8, ftol: float = 0.0, batch_size: int | None = None, seed: int = 0,
             callback: Callable | None = None, progress: bool = False) -> OptimizeResult:
    """Minimise ``objective`` from ``x0`` with a first-order method.

    method: "gd" (SGD without momentum: gradient descent), a name in ``gdbook.optim.OPTIMIZERS``
        ("sgd", "adagrad", "rmsprop", "adadelta", "adam", "adamw") built with ``lr``, or an optimizer instance.
    lr: learning rate (float or schedule) for a named method; "gd" defaults to 1/L when the problem knows L.
    max_iter: the most steps taken. tol: stop when ||grad f(x_t)|| <= tol.
    ftol: also stop when |f_t - f_{t-1}| <= ftol * max(|f_t|, |f_{t-1}|, 1) (0 disables it).
    batch_size: None for the full gradient, else steps use mini-batch gradients of a finite-sum problem,
        drawn epoch by epoch without replacement from ``numpy.random.default_rng(seed)``; the history still
        records the full f and ||grad f||.
    callback: ``callback(t, x, f)`` after each step; returning True stops the run.

    Divergence (a non-finite value, or an optimality gap DIVERGENCE_FACTOR times its start) ends the run
    with ``success=False`` and a message naming the iteration and comparing lr with 2/L where L is known.
    """
    if not (callable(getattr(objective, "value", None)) and callable(getattr(objective, "grad", None))):
        raise TypeError(f"objective must have value(x) and grad(x) methods, got {type(objective).__name__}")
    x = _validate.vector("x0", x0, dim=getattr(objective, "dim", None))
    max_iter = _validate.integer("max_iter", max_iter, low=0)
    tol = _validate.real("tol", tol, low=0.0)
    ftol = _validate.real("ftol", ftol, low=0.0)
    optimizer = _make_optimizer(method, lr, objective)
    batches = _batch_stream(objective, batch_size, seed)
    with np.errstate(over="ignore", invalid="ignore"):
        return _run(objective, x, optimizer, batches, max_iter, tol, ftol, callback, progress)


def _make_optimizer(method, lr, objective) -> Optimizer:
    if isinstance(method, Optimizer):
        if lr is not None:
            raise ValueError("lr must be None when method is an optimizer instance (it carries its own lr)")
        return method
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)} or an Optimizer instance; got {method!r}")
    if method == "gd":
        if lr is None:
            if getattr(objective, "L", None) is None:
                raise ValueError("lr must be given for method 'gd' when the objective's L is unknown")
            lr = 1.0 / objective.L
        return SGD(lr=lr)
    return OPTIMIZERS[method]() if lr is None else OPTIMIZERS[method](lr=lr)


def _batch_stream(objective, batch_size, seed):
    """An endless iterator of mini-batch index arrays, or of None (full gradient)."""
    if batch_size is None:
        while True:
            yield None
    n = getattr(objective, "n_samples", None)
    if n is None:
        raise ValueError("batch_size needs a finite-sum objective (with n_samples); use batch_size=None")
    batch_size = _validate.integer("batch_size", batch_size, low=1)
    if batch_size > n:
        raise ValueError(f"batch_size must be <= n_samples = {n}, got {batch_size}")
    rng = np.random.default_rng(seed)
    while True:
        yield from minibatches(n, batch_size, seed=rng)


def _run(objective, x, optimizer, batches, max_iter, tol, ftol, callback, progress) -> OptimizeResult:
    state = optimizer.init(x)
    f, grad_norm = _evaluate(objective, x)
    xs, fs, norms, lrs = [x], [f], [grad_norm], []
    success, message = _converged(grad_norm, tol, None, f, ftol)
    bar = tqdm(total=max_iter, disable=not progress or success, desc=type(optimizer).__name__)
    t = 0
    while not success and t < max_iter:
        g = _validate.same_shape("objective.grad(x)", objective.grad(x, next(batches)), x)
        lrs.append(optimizer.lr_at(t))
        x, state = optimizer.step(x, g, state)
        t += 1
        f_prev = f
        f, grad_norm = _evaluate(objective, x)
        xs.append(x), fs.append(f), norms.append(grad_norm)
        bar.update()
        divergence = _divergence(objective, fs, grad_norm, t, lrs[-1])
        if divergence:
            message = divergence
            break
        success, message = _converged(grad_norm, tol, f_prev, f, ftol)
        if not success and callback is not None and callback(t, x, f):
            message = f"stopped by callback at iteration {t}"
            break
    bar.close()
    if not success and not message:
        message = f"reached max_iter = {max_iter} with ||grad f|| = {grad_norm:.3g} > tol = {tol:.3g}"
    history = {"x": np.array(xs), "f": np.array(fs), "grad_norm": np.array(norms), "lr": np.array(lrs)}
    return OptimizeResult(x, f, t, success, message, history)


def _evaluate(objective, x) -> tuple[float, float]:
    return float(objective.value(x)), float(np.linalg.norm(objective.grad(x)))


def _converged(grad_norm, tol, f_prev, f, ftol) -> tuple[bool, str]:
    if grad_norm <= tol:
        return True, f"||grad f|| = {grad_norm:.3g} <= tol = {tol:.3g}"
    if ftol > 0 and f_prev is not None and abs(f - f_prev) <= ftol * max(abs(f), abs(f_prev), 1.0):
        return True, f"relative change of f below ftol = {ftol:.3g}"
    return False, ""


def _divergence(objective, fs, grad_norm, t, lr) -> str:
    """A message if the run has diverged at iteration t, else the empty string."""
    f0, f = fs[0], fs[-1]
    f_star = getattr(objective, "f_star", None)
    f_ref = f_star if f_star is not None else min(fs)
    start_gap = max(f0 - f_ref, 1e-12 * max(abs(f0), 1.0))
    if np.isfinite(f) and np.isfinite(grad_norm) and f - f_ref <= DIVERGENCE_FACTOR * start_gap:
        return ""
    message = f"diverged at iteration {t}: f = {f:.3g}, ||grad f|| = {grad_norm:.3g}, started at f = {f0:.3g}"
    L = getattr(objective, "L", None)
    if L:
        verdict = "above" if lr > 2.0 / L else "within"
        message += f"; lr = {lr:.3g} is {verdict} the stability limit 2/L = {2.0 / L:.3g}"
    return message
