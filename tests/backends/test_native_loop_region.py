"""One OpenMP parallel region per ``awhile`` whose trips hold several large kernels (native/region.py).

The loop here is a 2-D heat equation (a stencil, a map, and a fold testing the change) at 520×512 float64,
just above the parallel threshold (2¹⁸ elements), for three trips. Its kernels' loops run as worksharing
``omp for`` loops of one region over the whole ``while`` with the same static schedules and slices as their
own regions would, so the values equal the per-kernel regions' bit for bit; against the interpreter, the
elementwise state and the gradients (sums of neighbours in the order of the IR) are bitwise too, and the final
sum is within the gamma bound of a sum in another order. The generated C is checked to hold one region per
such loop, none per kernel.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, sum_bound

import pyaccad as acc
from pyaccad import ad
from pyaccad.backends.native import control
from pyaccad.backends.native.program import generate
from pyaccad.frontend import trace
from pyaccad.opt import optimize

SHAPE = (520, 512)


def _heat(u0: np.ndarray, src: np.ndarray, checkpoint: object = None) -> acc.Array:
    def cond(s):
        t, _, change = s
        return (t < 3) & (change > 1e-9)

    def body(s):
        t, u, _ = s
        lap = acc.stencil(lambda n: n[0][1] + n[1][0] + n[1][2] + n[2][1] - 4.0 * n[1][1], u, (3, 3), "clamp")
        new = u + 0.2 * lap + 0.01 * src * u
        d = new - u
        return t + 1, new, (d * d).sum()

    _, u, _ = acc.awhile(cond, body, (np.int64(0), u0, np.float64(1.0)), checkpoint)
    return (u * u).sum()


def _inputs() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    return rng.standard_normal(SHAPE), rng.standard_normal(SHAPE)


def _loops(source: str) -> list[tuple[bool, int]]:
    """Each ``for (;;)`` of the source: whether it opens right inside a region, and its own regions inside."""
    lines = source.split("\n")
    found = []
    for k, line in enumerate(lines):
        if line.strip() == "for (;;) {":
            end = lines.index(line[: len(line) - len(line.lstrip())] + "}", k)
            region = [s.strip() for s in lines[k - 2 : k]] == ["#pragma omp parallel", "{"]
            found.append((region, sum("#pragma omp parallel" in s for s in lines[k:end])))
    return found


def _bits(a: object) -> np.ndarray:
    return np.asarray(a).view(np.uint64)


def test_a_large_body_runs_in_one_region_with_the_per_kernel_regions_bits(monkeypatch):
    u0, src = _inputs()
    f = lambda u: _heat(u, src)  # noqa: E731
    source, _ = generate(optimize(trace(f, u0).program, "native"))
    assert _loops(source) == [(True, 0)]
    assert source.count("#pragma omp for") >= 3  # the stencil, the map, the fold's slices
    value = acc.jit(f, backend="native")(u0)
    reference = acc.run(f, u0, backend="interp")
    # the state is elementwise, bitwise; the final sum of squares in another order
    assert abs(float(value) - float(reference)) <= sum_bound(float(reference), u0.size, "float64")
    monkeypatch.setattr(control, "MIN_PARALLEL", 10**9)  # the per-kernel regions
    source, _ = generate(optimize(trace(f, u0).program, "native"))
    assert _loops(source)[0][0] is False
    assert _bits(acc.jit(f, backend="native")(u0)) == _bits(value)


@pytest.mark.parametrize("checkpoint, regions", [(None, 3), ("bisect", 2)])
def test_the_gradient_through_the_tape_and_bisection_in_regions(checkpoint, regions, monkeypatch):
    # small arrays counted as large (the interpreter's run of the gradient at 520×512 took 2 s): the region's
    # code is the same, its `omp for` loops still split between the threads; the fold's slices are the test above's
    monkeypatch.setattr(control, "PARALLEL_MIN", 100)
    u0, src = (a[:12, :16] for a in _inputs())
    g = ad.grad(lambda u: _heat(u, src, checkpoint))
    loops = _loops(generate(optimize(trace(g, u0).program, "native"))[0])
    # the forward loops (recording or recomputing) and the reverse trips: one region each, none per kernel
    # inside; bisection's outer loop holds its recomputing loop, which has its region (the forward loop's
    # trip-counting copy is merged into it by the optimiser: pyaccad/opt/loops.py)
    assert sum(region for region, _ in loops) >= regions
    assert all(inner == 0 for region, inner in loops if region)
    np.testing.assert_array_equal(_bits(acc.jit(g, backend="native")(u0)), _bits(acc.run(g, u0, backend="interp")))


def test_a_gemm_in_a_region_keeps_its_blocks(monkeypatch):
    """A loop body with a GEMM (its blocks one per thread of the region's team) and large maps."""
    rng = np.random.default_rng(3)
    x0, w = rng.standard_normal((4160, 64)), rng.standard_normal((64, 64)) / 8.0

    def f(x):
        def body(s):
            t, v = s
            return t + 1, 0.5 * v + acc.tanh(v @ w) * (v * v + 1.0)

        return acc.awhile(lambda s: s[0] < 3, body, (np.int64(0), x))[1]

    assert _loops(generate(optimize(trace(f, x0).program, "native"))[0]) == [(True, 0)]
    value = acc.jit(f, backend="native")(x0)
    assert_close(value, acc.run(f, x0, backend="interp"))
    monkeypatch.setattr(control, "MIN_PARALLEL", 10**9)
    np.testing.assert_array_equal(_bits(acc.jit(f, backend="native")(x0)), _bits(value))


def test_a_failure_names_the_interpreters_first_bad_read(monkeypatch):
    """A kernel after a failing one still runs in that trip (no jump leaves a region), and fails at a smaller
    position: the error is still the earlier kernel's, the interpreter's."""
    monkeypatch.setenv("PYACCAD_NUM_THREADS", "2")
    rng = np.random.default_rng(5)
    table = rng.standard_normal(50)
    first, later = rng.integers(0, 38, 300_000), rng.integers(0, 38, 300_000)
    first[200_000], later[5] = 39, 39  # both out of range from trip 11 (39 + 11 = 50)

    def f(u, i, k, table):
        def body(s):
            t, v = s
            w = v * 0.5 + acc.map(lambda q: table[q + t], i)
            return t + 1, w * w.sum() * 1e-6 + acc.map(lambda q: table[q + t], k)

        return acc.awhile(lambda s: s[0] < 20, body, (np.int64(0), u))[1]

    args = (rng.standard_normal(300_000), first, later, table)
    assert _loops(generate(optimize(trace(f, *args).program, "native"))[0]) == [(True, 0)]
    with pytest.raises(acc.IndexOutOfBounds) as native:
        acc.jit(f, backend="native")(*args)
    with pytest.raises(acc.IndexOutOfBounds) as interp:
        acc.run(f, *args, backend="interp")
    assert str(native.value) == str(interp.value)
    assert "index (50,)" in str(native.value)


def test_every_thread_leaves_the_loop_at_the_same_test(monkeypatch):
    """Many short loops on two threads: a thread still reading the last trip's stop flag while another
    wrote the next test's would leave the loop alone and hang the other at a barrier (it did, under load,
    when both tests shared one flag)."""
    monkeypatch.setenv("PYACCAD_NUM_THREADS", "2")
    monkeypatch.setattr(control, "PARALLEL_MIN", 100)  # small arrays counted as large: short trips
    u0, src = (a[:12, :16] for a in _inputs())

    def f(u):
        def body(s):
            t, v = s
            w = v * 0.999 + 0.001 * acc.stencil(lambda n: n[0][0] + n[2][0], v, (3, 1), "clamp")
            return t + 1, w - 0.001 * src * w

        return acc.awhile(lambda s: s[0] < 3, body, (np.int64(0), u))[1]

    assert _loops(generate(optimize(trace(f, u0).program, "native"))[0]) == [(True, 0)]
    native, reference = acc.jit(f, backend="native"), _bits(acc.run(f, u0, backend="interp"))
    for _ in range(600):  # each call leaves its loop once
        np.testing.assert_array_equal(_bits(native(u0)), reference)
