"""Row groups on the cuda backend: kernels sharing a loop over rows as one kernel, a block per row, the values
only the group reads held a row at a time in shared memory (``backends/cuda/rows.py``).

Programs run through the ``cuda`` fixture: on a GPU where there is one (``PYACCAD_TEST_BACKENDS=cuda``), else on
the CPU emulator, which also compiles every module with NVRTC for ``sm_90``. Results are checked against NumPy
within error bounds computed from the data (``helpers``: softmax, ``log_softmax`` and ``logsumexp`` rows), in
float64 against NumPy within the suite's float64 tolerance (reassociated sums), integers and booleans exactly;
the plan (one launch for the group, which values are in shared memory) is checked on the generated module.
Row lengths cross the block's boundaries: 1, 31 (a thread per line), 33, 1000 and 5000 (the block's threads in
a tree), and rows that do not fit in shared memory or are too long to be grouped.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, assert_within, log_softmax_bound, logsumexp_bound, softmax_bound

import pyaccad as acc
from pyaccad import ad, nn
from pyaccad.backends.cuda import rows
from pyaccad.backends.cuda.blocks import block_threads
from pyaccad.backends.cuda.program import Launch, generate
from pyaccad.frontend import trace
from pyaccad.opt import optimize
from pyaccad.opt.fusion import plan_program
from pyaccad.opt.rows import group_rows

RNG = np.random.default_rng(11)

LENGTHS = [1, 31, 33, 1000, 5000]


def _module(fn, *args):
    return generate(optimize(trace(fn, *args).program, "cuda"))


def _launches(fn, *args) -> list[Launch]:
    return [s for s in _module(fn, *args).steps if isinstance(s, Launch)]


def _shared(fn, *args) -> list[str]:
    """The types of the values held in shared memory by the first row group of ``fn``'s plan."""
    plan = group_rows(plan_program(optimize(trace(fn, *args).program, "cuda")), rows.LIMITS)
    (first, group), *_ = plan.row_groups.items()
    return [str(v.type) for v in rows.plan_group(plan, group, set()).shared]


def _logsumexp_sum(a):
    return nn.logsumexp(a, axis=1).sum()


def _softmax_grad_reference(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``d/dx Σ softmax(x)·w`` in float64: ``g·(w - Σ g·w)`` with ``g = softmax(x)``, along the last axis."""
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    g = e / e.sum(axis=-1, keepdims=True)
    return g * (w - (g * w).sum(axis=-1, keepdims=True))


@pytest.mark.parametrize("length", LENGTHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_rows_are_one_kernel_within_the_bound(length, dtype, cuda: str) -> None:
    x = (3 * RNG.standard_normal((19, length))).astype(dtype)
    (launch,) = _launches(nn.softmax, x)
    # a block per row, or for rows of up to 256 elements a warp per row, 8 to a block (the last block's 3 idle)
    assert (launch.items, launch.threads) == ((3, 256) if length <= 256 else (19, block_threads(length)))
    assert_within(acc.run(nn.softmax, x, backend=cuda), *softmax_bound(x), dtype)


@pytest.mark.parametrize("shape", [(203, 40), (37, 1000)])
def test_more_rows_than_blocks(shape, cuda: str) -> None:
    """Each block (the emulator runs 8) takes several rows (or groups of 8 rows) in turn: its shared arrays hold one
    row after another."""
    x, w = RNG.standard_normal((2, *shape))
    assert_within(acc.run(nn.softmax, x, backend=cuda), *softmax_bound(x), np.float64)
    assert_close(acc.run(ad.grad(lambda v: (nn.softmax(v) * w).sum()), x, backend=cuda), _softmax_grad_reference(x, w))


@pytest.mark.parametrize("length", LENGTHS)
def test_logsumexp_and_its_gradient_on_rows(length, cuda: str) -> None:
    x = (3 * RNG.standard_normal((6, length))).astype(np.float32)
    assert len(_launches(ad.grad(_logsumexp_sum), x)) == 1
    assert len(_launches(lambda v: nn.logsumexp(v, axis=1), x)) == 1
    value, bound = logsumexp_bound(x)
    assert abs(float(acc.run(_logsumexp_sum, x, backend=cuda)) - value) <= bound
    assert_within(acc.run(ad.grad(_logsumexp_sum), x, backend=cuda), *softmax_bound(x), np.float32)


@pytest.mark.parametrize("length", LENGTHS)
def test_log_softmax_rows_within_the_bound(length, cuda: str) -> None:
    x = (3 * RNG.standard_normal((5, length))).astype(np.float32)
    assert_within(acc.run(nn.log_softmax, x, backend=cuda), *log_softmax_bound(x), np.float32)


@pytest.mark.parametrize("length", LENGTHS)
def test_softmax_and_log_softmax_gradients_against_numpy(length, cuda: str) -> None:
    x, w = RNG.standard_normal((2, 4, length))
    got = acc.run(ad.grad(lambda v: (nn.softmax(v) * w).sum()), x, backend=cuda)
    assert_close(got, _softmax_grad_reference(x, w))
    g = np.exp(x - x.max(axis=1, keepdims=True))
    g /= g.sum(axis=1, keepdims=True)
    got = acc.run(ad.grad(lambda v: (nn.log_softmax(v) * w).sum()), x, backend=cuda)
    assert_close(got, w - g * w.sum(axis=1, keepdims=True))  # d/dx Σ w·(x - lse(x)) = w - softmax(x)·Σw


def _layer_norm(x, scale, shift):
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    return centred / acc.sqrt(var + 1e-5) * scale + shift


def _layer_norm_reference(x, scale, shift):
    centred = x - x.mean(axis=-1, keepdims=True)
    return centred / np.sqrt((centred * centred).mean(axis=-1, keepdims=True) + 1e-5) * scale + shift


@pytest.mark.parametrize("length", LENGTHS)
def test_a_layer_norm_and_its_gradient_on_rows(length, cuda: str) -> None:
    x, scale, shift = RNG.standard_normal((3, 5, length))
    assert len(_launches(_layer_norm, x, scale, shift)) == 1
    assert_close(acc.run(_layer_norm, x, scale, shift, backend=cuda), _layer_norm_reference(x, scale, shift))
    w = RNG.standard_normal(x.shape)
    loss = lambda v: (_layer_norm(v, scale, shift) * w).sum()  # noqa: E731
    got = acc.run(ad.grad(loss), x, backend=cuda)
    assert_close(got, acc.run(ad.grad(loss), x, backend="interp"))
    # the gradient of a layer norm by hand: (scale·w - mean(scale·w) - n·mean(scale·w·n)) / σ, n the normalised x
    sigma = np.sqrt(x.var(axis=-1, keepdims=True) + 1e-5)
    normal = (x - x.mean(axis=-1, keepdims=True)) / sigma
    dy = scale * w
    want = (dy - dy.mean(axis=-1, keepdims=True) - normal * (dy * normal).mean(axis=-1, keepdims=True)) / sigma
    assert_close(got, want)


@pytest.mark.parametrize("shape", [(3, 5, 40), (3, 40, 5), (5, 7, 1), (2, 3, 1000)])
def test_rows_of_several_lines(shape, cuda: str) -> None:
    """A row of a rank-3 array holds several lines: each folded by the block (long ones) or a thread (short)."""
    x, w = RNG.standard_normal((2, *shape))
    assert len(_launches(nn.softmax, x)) == 1
    assert_within(acc.run(nn.softmax, x, backend=cuda), *softmax_bound(x), np.float64)
    assert_close(acc.run(ad.grad(lambda v: (nn.softmax(v) * w).sum()), x, backend=cuda), _softmax_grad_reference(x, w))


def _affine(p, q):
    """``p`` then ``q``, maps ``x ↦ a·x + b`` as ``(a, b)``: associative, not commutative."""
    return p[0] * q[0], p[1] * q[0] + q[1]


@pytest.mark.parametrize("length", LENGTHS)
def test_a_row_fold_that_does_not_commute_keeps_index_order(length, cuda: str) -> None:
    """The composition of each row's affine maps (int64, wrapping: exact), then applied to the row's elements."""
    a, b = (RNG.integers(-3, 4, size=(4, length)).astype(np.int64) for _ in range(2))

    def f(a, b):
        ca, cb = acc.fold(_affine, (np.int64(1), np.int64(0)), (a, b), axis=1)
        return a * ca[:, None] + cb[:, None]

    assert len(_launches(f, a, b)) == 1
    ca, cb = np.ones(4, np.int64), np.zeros(4, np.int64)
    for t in range(length):
        ca, cb = _affine((ca, cb), (a[:, t], b[:, t]))
    np.testing.assert_array_equal(acc.run(f, a, b, backend=cuda), a * ca[:, None] + cb[:, None])


@pytest.mark.parametrize("length", [1, 31, 33, 1000])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32, np.uint32, np.int64])
def test_integer_rows_exactly(length, dtype, cuda: str) -> None:
    x = RNG.integers(0, 100, size=(5, length)).astype(dtype)

    def f(v):
        return (v - v.min(axis=1, keepdims=True)) * v.max(axis=1, keepdims=True) + v.sum(axis=1, keepdims=True)

    assert len(_launches(f, x)) == 1
    assert_close(acc.run(f, x, backend=cuda), f(x))  # NumPy's promotions (a sum of int8 is int64), exactly


@pytest.mark.parametrize("length", [1, 33, 1000])
def test_boolean_rows_exactly(length, cuda: str) -> None:
    b = RNG.random((6, length)) < 0.002
    b[0] = False

    def f(v):
        anyone = acc.fold1(lambda p, q: p | q, v)
        return v ^ anyone[:, None], acc.fold1(lambda p, q: p & q, ~v)

    assert len(_launches(f, b)) == 1
    flipped, none = acc.run(f, b, backend=cuda)
    np.testing.assert_array_equal(flipped, b ^ b.any(axis=1, keepdims=True))
    np.testing.assert_array_equal(none, (~b).all(axis=1))


@pytest.mark.parametrize("length", [1, 31, 33, 300])
def test_float16_softmax_rows_within_the_bound(length, cuda: str) -> None:
    x = RNG.standard_normal((5, length)).astype(np.float16)
    assert_within(acc.run(nn.softmax, x, backend=cuda), *softmax_bound(x), np.float16)


def test_values_read_after_the_group_stay_in_global_memory(cuda: str) -> None:
    """Row sums a later kernel reads in another row's order (which ends the group: the folds form one), a row
    maximum the program returns and the softmax's sums, which the division after the group reads, are written to
    memory; in a softmax alone, what only the group reads is in shared memory."""
    x = RNG.standard_normal((9, 100))

    def f(v):
        s = v.sum(axis=1)
        return nn.softmax(v), v.max(axis=1), v * s[::-1][:, None]

    assert _shared(nn.softmax, x) == ["f64[9]", "f64[9,100]", "f64[9]"]  # max, exp (written once), sum
    assert _shared(f, x) == []
    got = acc.run(f, x, backend=cuda)
    assert_within(got[0], *softmax_bound(x), np.float64)
    np.testing.assert_array_equal(got[1], x.max(axis=1))
    assert_close(got[2], x * x.sum(axis=1)[::-1][:, None])


def test_rows_that_do_not_fit_in_shared_memory_use_the_workspace(cuda: str) -> None:
    """exp(x - max) of 7000 float64 (55 KB) is more than a block's shared memory: it is written to the workspace,
    and the group is still one kernel."""
    x = RNG.standard_normal((3, 7000))
    assert rows.capacity(plan_program(trace(nn.softmax, x).program).kernels[0].roots[0].args[0]) * 8 > rows.SHARED_BYTES
    assert _shared(ad.grad(_logsumexp_sum), x) == ["f64[3]", "f64[3]", "f64[3,1]"]  # max, sum, 1 / sum
    module = _module(ad.grad(_logsumexp_sum), x)
    assert len([s for s in module.steps if isinstance(s, Launch)]) == 1 and module.workspace >= 8 * x.size
    assert_within(acc.run(ad.grad(_logsumexp_sum), x, backend=cuda), *softmax_bound(x), np.float64)


def test_rows_too_long_to_group_run_kernel_by_kernel(cuda: str) -> None:
    x = RNG.standard_normal((2, rows.LIMITS.row_max)).astype(np.float32)
    assert len(_launches(nn.softmax, x)) > 1
    assert_within(acc.run(nn.softmax, x, backend=cuda), *softmax_bound(x), np.float32)


def test_a_new_batch_size_prints_the_same_source() -> None:
    """The row count is a run-time extent: another batch (or a row length of the same capacity) compiles nothing."""
    make = lambda n, m: _module(ad.grad(_logsumexp_sum), np.ones((n, m), np.float32))  # noqa: E731
    first, other, longer = make(8, 1000), make(300, 1000), make(8, 1020)
    assert first.source == other.source == longer.source
    assert [s.items for s in first.steps] == [8] and [s.items for s in other.steps] == [300]


def test_row_groups_inside_a_loop_body(cuda: str) -> None:
    x = RNG.standard_normal((4, 50))

    def f(v):
        return acc.awhile(lambda s: s[0] < 3, lambda s: (s[0] + 1, nn.softmax(s[1] * 2.0)), (0, v))[1]

    want = x
    for _ in range(3):
        e = np.exp(2 * want - (2 * want).max(axis=1, keepdims=True))
        want = e / e.sum(axis=1, keepdims=True)
    assert_close(acc.run(f, x, backend=cuda), want)


def test_an_index_out_of_bounds_in_a_row_group_is_named_as_interp_does(cuda: str) -> None:
    x, table = np.ones((4, 40)), np.arange(10.0)
    i = np.zeros((4, 40), np.int64)
    i[2, 5], i[3, 1] = 12, 11  # the first bad read in row order is at [2, 5], index 12

    def f(x, t, i):
        return acc.map(lambda k, v: t[k] + v, i, x - x.max(axis=1, keepdims=True))

    assert len(_launches(f, x, table, i)) == 1
    with pytest.raises(acc.IndexOutOfBounds) as interp:
        acc.run(f, x, table, i, backend="interp")
    with pytest.raises(acc.IndexOutOfBounds) as gpu:
        acc.run(f, x, table, i, backend=cuda)
    assert str(gpu.value).splitlines()[0] == str(interp.value).splitlines()[0]
    assert "(12,)" in str(gpu.value)


def test_lower_shows_the_row_group_as_one_kernel(monkeypatch) -> None:
    from pyaccad.backends.cuda.nvrtc import version

    try:
        version()
    except Exception as exc:
        pytest.skip(f"NVRTC is not installed: {exc}")
    monkeypatch.delenv("PYACCAD_CUDA_EMULATE", raising=False)
    text = acc.lower(nn.softmax, np.ones((4, 100), np.float32), backend="cuda")
    assert "row loop: kernels 1-3" in text and text.count("__global__") == 1 and "__shared__ float" in text


def test_a_map_of_row_results_joins_the_group(cuda: str) -> None:
    """A rank-1 map over the row folds' results has rows of one element: the same group, the same kernel."""
    x = RNG.standard_normal((50, 7))

    def f(v):
        return acc.exp(v.sum(axis=1)) * 2.0 + v.max(axis=1), v.min(axis=1)

    assert len(_launches(f, x)) == 1
    got = acc.run(f, x, backend=cuda)
    assert_close(got[0], np.exp(x.sum(axis=1)) * 2.0 + x.max(axis=1))
    np.testing.assert_array_equal(got[1], x.min(axis=1))
