"""CSE's loop rule (``pyaccad/opt/loops.py``): a ``while`` whose state follows part of an earlier one's goes.

Each program is built with the public API and checked twice: the optimised form holds the expected number of
loops, and its results are exactly what plain Python or NumPy computes (the data are small integers or dyadic
fractions that float64 holds exactly, so every order of evaluation gives the same bits and the error bound is
0). A loop that differs from the earlier one's restriction in one detail (its start, its step, its bound, a
condition or a body that reads state outside the shared part) stays, and keeps its own results, which differ
from the earlier loop's: a wrong merge fails these tests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import primitive_counts
from hypothesis import given
from hypothesis import strategies as st

import pyaccad as acc
from pyaccad import ad
from pyaccad.backends.interp import BACKEND as INTERP
from pyaccad.frontend import trace
from pyaccad.ir import Program, verify
from pyaccad.opt import optimize, stages

RNG = np.random.default_rng(11)


def _loops(fn: Callable[..., Any], *args: Any) -> int:
    """How many ``while`` statements the optimised program of ``fn`` holds (in lambdas and branches too)."""
    program = optimize(trace(fn, *args).program, "interp")
    verify(program)
    return primitive_counts(program)["while"]


def _assert_runs(fn: Callable[..., Any], args: tuple, want: Any, backend: str) -> None:
    """``fn`` on ``backend`` and the interpreter on its unoptimised program both give exactly ``want``."""
    got = acc.jit(fn, backend=backend)(*args)
    unoptimised = INTERP.compile(trace(fn, *args).program)(list(args))
    wants = [np.asarray(w) for w in (want if isinstance(want, tuple) else (want,))]
    gots = list(got) if isinstance(got, tuple) else [got]
    for g, u, w in zip(gots, unoptimised, wants, strict=True):
        for value in (np.asarray(g), u):
            assert value.dtype == w.dtype
            np.testing.assert_array_equal(value, w)


# -- the heat equation's gradient: reverse mode's trip-counting copy of the forward loop ------------------------

STEPS = 5


def _heat(checkpoint: int | str | None) -> Callable[..., Any]:
    def f(u0: Any, target: Any) -> Any:
        def step(s: tuple) -> tuple:
            t, u = s
            return t + 1, acc.stencil(lambda n: n[1] + 0.25 * (n[0] - 2.0 * n[1] + n[2]), u, 3, boundary="clamp")

        _, u = acc.awhile(lambda s: s[0] < STEPS, step, (np.int64(0), u0), checkpoint)
        d = u - target
        return (d * d).sum()

    return f


def _heat_gradient(u0: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``2 (Mᵀ)^T (M^T u0 - target)`` in NumPy, ``M`` the clamped step's matrix (built from the unit vectors)."""
    n = len(u0)
    padded = lambda u: np.concatenate([u[:1], u, u[-1:]])
    m = np.stack([e + 0.25 * (padded(e)[:-2] - 2.0 * e + padded(e)[2:]) for e in np.eye(n)], axis=1)
    power = np.linalg.matrix_power(m, STEPS)
    return 2.0 * power.T @ (power @ u0 - target)


def _counts_only(program: Program) -> bool:
    """Whether ``program`` holds a loop whose whole state is rank-0 integers (a loop that only counts)."""
    for stmt in program.stmts:
        if stmt.prim.name == "while" and all(v.type.shape == () and v.dtype.kind in "iu" for v in stmt.outs):
            return True
        if any(_counts_only(sub) for sub in stmt.subprograms()):
            return True
    return False


@pytest.mark.parametrize("checkpoint", [None, 1, 3, "bisect"])
def test_the_gradient_of_a_loop_counts_trips_in_the_forward_loop(checkpoint, backend):
    # Small integers: each step adds two bits of fraction, so five steps, the squares and the gradient
    # stay far inside float64's 53 bits; the matrix power in NumPy is exact too.
    u0, target = RNG.integers(-8, 9, 8).astype(np.float64), RNG.integers(-8, 9, 8).astype(np.float64)
    grad = ad.grad(_heat(checkpoint))
    traced = trace(grad, u0, target).program
    history = [program for _, program in stages(traced)]
    optimised = history[-1]
    verify(optimised)
    assert not _counts_only(optimised)
    if checkpoint is None:  # DCE left a loop that only counts, and CSE took it: forward and reverse stay
        assert any(_counts_only(p) for p in history) and primitive_counts(optimised)["while"] == 2
    _assert_runs(grad, (u0, target), _heat_gradient(u0, target), backend)


# -- loops that merge ---------------------------------------------------------------------------------------------


def test_a_loop_over_part_of_another_loops_state_is_the_other_loop(backend):
    def f(x: Any) -> Any:
        step = lambda s: (s[0] + 1, s[1] * 0.5, s[2] + s[1].sum())
        _, _, total = acc.awhile(lambda s: s[0] < 4, step, (np.int64(0), x, np.float64(0.0)))
        count, halved = acc.awhile(lambda s: s[0] < 4, lambda s: (s[0] + 1, s[1] * 0.5), (np.int64(0), x))
        return total, halved, count

    x = RNG.integers(-8, 9, 5).astype(np.float64)
    assert _loops(f, x) == 1
    _assert_runs(f, (x,), (x.sum() * (1 + 0.5 + 0.25 + 0.125), x / 16, np.int64(4)), backend)


def test_two_components_may_follow_one(backend):
    """A trip counter that starts and steps as the forward loop's counter does is that counter."""

    def f(x: Any) -> Any:
        _, y = acc.awhile(lambda s: s[0] < 3, lambda s: (s[0] + 1, s[1] * 2.0), (np.int64(0), x))
        trips, copy = acc.awhile(lambda s: s[1] < 3, lambda s: (s[0] + 1, s[1] + 1), (np.int64(0), np.int64(0)))
        return y, trips, copy

    x = RNG.integers(-8, 9, 4).astype(np.float64)
    assert _loops(f, x) == 1
    _assert_runs(f, (x,), (x * 8, np.int64(3), np.int64(3)), backend)


def test_identical_loops_are_one(backend):
    def f(x: Any) -> Any:
        loop = lambda: acc.awhile(lambda s: s.sum() < 100.0, lambda s: s * 2.0 + 1.0, x)
        return loop(), loop()

    x = np.array([1.0, 2.0])
    assert _loops(f, x) == 1
    _assert_runs(f, (x,), (np.array([63.0, 95.0]), np.array([63.0, 95.0])), backend)


def test_a_loop_in_a_lambda_follows_one_before_it(backend):
    def per_lane(v: Any) -> Any:
        _, w = acc.while_(lambda s: s[0] < 3, lambda s: (s[0] + 1, s[1] * 3), (np.int64(0), v))
        (n,) = acc.while_(lambda s: s[0] < 3, lambda s: (s[0] + 1,), (np.int64(0),))
        return w + n

    f = lambda x: acc.map(per_lane, x)
    x = np.array([1, -2, 5])
    assert _loops(f, x) == 1
    _assert_runs(f, (x,), x * 27 + 3, backend)


def test_a_loop_in_a_branch_follows_one_in_the_enclosing_scope(backend):
    def f(x: Any) -> Any:
        count, y = acc.awhile(lambda s: s[0] < 4, lambda s: (s[0] + 1, s[1] - 1.0), (np.int64(0), x))
        counted = lambda: acc.awhile(lambda s: s[0] < 4, lambda s: (s[0] + 1,), (np.int64(0),))[0]
        again = acc.acond(x.sum() > 0.0, counted, lambda: count * 2)
        return y, again

    x = np.array([3.0, 1.0])
    assert _loops(f, x) == 1
    _assert_runs(f, (x,), (x - 4.0, np.int64(4)), backend)


def test_a_later_loop_that_extends_an_earlier_one_takes_its_place(backend):
    def f(x: Any) -> Any:
        (count,) = acc.awhile(lambda s: s[0] < 3, lambda s: (s[0] + 1,), (np.int64(0),))
        _, y = acc.awhile(lambda s: s[0] < 3, lambda s: (s[0] + 1, s[1] * 2.0), (np.int64(0), x))
        return count, y

    x = RNG.integers(-8, 9, 4).astype(np.float64)
    assert _loops(f, x) == 1
    _assert_runs(f, (x,), (np.int64(3), x * 8), backend)


def test_an_earlier_loop_with_two_components_following_one_of_a_later_loop(backend):
    """Both earlier counters follow the later loop's one: whatever the optimiser does, every result stays bound."""

    def f(x: Any) -> Any:
        i, j = acc.awhile(lambda s: s[0] < 3, lambda s: (s[0] + 1, s[1] + 1), (np.int64(0), np.int64(0)))
        _, y = acc.awhile(lambda s: s[0] < 3, lambda s: (s[0] + 1, s[1] * 2.0), (np.int64(0), x))
        return i, j, y

    x = RNG.integers(-8, 9, 4).astype(np.float64)
    verify(optimize(trace(f, x).program, "interp"))
    _assert_runs(f, (x,), (np.int64(3), np.int64(3), x * 8), backend)


def _shrinking(u0: Any, target: Any) -> Any:
    """Smooth ``u`` (each point a quarter of itself and its clamped neighbours) while its sum passes 1."""
    smooth = lambda u: acc.stencil(lambda n: 0.25 * (n[0] + n[1] + n[2]), u, 3, boundary="clamp")
    d = acc.awhile(lambda u: u.sum() > 1.0, smooth, u0) - target
    return (d * d).sum()


def _shrinking_gradient(u0: np.ndarray, target: np.ndarray) -> np.ndarray:
    padded = lambda u: np.concatenate([u[:1], u, u[-1:]])
    m = np.stack([0.25 * (padded(e)[:-2] + e + padded(e)[2:]) for e in np.eye(len(u0))], axis=1)
    u, power = u0, np.eye(len(u0))
    while u.sum() > 1.0:  # the sum falls by a quarter a trip
        u, power = m @ u, m @ power
    return 2.0 * power.T @ (u - target)


def test_the_gradient_of_a_loop_on_its_values_runs_the_forward_loop_once(backend):
    """Without a counter, reverse mode's counting loop holds the whole state: it repeats the forward loop, whose
    state is part of its own, and takes the forward loop's place."""
    # Small integers: each trip adds two bits of fraction, the sum (at most 12) passes 1 for at most 9 trips,
    # and the squares and the gradient stay inside float64's 53 bits, in NumPy too.
    u0, target = RNG.integers(0, 3, 6).astype(np.float64), RNG.integers(0, 3, 6).astype(np.float64)
    grad = ad.grad(_shrinking)
    assert primitive_counts(trace(grad, u0, target).program)["while"] == 3 and _loops(grad, u0, target) == 2
    _assert_runs(grad, (u0, target), _shrinking_gradient(u0, target), backend)


# -- loops that differ in one detail stay --------------------------------------------------------------------------


def _forward(x: Any, cond: Callable[[tuple], Any] | None = None, count: Callable[[tuple], Any] | None = None) -> tuple:
    """The earlier loop: ``(i, y)`` from ``(0, x)``, ``y`` halved each trip, while ``i < 4`` (by default)."""
    cond = cond or (lambda s: s[0] < 4)
    count = count or (lambda s: s[0] + 1)
    return acc.awhile(cond, lambda s: (count(s), s[1] * 0.5), (np.int64(0), x))


def _halving(start: int = 0, step: int = 1, bound: int = 4) -> Callable[[Any], Any]:
    """A later loop like :func:`_forward`'s but for one detail; ``y``'s sum tells how many trips it took."""
    init = lambda x: (np.int64(start), x)
    return lambda x: acc.awhile(lambda s: s[0] < bound, lambda s: (s[0] + step, s[1] * 0.5), init(x))[1].sum()


def _counter(x: Any) -> Any:
    """A later loop holding only :func:`_forward`'s counter."""
    return acc.awhile(lambda s: s[0] < 4, lambda s: (s[0] + 1,), (np.int64(0),))[0]


def _doubling(reads_other: bool) -> Callable[[Any], Any]:
    """``(i, a, b)`` from ``(0, 1, 2)``: ``b`` doubles, ``a`` adds ``b`` to itself (or, ``reads_other`` false,
    itself): the same statements reading another component."""
    body = lambda s: (s[0] + 1, s[1] + (s[2] if reads_other else s[1]), s[2] * 2)
    return lambda x: acc.awhile(lambda s: s[0] < 4, body, (np.int64(0), np.int64(1), np.int64(2)))


LIMIT = 10.0  # x sums to 64: halved each trip, its sum falls below the limit after 3 trips
X = np.full(4, 16.0)

DIFFERENT = {
    # name: (earlier loop, later loop, every result: the earlier loop's, then the later one's)
    "start": (_forward, _halving(start=2), (4, X / 2**4, 64.0 / 2**2)),
    "step": (_forward, _halving(step=2), (4, X / 2**4, 64.0 / 2**2)),
    "bound": (_forward, _halving(bound=5), (4, X / 2**4, 64.0 / 2**5)),
    "condition reads outside": (
        lambda x: _forward(x, cond=lambda s: (s[0] < 4) & (s[1].sum() > LIMIT)),
        _counter,
        (3, X / 2**3, 4),
    ),
    "body reads outside": (  # one more when the sum is below the limit: 1, 2, 3, then 3 + 2
        lambda x: _forward(x, count=lambda s: s[0] + 1 + (s[1].sum() < LIMIT).astype("int64")),
        _counter,
        (5, X / 2**4, 4),
    ),
    "body reads another component": (
        _doubling(reads_other=True),
        lambda x: _doubling(reads_other=False)(x)[1],
        (4, 31, 32, 16),
    ),
    "state beyond": (
        _forward,
        lambda x: acc.awhile(lambda s: s[0] < 4, lambda s: (s[0] + 1, s[1] + 2), (np.int64(0), np.int64(5)))[1],
        (4, X / 2**4, 13),
    ),
}


@pytest.mark.parametrize("name", list(DIFFERENT))
def test_a_loop_that_differs_in_one_detail_stays(name, backend):
    earlier, later, want = DIFFERENT[name]
    f = lambda x: (*earlier(x), later(x))  # every result of the earlier loop is used: DCE trims none of its state
    assert _loops(f, X) == 2
    dtypes = [np.float64 if isinstance(w, (float, np.ndarray)) else np.int64 for w in want]
    _assert_runs(f, (X,), tuple(np.asarray(w, d) for w, d in zip(want, dtypes, strict=True)), backend)


def test_a_later_loop_that_starts_from_the_earlier_ones_result_stays(backend):
    def f(x: Any) -> Any:
        (count,) = acc.awhile(lambda s: s[0] < 4, lambda s: (s[0] + 1,), (np.int64(0),))
        start = x * count.astype("float64")  # it extends the counting loop, but cannot run before it
        _, y = acc.awhile(lambda s: s[0] < 4, lambda s: (s[0] + 1, s[1] * 0.5), (np.int64(0), start))
        return count, y

    assert _loops(f, X) == 2
    _assert_runs(f, (X,), (np.int64(4), X * 4 / 2**4), backend)


# -- a property: restrictions of random loops merge, perturbed ones keep their results ----------------------------

Component = tuple[int, int, int | None]  # (initial value, step, the component whose value the body adds, if any)


@st.composite
def _loops_pair(draw: st.DrawFn) -> tuple[list[Component], list[int], str]:
    """An earlier loop's components, which of them a later loop copies (component 0, the counter, included and
    the copy closed under the body's reads), and how the later loop departs from the copy ("none": it does not)."""
    size = draw(st.integers(1, 4))
    comps = [
        (draw(st.integers(0, 2)), draw(st.integers(1, 2)), draw(st.none() | st.integers(0, size - 1)))
        for _ in range(size)
    ]
    picked = draw(st.lists(st.integers(0, size - 1), min_size=1, max_size=4))
    chosen = [0, *picked]
    for k in chosen:  # close the copy under reads, so the later loop can compute what it copies
        read = comps[k][2]
        if read is not None and read not in chosen:
            chosen.append(read)
    return comps, chosen, draw(st.sampled_from(["none", "none", "start", "step", "read", "bound"]))


def _simulate(comps: list[Component], bound: int) -> list[int]:
    state = [init for init, _, _ in comps]
    while state[0] < bound:
        steps = zip(state, comps, strict=True)
        state = [v + step + (state[read] if read is not None else 0) for v, (_, step, read) in steps]
    return state


def _copy(comps: list[Component], chosen: list[int], change: str) -> list[Component]:
    """The later loop's components: ``chosen`` of ``comps`` (reads renumbered), the last one changed by ``change``."""
    position = {k: j for j, k in reversed(list(enumerate(chosen)))}
    copied = [(init, step, None if read is None else position[read]) for init, step, read in (comps[k] for k in chosen)]
    init, step, read = copied[-1]
    changed = {"start": (init + 3, step, read), "step": (init, step + 2, read), "read": (init, step, 0)}
    copied[-1] = changed.get(change, copied[-1])
    return copied


def _as_loop(comps: list[Component], bound: int) -> Callable[[], tuple]:
    def body(s: tuple) -> tuple:
        return tuple(s[k] + step + (s[read] if read is not None else 0) for k, (_, step, read) in enumerate(comps))

    return lambda: acc.awhile(lambda s: s[0] < bound, body, tuple(np.int64(init) for init, _, _ in comps))


@given(_loops_pair())
def test_random_restrictions_merge_and_every_loop_keeps_its_results(pair):
    comps, chosen, change = pair
    later = _copy(comps, chosen, change)
    bound = 6 if change == "bound" else 5
    f = lambda x: (_as_loop(comps, 5)(), _as_loop(later, bound)(), x)
    x = np.zeros(1, np.int64)
    got = acc.jit(f, backend="interp")(x)
    assert [int(v) for v in got[0]] == _simulate(comps, 5)
    assert [int(v) for v in got[1]] == _simulate(later, bound)
    if change == "none":
        assert _loops(f, x) == 1
    elif change == "bound":  # another condition: neither loop is part of the other
        assert _loops(f, x) == 2


@given(_loops_pair())
def test_the_signature_filter_leaves_every_merge_as_trying_every_pair_does(pair):
    # CSE tries projection only on loops that loops.may_project lets through, a necessary condition of it; with
    # the filter letting everything through (every pair tried, as before it existed) the program is the same.
    from unittest import mock

    from pyaccad.opt.keys import program_key

    comps, chosen, change = pair
    later = _copy(comps, chosen, change)
    f = lambda x: (_as_loop(comps, 5)(), _as_loop(later, 6 if change == "bound" else 5)(), x)
    program = trace(f, np.zeros(1, np.int64)).program
    filtered = optimize(program, "interp")
    with mock.patch("pyaccad.opt.cse.may_project", lambda loop, earlier: True):
        every_pair = optimize(program, "interp")
    assert program_key(filtered) == program_key(every_pair)
