"""A network with one hidden layer, as an objective over its flat weight
vector, with backpropagation."""

from __future__ import annotations

import numpy as np

from .. import _validate
from ..problems.base import Problem
from ..problems.finite_sum import sigmoid


class MLP(Problem):
    """A network with one hidden layer of h units, out(x) = w2^T act(W1^T
    x + b1) + b2, as an objective:

    J(w) = (1/n) sum_i loss(out(x_i), y_i) + l2/2 ||w||^2,

    with ``activation`` "tanh" or "relu" and ``loss`` "squared", 1/2
    (out - y)^2 (regression), or "logistic", log(1 + exp(out)) - y out (labels
    in {0, 1}, out is the logit). The flat parameter vector is w = [W1.ravel(),
    b1, w2, b2], W1 of shape (d, h) in row-major order, b1 and w2 of length h,
    b2 a scalar: dim = d h + 2 h + 1 (:meth:`unpack` splits it). The gradient
    is backpropagation (Rumelhart, Hinton & Williams 1986): with Z = X W1 + b1,
    A = act(Z), r_i = d loss / d out_i (out_i - y_i, or sigma(out_i) - y_i) and
    Delta = (r w2^T) * act'(Z), grad W1 = X^T Delta / n, grad b1 = mean of
    Delta's rows, grad w2 = A^T r / n, grad b2 = mean r (plus l2 w). relu'(0)
    is taken as 0, as torch does.

    J is not convex (permuting hidden units leaves it unchanged) and with relu
    not smooth: L, mu, x_star are None. At w = 0 the hidden units receive no
    gradient, so start from :meth:`init`.
    """

    def __init__(
        self,
        X,
        y,
        hidden: int = 16,
        activation: str = "tanh",
        loss: str = "squared",
        l2: float = 0.0,
    ):
        self.X, self.y = _validate.design(X, y)
        self.hidden = _validate.integer("hidden", hidden, low=1)
        if activation not in ("tanh", "relu"):
            raise ValueError(
                f"activation must be 'tanh' or 'relu', got {activation!r}"
            )
        if loss not in ("squared", "logistic"):
            raise ValueError(
                f"loss must be 'squared' or 'logistic', got {loss!r}"
            )
        if loss == "logistic" and not np.all((self.y == 0) | (self.y == 1)):
            raise ValueError(
                "y must hold labels 0 and 1 only for loss='logistic'"
            )
        self.activation, self.loss = activation, loss
        self.l2 = _validate.real("l2", l2, low=0.0)
        self.n_samples, self.n_features = self.X.shape
        self.dim = (self.n_features + 2) * self.hidden + 1

    def init(self, seed: int = 0) -> np.ndarray:
        """Random starting weights: W1 ~ N(0, gain/d) with gain 1 for tanh
        (LeCun et al. 1998) and 2 for relu (He et al. 2015), w2 ~ N(0, 1/h),
        zero biases; from ``numpy.random.default_rng(seed)``."""
        rng = np.random.default_rng(seed)
        gain = 2.0 if self.activation == "relu" else 1.0
        W1 = rng.normal(
            0.0,
            np.sqrt(gain / self.n_features),
            (self.n_features, self.hidden),
        )
        w2 = rng.normal(0.0, np.sqrt(1.0 / self.hidden), self.hidden)
        return np.concatenate([W1.ravel(), np.zeros(self.hidden), w2, [0.0]])

    def unpack(self, w) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(W1, b1, w2, b2) of a flat parameter vector; W1, b1 and w2 are views
        of it, b2 a float."""
        w = self._point(w)
        d, h = self.n_features, self.hidden
        return (
            w[: d * h].reshape(d, h),
            w[d * h : (d + 1) * h],
            w[(d + 1) * h : (d + 2) * h],
            float(w[-1]),
        )

    def predict(self, w, X=None) -> np.ndarray:
        """The network's output out(x) for each row of X (the training X by
        default): a logit for 'logistic'."""
        return self._forward(
            self.unpack(w), self.X if X is None else np.asarray(X, dtype=float)
        )[2]

    def _forward(self, params, X):
        W1, b1, w2, b2 = params
        Z = X @ W1 + b1
        A = np.tanh(Z) if self.activation == "tanh" else np.maximum(Z, 0.0)
        return Z, A, A @ w2 + b2

    def _value(self, w):
        out, y = self._forward(self.unpack(w), self.X)[2], self.y
        losses = (
            0.5 * (out - y) ** 2
            if self.loss == "squared"
            else np.logaddexp(0.0, out) - y * out
        )
        return np.mean(losses) + 0.5 * self.l2 * (w @ w)

    def _grad(self, w):
        return self._batch_grad(w, slice(None))

    def _batch_grad(self, w, idx):
        params = self.unpack(w)
        X, y = self.X[idx], self.y[idx]
        Z, A, out = self._forward(params, X)
        r = (out - y if self.loss == "squared" else sigmoid(out) - y) / len(y)
        slope = (
            1.0 - A**2 if self.activation == "tanh" else (Z > 0).astype(float)
        )
        Delta = np.outer(r, params[2]) * slope
        return (
            np.concatenate(
                [(X.T @ Delta).ravel(), Delta.sum(axis=0), A.T @ r, [r.sum()]]
            )
            + self.l2 * w
        )

    def __repr__(self) -> str:
        return (
            f"MLP(n_samples={self.n_samples}, n_features={self.n_features}, "
            f"hidden={self.hidden}, "
            f"activation={self.activation!r}, loss={self.loss!r}, "
            f"l2={self.l2})"
        )
