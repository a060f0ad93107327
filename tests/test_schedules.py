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
    # cosine to zero with a warm-up: the warm-up ramp times the cosine
    (
        schedules.linear_warmup(schedules.cosine(0.1, t_max=30), 5),
        0.1,
        lambda o: lr_scheduler.LambdaLR(
            o,
            lambda t: (
                min(t / 5, 1) * (1 + math.cos(math.pi * min(t, 30) / 30)) / 2
            ),
        ),
    ),
    (
        schedules.warmup_stable_decay(0.1, total_steps=30, warmup_steps=5),
        0.1,
        lambda o: lr_scheduler.LambdaLR(
            o,
            lambda t: (
                t / 5 if t < 5 else 1.0 if t < 24 else max(0.0, (30 - t) / 6)
            ),
        ),
    ),
    (
        schedules.warmup_stable_decay(
            0.1, 30, 4, 10, shape="1-sqrt", lr_min=0.01
        ),
        0.1,
        lambda o: lr_scheduler.LambdaLR(
            o,
            lambda t: (
                t / 4
                if t < 4
                else 1.0
                if t < 20
                else 0.1 + 0.9 * (1 - math.sqrt(min(t - 20, 10) / 10))
            ),
        ),
    ),
    # no warm-up, decay over the whole budget: a linear decay to zero
    (
        schedules.warmup_stable_decay(0.1, total_steps=30, decay_steps=30),
        0.1,
        lambda o: lr_scheduler.LinearLR(
            o, start_factor=1.0, end_factor=0.0, total_iters=30
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
    schedules.warmup_stable_decay(0.1, 50, 5),
    schedules.warmup_stable_decay(
        0.1, 50, 5, decay_fraction=0.5, shape="1-sqrt", lr_min=0.001
    ),
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
    (lambda: schedules.warmup_stable_decay(-0.1, 10), ValueError, "lr"),
    (
        lambda: schedules.warmup_stable_decay(0.1, 0),
        ValueError,
        "total_steps",
    ),
    (
        lambda: schedules.warmup_stable_decay(0.1, 10.0),
        TypeError,
        "total_steps",
    ),
    (
        lambda: schedules.warmup_stable_decay(0.1, 10, -1),
        ValueError,
        "warmup_steps",
    ),
    (
        lambda: schedules.warmup_stable_decay(0.1, 10, 2, 0),
        ValueError,
        "decay_steps must be >= 1",
    ),
    (
        lambda: schedules.warmup_stable_decay(0.1, 10, 0, 11),
        ValueError,
        "decay_steps must be <= total_steps = 10",
    ),
    (
        lambda: schedules.warmup_stable_decay(0.1, 10, 2, 2.5),
        TypeError,
        "decay_steps",
    ),
    (
        lambda: schedules.warmup_stable_decay(0.1, 10, 9, 2),
        ValueError,
        "warmup_steps must be <= total_steps - decay_steps = 8",
    ),
    (
        lambda: schedules.warmup_stable_decay(0.1, 10, decay_fraction=0.0),
        ValueError,
        "decay_fraction must be > 0",
    ),
    (
        lambda: schedules.warmup_stable_decay(0.1, 10, decay_fraction=1.5),
        ValueError,
        "decay_fraction must be <= 1",
    ),
    (
        lambda: schedules.warmup_stable_decay(
            0.1, 10, decay_steps=2, decay_fraction=0.2
        ),
        TypeError,
        "decay_steps or decay_fraction, not both",
    ),
    (
        lambda: schedules.warmup_stable_decay(0.1, 10, shape="cosine"),
        ValueError,
        "shape must be one of",
    ),
    (
        lambda: schedules.warmup_stable_decay(0.1, 10, lr_min=0.2),
        ValueError,
        "lr_min must be <= 0.1",
    ),
    (lambda: schedules.constant(0.1)(-1), ValueError, "t"),
    (lambda: schedules.constant(0.1)(1.5), TypeError, "t"),
]


@pytest.mark.parametrize(
    "make, error, name", BAD, ids=[name.split()[0] for _, _, name in BAD]
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


def test_warmup_stable_decay_at_its_key_points():
    s = schedules.warmup_stable_decay(
        2.0, total_steps=100, warmup_steps=10, decay_steps=20
    )
    assert s(0) == 0.0 and s(5) == 1.0 and s(9) == pytest.approx(1.8)
    assert [s(t) for t in range(10, 81)] == [2.0] * 71  # stable to t = 80
    assert s(90) == pytest.approx(1.0) and s(99) == pytest.approx(0.1)
    assert s(100) == s(101) == s(10**6) == 0.0
    values = ours(s, 120)
    assert np.all(np.diff(values[10:]) <= 0)
    root = schedules.warmup_stable_decay(2.0, 100, 10, 20, shape="1-sqrt")
    assert root(80) == 2.0 and root(85) == pytest.approx(1.0)
    assert root(95) == pytest.approx(2.0 * (1 - math.sqrt(0.75)))
    # 1 - sqrt drops faster at the start of the decay and ends the same
    assert all(root(t) < s(t) for t in range(81, 100))
    floor = schedules.warmup_stable_decay(1.0, 10, decay_steps=4, lr_min=0.1)
    assert floor(0) == 1.0 and floor(8) == pytest.approx(0.55)
    assert floor(10) == floor(50) == 0.1


def test_warmup_stable_decay_decay_length():
    assert schedules.warmup_stable_decay(0.1, 100).decay_steps == 20
    assert schedules.warmup_stable_decay(0.1, 7).decay_steps == 1
    assert schedules.warmup_stable_decay(0.1, 2).decay_steps == 1
    fraction = schedules.warmup_stable_decay(0.1, 50, decay_fraction=0.1)
    assert fraction.decay_steps == 5
    assert (
        ours(fraction, 60).tolist()
        == ours(
            schedules.warmup_stable_decay(0.1, 50, decay_steps=5), 60
        ).tolist()
    )
    whole = schedules.warmup_stable_decay(1.0, 10, decay_fraction=1.0)
    assert ours(whole, 11) == pytest.approx(1 - np.arange(11) / 10)


def test_warmup_stable_decay_branches_share_the_stable_phase():
    """The 'anytime' property: runs with different budgets use the same
    rates until the earlier one starts to decay."""
    short = schedules.warmup_stable_decay(0.1, 300, 20, decay_fraction=0.2)
    long = schedules.warmup_stable_decay(0.1, 600, 20, decay_steps=60)
    assert ours(short, 240).tolist() == ours(long, 240).tolist()
    assert short(240) == long(240) == 0.1 > short(241)
    cosines = [schedules.cosine(0.1, t_max=n) for n in (300, 600)]
    assert cosines[0](100) < cosines[1](100)  # a cosine is tied to its budget
