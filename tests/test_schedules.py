"""gdbook.schedules: closed forms, torch.optim.lr_scheduler parity, validation,
pickling."""

import math
import pickle

import numpy as np
import pytest

from gdbook import schedules

torch = pytest.importorskip("torch")
lr_scheduler = torch.optim.lr_scheduler

T = 40


def torch_lrs(base_lr, make_scheduler, steps=T):
    """The learning rates that torch uses at steps 0, 1, ..., steps - 1 with
    this scheduler."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base_lr)
    scheduler = make_scheduler(opt)
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return np.array(lrs)


def ours(schedule, steps=T):
    return np.array([schedule(t) for t in range(steps)])


TORCH_EQUIVALENTS = [
    (
        schedules.constant(0.3),
        0.3,
        lambda o: lr_scheduler.ConstantLR(o, factor=1.0),
    ),
    (
        schedules.step_decay(0.5, step_size=7),
        0.5,
        lambda o: lr_scheduler.StepLR(o, step_size=7),
    ),
    (
        schedules.step_decay(0.5, step_size=3, gamma=0.7),
        0.5,
        lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.7),
    ),
    (
        schedules.exponential(0.2, gamma=0.9),
        0.2,
        lambda o: lr_scheduler.ExponentialLR(o, gamma=0.9),
    ),
    (
        schedules.inverse_time(0.2, decay=0.5),
        0.2,
        lambda o: lr_scheduler.LambdaLR(o, lambda t: 1 / (1 + 0.5 * t)),
    ),
    (
        schedules.inverse_time(0.2, decay=0.5, power=0.6),
        0.2,
        lambda o: lr_scheduler.LambdaLR(o, lambda t: (1 + 0.5 * t) ** -0.6),
    ),
    (
        schedules.cosine(0.1, t_max=T - 1),
        0.1,
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=T - 1),
    ),
    (
        schedules.cosine(0.1, t_max=T - 1, lr_min=0.01),
        0.1,
        lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=T - 1, eta_min=0.01),
    ),
    (
        schedules.linear_warmup(0.1, warmup_steps=10, start_factor=0.25),
        0.1,
        lambda o: lr_scheduler.LinearLR(o, start_factor=0.25, total_iters=10),
    ),
    (
        schedules.linear_warmup(0.1, warmup_steps=10),
        0.1,
        lambda o: lr_scheduler.LambdaLR(o, lambda t: min(t / 10, 1)),
    ),
    (
        schedules.linear_warmup(
            schedules.exponential(0.1, gamma=0.95),
            warmup_steps=5,
            start_factor=0.5,
        ),
        0.1,
        lambda o: lr_scheduler.ChainedScheduler(
            [
                lr_scheduler.LinearLR(o, start_factor=0.5, total_iters=5),
                lr_scheduler.ExponentialLR(o, gamma=0.95),
            ]
        ),
    ),
]


@pytest.mark.parametrize(
    "schedule, base_lr, make_scheduler",
    TORCH_EQUIVALENTS,
    ids=[repr(s) for s, _, _ in TORCH_EQUIVALENTS],
)
def test_equals_torch_lr_scheduler(schedule, base_lr, make_scheduler):
    # torch updates most schedules recursively (lr *= factor), so the two
    # differ by round-off only
    np.testing.assert_allclose(
        ours(schedule),
        torch_lrs(base_lr, make_scheduler),
        rtol=1e-12,
        atol=1e-15,
    )


def test_closed_forms():
    t = np.arange(T)
    np.testing.assert_allclose(
        ours(schedules.step_decay(1.0, 4, 0.5)), 0.5 ** (t // 4)
    )
    np.testing.assert_allclose(
        ours(schedules.exponential(2.0, 0.5)), 2.0 * 0.5**t
    )
    np.testing.assert_allclose(
        ours(schedules.inverse_time(1.0, 2.0, power=0.5)),
        1 / np.sqrt(1 + 2 * t),
    )
    np.testing.assert_allclose(
        ours(schedules.linear_warmup(2.0, 4)), 2.0 * np.minimum(t / 4, 1)
    )


def test_cosine_shape():
    s = schedules.cosine(1.0, t_max=10, lr_min=0.1)
    assert s(0) == 1.0
    assert s(5) == pytest.approx(0.55)
    assert (
        s(10) == s(11) == s(1000) == 0.1
    )  # constant after t_max (torch's CosineAnnealingLR rises again)
    values = ours(s, 12)
    assert np.all(np.diff(values) <= 0)


def test_warmup_then_wrapped_schedule():
    base = schedules.cosine(1.0, t_max=20)
    s = schedules.linear_warmup(base, warmup_steps=5, start_factor=0.2)
    assert s(0) == pytest.approx(0.2 * base(0))
    assert s(4) == pytest.approx((0.2 + 0.8 * 4 / 5) * base(4))
    assert [s(t) for t in range(5, 25)] == [base(t) for t in range(5, 25)]
    assert schedules.linear_warmup(0.3, warmup_steps=0)(0) == 0.3


@pytest.mark.parametrize(
    "power, summable, square_summable",
    [
        (1.0, False, True),
        (0.75, False, True),
        (0.5, False, False),
        (1.5, True, True),
    ],
)
def test_robbins_monro_conditions(power, summable, square_summable):
    """sum lr = inf and sum lr^2 < inf exactly for 1/2 < power <= 1, seen in
    partial sums' growth."""
    s = schedules.inverse_time(1.0, decay=1.0, power=power)
    lr = ours(s, 10**5)

    def grows(x):
        # does the sum over [10^3, 10^5) still keep up with the one over
        # [10, 10^3)?
        return x[1000:].sum() > 0.5 * x[10:1000].sum()

    assert grows(lr) != summable
    assert grows(lr**2) != square_summable


ALL = [
    schedules.constant(0.1),
    schedules.step_decay(0.1, 5),
    schedules.exponential(0.1, 0.9),
    schedules.inverse_time(0.1, 0.01),
    schedules.cosine(0.1, 50, 0.001),
    schedules.linear_warmup(schedules.cosine(0.1, 50), 5),
]


@pytest.mark.parametrize("schedule", ALL, ids=[type(s).__name__ for s in ALL])
def test_pickle_and_repr(schedule):
    clone = pickle.loads(pickle.dumps(schedule))
    assert [clone(t) for t in range(60)] == [schedule(t) for t in range(60)]
    assert repr(clone) == repr(schedule)
    assert repr(schedule).startswith(type(schedule).__name__ + "(")
    assert eval(repr(schedule), vars(schedules))(7) == schedule(7)


BAD = [
    (lambda: schedules.constant(-0.1), ValueError, "lr"),
    (lambda: schedules.constant(math.nan), ValueError, "lr"),
    (lambda: schedules.constant("0.1"), TypeError, "lr"),
    (lambda: schedules.step_decay(0.1, 0), ValueError, "step_size"),
    (lambda: schedules.step_decay(0.1, 2.5), TypeError, "step_size"),
    (lambda: schedules.step_decay(0.1, 5, gamma=1.5), ValueError, "gamma"),
    (lambda: schedules.exponential(0.1, gamma=-0.5), ValueError, "gamma"),
    (lambda: schedules.inverse_time(0.1, decay=-1), ValueError, "decay"),
    (
        lambda: schedules.inverse_time(0.1, decay=1, power=-1),
        ValueError,
        "power",
    ),
    (lambda: schedules.cosine(0.1, t_max=0), ValueError, "t_max"),
    (lambda: schedules.cosine(0.1, t_max=10, lr_min=-1), ValueError, "lr_min"),
    (lambda: schedules.linear_warmup("fast", 5), TypeError, "schedule_or_lr"),
    (lambda: schedules.linear_warmup(-0.1, 5), ValueError, "lr"),
    (lambda: schedules.linear_warmup(0.1, -1), ValueError, "warmup_steps"),
    (
        lambda: schedules.linear_warmup(0.1, 5, start_factor=1.5),
        ValueError,
        "start_factor",
    ),
    (lambda: schedules.constant(0.1)(-1), ValueError, "t"),
    (lambda: schedules.constant(0.1)(1.5), TypeError, "t"),
]


@pytest.mark.parametrize(
    "make, error, name", BAD, ids=[name for _, _, name in BAD]
)
def test_bad_arguments(make, error, name):
    with pytest.raises(error, match=name):
        make()


def test_inverse_time_with_a_huge_denominator_gives_zero_not_overflow_error():
    assert schedules.inverse_time(0.1, 1e10, power=1e3)(10) == 0.0


def test_linear_warmup_refuses_a_wrapped_schedule_that_goes_negative():
    warm = schedules.linear_warmup(lambda t: 0.1 - 0.05 * t, warmup_steps=5)
    assert warm(2) == 0.0
    with pytest.raises(
        ValueError, match="wrapped schedule's value at step 3 must be >= 0"
    ):
        warm(3)


def test_cosine_refuses_a_floor_above_its_start():
    with pytest.raises(ValueError, match="lr_min must be <= 0.1"):
        schedules.cosine(0.1, 100, lr_min=0.2)
