"""The linear support vector machine with the hinge loss, whose gradient is a
subgradient."""

from __future__ import annotations

import numpy as np

from ..problems.finite_sum import FiniteSum


class LinearSVM(FiniteSum):
    """The linear soft-margin SVM in primal form, labels y_i in {-1, +1}:

    J(w) = (1/n) sum_i max(0, 1 - y_i x_i^T w) + l2/2 ||w||^2
    (Shalev-Shwartz et al. 2011, "Pegasos").

    The hinge has a kink where y_i x_i^T w = 1, so ``grad`` returns a
    *subgradient*, g = -(1/n) sum_{i: y_i x_i^T w < 1} y_i x_i + l2 w (0 chosen
    from the hinge's subdifferential [-1, 0] at a kink), which satisfies
    J(v) >= J(w) + g^T (v - w) for every v. J is l2-strongly convex (mu = l2)
    but not smooth (L = None): subgradient methods need decreasing steps, e.g.
    lr_t = 1/(l2 t) as in Pegasos. There is no intercept; add a column of ones
    (:func:`gdbook.data.add_intercept`), whose weight is then regularised too.
    """

    def __init__(self, X, y, l2: float = 0.0):
        super().__init__(X, y, l2)
        if not np.all(np.abs(self.y) == 1):
            raise ValueError("y must hold labels -1 and +1 only")
        self.mu = self.l2

    def margins(self, w) -> np.ndarray:
        """y_i x_i^T w for each sample: positive where w classifies it
        correctly, >= 1 outside the margin."""
        return self.y * (self.X @ self._point(w))

    def predict(self, w, X=None) -> np.ndarray:
        """The predicted labels sign(x^T w) in {-1, +1} (+1 on the boundary),
        the training X by default."""
        return np.where(
            (self.X if X is None else np.asarray(X, dtype=float))
            @ self._point(w)
            >= 0,
            1.0,
            -1.0,
        )

    def _value(self, w):
        return np.mean(
            np.maximum(0.0, 1.0 - self.y * (self.X @ w))
        ) + 0.5 * self.l2 * (w @ w)

    def _batch_grad(self, w, idx):
        X, y = self.X[idx], self.y[idx]
        active = y * (X @ w) < 1.0
        return -(X[active].T @ y[active]) / len(y) + self.l2 * w
