"""``minimize``: run a method on a problem, record the history, stop on
convergence or divergence.

The result has the shape of ``scipy.optimize.minimize``'s: a dict with
attribute access holding ``x, fun, nit, status, success, message``, the counts
``nfev, njev, nhev`` of value, gradient and Hessian evaluations, and
``history``, the per-iteration arrays that the book plots against the theory.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Callable

import numpy as np
from tqdm import tqdm

from . import _validate, optim
from .data import minibatches
from .linesearch import ArmijoGD, LineSearchError, PolyakGD
from .methods import FirstOrder, Method
from .optim import Optimizer
from .problems import Counted
from .second_order import LBFGS, Newton

SEARCH_METHODS = {
    "gd-armijo": ArmijoGD,
    "gd-polyak": PolyakGD,
    "newton": Newton,
    "lbfgs": LBFGS,
}
METHODS = optim.NAMES + tuple(SEARCH_METHODS)
# a run whose gap f - f_ref exceeds this many times max(f0 - f_ref, |f0|, 1)
# has diverged
DIVERGENCE_FACTOR = 1e6


class Status(enum.IntEnum):
    """Why a run stopped; as in scipy, 0 is success and callers test the
    status, never the message."""

    CONVERGED = 0  # ||grad f|| <= tol, or the relative change of f <= ftol
    MAX_ITER = 1  # max_iter steps taken without converging
    # a non-finite value, or f rose DIVERGENCE_FACTOR times above its scale
    DIVERGED = 2
    CALLBACK_STOP = 3  # the callback returned True
    LINE_SEARCH_FAILED = 4  # no step satisfied the line search's conditions


class OptimizeResult(dict):
    """The outcome of :func:`minimize`: a dict with attribute access, like
    ``scipy.optimize.OptimizeResult``.

    Keys: ``x, fun, nit, status`` (a :class:`Status`), ``success``
    (``status == Status.CONVERGED``), ``message``, ``nfev, njev, nhev``;
    ``history`` holds NumPy arrays: ``t``, the recorded iterations (0, k, 2k,
    ..., and nit, with k = ``record_every``; all of 0..nit by default), and
    ``x``, ``f``, ``grad_norm`` at those iterates; ``step_size`` (nit,) holds
    the step size of every step: the learning rate of a first-order method, the
    accepted step length of a line search. ``state`` is the method's final
    state (e.g. Adam's moments).
    """

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(
                f"OptimizeResult has no key {name!r}; its keys: "
                f"{', '.join(self)}"
            ) from None

    __setattr__ = dict.__setitem__
    __delattr__ = dict.__delitem__

    def __dir__(self):
        return list(self.keys())

    def __repr__(self) -> str:
        """One entry per line, as scipy's; numbers to six digits, ``history``
        and ``state`` by their keys."""

        def shown(key, value):
            if key == "x":
                return np.array2string(
                    np.asarray(value), precision=6, threshold=6
                )
            if isinstance(
                value, float
            ):  # six digits, so a printed result does not show round-off
                return f"{value:.6g}"
            return (
                f"<dict: {', '.join(value)}>"
                if isinstance(value, dict)
                else repr(value)
            )

        width = max(map(len, self), default=0)
        return "\n".join(
            f"{key:>{width}}: {shown(key, value)}"
            for key, value in self.items()
        )


def minimize(
    problem,
    x0,
    method: str | Optimizer | Method = "gd",
    *,
    lr=None,
    max_iter: int = 1000,
    tol: float = 1e-8,
    ftol: float = 0.0,
    batch_size: int | None = None,
    sampling: str = "shuffle",
    seed: int = 0,
    record_every: int = 1,
    callback: Callable | None = None,
    progress: bool = False,
    clip_norm: float | None = None,
) -> OptimizeResult:
    """Minimise ``problem`` (any object with ``value(x)`` and ``grad(x)``) from
    ``x0``.

    method: "gd" (SGD without momentum: gradient descent); a first-order
        optimizer by name ("sgd", "adagrad", "rmsprop", "adadelta", "adam",
        "adamw", built with ``lr``) or as an instance of
        :class:`gdbook.optim.Optimizer`; or a method that evaluates the problem
        itself: "gd-armijo", "gd-polyak" (the problem's f_star needed),
        "newton", "lbfgs", or an instance of
        :class:`gdbook.methods.Method`.
    lr: learning rate (float or schedule) for a named first-order method; "gd"
        defaults to 1/L when the problem knows L.
    max_iter: the most steps taken. tol: stop when ||grad f(x_t)|| <= tol.
    ftol: also stop when |f_t - f_{t-1}| <= ftol * max(|f_t|, |f_{t-1}|, 1) (0
        disables it).
    batch_size: None for the full gradient, else first-order steps use
        mini-batch gradients of a finite-sum problem, with indices from
        ``numpy.random.default_rng(seed)``; the history still records the full
        f and ||grad f||.
    sampling: "shuffle" (each epoch a new permutation, cut into batches: every
        sample once per epoch) or "replace" (every batch drawn independently,
        uniformly with replacement, as the SGD theorems assume).
    record_every: evaluate the full f and ||grad f|| (for the history, the
        stopping rules, divergence and the callback) only every k steps and at
        the last one; for stochastic runs this saves n evaluations a step.
    callback: ``callback(t, x, f)`` at each recorded iterate; returning True
        stops the run.
    clip_norm: for a first-order method, scale each gradient down to this
        norm when it is longer (:func:`gdbook.methods.clip_by_norm`, the
        formula of ``torch.nn.utils.clip_grad_norm_``); None does not clip.

    Divergence (a non-finite value, or f - f_ref above
    DIVERGENCE_FACTOR * max(f_0 - f_ref, |f_0|, 1), with f_ref = f* where
    known, else the lowest f seen) ends the run with
    ``status=Status.DIVERGED``, ``success=False``, the history up to the
    blow-up, and a message naming the iteration and comparing lr with 2/L where
    L is known; it is reported, never raised.
    """
    counted = Counted(problem)  # checks that it is a problem
    x = _validate.vector("x0", x0, dim=getattr(problem, "dim", None))
    max_iter = _validate.integer("max_iter", max_iter, low=0)
    record_every = _validate.integer("record_every", record_every, low=1)
    tol = _validate.real("tol", tol, low=0.0)
    ftol = _validate.real("ftol", ftol, low=0.0)
    seed = _validate.integer("seed", seed, low=0)
    if callback is not None and not callable(callback):
        raise TypeError(
            "callback must be callable as callback(t, x, f) or None, got "
            f"{type(callback).__name__}"
        )
    if clip_norm is not None:
        clip_norm = _validate.real(
            "clip_norm", clip_norm, low=0.0, low_open=True
        )
    method = _method(
        method, lr, problem, batch_size, sampling, seed, clip_norm
    )
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        return _run(
            counted,
            x,
            method,
            max_iter,
            tol,
            ftol,
            record_every,
            callback,
            progress,
        )


def _method(
    method, lr, problem, batch_size, sampling, seed, clip_norm=None
) -> Method:
    """The :class:`~gdbook.methods.Method` that ``method`` (a name, an
    optimizer or a method) stands for."""
    if isinstance(method, (Optimizer, Method)) and lr is not None:
        raise ValueError(
            "lr must be None when method is an optimizer instance (it "
            "carries its own lr)"
        )
    if isinstance(method, str) and method not in METHODS:
        raise ValueError(
            f"method must be one of {', '.join(METHODS)} or an optimizer "
            f"instance; got {method!r}"
        )
    if isinstance(method, str) and method in SEARCH_METHODS:
        if lr is not None:
            raise ValueError(
                f"lr must be None for method {method!r}: its step comes "
                "from a line search"
            )
        method = SEARCH_METHODS[method]()
    if isinstance(method, Method):
        if batch_size is not None:
            raise ValueError(
                f"batch_size must be None for {type(method).__name__}, "
                "which needs exact values"
            )
        if clip_norm is not None:
            raise ValueError(
                f"clip_norm must be None for {type(method).__name__}, whose "
                "step is not a gradient step"
            )
        return method
    if isinstance(method, str):
        method = _named_optimizer(method, lr, problem)
    if not isinstance(method, Optimizer):
        raise TypeError(
            "method must be a name or an optimizer instance, got "
            f"{type(method).__name__}"
        )
    return FirstOrder(
        method, _batch_stream(problem, batch_size, sampling, seed), clip_norm
    )


def _named_optimizer(name, lr, problem) -> Optimizer:
    if (
        name == "gd" and lr is None
    ):  # gradient descent's textbook step, where the problem knows L
        if getattr(problem, "L", None) is None:
            raise ValueError(
                "lr must be given for method 'gd' when the problem's L is "
                "unknown"
            )
        lr = 1.0 / problem.L
    cls = optim.by_name(name)
    return cls() if lr is None else cls(lr=lr)


SAMPLINGS = ("shuffle", "replace")


def _batch_stream(problem, batch_size, sampling, seed):
    """An endless iterator of mini-batch index arrays, or of None (full
    gradient); arguments checked now."""
    if sampling not in SAMPLINGS:
        raise ValueError(
            f"sampling must be one of {', '.join(SAMPLINGS)}; got {sampling!r}"
        )
    if batch_size is None:
        return itertools.repeat(None)
    n = _validate.finite_sum("problem", problem)
    return _batches(
        n,
        _validate.batch_size(batch_size, n),
        sampling,
        np.random.default_rng(seed),
    )


def _batches(n, batch_size, sampling, rng):
    while True:
        if sampling == "replace":
            yield rng.integers(0, n, size=batch_size)
        else:
            yield from minibatches(n, batch_size, seed=rng)


def _run(
    problem, x, method, max_iter, tol, ftol, record_every, callback, progress
) -> OptimizeResult:
    """The loop: step, and every ``record_every`` steps record f and ||grad f||
    and test the stopping rules."""
    f, g = problem.value(x), problem.grad(x)
    grad_norm = float(np.linalg.norm(g))
    ts, xs, fs, norms, steps = [0], [x], [f], [grad_norm], []
    if np.isfinite(f) and np.isfinite(grad_norm):
        status, message = _converged(grad_norm, tol, None, f, ftol)
        state = method.init(problem, x)
    else:  # no method can start from here
        status, state = Status.DIVERGED, {}
        message = (
            f"diverged at iteration 0: f(x0) = {f:.3g}, ||grad f(x0)|| = "
            f"{grad_norm:.3g} are not finite"
        )
    f_low, f_recorded = f, f
    bar = tqdm(
        total=max_iter,
        disable=not progress or status is not None,
        desc=type(method).__name__,
    )
    t = 0
    while status is None and t < max_iter:
        try:
            x, step_size, state = method.step(problem, x, state)
        except LineSearchError as error:
            status = Status.LINE_SEARCH_FAILED
            message = (
                f"line search failed at iteration {t + 1} with ||grad f|| = "
                f"{grad_norm:.3g}: {error}"
            )
            break
        t += 1
        steps.append(step_size)
        bar.update()
        if t % record_every and t < max_iter and np.all(np.isfinite(x)):
            # not recorded; a non-finite iterate always is, since no step can
            # start from it
            continue
        if np.all(np.isfinite(x)):
            # f and grad f there: already computed if the method's search
            # ended there
            f, g = problem.value(x), problem.grad(x)
        else:  # x overflowed: the problem cannot be evaluated there
            f, g = np.nan, np.full_like(x, np.nan)
        grad_norm = float(np.linalg.norm(g))
        f_low = min(f_low, f)
        ts.append(t), xs.append(x), fs.append(f), norms.append(grad_norm)
        divergence = _divergence(
            problem,
            fs[0],
            f,
            f_low,
            grad_norm,
            t,
            step_size,
            np.all(np.isfinite(x)),
        )
        if divergence:
            status, message = Status.DIVERGED, divergence
            break
        status, message = _converged(grad_norm, tol, f_recorded, f, ftol)
        f_recorded = f
        if callback is not None and callback(t, x, f) and status is None:
            status, message = (
                Status.CALLBACK_STOP,
                f"stopped by callback at iteration {t}",
            )
            break
    bar.close()
    if ts[-1] != t:
        # a line search failed between recorded iterates: record where the run
        # stands
        f, g = problem.value(x), problem.grad(x)
        (
            ts.append(t),
            xs.append(x),
            fs.append(f),
            norms.append(float(np.linalg.norm(g))),
        )
    if status is None:
        status = Status.MAX_ITER
        message = (
            f"reached max_iter = {max_iter} with ||grad f|| = "
            f"{grad_norm:.3g} > tol = {tol:.3g}"
        )
    history = {
        "t": np.array(ts),
        "x": np.array(xs),
        "f": np.array(fs),
        "grad_norm": np.array(norms),
        "step_size": np.array(steps),
    }
    return OptimizeResult(
        x=x,
        fun=fs[-1],
        nit=t,
        status=status,
        success=status == Status.CONVERGED,
        message=message,
        nfev=problem.nfev,
        njev=problem.njev,
        nhev=problem.nhev,
        history=history,
        state=state,
    )


def _converged(grad_norm, tol, f_prev, f, ftol) -> tuple[Status | None, str]:
    """``(Status.CONVERGED, why)`` if a stopping rule holds, else
    ``(None, "")``."""
    if grad_norm <= tol:
        return (
            Status.CONVERGED,
            f"||grad f|| = {grad_norm:.3g} <= tol = {tol:.3g}",
        )
    if (
        ftol > 0
        and f_prev is not None
        and abs(f - f_prev) <= ftol * max(abs(f), abs(f_prev), 1.0)
    ):
        return (
            Status.CONVERGED,
            f"relative change of f below ftol = {ftol:.3g}",
        )
    return None, ""


def has_diverged(f0: float, f: float, f_ref: float) -> bool:
    """Whether a run that started at ``f0`` has diverged on reaching ``f``: f
    is not finite, or f - f_ref > DIVERGENCE_FACTOR * max(f0 - f_ref, |f0|, 1),
    with f_ref = f* or the lowest value seen.

    The scale is never tiny, so a run that starts near f_ref may still rise a
    little. The same test stops :func:`gdbook.torch.train` (on the epochs' mean
    losses).
    """
    return not (
        np.isfinite(f)
        and f - f_ref <= DIVERGENCE_FACTOR * max(f0 - f_ref, abs(f0), 1.0)
    )


def _divergence(problem, f0, f, f_low, grad_norm, t, lr, x_finite=True) -> str:
    """A message if the run has diverged at iteration t, else the empty
    string."""
    f_star = getattr(problem, "f_star", None)
    if np.isfinite(grad_norm) and not has_diverged(
        f0, f, f_star if f_star is not None else f_low
    ):
        return ""
    overflow = "" if x_finite else "x is not finite, "
    message = (
        f"diverged at iteration {t}: {overflow}f = {f:.3g}, ||grad f|| = "
        f"{grad_norm:.3g}, "
        f"started at f = {f0:.3g}"
    )
    L = getattr(problem, "L", None)
    if L:
        verdict = "above" if lr > 2.0 / L else "within"
        # lr*L beside lr: a step chosen as c/L prints as c on every machine (lr
        # alone may sit on a decimal tie)
        message += (
            f"; lr = {lr:.4g} (lr*L = {lr * L:.3g}) is {verdict} the "
            f"stability limit 2/L = {2.0 / L:.4g}"
        )
    return message
