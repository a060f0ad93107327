"""Models of machine learning as objectives, in NumPy: linear, logistic, softmax and robust regression
(:class:`LinearRegression`, :class:`LogisticRegression`, :class:`SoftmaxRegression`, :class:`RobustRegression`),
a one-hidden-layer network (:class:`MLP`), low-rank matrix completion (:class:`MatrixFactorization`) and the
linear SVM with the hinge loss (:class:`LinearSVM`, whose ``grad`` is a subgradient).

Each model is a :class:`gdbook.problems.Problem` over a flat parameter vector ``w`` (so
:func:`gdbook.minimize` runs it) and a finite sum f(w) = (1/n) sum_i f_i(w) (so ``grad(w, idx)`` is a
mini-batch gradient). For stochastic gradient descent the four regression models also give

* ``sample_grads(W, idx)`` -- grad f_{idx[r]} at row r of W, for many runs at once;
* ``L_max`` -- max_i L_i, a smoothness constant valid for every f_i;
* ``gradient_variance(w)`` -- (1/n) sum_i ||grad f_i(w) - grad f(w)||^2, which at a minimiser is the
  sigma*^2 of the SGD theorems (Garrigos & Gower 2023, sec. 5).

:func:`sgd_ensemble` runs many independent SGD chains in lockstep, for expectations by Monte Carlo.
"""

from __future__ import annotations

import numpy as np

from . import _validate
from .optim import SGD
from .problems.base import Problem
from .problems.finite_sum import LeastSquares, Logistic, _FiniteSum, _sigmoid

__all__ = ["LinearRegression", "LogisticRegression", "SoftmaxRegression", "RobustRegression", "MLP",
           "MatrixFactorization", "LinearSVM", "sgd_ensemble", "mean_squared_distance"]


class _Sampled:
    """Per-sample gradients for SGD; subclasses implement ``_sample_grads`` and set ``L_max``."""

    L_max: float

    def sample_grads(self, W, idx) -> np.ndarray:
        """Row r of the result is grad f_{idx[r]}(W[r]); W has shape (runs, dim), idx shape (runs,)."""
        W = np.asarray(W, dtype=float)
        if W.ndim != 2 or W.shape[1] != self.dim:
            raise ValueError(f"W must have shape (runs, {self.dim}), got {W.shape}")
        idx = np.asarray(idx)
        if idx.shape != (W.shape[0],) or not np.issubdtype(idx.dtype, np.integer):
            raise ValueError(f"idx must be an integer array of shape ({W.shape[0]},), got {idx.dtype} {idx.shape}")
        if idx.size and (idx.min() < 0 or idx.max() >= self.n_samples):
            raise ValueError(f"idx must hold indices in [0, {self.n_samples}), got min {idx.min()}, max {idx.max()}")
        return self._sample_grads(W, idx)

    def gradient_variance(self, w) -> float:
        """(1/n) sum_i ||grad f_i(w) - grad f(w)||^2: the variance of a one-sample gradient at w."""
        w = self._point(w)
        grads = self._sample_grads(np.tile(w, (self.n_samples, 1)), np.arange(self.n_samples))
        return float(np.mean(np.sum((grads - grads.mean(axis=0)) ** 2, axis=1)))

    def _sample_grads(self, W, idx):
        raise NotImplementedError


def _rowdot(A, B):
    """The dot product of each row of A with the same row of B."""
    return np.einsum("ij,ij->i", A, B)


class LinearRegression(_Sampled, LeastSquares):
    """Least squares under the four conventions of the textbooks: J(w) = c ||X w - y||^2 with

    c = 1/(2n) (half=True, mean=True: the default, equal to LeastSquares), 1/n (half=False),
    1/2 (mean=False) or 1 (both False).

    grad J(w) = 2c X^T (X w - y) and Hessian 2c X^T X, so L = 2c lambda_max(X^T X), mu = 2c lambda_min(X^T X):
    every convention has the same minimiser, but the stable learning rates lr < 2/L scale as 1/(2c).
    As a finite sum, f_i(w) = c n (x_i^T w - y_i)^2 with L_i = 2 c n ||x_i||^2.
    """

    def __init__(self, X, y, half: bool = True, mean: bool = True):
        for name, flag in (("half", half), ("mean", mean)):
            if not isinstance(flag, (bool, np.bool_)):
                raise TypeError(f"{name} must be True or False, got {type(flag).__name__}")
        X, y = _validate.design(X, y)
        self.half, self.mean = _validate.flag("half", half), _validate.flag("mean", mean)
        self.scale = (0.5 if half else 1.0) / (len(y) if mean else 1.0)
        self._factor = 1.0
        super().__init__(X, y)  # the constants of 1/(2n) ||X w - y||^2, then scaled: J = factor * that
        self._factor = 2.0 * self.scale * len(y)
        self.L, self.mu, self.f_star = (self._factor * v for v in (self.L, self.mu, self.f_star))
        self.L_max = self._factor * float(np.max(np.sum(self.X**2, axis=1)))

    @property
    def convention(self) -> str:
        """The constant c in front of ||X w - y||^2, as text."""
        return {(True, True): "1/(2n)", (False, True): "1/n", (True, False): "1/2", (False, False): "1"}[
            (self.half, self.mean)]

    def predict(self, w, X=None) -> np.ndarray:
        """X w (the training X by default)."""
        return (self.X if X is None else np.asarray(X, dtype=float)) @ self._point(w)

    def _value(self, w):
        return self._factor * super()._value(w)

    def _batch_grad(self, w, idx):
        return self._factor * super()._batch_grad(w, idx)

    def _hessian(self, w):
        return self._factor * super()._hessian(w)

    def _sample_grads(self, W, idx):
        X = self.X[idx]
        return self._factor * X * (_rowdot(X, W) - self.y[idx])[:, None]

    def __repr__(self) -> str:
        return f"LinearRegression(n_samples={self.n_samples}, dim={self.dim}, c={self.convention})"


class LogisticRegression(_Sampled, Logistic):
    """Logistic regression, labels in {0, 1}: the mean cross-entropy of p_i = sigma(x_i^T w), plus l2/2 ||w||^2.

    grad J(w) = X^T (sigma(X w) - y) / n + l2 w; L = lambda_max(X^T X)/(4n) + l2, mu = l2 (see Logistic);
    L_i = ||x_i||^2 / 4 + l2.
    """

    def __init__(self, X, y, l2: float = 0.0):
        super().__init__(X, y, l2)
        self.L_max = float(np.max(np.sum(self.X**2, axis=1))) / 4 + self.l2

    def predict_proba(self, w, X=None) -> np.ndarray:
        """P(y = 1 | x) = sigma(x^T w) for each row of X (the training X by default)."""
        return _sigmoid((self.X if X is None else np.asarray(X, dtype=float)) @ self._point(w))

    def _sample_grads(self, W, idx):
        X = self.X[idx]
        return X * (_sigmoid(_rowdot(X, W)) - self.y[idx])[:, None] + self.l2 * W


def _softmax(Z):
    """Row-wise softmax exp(z_a) / sum_b exp(z_b), shifted by the row maximum so it cannot overflow."""
    E = np.exp(Z - Z.max(axis=-1, keepdims=True))
    return E / E.sum(axis=-1, keepdims=True)


class SoftmaxRegression(_Sampled, Problem):
    """Multinomial logistic regression with k classes, labels y_i in {0, ..., k-1}:

    J(W) = -(1/n) sum_i log softmax(x_i^T W)_{y_i} + l2/2 ||W||^2,  grad J(W) = X^T (P - Y) / n + l2 W,

    with P the matrix of predicted probabilities and Y the one-hot labels. The parameter vector is
    w = W.ravel() with W of shape (d, k), so dim = d k. The Hessian is (1/n) sum_i (x_i x_i^T) kron
    (diag(p_i) - p_i p_i^T) + l2 I; since diag(p) - p p^T has eigenvalues <= 1/2 (Gershgorin; Boehning 1992),
    L = lambda_max(X^T X)/(2n) + l2 and L_i = ||x_i||^2 / 2 + l2. mu = l2: adding the same vector to every
    column of W changes no prediction, so without l2 the loss is not strictly convex.
    """

    def __init__(self, X, y, n_classes: int | None = None, l2: float = 0.0):
        self.X, y = _validate.design(X, y)
        if not np.all((y == np.round(y)) & (y >= 0)):
            raise ValueError("y must hold class labels 0, 1, ..., n_classes - 1")
        self.y = y.astype(int)
        n_classes = int(self.y.max()) + 1 if n_classes is None else n_classes
        self.n_classes = _validate.integer("n_classes", n_classes, low=2)
        if self.y.max() >= self.n_classes:
            raise ValueError(f"y must hold labels below n_classes = {self.n_classes}, got {self.y.max()}")
        self.l2 = _validate.real("l2", l2, low=0.0)
        self.n_samples, self.n_features = self.X.shape
        self.dim = self.n_features * self.n_classes
        gram = np.linalg.eigvalsh(self.X.T @ self.X / self.n_samples)
        self.L = float(gram[-1]) / 2 + self.l2
        self.mu = self.l2
        self.L_max = float(np.max(np.sum(self.X**2, axis=1))) / 2 + self.l2

    def weights(self, w) -> np.ndarray:
        """The (d, k) weight matrix of a flat parameter vector."""
        return self._point(w).reshape(self.n_features, self.n_classes)

    def predict_proba(self, w, X=None) -> np.ndarray:
        """The (m, k) matrix of class probabilities softmax(X W) (the training X by default)."""
        return _softmax((self.X if X is None else np.asarray(X, dtype=float)) @ self.weights(w))

    def predict(self, w, X=None) -> np.ndarray:
        """The most probable class of each row of X."""
        return np.argmax(self.predict_proba(w, X), axis=1)

    def _value(self, w):
        Z = self.X @ w.reshape(self.n_features, self.n_classes)
        zmax = Z.max(axis=1)
        log_norm = zmax + np.log(np.sum(np.exp(Z - zmax[:, None]), axis=1))
        return np.mean(log_norm - Z[np.arange(self.n_samples), self.y]) + 0.5 * self.l2 * (w @ w)

    def _grad(self, w):
        return self._batch_grad(w, np.arange(self.n_samples))

    def _batch_grad(self, w, idx):
        X, W = self.X[idx], w.reshape(self.n_features, self.n_classes)
        P = _softmax(X @ W)
        P[np.arange(len(idx)), self.y[idx]] -= 1.0
        return (X.T @ P / len(idx) + self.l2 * W).ravel()

    def _hessian(self, w):
        P = _softmax(self.X @ w.reshape(self.n_features, self.n_classes))
        D = P[:, :, None] * np.eye(self.n_classes) - P[:, :, None] * P[:, None, :]
        H = np.einsum("ij,il,iab->jalb", self.X, self.X, D) / self.n_samples
        return H.reshape(self.dim, self.dim) + self.l2 * np.eye(self.dim)

    def _sample_grads(self, W, idx):
        X = self.X[idx]
        Ws = W.reshape(len(idx), self.n_features, self.n_classes)
        P = _softmax(np.einsum("rj,rja->ra", X, Ws))
        P[np.arange(len(idx)), self.y[idx]] -= 1.0
        return (X[:, :, None] * P[:, None, :]).reshape(len(idx), self.dim) + self.l2 * W

    def __repr__(self) -> str:
        return f"SoftmaxRegression(n_samples={self.n_samples}, n_features={self.n_features}, " \
               f"n_classes={self.n_classes}, l2={self.l2})"


class RobustRegression(_Sampled, Problem):
    """Linear regression with the Cauchy (Lorentzian) loss rho(r) = (s^2/2) log(1 + r^2/s^2), s = ``scale``:

    J(w) = (1/n) sum_i rho(x_i^T w - y_i),  grad J(w) = X^T psi(r) / n with psi(r) = r / (1 + r^2/s^2).

    Large residuals (outliers) pull on w with a force that fades like 1/r, so J is not convex:
    rho''(r) = (1 - u)/(1 + u)^2 with u = r^2/s^2 lies in [-1/8, 1]. Hence J is L-smooth with
    L = lambda_max(X^T X)/n (and L_i = ||x_i||^2), bounded below by 0, and may have several minima.
    """

    def __init__(self, X, y, scale: float = 1.0):
        self.X, self.y = _validate.design(X, y)
        self.scale = _validate.real("scale", scale, low=0.0, low_open=True)
        self.n_samples, self.dim = self.X.shape
        self.L = float(np.linalg.eigvalsh(self.X.T @ self.X / self.n_samples)[-1])
        self.L_max = float(np.max(np.sum(self.X**2, axis=1)))

    def _psi(self, r):
        return r / (1.0 + (r / self.scale) ** 2)

    def _value(self, w):
        r = self.X @ w - self.y
        return 0.5 * self.scale**2 * np.mean(np.log1p((r / self.scale) ** 2))

    def _grad(self, w):
        return self._batch_grad(w, np.arange(self.n_samples))

    def _batch_grad(self, w, idx):
        X = self.X[idx]
        return X.T @ self._psi(X @ w - self.y[idx]) / len(idx)

    def _hessian(self, w):
        u = ((self.X @ w - self.y) / self.scale) ** 2
        return (self.X.T * ((1 - u) / (1 + u) ** 2)) @ self.X / self.n_samples

    def _sample_grads(self, W, idx):
        X = self.X[idx]
        return X * self._psi(_rowdot(X, W) - self.y[idx])[:, None]

    def __repr__(self) -> str:
        return f"RobustRegression(n_samples={self.n_samples}, dim={self.dim}, scale={self.scale})"


def sgd_ensemble(model, w0, lr, steps: int, runs: int, seed: int = 0, record_every: int = 1) -> np.ndarray:
    """``runs`` independent chains of single-sample SGD, w <- w - lr_t grad f_i(w) with i uniform on {0..n-1}.

    All chains start at ``w0`` and step in lockstep (vectorised); ``lr`` is a float or a schedule t -> lr_t.
    Returns the iterates at t = 0, record_every, 2 record_every, ..., as an array (records, runs, dim).
    Averages over the runs estimate expectations such as E||w_t - w*||^2 (Robbins & Monro 1951).
    """
    if not isinstance(model, _Sampled):
        raise TypeError(f"model must be a gdbook.models model with sample_grads, got {type(model).__name__}")
    w0 = _validate.vector("w0", w0, dim=model.dim)
    steps = _validate.integer("steps", steps, low=0)
    runs = _validate.integer("runs", runs, low=1)
    record_every = _validate.integer("record_every", record_every, low=1)
    schedule = SGD(lr)  # validates a constant lr now, and each schedule value as it is used
    rng = np.random.default_rng(seed)
    W = np.tile(w0, (runs, 1))
    records = [W]
    for t in range(steps):
        W = W - schedule.lr_at(t) * model._sample_grads(W, rng.integers(model.n_samples, size=runs))
        if (t + 1) % record_every == 0:
            records.append(W)
    return np.array(records)


def mean_squared_distance(paths, x_star) -> tuple[np.ndarray, np.ndarray]:
    """The Monte Carlo estimate of E||w_t - x*||^2 from :func:`sgd_ensemble`'s paths, and its standard error.

    Returns (mean, stderr), each of shape (records,): the average over runs and std / sqrt(runs).
    """
    paths = np.asarray(paths, dtype=float)
    if paths.ndim != 3:
        raise ValueError(f"paths must have shape (records, runs, dim), got {paths.shape}")
    x_star = _validate.vector("x_star", x_star, dim=paths.shape[2])
    d2 = np.sum((paths - x_star) ** 2, axis=2)
    return d2.mean(axis=1), d2.std(axis=1) / np.sqrt(d2.shape[1])


class MLP(Problem):
    """A network with one hidden layer of h units, out(x) = w2^T act(W1^T x + b1) + b2, as an objective:

    J(w) = (1/n) sum_i loss(out(x_i), y_i) + l2/2 ||w||^2,

    with ``activation`` "tanh" or "relu" and ``loss`` "squared", 1/2 (out - y)^2 (regression), or "logistic",
    log(1 + exp(out)) - y out (labels in {0, 1}, out is the logit). The flat parameter vector is
    w = [W1.ravel(), b1, w2, b2], W1 of shape (d, h) in row-major order, b1 and w2 of length h, b2 a scalar:
    dim = d h + 2 h + 1 (:meth:`unpack` splits it). The gradient is backpropagation (Rumelhart, Hinton &
    Williams 1986): with Z = X W1 + b1, A = act(Z), r_i = d loss / d out_i (out_i - y_i, or sigma(out_i) - y_i)
    and Delta = (r w2^T) * act'(Z), grad W1 = X^T Delta / n, grad b1 = mean of Delta's rows, grad w2 = A^T r / n,
    grad b2 = mean r (plus l2 w). relu'(0) is taken as 0, as torch does.

    J is not convex (permuting hidden units leaves it unchanged) and with relu not smooth: L, mu, x_star are
    None. At w = 0 the hidden units receive no gradient, so start from :meth:`init`.
    """

    def __init__(self, X, y, hidden: int = 16, activation: str = "tanh", loss: str = "squared", l2: float = 0.0):
        self.X, self.y = _validate.design(X, y)
        self.hidden = _validate.integer("hidden", hidden, low=1)
        if activation not in ("tanh", "relu"):
            raise ValueError(f"activation must be 'tanh' or 'relu', got {activation!r}")
        if loss not in ("squared", "logistic"):
            raise ValueError(f"loss must be 'squared' or 'logistic', got {loss!r}")
        if loss == "logistic" and not np.all((self.y == 0) | (self.y == 1)):
            raise ValueError("y must hold labels 0 and 1 only for loss='logistic'")
        self.activation, self.loss = activation, loss
        self.l2 = _validate.real("l2", l2, low=0.0)
        self.n_samples, self.n_features = self.X.shape
        self.dim = (self.n_features + 2) * self.hidden + 1

    def init(self, seed: int = 0) -> np.ndarray:
        """Random starting weights: W1 ~ N(0, gain/d) with gain 1 for tanh (LeCun et al. 1998) and 2 for relu
        (He et al. 2015), w2 ~ N(0, 1/h), zero biases; from ``numpy.random.default_rng(seed)``."""
        rng = np.random.default_rng(seed)
        gain = 2.0 if self.activation == "relu" else 1.0
        W1 = rng.normal(0.0, np.sqrt(gain / self.n_features), (self.n_features, self.hidden))
        w2 = rng.normal(0.0, np.sqrt(1.0 / self.hidden), self.hidden)
        return np.concatenate([W1.ravel(), np.zeros(self.hidden), w2, [0.0]])

    def unpack(self, w) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(W1, b1, w2, b2) of a flat parameter vector; W1, b1 and w2 are views of it, b2 a float."""
        w = self._point(w)
        d, h = self.n_features, self.hidden
        return w[:d * h].reshape(d, h), w[d * h:(d + 1) * h], w[(d + 1) * h:(d + 2) * h], float(w[-1])

    def predict(self, w, X=None) -> np.ndarray:
        """The network's output out(x) for each row of X (the training X by default): a logit for 'logistic'."""
        return self._forward(self.unpack(w), self.X if X is None else np.asarray(X, dtype=float))[2]

    def _forward(self, params, X):
        W1, b1, w2, b2 = params
        Z = X @ W1 + b1
        A = np.tanh(Z) if self.activation == "tanh" else np.maximum(Z, 0.0)
        return Z, A, A @ w2 + b2

    def _value(self, w):
        out, y = self._forward(self.unpack(w), self.X)[2], self.y
        losses = 0.5 * (out - y) ** 2 if self.loss == "squared" else np.logaddexp(0.0, out) - y * out
        return np.mean(losses) + 0.5 * self.l2 * (w @ w)

    def _grad(self, w):
        return self._batch_grad(w, slice(None))

    def _batch_grad(self, w, idx):
        params = self.unpack(w)
        X, y = self.X[idx], self.y[idx]
        Z, A, out = self._forward(params, X)
        r = (out - y if self.loss == "squared" else _sigmoid(out) - y) / len(y)
        slope = 1.0 - A**2 if self.activation == "tanh" else (Z > 0).astype(float)
        Delta = np.outer(r, params[2]) * slope
        return np.concatenate([(X.T @ Delta).ravel(), Delta.sum(axis=0), A.T @ r, [r.sum()]]) + self.l2 * w

    def __repr__(self) -> str:
        return f"MLP(n_samples={self.n_samples}, n_features={self.n_features}, hidden={self.hidden}, " \
               f"activation={self.activation!r}, loss={self.loss!r}, l2={self.l2})"


class MatrixFactorization(Problem):
    """Low-rank matrix completion: the observed entries M[r_i, c_i] = v_i of an (m, k) matrix fitted by U V^T,

    J(U, V) = (1/(2n)) sum_i (u_{r_i} . v_{c_i} - v_i)^2 + l2/2 (||U||_F^2 + ||V||_F^2)

    (the latent-factor model of recommender systems; Koren, Bell & Volinsky 2009), with U of shape (m, rank)
    and V of shape (k, rank). With residuals e_i = u_{r_i} . v_{c_i} - v_i, grad_{u_r} J = (1/n)
    sum_{i: r_i = r} e_i v_{c_i} + l2 u_r, and the same for v_c; a mini-batch averages over its entries.
    The flat parameter vector is w = [U.ravel(), V.ravel()] (row-major), dim = (m + k) rank. The observed
    entries are kept as the arrays ``rows``, ``cols`` and ``ratings``; ``shape`` defaults to the largest indices + 1.

    J is not convex (U V^T = (U Q)(V Q)^T for every orthogonal Q) and w = 0 is a saddle point with zero
    gradient: start from :meth:`init`. L, mu, x_star are None.
    """

    def __init__(self, ratings, shape: tuple[int, int] | None = None, rank: int = 2, l2: float = 0.0):
        ratings = np.asarray(ratings, dtype=float)
        if ratings.ndim != 2 or ratings.shape[1] != 3 or len(ratings) == 0:
            raise ValueError(f"ratings must have shape (n, 3), rows of (row, col, value), got {ratings.shape}")
        if not np.all(np.isfinite(ratings)):
            raise ValueError("ratings must be finite")
        index = ratings[:, :2]
        if not np.all((index == np.round(index)) & (index >= 0)):
            raise ValueError("ratings must hold non-negative integer row and column indices in columns 0 and 1")
        self.rows, self.cols = index.astype(int).T
        self.ratings = ratings[:, 2]
        if shape is None:
            shape = (int(self.rows.max()) + 1, int(self.cols.max()) + 1)
        self.shape = (_validate.integer("shape[0]", shape[0], low=1), _validate.integer("shape[1]", shape[1], low=1))
        if self.rows.max() >= self.shape[0] or self.cols.max() >= self.shape[1]:
            raise ValueError(f"ratings must hold indices inside shape = {self.shape}, got row {self.rows.max()}, "
                             f"column {self.cols.max()}")
        self.rank = _validate.integer("rank", rank, low=1)
        self.l2 = _validate.real("l2", l2, low=0.0)
        self.n_samples = len(self.ratings)
        self.dim = (self.shape[0] + self.shape[1]) * self.rank

    def init(self, seed: int = 0, scale: float = 0.1) -> np.ndarray:
        """Random starting factors, every entry N(0, scale^2), from ``numpy.random.default_rng(seed)``."""
        scale = _validate.real("scale", scale, low=0.0, low_open=True)
        return scale * np.random.default_rng(seed).standard_normal(self.dim)

    def factors(self, w) -> tuple[np.ndarray, np.ndarray]:
        """(U, V) of a flat parameter vector (views, not copies)."""
        w = self._point(w)
        split = self.shape[0] * self.rank
        return w[:split].reshape(self.shape[0], self.rank), w[split:].reshape(self.shape[1], self.rank)

    def predict(self, w, rows=None, cols=None) -> np.ndarray:
        """u_r . v_c at the index pairs (rows, cols); the observed ones by default."""
        U, V = self.factors(w)
        rows = self.rows if rows is None else np.asarray(rows)
        cols = self.cols if cols is None else np.asarray(cols)
        return _rowdot(U[rows], V[cols])

    def _value(self, w):
        e = self.predict(w) - self.ratings
        return 0.5 * np.mean(e**2) + 0.5 * self.l2 * (w @ w)

    def _grad(self, w):
        return self._batch_grad(w, slice(None))

    def _batch_grad(self, w, idx):
        U, V = self.factors(w)
        rows, cols = self.rows[idx], self.cols[idx]
        e = (_rowdot(U[rows], V[cols]) - self.ratings[idx]) / len(rows)
        gU, gV = self.l2 * U, self.l2 * V
        np.add.at(gU, rows, e[:, None] * V[cols])   # add.at sums over repeated rows, where gU[rows] += would not
        np.add.at(gV, cols, e[:, None] * U[rows])
        return np.concatenate([gU.ravel(), gV.ravel()])

    def __repr__(self) -> str:
        return f"MatrixFactorization(n_samples={self.n_samples}, shape={self.shape}, rank={self.rank}, l2={self.l2})"


class LinearSVM(_FiniteSum):
    """The linear soft-margin SVM in primal form, labels y_i in {-1, +1}:

    J(w) = (1/n) sum_i max(0, 1 - y_i x_i^T w) + l2/2 ||w||^2   (Shalev-Shwartz et al. 2011, "Pegasos").

    The hinge has a kink where y_i x_i^T w = 1, so ``grad`` returns a *subgradient*,
    g = -(1/n) sum_{i: y_i x_i^T w < 1} y_i x_i + l2 w (0 chosen from the hinge's subdifferential [-1, 0] at a
    kink), which satisfies J(v) >= J(w) + g^T (v - w) for every v. J is l2-strongly convex (mu = l2) but not
    smooth (L = None): subgradient methods need decreasing steps, e.g. lr_t = 1/(l2 t) as in Pegasos. There is
    no intercept; add a column of ones (:func:`gdbook.data.add_intercept`), whose weight is then regularised too.
    """

    def __init__(self, X, y, l2: float = 0.0):
        super().__init__(X, y, l2)
        if not np.all(np.abs(self.y) == 1):
            raise ValueError("y must hold labels -1 and +1 only")
        self.mu = self.l2

    def margins(self, w) -> np.ndarray:
        """y_i x_i^T w for each sample: positive where w classifies it correctly, >= 1 outside the margin."""
        return self.y * (self.X @ self._point(w))

    def predict(self, w, X=None) -> np.ndarray:
        """The predicted labels sign(x^T w) in {-1, +1} (+1 on the boundary), the training X by default."""
        return np.where((self.X if X is None else np.asarray(X, dtype=float)) @ self._point(w) >= 0, 1.0, -1.0)

    def _value(self, w):
        return np.mean(np.maximum(0.0, 1.0 - self.y * (self.X @ w))) + 0.5 * self.l2 * (w @ w)

    def _batch_grad(self, w, idx):
        X, y = self.X[idx], self.y[idx]
        active = y * (X @ w) < 1.0
        return -(X[active].T @ y[active]) / len(y) + self.l2 * w
