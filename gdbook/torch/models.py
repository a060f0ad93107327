"""Small PyTorch models for the book's examples: linear, logistic (and softmax)
regression as in :mod:`gdbook.models`, plus an MLP, a small CNN for 8x8 or
28x28 images and matrix factorisation.

Each returns raw scores (no final activation), to pair with a loss that takes
them: ``MSELoss`` for regression, ``BCEWithLogitsLoss`` for a binary logit,
``CrossEntropyLoss`` for class scores. A model with one output returns shape
``(n,)``, the shape of its targets, so that no loss broadcasts ``(n, 1)``
against ``(n,)`` into an ``(n, n)`` matrix.
"""

from __future__ import annotations

import torch
from torch import nn

from .. import _validate


def _squeezed(scores: torch.Tensor) -> torch.Tensor:
    """``(n, 1)`` scores as ``(n,)``; several outputs per sample are left as
    they are."""
    return scores.squeeze(-1) if scores.shape[-1] == 1 else scores


class LinearRegression(nn.Module):
    """``x @ W.T + b``: ordinary least squares with ``MSELoss``, ridge with
    weight decay."""

    def __init__(self, in_features: int, out_features: int = 1):
        super().__init__()
        self.linear = nn.Linear(
            _validate.integer("in_features", in_features, low=1),
            _validate.integer("out_features", out_features, low=1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _squeezed(self.linear(x))


class LogisticRegression(LinearRegression):
    """Logistic regression: one logit for two classes (``BCEWithLogitsLoss``),
    else one score per class (softmax regression, ``CrossEntropyLoss``)."""

    def __init__(self, in_features: int, num_classes: int = 2):
        num_classes = _validate.integer("num_classes", num_classes, low=2)
        super().__init__(in_features, 1 if num_classes == 2 else num_classes)


class MLP(nn.Module):
    """A fully connected network: ``Linear`` layers of widths ``hidden`` with
    ``activation`` between them."""

    def __init__(
        self,
        in_features: int,
        hidden: tuple[int, ...] = (64,),
        out_features: int = 1,
        activation: type[nn.Module] = nn.ReLU,
    ):
        super().__init__()
        widths = [
            _validate.integer("in_features", in_features, low=1),
            *(
                _validate.integer(f"hidden[{i}]", h, low=1)
                for i, h in enumerate(hidden)
            ),
            _validate.integer("out_features", out_features, low=1),
        ]
        layers: list[nn.Module] = []
        for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
            layers += [nn.Linear(a, b)] + (
                [activation()] if i < len(widths) - 2 else []
            )
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _squeezed(self.layers(x))


class SmallCNN(nn.Module):
    """Two 3x3 convolutions (16 and 32 channels), each with ReLU and 2x2
    max-pooling, then a linear layer.

    For square images of side ``image_size`` (8 for scikit-learn's digits, 28
    for MNIST). ``forward`` takes ``(n, in_channels, image_size, image_size)``
    or flattened ``(n, in_channels * image_size**2)``.
    """

    def __init__(
        self, image_size: int = 8, in_channels: int = 1, num_classes: int = 10
    ):
        super().__init__()
        self.image_size = _validate.integer("image_size", image_size, low=4)
        self.in_channels = _validate.integer("in_channels", in_channels, low=1)
        self.features = nn.Sequential(
            nn.Conv2d(self.in_channels, 16, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(16, 32, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        self.classifier = nn.Linear(
            32 * (self.image_size // 4) ** 2,
            _validate.integer("num_classes", num_classes, low=2),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = (self.in_channels, self.image_size, self.image_size)
        if x.dim() == 2 and x.shape[1] == shape[0] * shape[1] * shape[2]:
            x = x.view(-1, *shape)
        if x.dim() != 4 or tuple(x.shape[1:]) != shape:
            raise ValueError(
                f"x must have shape (n, {', '.join(map(str, shape))}) or "
                f"(n, {shape[0] * shape[1] * shape[2]}), got {tuple(x.shape)}"
            )
        return self.classifier(self.features(x))


class MatrixFactorization(nn.Module):
    """Entry ``(i, j)`` of a matrix as ``u_i . v_j + a_i + b_j + c``, the
    rank-``rank`` model of recommender systems; ``forward(rows, cols)``
    predicts the entries at those index pairs."""

    def __init__(
        self, n_rows: int, n_cols: int, rank: int, init_std: float = 0.1
    ):
        super().__init__()
        n_rows = _validate.integer("n_rows", n_rows, low=1)
        n_cols = _validate.integer("n_cols", n_cols, low=1)
        rank = _validate.integer("rank", rank, low=1)
        init_std = _validate.real("init_std", init_std, low=0.0)
        self.row_factors = nn.Parameter(init_std * torch.randn(n_rows, rank))
        self.col_factors = nn.Parameter(init_std * torch.randn(n_cols, rank))
        self.row_bias = nn.Parameter(torch.zeros(n_rows))
        self.col_bias = nn.Parameter(torch.zeros(n_cols))
        self.bias = nn.Parameter(torch.zeros(()))

    def forward(self, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        if rows.shape != cols.shape:
            raise ValueError(
                "rows and cols must have the same shape, got "
                f"{tuple(rows.shape)} and "
                f"{tuple(cols.shape)}"
            )
        dot = (self.row_factors[rows] * self.col_factors[cols]).sum(-1)
        return dot + self.row_bias[rows] + self.col_bias[cols] + self.bias
