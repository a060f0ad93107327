"""Shampoo and SOAP (gdbook.optim.shampoo): the updates against the formula
of Gupta, Koren & Singer and the steps of SOAP's reference code, computed by
hand; Shampoo's first step against Muon's U V^T; invariance under rotations
of rows and columns (which Adam lacks); speed on an ill-conditioned
Kronecker-factored quadratic; bad input."""

import numpy as np
import pytest

from gdbook import optim
from gdbook.optim.shampoo import SOAP, Shampoo, inverse_root

M, N = 6, 4


def root(S, p):
    """S^(-1/p) by numpy's eigh, written out independently of the module."""
    lam, Q = np.linalg.eigh(S)
    return Q @ np.diag(lam ** (-1.0 / p)) @ Q.T


def test_matrix_update_equals_the_papers_formula():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(M * N)
    opt = Shampoo((M, N), lr=0.3, eps=1e-3)
    state = opt.init(x)
    L, R, W = 1e-3 * np.eye(M), 1e-3 * np.eye(N), x.reshape(M, N)
    for _ in range(3):
        G = rng.standard_normal((M, N))
        x, state = opt.step(x, G.ravel(), state)
        L, R = L + G @ G.T, R + G.T @ G
        W = W - 0.3 * root(L, 4) @ G @ root(R, 4)
        np.testing.assert_allclose(x, W.ravel(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(state["left"], L, rtol=1e-14)
        np.testing.assert_allclose(state["right"], R, rtol=1e-14)
    assert state["step"] == 3


def test_vector_is_full_matrix_adagrad():
    # an order-1 tensor: H <- H + g g^T, x <- x - lr H^(-1/2) g
    rng = np.random.default_rng(1)
    x = rng.standard_normal(5)
    opt = Shampoo(lr=lambda t: 0.1 / (t + 1), eps=1e-2)
    state = opt.init(x)
    H, y = 1e-2 * np.eye(5), x.copy()
    for t in range(3):
        g = rng.standard_normal(5)
        x, state = opt.step(x, g, state)
        H = H + np.outer(g, g)
        y = y - 0.1 / (t + 1) * root(H, 2) @ g
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)
    assert set(state) == {"preconditioner", "step"}


def test_first_step_is_muons_orthogonal_factor():
    # without accumulation, (G G^T)^(-1/4) G (G^T G)^(-1/4) = U V^T
    rng = np.random.default_rng(2)
    G = rng.standard_normal((M, N))
    U, _, Vt = np.linalg.svd(G, full_matrices=False)
    opt = Shampoo((M, N), lr=1.0, eps=1e-12)
    x, _ = opt.step(np.zeros(M * N), G.ravel(), opt.init(np.zeros(M * N)))
    np.testing.assert_allclose(-x.reshape(M, N), U @ Vt, atol=1e-5)
    # a larger eps moves it away from U V^T: the check can fail
    opt = Shampoo((M, N), lr=1.0, eps=1.0)
    x, _ = opt.step(np.zeros(M * N), G.ravel(), opt.init(np.zeros(M * N)))
    assert np.abs(-x.reshape(M, N) - U @ Vt).max() > 0.05


def test_inverse_root_inverts_the_power_and_refuses_singular():
    rng = np.random.default_rng(3)
    B = rng.standard_normal((5, 5))
    S = B @ B.T + 0.1 * np.eye(5)
    R4 = inverse_root(S, 4)
    np.testing.assert_allclose(
        np.linalg.matrix_power(R4, 4) @ S, np.eye(5), atol=1e-10
    )
    with pytest.raises(ValueError, match="positive definite"):
        inverse_root(np.diag([1.0, 0.0]), 4)


def spd(k, kappa, rng):
    Q, _ = np.linalg.qr(rng.standard_normal((k, k)))
    return (Q * np.geomspace(1.0, kappa, k)) @ Q.T


def kronecker_problem(m=12, n=8, kappa=100.0, seed=0):
    """f(W) = 1/2 tr((W - W*)^T A (W - W*) B): Hessian A kron B, condition
    number kappa^2."""
    rng = np.random.default_rng(seed)
    A, B = spd(m, kappa, rng), spd(n, kappa, rng)
    W_star = rng.standard_normal((m, n))

    def f(x):
        D = x.reshape(m, n) - W_star
        return 0.5 * np.sum(D * (A @ D @ B))

    def grad(x):
        return (A @ (x.reshape(m, n) - W_star) @ B).ravel()

    return f, grad, A, B


def best_gap(f, grad, make, lrs, x0, steps):
    """The lowest relative gap f(x_T)/f(x_0) over the learning rates."""
    best = np.inf
    for lr in lrs:
        opt = make(lr)
        x, state = x0, opt.init(x0)
        for _ in range(steps):
            x, state = opt.step(x, grad(x), state)
        if np.isfinite(f(x)):
            best = min(best, f(x) / f(x0))
    return best


@pytest.mark.parametrize("seed", [0, 1])
def test_shampoo_beats_tuned_adam_and_gd_on_a_kronecker_quadratic(seed):
    m, n = 12, 8
    f, grad, A, B = kronecker_problem(m, n, seed=seed)
    L = np.linalg.eigvalsh(A)[-1] * np.linalg.eigvalsh(B)[-1]
    x0, steps, grid = np.zeros(m * n), 200, 10.0 ** np.arange(-2, 2.1, 0.5)
    gd = best_gap(
        f,
        grad,
        lambda lr: optim.SGD(lr=lr),
        [c / L for c in (1, 1.9)],
        x0,
        steps,
    )
    adam = best_gap(f, grad, lambda lr: optim.Adam(lr=lr), grid, x0, steps)
    shampoo = best_gap(
        f, grad, lambda lr: Shampoo((m, n), lr=lr), grid, x0, steps
    )
    assert shampoo < 1e-8 < 1e-5 < adam < gd


def test_preconditioner_takes_a_square_root_of_the_condition_number():
    # P = L^(-1/4) kron R^(-1/4); P^(1/2) (A kron B) P^(1/2) has condition
    # number kappa(L^(-1/8) A L^(-1/8)) kappa(R^(-1/8) B R^(-1/8))
    m, n = 12, 8
    f, grad, A, B = kronecker_problem(m, n)
    opt = Shampoo((m, n), lr=10.0)
    x = np.zeros(m * n)
    state = opt.init(x)
    for _ in range(50):
        x, state = opt.step(x, grad(x), state)

    def kappa(S):
        lam = np.linalg.eigvalsh(S)
        return lam[-1] / lam[0]

    PL, PR = inverse_root(state["left"], 8), inverse_root(state["right"], 8)
    effective = kappa(PL @ A @ PL) * kappa(PR @ B @ PR)
    assert effective < np.sqrt(kappa(A) * kappa(B)) < kappa(A) * kappa(B)


def test_inputs_are_not_modified():
    rng = np.random.default_rng(4)
    x, g = rng.standard_normal(M * N), rng.standard_normal(M * N)
    opt = Shampoo((M, N))
    state = opt.init(x)
    copies = (x.copy(), g.copy(), {k: np.copy(v) for k, v in state.items()})
    opt.step(x, g, state)
    np.testing.assert_array_equal(x, copies[0])
    np.testing.assert_array_equal(g, copies[1])
    for key, value in copies[2].items():
        np.testing.assert_array_equal(state[key], value)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"shape": 6}, TypeError, "shape must be a pair"),
        ({"shape": (6, 4, 1)}, TypeError, "shape must be a pair"),
        ({"shape": (0, 4)}, ValueError, "shape"),
        ({"shape": (2.5, 4)}, TypeError, "shape"),
        ({"eps": 0.0}, ValueError, "eps"),
        ({"eps": float("nan")}, ValueError, "eps"),
        ({"lr": -1.0}, ValueError, "lr"),
        ({"lr": "0.1"}, TypeError, "lr"),
    ],
)
def test_bad_hyper_parameters_are_refused(kwargs, error, match):
    with pytest.raises(error, match=match):
        Shampoo(**kwargs)


def test_bad_points_gradients_and_states_are_refused():
    opt = Shampoo((M, N))
    with pytest.raises(ValueError, match="24 entries"):
        opt.init(np.zeros(M * N + 1))
    x = np.zeros(M * N)
    state = opt.init(x)
    with pytest.raises(ValueError, match="g"):
        opt.step(x, np.zeros(M * N - 1), state)
    # a non-finite gradient gives a non-finite x (minimize reports it)
    x_nan, _ = opt.step(x, np.full(M * N, np.inf), state)
    assert np.all(np.isnan(x_nan))
    with pytest.raises(TypeError, match="state"):
        opt.step(x, x, {"step": 0})
    other = Shampoo((N, M)).init(x)  # the same size, the factors swapped
    with pytest.raises(ValueError, match="state\\['left'\\]"):
        opt.step(x, x, other)
    with pytest.raises(ValueError, match="24 entries"):
        opt.step(np.zeros(5), np.zeros(5), state)


# ------------------------------------------------------------------ SOAP


def soap_by_hand(x, grads, lr, betas, eps, k):
    """The SOAP steps of the reference code, written out with numpy."""
    b1, b2 = betas
    W = x.reshape(M, N).copy()
    G = grads[0]
    L, R = (1 - b2) * G @ G.T, (1 - b2) * G.T @ G
    QL = np.linalg.eigh(L)[1][:, ::-1]
    QR = np.linalg.eigh(R)[1][:, ::-1]
    m1, v = np.zeros((M, N)), np.zeros((M, N))
    for t, G in enumerate(grads[1:], start=1):
        m1 = b1 * m1 + (1 - b1) * G
        v = b2 * v + (1 - b2) * (QL.T @ G @ QR) ** 2
        direction = QL @ ((QL.T @ m1 @ QR) / (np.sqrt(v) + eps)) @ QR.T
        W = W - lr * np.sqrt(1 - b2**t) / (1 - b1**t) * direction
        L, R = b2 * L + (1 - b2) * G @ G.T, b2 * R + (1 - b2) * G.T @ G
        if t % k == 0:
            idx = np.argsort(-np.diag(QL.T @ L @ QL))
            QL, v = np.linalg.qr(L @ QL[:, idx])[0], v[idx]
            idx = np.argsort(-np.diag(QR.T @ R @ QR))
            QR, v = np.linalg.qr(R @ QR[:, idx])[0], v[:, idx]
    return W.ravel()


def test_soap_equals_the_reference_steps():
    rng = np.random.default_rng(5)
    x0 = rng.standard_normal(M * N)
    grads = [rng.standard_normal((M, N)) for _ in range(8)]
    opt = SOAP((M, N), lr=0.01, betas=(0.9, 0.99), precondition_frequency=3)
    x, state = x0, opt.init(x0)
    x, state = opt.step(x, grads[0].ravel(), state)
    np.testing.assert_array_equal(x, x0)  # the first call sets up only
    for G in grads[1:]:
        x, state = opt.step(x, G.ravel(), state)
    expected = soap_by_hand(x0, grads, 0.01, (0.9, 0.99), 1e-8, 3)
    np.testing.assert_allclose(x, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(
    "make, shape",
    [
        (lambda shape: Shampoo(shape, lr=0.1), (M, N)),
        # square: SOAP's first bases come from G G^T and G^T G alone, whose
        # null space (for a non-square G) has no preferred basis
        (lambda shape: SOAP(shape, lr=0.1, precondition_frequency=2), (5, 5)),
    ],
    ids=["shampoo", "soap"],
)
def test_rotating_rows_and_columns_rotates_the_steps(make, shape):
    # W -> U W V^T (U, V orthogonal) maps the run to the rotated run;
    # Adam, a diagonal method, is not equivariant (checked below)
    rng = np.random.default_rng(6)
    m, n = shape
    U = np.linalg.qr(rng.standard_normal((m, m)))[0]
    V = np.linalg.qr(rng.standard_normal((n, n)))[0]
    grads = [rng.standard_normal((m, n)) for _ in range(7)]

    def run(opt, rotate):
        x = np.zeros(m * n)
        state = opt.init(x)
        for G in grads:
            G = U @ G @ V.T if rotate else G
            x, state = opt.step(x, G.ravel(), state)
        return x.reshape(m, n)

    np.testing.assert_allclose(
        run(make(shape), True), U @ run(make(shape), False) @ V.T, atol=1e-9
    )
    adam = optim.Adam(lr=0.1)
    assert not np.allclose(
        run(adam, True), U @ run(adam, False) @ V.T, atol=1e-3
    )


def test_soap_beats_tuned_adam_with_the_same_betas():
    m, n = 12, 8
    f, grad, _, _ = kronecker_problem(m, n)
    x0, grid = np.zeros(m * n), 10.0 ** np.arange(-2, 1.1, 0.5)
    adam = best_gap(f, grad, lambda lr: optim.Adam(lr=lr), grid, x0, 200)
    soap = best_gap(
        f,
        grad,
        lambda lr: SOAP((m, n), lr=lr, betas=(0.9, 0.999)),
        grid,
        x0,
        200,
    )
    assert soap < 1e-3 * adam


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"shape": None}, TypeError, "shape must be a pair"),
        ({"betas": (0.9, 1.0)}, ValueError, "betas"),
        ({"shampoo_beta": 1.0}, ValueError, "shampoo_beta"),
        ({"shampoo_beta": "0.9"}, TypeError, "shampoo_beta"),
        ({"eps": -1e-8}, ValueError, "eps"),
        ({"precondition_frequency": 0}, ValueError, "precondition"),
        ({"precondition_frequency": 2.0}, TypeError, "precondition"),
    ],
)
def test_soap_refuses_bad_hyper_parameters(kwargs, error, match):
    kwargs = {"shape": (M, N), **kwargs}
    with pytest.raises(error, match=match):
        SOAP(**kwargs)


def test_soap_refuses_a_state_of_another_shape():
    opt = SOAP((M, N))
    x = np.zeros(M * N)
    with pytest.raises(ValueError, match="state\\['left'\\]"):
        opt.step(x, x, SOAP((N, M)).init(x))
    with pytest.raises(ValueError, match="24 entries"):
        opt.init(np.zeros(7))


def test_inverse_root_floor_guards_round_off():
    # eps I + G G^T for a wide G: many eigenvalues equal eps exactly
    M = np.diag([4.0, 1e-12, -1e-15])  # the last one: round-off below 0
    with pytest.raises(ValueError, match="positive definite"):
        inverse_root(M, 4)
    R = inverse_root(M, 4, floor=1e-12)
    np.testing.assert_allclose(np.diag(R), [4**-0.25, 1e3, 1e3], rtol=1e-12)


@pytest.mark.parametrize(
    "make",
    [
        lambda: Shampoo(shape=(3, 2)),
        lambda: SOAP(shape=(3, 2)),
        lambda: optim.Adafactor(shape=(3, 2)),
    ],
    ids=["Shampoo", "SOAP", "Adafactor"],
)
def test_a_factored_state_for_another_x_is_refused(make):
    """The state's matrices have their own shapes; one built for a (2, 3)
    matrix must not be used for a (3, 2) one, nor a state with keys missing."""
    opt = make()
    other = type(opt)(shape=(2, 3))
    state = other.init(np.ones(6))
    with pytest.raises(ValueError, match=r"state\['\w+'\] has shape .*needs"):
        opt.step(np.ones(6), np.ones(6), state)
    with pytest.raises(TypeError, match="state must be the dict"):
        opt.step(np.ones(6), np.ones(6), {"step": 0})
