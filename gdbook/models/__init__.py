"""Models of machine learning as objectives, in NumPy, one module each: softmax
regression (:class:`SoftmaxRegression`), robust regression with the Cauchy loss
(:class:`RobustRegression`), a one-hidden-layer network (:class:`MLP`),
low-rank matrix completion (:class:`MatrixFactorization`) and the linear SVM
with the hinge loss (:class:`LinearSVM`, whose ``grad`` is a subgradient).

Each model is a :class:`gdbook.problems.Problem` over a flat parameter vector
``w`` (so :func:`gdbook.minimize` runs it) and a finite sum f(w) = (1/n) sum_i
f_i(w) (so ``grad(w, idx)`` is a mini-batch gradient). Linear and logistic
regression are the objectives :class:`gdbook.problems.LeastSquares` and
:class:`gdbook.problems.Logistic`; the statistics of SGD on any of them live in
:mod:`gdbook.stochastic`.
"""

from .matrix_factorization import MatrixFactorization
from .mlp import MLP
from .robust import RobustRegression
from .softmax import SoftmaxRegression
from .svm import LinearSVM

__all__ = [
    "SoftmaxRegression",
    "RobustRegression",
    "MLP",
    "MatrixFactorization",
    "LinearSVM",
]
