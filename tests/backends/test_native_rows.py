"""Row groups on the native backend: kernels sharing one parallel loop over rows (``opt/rows.py`` decides,
``backends/native/rows.py`` writes the loop).

Every test compares the native results with the interpreter's; the grouping
itself is checked on the plan (which kernels were grouped, which values were
materialised) and on the generated C.
"""

from __future__ import annotations

import dataclasses
import os
import platform

import numpy as np
import pytest
from helpers import assert_close, assert_within, gamma, logsumexp_bound, softmax_bound, sum_bound, unit_roundoff

import pyaccad as acc
from pyaccad import ad, nn
from pyaccad.backends.native import rows
from pyaccad.backends.native.map import PARALLEL_MIN
from pyaccad.backends.native.program import generate
from pyaccad.frontend import trace
from pyaccad.opt import optimize
from pyaccad.opt.fusion import plan_program
from pyaccad.opt.rows import RowLimits, row_groups


def _plan(fn, *args):
    return plan_program(optimize(trace(fn, *args).program, "native"))


def _agree(fn, *args, rtol=1e-4, atol=1e-6):
    assert_close(acc.run(fn, *args, backend="native"), acc.run(fn, *args, backend="interp"), rtol=rtol, atol=atol)


def _logsumexp_sum(a):
    return nn.logsumexp(a, axis=1).sum()


@pytest.mark.parametrize("shape", [(1024, 1024), (37, 53), (300, 1)])
def test_logsumexp_gradient_is_one_row_group_with_exp_written_once(shape):
    a = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    plan = _plan(ad.grad(_logsumexp_sum), a)
    groups = row_groups(plan, rows.LIMITS)
    assert list(groups) == [0] and groups[0].end == len(plan.kernels)  # every kernel in one loop
    (exp_value,) = groups[0].materialised
    assert any(s.prim.name == "exp" and exp_value in s.outs for k in groups[0].kernels for s in k.roots)
    source, layout = generate(plan.program)  # the whole program is one parallel loop, computing exp once
    entry = source[source.index("int pyaccad_entry") :]
    assert entry.count("exp(") == 1 and entry.count("#pragma omp parallel") == 1
    # exp's rows live in each thread's row buffer: the workspace holds only per-row values
    assert entry.count("malloc(") == 1 and all(count <= a.shape[0] for _, count in layout.scratch)
    assert layout.workspace <= sum((4 * (count + 1) + 63) // 64 * 64 for _, count in layout.scratch)
    for backend in ("native", "interp"):
        assert_within(acc.run(ad.grad(_logsumexp_sum), a, backend=backend), *softmax_bound(a), np.float32)
        assert_within(acc.run(_logsumexp_sum, a, backend=backend), *logsumexp_bound(a), np.float32)


@pytest.mark.parametrize("shape", [(64, 3, 50), (5, 7, 1)])
def test_rank3_softmax_and_its_gradient_agree(shape):
    x = np.random.default_rng(1).standard_normal(shape)
    w = np.random.default_rng(2).standard_normal(shape)
    assert row_groups(_plan(nn.softmax, x), rows.LIMITS)
    for backend in ("native", "interp"):
        assert_within(acc.run(nn.softmax, x, backend=backend), *softmax_bound(x), np.float64)
    _agree(ad.grad(lambda v: (nn.softmax(v) * w).sum()), x)


def _reversed_rows(x):
    s = x.sum(axis=1)
    return x * s[::-1][:, None]


def _first_row(x):
    s = x.max(axis=1)
    return x - s[0]


def _shifted_rows(x):
    s = x.sum(axis=1, keepdims=True)
    return x[1:] * s[:-1]


OTHER_ROWS = {  # each function's error, from the row sums' (B, sum_bound) and one product; x - max is exact
    _reversed_rows: lambda x, sums: np.abs(x) * sums[::-1, None],
    _first_row: lambda x, sums: 0.0,
    _shifted_rows: lambda x, sums: np.abs(x[1:]) * sums[:-1, None],
}


@pytest.mark.parametrize("fn", list(OTHER_ROWS))
def test_a_read_of_another_row_keeps_the_kernels_apart(fn):
    """Row o of the map reads another row of the fold's result: one loop over rows would race."""
    x = np.random.default_rng(3).standard_normal((2048, 300))  # float64: row sums cancel
    plan = _plan(fn, x)
    fold = next(n for n, k in enumerate(plan.kernels) if k.kind == "fold")
    for first, group in row_groups(plan, rows.LIMITS).items():
        assert not first <= fold < group.end - 1
    exact = fn(x)  # NumPy, in float64 like the program
    sums = sum_bound(np.abs(x).sum(axis=1), x.shape[1] + 1, np.float64)
    products = 2 * unit_roundoff(np.float64) * np.abs(exact) if fn is not _first_row else 0.0
    assert_within(acc.run(fn, x, backend="native"), exact, OTHER_ROWS[fn](x, sums) + products, np.float64)


def _rows_then_columns(x):
    centred = x - x.mean(axis=1, keepdims=True)
    return (centred * centred).sum(axis=0)


def test_a_fold_over_the_first_axis_ends_the_group():
    x = np.random.default_rng(4).standard_normal((500, 700))
    plan = _plan(_rows_then_columns, x)
    for first, group in row_groups(plan, rows.LIMITS).items():
        assert all(k.kind != "fold" or k.roots[0].params["axis"] != 0 for k in plan.kernels[first : group.end])
    # the row means (a sum with the fold's 0.0, one division), each x - mean and its square rounded once, then the
    # column sums of those squares (and their 0.0); u counts the float64 reference's roundings too
    u, n = 2 * unit_roundoff(np.float64), x.shape[1]
    mean = x.mean(axis=1, keepdims=True)
    dsum = sum_bound(np.abs(x).sum(axis=1, keepdims=True), n + 1, np.float64) / n
    dmean = dsum + u * (np.abs(mean) + dsum)
    centred = x - mean
    dc = dmean + u * (np.abs(centred) + dmean)
    squares = centred * centred
    dsq = (2 * np.abs(centred) + dc) * dc + u * (squares + (2 * np.abs(centred) + dc) * dc)
    bound = dsq.sum(axis=0) + sum_bound((squares + dsq).sum(axis=0), x.shape[0] + 1, np.float64)
    assert_within(acc.run(_rows_then_columns, x, backend="native"), squares.sum(axis=0), bound, np.float64)
    _agree(ad.grad(lambda v: _rows_then_columns(v).sum()), x)


def _native(fn, *args, grouped=True, cflags="", threads=None, cache=None):
    """``fn`` run by the native backend: its kernels grouped into row loops or each in its own loop (``grouped``),
    compiled with ``cflags`` after those of ``$PYACCAD_CFLAGS``, on ``threads`` threads (default every core)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PYACCAD_CFLAGS", f"{os.environ.get('PYACCAD_CFLAGS', '')} {cflags}")
        if threads is not None:
            patch.setenv("PYACCAD_NUM_THREADS", threads)
        if not grouped:
            patch.setenv("PYACCAD_CACHE_DIR", str(cache))  # remembered layouts would bring back the grouped one
            patch.setattr(rows, "LIMITS", RowLimits(row_max=0, buffer_max=0))  # no row is short enough
        return acc.jit(fn, backend="native")(*args)


def _bits(a):
    return np.asarray(a).view(f"u{a.dtype.itemsize}")


def test_row_groups_give_the_same_bits_for_every_thread_count(tmp_path):
    """Each row is computed by the same code whichever thread runs it, exp included (module ``native``'s
    "Reproducible bits"): grouped or separate, the bits do not depend on the thread count."""
    x = np.random.default_rng(5).standard_normal((1000, 300)).astype(np.float32)
    fn = ad.grad(_logsumexp_sum)
    plan = _plan(fn, x)
    (group,) = row_groups(plan, rows.LIMITS).values()
    assert group.row_local and sum(k.outs[0].type.size for k in plan.kernels) > PARALLEL_MIN  # runs in parallel
    for grouped in (True, False):
        results = [_native(fn, x, grouped=grouped, threads=t, cache=tmp_path) for t in ("1", "2", "3")]
        for other in results[1:]:
            np.testing.assert_array_equal(_bits(other), _bits(results[0]))


def _scaled_rows(a, w):
    """Row-wise arithmetic only (no libm call): a ``div`` the row group writes once per row, sums, and products
    that a multiply-add could fuse (``y·w`` into the sum, ``y·r + w``)."""
    y = a / (acc.abs(a).sum(axis=1, keepdims=True) + 1.0)
    return y * (y * w).sum(axis=1, keepdims=True) + w


def _scaled_rows_bound(a, w):
    """``_scaled_rows`` in float64, and how far float32 may be (relative errors: ``u`` per rounding, ``γ_n`` per
    sum of ``n`` terms and the fold's 0.0, each counted for float64 too, the reference's): ``s = 1 + Σ|a|`` sums
    positive terms (``γ_{n+1}``), so ``y = a / s`` is off by ``ρ = (1 + u) / (1 - γ_{n+1}) - 1``; ``r = Σ y·w`` by
    ``((1 + ρ)(1 + u)(1 + γ_n) - 1)·Σ|y·w|``; ``y·r`` and ``+ w`` round once each (or once, fused)."""
    a64, w64 = a.astype(np.float64), w.astype(np.float64)
    n, u = a.shape[1], unit_roundoff(np.float32) + unit_roundoff(np.float64)

    def g(k):
        return gamma(k, np.float32) + gamma(k, np.float64)

    y = a64 / (np.abs(a64).sum(axis=1, keepdims=True) + 1)
    r = (y * w64).sum(axis=1, keepdims=True)
    rho = (1 + u) / (1 - g(n + 1)) - 1
    ey, er = rho * np.abs(y), ((1 + rho) * (1 + u) * (1 + g(n)) - 1) * np.abs(y * w64).sum(axis=1, keepdims=True)
    ep = (np.abs(y) * er + np.abs(r) * ey + ey * er) * (1 + u) + u * np.abs(y * r)
    out = y * r + w64
    return out, ep + u * (np.abs(out) + ep)


ISAS = {"native": "", "x86-64-v2": "-march=x86-64-v2"}
"""Extra C flags emulating another CPU: ``x86-64-v2`` is SSE4.2, without AVX or FMA (cheap enough for every run)."""


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="the emulated CPUs are x86-64 ones")
@pytest.mark.parametrize("isa", list(ISAS))
def test_without_libm_calls_the_bits_are_the_same_grouped_or_not_on_every_cpu(isa, tmp_path):
    """Every operation of ``_scaled_rows`` (and of its gradient) is rounded once, never fused into a multiply-add
    (``-ffp-contract=off``), and every sum adds in the order the generated code fixes: the bits are the same
    whether the kernels share a row loop or not, and compiled for this CPU or for one without AVX and FMA; and
    the values are those of float64 within the bound of their roundings."""
    rng = np.random.default_rng(8)
    x, w = (rng.standard_normal((300, 77)).astype(np.float32) for _ in range(2))
    exact, bound = _scaled_rows_bound(x, w)
    for fn in (_scaled_rows, ad.grad(lambda a, v: _scaled_rows(a, v).sum())):
        (group,) = row_groups(_plan(fn, x, w), rows.LIMITS).values()
        assert group.row_local  # the div, written once per row
        grouped = _native(fn, x, w, cflags=ISAS[isa])
        separate = _native(fn, x, w, grouped=False, cflags=ISAS[isa], cache=tmp_path)
        np.testing.assert_array_equal(_bits(separate), _bits(grouped))
        np.testing.assert_array_equal(_bits(grouped), _bits(_native(fn, x, w)))
    assert_within(_native(_scaled_rows, x, w, cflags=ISAS[isa]), exact, bound, np.float32)


def test_grouped_and_separate_kernels_are_within_the_error_bound_of_exp(tmp_path):
    """With ``exp`` the bits may differ (libmvec in vector loops, libm in their remainders): grouped and separate,
    the gradient, a softmax ``exp(d) · (1 / s)``, is within the bound of its roundings (``softmax_bound``)."""
    x = np.random.default_rng(5).standard_normal((77, 300)).astype(np.float32)
    exact, bound = softmax_bound(x)
    for grouped in (True, False):
        assert_within(_native(ad.grad(_logsumexp_sum), x, grouped=grouped, cache=tmp_path), exact, bound, np.float32)


def test_rows_too_long_for_the_cache_are_not_grouped():
    x = np.random.default_rng(6).standard_normal((3, rows.LIMITS.row_max)).astype(np.float32)
    assert row_groups(_plan(ad.grad(_logsumexp_sum), x), rows.LIMITS) == {}
    assert row_groups(_plan(ad.grad(_logsumexp_sum), x[:, : rows.LIMITS.row_max - 1]), rows.LIMITS)
    assert_within(acc.run(ad.grad(_logsumexp_sum), x, backend="native"), *softmax_bound(x), np.float32)


def _softmax_and_column_sums(a):
    e = acc.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True), e.sum(axis=0)  # the column sums read e after the row loop


def test_a_row_buffered_value_read_after_the_group_is_recomputed_there():
    a = np.random.default_rng(7).standard_normal((600, 70))
    plan = _plan(_softmax_and_column_sums, a)
    (group,) = row_groups(plan, rows.LIMITS).values()
    (exp_value,) = group.row_local
    assert any(exp_value in s.outs for k in plan.kernels[group.end :] for s in k.fused)
    expected = acc.run(_softmax_and_column_sums, a, backend="interp")
    for actual, want in zip(acc.run(_softmax_and_column_sums, a, backend="native"), expected, strict=True):
        assert_close(actual, want)


def _loop_bodies(plan):
    for kernel in plan.kernels:
        for body in kernel.bodies.values():
            yield from ([body] if kernel.kind == "while" else []) + list(_loop_bodies(body))


def test_loop_bodies_group_rows_of_matrices_only():
    """In a loop body (the LSTM's gradient: its trips run maps over rows of 3 elements) a rank-1 map keeps its
    own vector loop: no row group holds one, where the same plan outside a loop would group them."""
    from pyaccad.bench import lstm

    params, data = lstm.WORKLOAD.inputs("tiny")
    plan = _plan(ad.grad(lstm.pyaccad_f), params, *data)
    bodies = list(_loop_bodies(plan))
    assert bodies and all(body.in_loop for body in bodies)
    iterated = [  # element groups (test_native_loop_bodies.py) share a loop over elements, not rows
        k.outs[0].type.ndim
        for body in bodies
        for g in row_groups(body, rows.LIMITS).values()
        if not g.elements
        for k in g.kernels
    ]
    assert all(rank >= 2 for rank in iterated)
    assert any(row_groups(dataclasses.replace(body, in_loop=False), rows.LIMITS) for body in bodies)
    _agree(lambda p, *d: lstm.pyaccad_f(p, *d), params, *data, rtol=1e-12, atol=1e-12)
