"""Native run-time errors: an out-of-bounds read or scatter target names its index, as on the interpreter.

Each program runs on both backends: the native error must be the interpreter's (class and message: the
operation, the full multi-index, the array's shape, the first axis out of range and this file's line), and
the index must be the one NumPy finds out of range in the data. Where several are out of range, on one
thread or two, native names the interpreter's first (the bad elements sit in both threads' halves).
Bounds checks inside ``omp simd`` loops only set flags the loop reduces; a cold copy of the loop, run
after a flag is set, records the index.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import assert_within, sum_bound

import pyaccad as acc
from pyaccad.backends import availability
from pyaccad.backends.native.program import generate
from pyaccad.frontend import trace

pytestmark = pytest.mark.skipif(availability()["native"] is not None, reason="native backend unavailable here")

RNG = np.random.default_rng(3)
HERE = "test_native_errors.py:"


@pytest.fixture(params=["1", "2"], ids=["1 thread", "2 threads"])
def threads(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("PYACCAD_NUM_THREADS", request.param)
    return request.param


def raised(backend: str, fn: Callable[..., Any], *args: Any) -> str:
    """The message of the IndexOutOfBounds that running ``fn(*args)`` on ``backend`` raises."""
    with pytest.raises(acc.IndexOutOfBounds) as info:
        acc.jit(fn, backend=backend)(*args)
    return str(info.value)


def first_bad(points: np.ndarray, shape: tuple[int, ...]) -> tuple[int, ...]:
    """NumPy's reference: the first row of ``points`` (one multi-index a row) outside ``shape``."""
    bad = ((points < 0) | (points >= np.array(shape))).any(axis=1)
    return tuple(int(k) for k in points[np.flatnonzero(bad)[0]])


def check(fn: Callable[..., Any], args: tuple[Any, ...], what: str, point: tuple[int, ...], shape: tuple[int, ...]):
    """Native raises the interpreter's error, naming ``what``, ``point`` of ``shape``, its bad axis and this file."""
    message = raised("native", fn, *args)
    assert message == raised("interp", fn, *args)
    axis = next(a for a, (k, n) in enumerate(zip(point, shape, strict=True)) if not 0 <= k < n)
    for words in [
        f"{what}: index {point} ",
        f"array of shape {shape}",
        f": {point[axis]} is outside axis {axis} ",
        HERE,
    ]:
        assert words in message, message


def test_map_lambda_read_names_the_full_index(threads: str) -> None:
    """The issue's example: reading a[25, 3] of an array of shape (25, 55)."""
    grid = RNG.standard_normal((25, 55))
    rows, cols = RNG.integers(0, 25, 400_000).astype(np.int32), RNG.integers(0, 55, 400_000).astype(np.int32)
    rows[300_001], cols[300_001] = 25, 3  # in the second thread's half
    fn = lambda g, r, c: acc.map(lambda p, q: g[p, q] * 2.0, r, c)  # noqa: E731
    check(fn, (grid, rows, cols), "index inside map", (25, 3), grid.shape)
    rows[1_000], cols[399_999] = -1, 60  # now the first bad read is in the first half
    check(fn, (grid, rows, cols), "index inside map", (-1, int(cols[1_000])), grid.shape)


def test_the_first_of_several_bad_reads_on_one_thread() -> None:
    """A small program runs on one thread, in the interpreter's (row-major) order: the same first index."""
    table = RNG.standard_normal((4, 6))
    cols = np.array([[0, 6, 2, -1], [7, 1, 0, 9], [2, 2, 3, 5]], np.int32)
    fn = lambda t, c: acc.generate((3, 4), lambda i, j: t[i, c[i, j]])  # noqa: E731
    points = np.stack([np.repeat(np.arange(3), 4), cols.reshape(-1)], axis=1)
    check(fn, (table, cols), "index inside generate", first_bad(points, table.shape), table.shape)
    negative = np.where(cols > 5, 0, cols)  # only the -1 is left
    check(fn, (table, negative), "index inside generate", (0, -1), table.shape)


def _gather_sum(t: Any, i: Any) -> Any:
    return acc.fold(lambda p, q: p + q, 0.0, acc.map(lambda k: t[k], i), axis=-1)


def test_fold_lane_read_names_the_index(threads: str) -> None:
    table, idx = RNG.standard_normal(50), RNG.integers(0, 50, (3000, 100))
    idx[1234, 56], idx[2999, 0] = 77, 78
    check(_gather_sum, (table, idx), "index inside map", (77,), table.shape)


def test_backpermute_read_names_the_index(threads: str) -> None:
    source = RNG.standard_normal((6, 3))
    rows = RNG.integers(0, 6, 300_000).astype(np.int32)
    rows[100_000], rows[299_999] = -4, 9
    fn = lambda a, r: acc.backpermute((300_000, 3), lambda i, j: (r[i], 2 - j), a)  # noqa: E731
    check(fn, (source, rows), "backpermute", (-4, 2), source.shape)


@pytest.mark.parametrize(
    "combine",
    [lambda p, q: p + q, lambda p, q: p * 0.5 + q],
    ids=["monoid (chunked, parallel)", "general (serial)"],
)
def test_permute_target_names_the_index(threads: str, combine: Callable[[Any, Any], Any]) -> None:
    x, targets = RNG.standard_normal(300_000), RNG.integers(0, 10, 300_000)
    targets[100_000], targets[290_000] = 13, 11

    def fn(a: Any, t: Any) -> Any:
        return acc.permute(combine, acc.fill((2, 5), 0.0), lambda i: (t[i] // 5, t[i] % 5), a)

    check(fn, (x, targets), "permute", (2, 3), (2, 5))


def test_stencil_lambda_read_names_the_index() -> None:
    table = np.arange(3.0)

    def fn(a: Any) -> Any:
        return acc.stencil(lambda n: acc.use(table)[acc.cast(n[1], "int64")], a, 3, boundary="clamp")

    check(fn, (np.array([0.0, 1.0, 2.0, 7.0, 1.0] * 40),), "index inside stencil", (7,), table.shape)


def test_scan_lambda_read_names_the_index() -> None:
    table = np.arange(4.0)

    def fn(a: Any) -> Any:
        return acc.scanl(lambda s, v: s + acc.use(table)[acc.cast(v, "int64")], 0.0, a)

    check(fn, (np.array([1.0, 3.0, 4.0, 0.0]),), "index inside scan", (4,), table.shape)


def test_out_of_bounds_index_raises_with_source() -> None:
    x = np.arange(5.0)
    check(lambda a: acc.generate((5,), lambda i: a[i + 1]), (x,), "index inside generate", (5,), (5,))
    fn = lambda a: acc.permute(lambda p, q: p + q, np.zeros(3), lambda i: (i,), a)  # noqa: E731
    check(fn, (x,), "permute", (3,), (3,))


def _simd_loops(source: str) -> list[list[str]]:
    """The lines of each loop that follows a ``#pragma omp simd`` in generated C."""
    lines, loops = source.splitlines(), []
    for n, line in enumerate(lines):
        if "#pragma omp simd" in line:
            depth, loop = 0, []
            for body in lines[n + 1 :]:
                loop.append(body)
                depth += body.count("{") - body.count("}")
                if depth == 0:
                    break
            loops.append(loop)
    return loops


@pytest.mark.parametrize(
    "fn,what,numpy",
    [  # a map kernel's simd loop, a fold's lanes, a checked backpermute read
        (lambda t, i: acc.map(lambda k: t[k] * 2.0, i), "index inside map", lambda t, i: t[i] * 2.0),
        (_gather_sum, "index inside map", None),
        (lambda t, i: acc.backpermute((i.shape[0],), lambda j: (i[j],), t), "backpermute", lambda t, i: t[i]),
    ],
    ids=["map", "fold", "backpermute"],
)
def test_bounds_checks_inside_simd_loops_are_reduced_flags_and_still_raise(
    fn: Callable[..., Any], what: str, numpy: Callable[..., Any] | None
) -> None:
    """A check inside an ``omp simd`` loop sets a flag the loop ORs together (no branch to keep it scalar);
    the index is recorded by the cold copy of the loop, outside it."""
    table, idx = RNG.standard_normal(50), RNG.integers(0, 50, (300_000,))
    if fn is _gather_sum:
        idx = idx.reshape(3000, 100)
    source, _ = generate(trace(fn, table, idx).program)
    loops = _simd_loops(source)
    assert any("|= !ok" in line for loop in loops for line in loop)
    assert not any("PA_FAIL" in line for loop in loops for line in loop)
    assert "PA_FAIL_AT" in source  # in the cold copy
    got = acc.jit(fn, backend="native")(table, idx)
    if numpy is None:  # the fold: rows of 100 gathered terms and the fold's 0.0, summed in any order
        gathered = table[idx]
        assert_within(got, gathered.sum(axis=-1), sum_bound(np.abs(gathered).sum(axis=-1), 101, np.float64))
    else:  # moved elements, or doubled: exact
        np.testing.assert_array_equal(got, numpy(table, idx))
    bad = idx.copy()
    bad.flat[12345] = 50
    check(fn, (table, bad), what, (50,), table.shape)
