"""gdbook.torch models: output shapes, argument checks, and each one learns its
kind of task."""

import pytest

torch = pytest.importorskip("torch")

from test_torch_optim import one_thread  # noqa: E402, F401  (an autouse fixture)
from torch import nn  # noqa: E402

import gdbook.torch as gt  # noqa: E402


def test_device_is_cuda_when_present():
    assert gt.device().type == ("cuda" if torch.cuda.is_available() else "cpu")


def fit(model, loss_fn, inputs, target, lr=0.05, steps=150):
    """Full-batch Adam; returns the loss before and after."""
    optimizer = gt.Adam(model.parameters(), lr=lr)
    first = None
    for _ in range(steps):
        optimizer.zero_grad()
        loss = loss_fn(model(*inputs), target)
        first = loss.item() if first is None else first
        loss.backward()
        optimizer.step()
    return first, loss_fn(model(*inputs), target).item()


@pytest.fixture
def data():
    torch.manual_seed(0)
    X = torch.randn(200, 4)
    return X, X @ torch.tensor([1.0, -2.0, 0.5, 3.0]) + 0.3


def test_linear_regression_recovers_the_coefficients(data):
    X, y = data
    model = gt.LinearRegression(4)
    assert model(X).shape == (200,)
    fit(model, nn.MSELoss(), (X,), y, lr=0.1, steps=300)
    torch.testing.assert_close(
        model.linear.weight.detach()[0],
        torch.tensor([1.0, -2.0, 0.5, 3.0]),
        atol=1e-3,
        rtol=0,
    )


def test_logistic_regression_binary_and_softmax(data):
    X, y = data
    binary = gt.LogisticRegression(4)
    assert binary(X).shape == (200,)
    before, after = fit(binary, nn.BCEWithLogitsLoss(), (X,), (y > 0).float())
    assert after < 0.2 * before
    softmax = gt.LogisticRegression(4, num_classes=3)
    labels = torch.bucketize(y, torch.tensor([-1.0, 1.5]))
    assert softmax(X).shape == (200, 3)
    before, after = fit(softmax, nn.CrossEntropyLoss(), (X,), labels)
    assert after < 0.3 * before


def test_mlp_fits_a_nonlinear_function(data):
    X, _ = data
    torch.manual_seed(0)
    model = gt.MLP(4, hidden=(32, 32), activation=nn.Tanh)
    assert [type(m) for m in model.layers] == [
        nn.Linear,
        nn.Tanh,
        nn.Linear,
        nn.Tanh,
        nn.Linear,
    ]
    before, after = fit(model, nn.MSELoss(), (X,), X[:, 0].sin() * X[:, 1])
    assert after < 0.1 * before


@pytest.mark.parametrize("image_size", [8, 28])
def test_small_cnn_learns_to_tell_images_apart(image_size):
    torch.manual_seed(0)
    labels = torch.arange(40) % 2
    images = torch.randn(40, 1, image_size, image_size) * 0.3
    images[labels == 1, :, : image_size // 2] += (
        1.0  # class 1: bright top half
    )
    model = gt.SmallCNN(image_size=image_size, num_classes=2)
    assert model(images).shape == (40, 2)
    assert torch.equal(model(images.flatten(1)), model(images))
    _, after = fit(
        model, nn.CrossEntropyLoss(), (images,), labels, lr=0.01, steps=30
    )
    assert (model(images).argmax(1) == labels).all() and after < 0.1
    with pytest.raises(ValueError, match="shape"):
        model(torch.zeros(2, 3, image_size, image_size))


def test_matrix_factorization_completes_a_low_rank_matrix():
    torch.manual_seed(0)
    M = torch.randn(20, 2) @ torch.randn(2, 15)
    rows, cols = torch.meshgrid(
        torch.arange(20), torch.arange(15), indexing="ij"
    )
    seen = torch.rand(20, 15) < 0.7
    model = gt.MatrixFactorization(20, 15, rank=2)
    before, after = fit(
        model, nn.MSELoss(), (rows[seen], cols[seen]), M[seen], steps=400
    )
    assert after < 1e-3 * before
    with pytest.raises(ValueError, match="same shape"):
        model(torch.arange(3), torch.arange(4))


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda: gt.LinearRegression(0), "in_features"),
        (lambda: gt.LinearRegression(3, out_features=2.5), "out_features"),
        (lambda: gt.LogisticRegression(3, num_classes=1), "num_classes"),
        (lambda: gt.MLP(3, hidden=(8, -1)), r"hidden\[1\]"),
        (lambda: gt.SmallCNN(image_size=2), "image_size"),
        (lambda: gt.SmallCNN(in_channels=0), "in_channels"),
        (lambda: gt.MatrixFactorization(5, 5, rank=0), "rank"),
        (
            lambda: gt.MatrixFactorization(5, 5, rank=2, init_std=-1.0),
            "init_std",
        ),
    ],
)
def test_bad_arguments_are_named(make, name):
    with pytest.raises((TypeError, ValueError), match=name):
        make()


def test_importing_gdbook_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, gdbook, gdbook.optim, gdbook.models; assert 'torch' "
        "not in sys.modules, 'torch imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
