"""Folds and scans on the cuda backend's cooperative kernels (:mod:`pyaccad.backends.cuda.blocks`,
:mod:`pyaccad.backends.cuda.scans`), and the emulator's cooperative launches that run them without a GPU.

A line of :data:`~pyaccad.backends.cuda.blocks.SHORT` elements or more is shared by a block's threads and
combined in a tree, not left to right: float sums are checked against NumPy's in float64 within the bound
of a sum of ``n`` terms in any order (``helpers.sum_bound``), everything else exactly. A combine that does
not commute must still be applied in index order: the composition of affine maps ``x ↦ a·x + b`` in int64
(exactly associative, wrapping, and not commutative) against a left-to-right NumPy loop. The sizes cross
the block's boundaries: 1, 31, 32, 33, 1025 and lines longer than a block's tile (sliced folds, scans of
several tiles), along every axis. A scan's tiles find their prefixes by look-back in one pass: rank-1 scans of
every kind (``scanl``, ``scanl1``, ``scanr``, ``scanr1``) at lengths around a warp, a tile and many tiles are
checked exactly on integers and within the bound of their sums or products on floats. The kernels do not depend
on the extents: one jitted function at several batch sizes compiles one module.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_within, gamma, sum_bound

import pyaccad as acc
from pyaccad.backends.cuda.blocks import SHORT, THREADS, plan_fold
from pyaccad.backends.cuda.program import Launch, generate
from pyaccad.backends.cuda.rows import LIMITS
from pyaccad.backends.cuda.scans import plan_scan
from pyaccad.frontend import trace
from pyaccad.opt import optimize
from pyaccad.opt.fusion import plan_program
from pyaccad.opt.rows import group_rows

RNG = np.random.default_rng(5)

SHAPES = [(1,), (31,), (32,), (33,), (1025,), (5000,), (3, 33), (33, 3), (1025, 5), (40, 70), (2, 33, 40)]
"""Odd extents around the warp (32), a row longer than a block (1025), a line sliced (folds) or tiled (scans)."""
CASES = [(shape, axis) for shape in SHAPES for axis in range(len(shape))] + [((4500, 33), 0), ((2, 5000), 1)]
"""Every axis of :data:`SHAPES`, and few long lines: along an inner axis (a lane per line) and along the last."""
LONG_SCAN = ((70001,), 0)
"""More tiles (35 of 2048) than a warp has lanes: the offsets pass walks chunks of several tiles per lane."""


def _launches(fn, *args) -> list[Launch]:
    """The launches of ``fn``'s program on cuda (``threads`` set: blocks of threads working together)."""
    program = optimize(trace(fn, *args).program, "cuda")
    return [s for s in generate(program).steps if isinstance(s, Launch)]


def _affine(p, q):
    """``p`` then ``q``, maps ``x ↦ a·x + b`` as ``(a, b)``: associative, not commutative."""
    return p[0] * q[0], p[1] * q[0] + q[1]


def _affine_reference(a: np.ndarray, b: np.ndarray, axis: int, start=None, reverse=False, scan=False):
    """The composition along ``axis`` left to right (or right to left), in NumPy's wrapping int64."""
    a, b = np.moveaxis(a, axis, -1), np.moveaxis(b, axis, -1)
    n = a.shape[-1]
    order = range(n - 1, -1, -1) if reverse else range(n)
    acc_a, acc_b = (None, None) if start is None else (np.full(a.shape[:-1], start[0]), np.full(a.shape[:-1], start[1]))
    outs = []
    for t in order:
        x = (a[..., t], b[..., t])
        if acc_a is None:
            acc_a, acc_b = x
        else:
            acc_a, acc_b = _affine(x, (acc_a, acc_b)) if reverse else _affine((acc_a, acc_b), x)
        outs.append((acc_a, acc_b))
    if not scan:
        return acc_a, acc_b
    if start is not None:
        outs.insert(0, (np.full(a.shape[:-1], start[0]), np.full(a.shape[:-1], start[1])))
    if reverse:
        outs.reverse()
    return tuple(np.moveaxis(np.stack([o[j] for o in outs], axis=-1), -1, axis) for j in range(2))


@pytest.mark.parametrize(("shape", "axis"), CASES)
def test_sums_along_every_axis_within_the_bound(shape, axis, cuda: str) -> None:
    x = RNG.standard_normal(shape).astype(np.float32)
    got = acc.run(lambda v: v.sum(axis=axis), x, backend=cuda)
    exact = x.astype(np.float64)
    bound = sum_bound(np.abs(exact).sum(axis=axis), shape[axis], np.float32)
    assert_within(got, exact.sum(axis=axis), bound, np.float32)


@pytest.mark.parametrize(("shape", "axis"), [*CASES, LONG_SCAN])
def test_cumulative_sums_along_every_axis_within_the_bound(shape, axis, cuda: str) -> None:
    x = RNG.standard_normal(shape).astype(np.float32)
    got = acc.run(lambda v: acc.scanl(lambda p, q: p + q, np.float32(0.5), v, axis=axis), x, backend=cuda)
    exact = np.concatenate([np.full_like(np.take(x, [0], axis), 0.5), x], axis=axis).astype(np.float64)
    terms = np.arange(1, exact.shape[axis] + 1).reshape([-1 if a == axis else 1 for a in range(len(shape))])
    bound = sum_bound(np.cumsum(np.abs(exact), axis=axis), terms, np.float32)
    assert_within(got, np.cumsum(exact, axis=axis), bound, np.float32)


@pytest.mark.parametrize(("shape", "axis"), CASES)
@pytest.mark.parametrize("start", [None, (3, -2)])
def test_a_fold_that_does_not_commute_keeps_index_order(shape, axis, start, cuda: str) -> None:
    a, b = (RNG.integers(-3, 4, size=shape).astype(np.int64) for _ in range(2))
    if start is None:
        f = lambda a, b: acc.fold1(_affine, (a, b), axis=axis)  # noqa: E731
    else:
        f = lambda a, b: acc.fold(_affine, start, (a, b), axis=axis)  # noqa: E731
    got = acc.run(f, a, b, backend=cuda)
    for g, w in zip(got, _affine_reference(a, b, axis, start), strict=True):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize(
    ("shape", "axis"), [c for c in CASES if c[0] in [(33,), (1025,), (5000,), (33, 3), (40, 70)]] + [LONG_SCAN]
)
@pytest.mark.parametrize("start", [None, (3, -2)])
@pytest.mark.parametrize("reverse", [False, True])
def test_a_scan_that_does_not_commute_keeps_index_order(shape, axis, start, reverse, cuda: str) -> None:
    a, b = (RNG.integers(-3, 4, size=shape).astype(np.int64) for _ in range(2))
    if start is None:
        f = lambda a, b: (acc.scanr1 if reverse else acc.scanl1)(_affine, (a, b), axis=axis)  # noqa: E731
    else:
        f = lambda a, b: (acc.scanr if reverse else acc.scanl)(_affine, start, (a, b), axis=axis)  # noqa: E731
    got = acc.run(f, a, b, backend=cuda)
    for g, w in zip(got, _affine_reference(a, b, axis, start, reverse, scan=True), strict=True):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("shape", [(7, 1025), (2, 6000)])
def test_a_fused_argmax_of_long_rows_keeps_the_first_of_ties(shape, cuda: str) -> None:
    """A tuple fold (value, index) whose producers are fused into the reading loop; ties keep the first index."""
    x = RNG.integers(0, 50, size=shape).astype(np.float64)

    def f(v):
        w = v * 2.0 - 1.0  # fused into the fold's reads
        best = acc.fold1(lambda p, q: acc.cond(q[0] > p[0], q, p), (w, acc.generate(w.shape, lambda i, j: j)))
        return best[1]

    assert any(s.threads for s in _launches(f, x))
    np.testing.assert_array_equal(acc.run(f, x, backend=cuda), np.argmax(x, axis=1))


def test_max_and_min_of_long_rows_keep_numpys_nan_and_infinities(cuda: str) -> None:
    x = RNG.standard_normal((4, 1025))
    x[0, 500], x[1, 3], x[2, 1024], x[3, 0] = np.nan, np.inf, -np.inf, np.nan
    for fold, want in ((lambda v: v.max(axis=1), np.max), (lambda v: v.min(axis=1), np.min)):
        np.testing.assert_array_equal(acc.run(fold, x, backend=cuda), want(x, axis=1))


def test_boolean_folds_of_long_rows_shuffle_their_bits(cuda: str) -> None:
    b = np.zeros((3, 1025), bool)
    b[1, 1024], b[2, 0] = True, True
    any_ = acc.run(lambda v: acc.fold1(lambda p, q: p | q, v), b, backend=cuda)
    all_ = acc.run(lambda v: acc.fold1(lambda p, q: p & q, v), ~b, backend=cuda)
    np.testing.assert_array_equal(any_, b.any(axis=1))
    np.testing.assert_array_equal(all_, (~b).all(axis=1))


def test_long_lines_run_on_blocks_and_short_ones_on_threads() -> None:
    """The plans the tests above rely on: lines of SHORT elements or more on a block's threads, fewer on a thread
    each; a few long lines sliced (folds) or tiled (scans) over several blocks; a scan's tiles' status zeroed
    before its one launch."""

    def kernel(fn, shape):
        return plan_program(trace(fn, np.ones(shape, np.float32)).program).kernels[0]

    total = lambda v: v.sum(axis=-1)  # noqa: E731
    running = lambda v: acc.scanl1(lambda p, q: p + q, v)  # noqa: E731
    assert plan_fold(kernel(total, (4, SHORT - 1))).group == THREADS  # a thread per line
    assert plan_scan(kernel(running, (4, SHORT - 1))) is None
    assert plan_fold(kernel(total, (4, SHORT))).count == 1 and plan_fold(kernel(total, (4, SHORT))).group == 1
    assert plan_fold(kernel(total, (1 << 16,))).count > 1 and plan_scan(kernel(running, (1 << 16,))).count > 1
    assert plan_scan(kernel(running, LONG_SCAN[0])).count == 35
    assert plan_fold(kernel(lambda v: v.sum(axis=0), (100, 64))).group == 32  # along an inner axis: a lane a line
    assert [s.threads > 0 for s in _launches(total, np.ones(5000, np.float32))] == [True, True]  # slices, merge
    (scan,) = _launches(running, np.ones(5000, np.float32))
    assert scan.threads > 0 and scan.clear is not None  # the tiles' status cleared before the launch


SCAN_LENGTHS = [0, 1, 31, 32, 33, 1023, 1024, 1025, 100000]
"""Around a warp, a block's tile (1024 elements at 128 threads, 2048 at 256) and many tiles (49)."""
SCAN_KINDS = ["scanl", "scanl1", "scanr", "scanr1"]


def _reference(kind: str, start, x: np.ndarray, inclusive) -> np.ndarray:
    """The scan ``kind`` of ``x`` (from ``start`` for ``scanl``/``scanr``), by ``inclusive``: a left-to-right
    inclusive scan (``np.cumsum``, ``np.cumprod``) of the line in the combine's order."""
    line = x[::-1] if kind.startswith("scanr") else x
    if not kind.endswith("1"):
        line = np.concatenate([np.array([start], x.dtype), line])
    out = inclusive(line)
    return out[::-1] if kind.startswith("scanr") else out


def _run_scan(kind: str, combine, start, xs: tuple[np.ndarray, ...], backend: str):
    """The scan ``kind`` of the line ``xs`` (one array, or a tuple's components) on ``backend``."""
    scan = getattr(acc, kind)

    def f(*v):
        line = v if len(v) > 1 else v[0]
        return scan(combine, line) if kind.endswith("1") else scan(combine, start, line)

    return acc.run(f, *xs, backend=backend)


@pytest.mark.parametrize("n", SCAN_LENGTHS)
@pytest.mark.parametrize("kind", SCAN_KINDS)
def test_rank_1_integer_scans_are_exact(n, kind, cuda: str) -> None:
    x = RNG.integers(-1000, 1000, size=n).astype(np.int64)
    got = _run_scan(kind, lambda p, q: p + q, np.int64(7), (x,), cuda)
    np.testing.assert_array_equal(got, _reference(kind, 7, x, np.cumsum))


@pytest.mark.parametrize("n", SCAN_LENGTHS)
@pytest.mark.parametrize("kind", SCAN_KINDS)
def test_rank_1_float_sums_and_products_within_their_bounds(n, kind, cuda: str) -> None:
    """Prefix ``k`` of a scan of ``+`` (``*``) is a sum (product) of ``k`` terms combined in some order: within
    ``γ_{k-1}·Σ|xᵢ|`` (``γ_{k-1}·|Πxᵢ|``) of the exact one, as the float64 reference is with float64's ``γ``."""
    terms = _reference(kind, 1, np.ones(n, np.int64), np.cumsum)
    x = RNG.standard_normal(n).astype(np.float32)
    exact, wide = x.astype(np.float64), _reference(kind, 0.5, np.abs(x.astype(np.float64)), np.cumsum)
    got = _run_scan(kind, lambda p, q: p + q, np.float32(0.5), (x,), cuda)
    assert_within(got, _reference(kind, 0.5, exact, np.cumsum), sum_bound(wide, terms, np.float32), np.float32)
    y = (1.0 + 1e-3 * RNG.standard_normal(n)).astype(np.float32)  # products near 1: no overflow or underflow
    product = _reference(kind, 1.5, y.astype(np.float64), np.cumprod)
    roundings = np.maximum(terms - 1, 0)
    g32, g64 = gamma(roundings, np.float32), gamma(roundings, np.float64)
    got = _run_scan(kind, lambda p, q: p * q, np.float32(1.5), (y,), cuda)
    assert_within(got, product, (g32 + g64) * np.abs(product) / (1 - g64), np.float32)


@pytest.mark.parametrize("n", [1, 31, 33, 1025, 100000])
@pytest.mark.parametrize("kind", SCAN_KINDS)
def test_rank_1_scans_of_a_combine_that_does_not_commute_keep_index_order(n, kind, cuda: str) -> None:
    """Many tiles (49 at 100000) on blocks that run at once: a tile's look-back meets earlier tiles' aggregates as
    well as their prefixes, and must put each on the left."""
    a, b = (RNG.integers(-3, 4, size=n).astype(np.int64) for _ in range(2))
    start = None if kind.endswith("1") else (3, -2)
    got = _run_scan(kind, _affine, start, (a, b), cuda)
    want = _affine_reference(a, b, 0, start, kind.startswith("scanr"), scan=True)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)


BATCHES = [5, 48, 9000]
"""A fold over the batch a thread per line (5), a warp of lines per block (48) and sliced and merged (9000); rows of
40 a warp each, 8 to a block, in a row group; a transposed map on a 3-D grid (the batch never the row length, whose
equal shapes would fuse differently)."""


def _batched(x):
    centred = x - x.max(axis=1, keepdims=True)  # with its sum, a row group shaped as softmax is
    folds = x.sum(axis=0), x.max(axis=1), acc.scanl1(lambda p, q: p + q, x, axis=0), acc.scanr1(acc.maximum, x)
    return *folds, centred * centred.sum(axis=1, keepdims=True), acc.transpose(x) * 3


def _batched_reference(x: np.ndarray) -> tuple[np.ndarray, ...]:
    centred = x - x.max(axis=1, keepdims=True)
    scans = np.cumsum(x, axis=0), np.maximum.accumulate(x[:, ::-1], axis=1)[:, ::-1]
    return x.sum(axis=0), x.max(axis=1), *scans, centred * centred.sum(axis=1, keepdims=True), x.T * 3


def test_a_new_batch_size_compiles_nothing(cuda: str, tmp_path, monkeypatch) -> None:
    """The kernels read every extent, and the split of each fold's and scan's work, a row group's rows and a 3-D
    grid's extents, at run time: one jitted function at batch sizes that split them differently compiles one
    module, at its first call: the NVRTC cache holds one CUBIN (none if this process loaded the module before: a
    GPU keeps loaded modules by source)."""
    monkeypatch.setenv("PYACCAD_CACHE_DIR", str(tmp_path))
    for n in BATCHES:
        plan = group_rows(plan_program(optimize(trace(_batched, np.ones((n, 40), np.int64)).program, "cuda")), LIMITS)
        assert [len(group.kernels) for group in plan.row_groups.values()] == [2]
        assert [s.grid for s in _launches(_batched, np.ones((n, 40), np.int64)) if s.grid] == [(1, 40, n)]
    schedules = {tuple(map(repr, _launches(_batched, np.ones((n, 40), np.int64)))) for n in BATCHES}
    assert len(schedules) == len(BATCHES)  # the launches differ, the module does not
    jitted = acc.jit(_batched, backend=cuda)
    compiled = []
    for n in BATCHES:
        x = RNG.integers(-1000, 1000, size=(n, 40)).astype(np.int64)
        for got, want in zip(jitted(x), _batched_reference(x), strict=True):
            np.testing.assert_array_equal(got, want)
        compiled.append(len(list((tmp_path / "cuda").glob("*.cubin"))))
    assert compiled[0] <= 1 and compiled == compiled[:1] * len(BATCHES)


# -- the emulator's cooperative launches ---------------------------------------------------------------

_KERNELS = r"""
extern "C" __global__ void total(const int64_t *E, void *const *B, int64_t *R) {
    const double *x = (const double *)B[0]; double *y = (double *)B[1];
    __shared__ double part[32];
    for (int64_t row = blockIdx.x; row < E[0]; row += gridDim.x) {
        double v = x[row * blockDim.x + threadIdx.x];
        for (int d = 16; d > 0; d /= 2) v += pa_shfl_down(v, d);
        if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = v;
        __syncthreads();
        if (threadIdx.x == 0) { double t = 0; for (unsigned w = 0; w < blockDim.x / 32; w++) t += part[w]; y[row] = t; }
        __syncthreads();
    }
}
extern "C" __global__ void previous(const int64_t *E, void *const *B, int64_t *R) {
    bool *y = (bool *)B[1];
    y[threadIdx.x] = pa_shfl_up(threadIdx.x % 3 == 0, 1);
}
extern "C" __global__ void neighbour(const int64_t *E, void *const *B, int64_t *R) {
    int64_t *y = (int64_t *)B[1];
    __shared__ int64_t slot[64];
    slot[threadIdx.x] = E[0] + threadIdx.x;
    if (E[1]) __syncthreads();
    y[threadIdx.x] = slot[(threadIdx.x + 1) % 64];
}
extern "C" __global__ void handoff(const int64_t *E, void *const *B, int64_t *R) {
    int64_t *flags = (int64_t *)B[1];  /* block b waits for block b - 1's flag, then sets its own */
    if (threadIdx.x == 0) {
        if (blockIdx.x > 0) while (*(volatile int64_t *)&flags[blockIdx.x - 1] == 0) pa_spin();
        __threadfence();
        *(volatile int64_t *)&flags[blockIdx.x] = (blockIdx.x > 0 ? flags[blockIdx.x - 1] : 0) + E[blockIdx.x];
    }
    __syncthreads();
}
extern "C" __global__ void diverges(const int64_t *E, void *const *B, int64_t *R) {
    if (threadIdx.x < 40) __syncthreads();
}
"""


def _emulated_module():
    from pyaccad.backends.cuda.emulator import EmulatedDevice, unavailable_reason
    from pyaccad.backends.cuda.prelude import PRELUDE

    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    device = EmulatedDevice()
    return device, device.load(PRELUDE + _KERNELS)


def _pointers(device, *arrays: np.ndarray) -> list[int]:
    pointers = []
    for array in arrays:
        pointers.append(device.alloc(array.nbytes))
        device.upload(pointers[-1], array)
    return pointers


def test_the_emulator_runs_blocks_that_share_memory_and_shuffle() -> None:
    device, module = _emulated_module()
    rows, threads = 20, 128  # more rows than the emulator's blocks: each block loops over several
    x = RNG.standard_normal((rows, threads))
    ints, xs, ys, record = _pointers(device, np.array([rows], np.int64), x, np.zeros(rows), np.zeros(8, np.int64))
    table = _pointers(device, np.array([xs, ys], np.uint64))[0]
    device.launch(module, "total", rows, (ints, table, record), threads)
    got = device.download(ys, np.empty(rows))
    assert_within(got, x.sum(axis=1), sum_bound(np.abs(x).sum(axis=1), threads, np.float64))
    device.launch(module, "previous", 1, (ints, table, record), 64)
    lanes = np.arange(64)
    want = np.where(lanes % 32 == 0, lanes % 3 == 0, (lanes - 1) % 3 == 0)  # lane 0 keeps its own
    np.testing.assert_array_equal(device.download(ys, np.empty(64, np.bool_)), want)


def test_the_emulator_shows_a_read_of_shared_memory_that_lacks_its_barrier() -> None:
    """Each thread reads its neighbour's slot: after a __syncthreads() the value the neighbour wrote, without one
    (a race on a GPU) the slot's old value, as the threads run in turn until they end or wait."""
    device, module = _emulated_module()
    base = int(RNG.integers(1, 1 << 40))
    for barrier in (1, 0):  # the second launch finds the first one's values in the slots it reads too early
        ints, ys, record = _pointers(
            device, np.array([base, barrier], np.int64), np.zeros(64, np.int64), np.zeros(8, np.int64)
        )
        table = _pointers(device, np.array([ys, ys], np.uint64))[0]
        device.launch(module, "neighbour", 1, (ints, table, record), 64)
        got = device.download(ys, np.empty(64, np.int64))
        want = base + (np.arange(64) + 1) % 64
        assert np.array_equal(got, want) == bool(barrier)
        base += 64


def test_the_emulator_stops_at_a_barrier_that_not_every_thread_reaches() -> None:
    from pyaccad.backends.cuda.errors import DeviceError

    device, module = _emulated_module()
    ints, table, record = _pointers(device, np.zeros(1, np.int64), np.zeros(2, np.uint64), np.zeros(8, np.int64))
    with pytest.raises(DeviceError, match="kernel diverges deadlocked"):
        device.launch(module, "diverges", 1, (ints, table, record), 64)


def test_the_emulator_runs_a_launchs_blocks_at_once_and_a_waiter_lets_them() -> None:
    """Blocks that wait on each other's flags in global memory (as a scan's look-back does) all make progress, as on
    a GPU whose blocks are resident; a flag no block sets is a deadlock, reported."""
    from pyaccad.backends.cuda.errors import DeviceError

    device, module = _emulated_module()
    steps = RNG.integers(1, 100, size=8).astype(np.int64)
    ints, flags, record = _pointers(device, steps, np.zeros(8, np.int64), np.zeros(8, np.int64))
    table = _pointers(device, np.array([flags, flags], np.uint64))[0]
    device.launch(module, "handoff", 8, (ints, table, record), 64)
    np.testing.assert_array_equal(device.download(flags, np.empty(8, np.int64)), np.cumsum(steps))
    device.upload(flags, np.zeros(8, np.int64))
    device.upload(ints, np.zeros(1, np.int64))  # block 0 sets flags[0] to 0: block 1 waits for ever
    with pytest.raises(DeviceError, match="kernel handoff deadlocked"):
        device.launch(module, "handoff", 8, (ints, table, record), 64)
