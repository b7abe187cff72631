"""Native stencils against the interpreter: interior and border regions, every boundary, rank 1 to 3.

The native stencil splits each row into an interior run (every neighbour in range, no boundary rule)
and the border around it; these tests put the split everywhere it can go: extents around the stencil's
(1, 2, size - 1, size, size + 1: no interior, or an interior of one element), several blocks of the
last axis, rows outside the interior of an outer axis, and arrays big enough to run in parallel.

The lambdas are chosen so that the results must be *bit-identical* to the interpreter's (NumPy): a
Horner sum with weight 1/2 (each neighbour gets its own weight, so a neighbour read at the wrong
offset shows; multiplying by 1/2 is exact, so a fused multiply-add rounds as the two operations do)
for floats, a weighted sum for integers. Lambdas with general arithmetic compare within tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import LIBM_ULPS, assert_close, assert_within, lam, lit, prim, program_of, run_program, unit_roundoff
from hypothesis import given
from hypothesis import strategies as st

import pyaccad as acc
from pyaccad import ad
from pyaccad.backends import availability
from pyaccad.backends.native.program import generate
from pyaccad.frontend import trace

pytestmark = pytest.mark.skipif(availability()["native"] is not None, reason="native backend unavailable here")

RNG = np.random.default_rng(11)
BOUNDARIES = ["clamp", "mirror", "wrap", 0.5]
DTYPES = ["float32", "float64", "int32", "int64"]


def data(shape: tuple[int, ...], dtype: str, rng: np.random.Generator = RNG) -> np.ndarray:
    if np.dtype(dtype).kind == "i":
        return rng.integers(-9, 10, size=shape).astype(dtype)
    return rng.normal(size=shape).astype(dtype)


def flat(neighbourhood) -> list:
    """The neighbours of a (nested) neighbourhood in row-major order."""
    if isinstance(neighbourhood, tuple):
        return [leaf for part in neighbourhood for leaf in flat(part)]
    return [neighbourhood]


def weighted(neighbourhood):
    """A sum in which every neighbour has its own weight, computed exactly alike by NumPy and C: ``total * 0.5`` is
    exact, each ``+`` rounds once, in the same order, on any CPU (and a fused multiply-add would round alike)."""
    leaves = flat(neighbourhood)
    total = leaves[0]
    for k, leaf in enumerate(leaves[1:], start=2):
        total = total * 0.5 + leaf if np.dtype(leaf.dtype).kind == "f" else total + leaf * k
    return total


def boundary_of(boundary, dtype: str):
    """A constant boundary of the array's kind (an integer array gets an integer constant)."""
    return 3 if not isinstance(boundary, str) and np.dtype(dtype).kind == "i" else boundary


def same_exactly(fn, *args) -> None:
    """``fn`` on native and interp: bit-identical outputs."""
    want = acc.jit(fn, backend="interp")(*args)
    got = acc.jit(fn, backend="native")(*args)
    want, got = (w if isinstance(w, tuple) else (w,) for w in (want, got))
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


def extents(size: int, large: int) -> list[int]:
    """Extents around the stencil's: none to an interior of one element, then a large one."""
    return sorted({1, 2, max(size - 1, 1), size, size + 1, large})


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("size", [3, 5, 7])
@pytest.mark.parametrize("boundary", BOUNDARIES, ids=str)
def test_rank1(boundary, size, dtype):
    fn = lambda a: acc.stencil(weighted, a, size, boundary=boundary_of(boundary, dtype))  # noqa: E731
    for n in [0, *extents(size, 2 * 1024 + 3), 300_007]:  # empty; several blocks; the last one parallel
        same_exactly(fn, data((n,), dtype))


@pytest.mark.parametrize("dtype", ["float32", "int32"])
@pytest.mark.parametrize("size", [(3, 3), (5, 5), (7, 3), (1, 5)], ids=str)
@pytest.mark.parametrize("boundary", BOUNDARIES, ids=str)
def test_rank2(boundary, size, dtype):
    fn = lambda a: acc.stencil(weighted, a, size, boundary=boundary_of(boundary, dtype))  # noqa: E731
    rows, cols = extents(size[0], 9), extents(size[1], 1030)
    for shape in [(r, c) for r in rows for c in cols] + [(0, 4), (4, 0), (3, 300_000), (600, 700)]:
        same_exactly(fn, data(shape, dtype))


@pytest.mark.parametrize("size", [(3, 3, 3), (5, 3, 7), (1, 1, 3)], ids=str)
@pytest.mark.parametrize("boundary", BOUNDARIES, ids=str)
def test_rank3(boundary, size):
    fn = lambda a: acc.stencil(weighted, a, size, boundary=boundary)  # noqa: E731
    small = [(1, 1, 1), size, tuple(s + 1 for s in size), (2, 9, 4), (8, 1, 10), (9, 8, 1100), (70, 60, 80)]
    for shape in small:
        same_exactly(fn, data(shape, "float64"))


@pytest.mark.parametrize("boundary", ["clamp", "mirror", "wrap", "constant"])
def test_rank0(boundary):
    """A rank-0 stencil (built as IR: the front end's neighbourhoods have at least one axis) reads the element."""
    x = np.array(1.5)
    params = {"size": (), "boundary": boundary, **({"value": 0.5} if boundary == "constant" else {})}
    body = lam(lambda v: v * lit(2.0, "float64") + lit(1.0, "float64"), "float64")
    program = program_of(lambda a: prim("stencil", a, lam=body, **params), [x])
    assert run_program(program, [x], "native") == run_program(program, [x], "interp") == [np.array(4.0)]


@given(
    shape=st.lists(st.integers(1, 12), min_size=1, max_size=3),
    sizes=st.lists(st.sampled_from([1, 3, 5, 7]), min_size=3, max_size=3),
    boundary=st.sampled_from(BOUNDARIES),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**32 - 1),
)
def test_drawn_shapes(shape, sizes, boundary, dtype, seed):
    size = tuple(sizes[: len(shape)])
    x = data(tuple(shape), dtype, np.random.default_rng(seed))
    same_exactly(lambda a: acc.stencil(weighted, a, size, boundary=boundary_of(boundary, dtype)), x)


@pytest.mark.parametrize("boundary", BOUNDARIES, ids=str)
def test_general_lambda_and_tuple_outputs(boundary):
    """A lambda with libm calls, a branch and several outputs of different dtypes (bool: chunks of 64)."""

    def f(n):
        centre = n[1][1]
        smooth = acc.sin(n[0][0]) * n[2][2] + acc.exp(n[1][0] - n[1][2])
        return smooth, acc.where(centre > n[0][1], centre, -n[2][1]), (centre > 0.0).astype("int32"), centre > 0.5

    def parts(n):  # the neighbours the bound needs, gathered exactly (float64) by the interpreter
        return acc.sin(n[0][0]) * n[2][2], n[1][0] - n[1][2]

    u = unit_roundoff(np.float32) + unit_roundoff(np.float64)  # one rounding, here and in the float64 reference
    libm = 2 * LIBM_ULPS * u
    for shape in [(1, 1), (2, 2), (3, 4), (37, 1100)]:
        x = data(shape, "float32")
        want = acc.jit(lambda a: acc.stencil(f, a, (3, 3), boundary=boundary), backend="interp")(x)
        got = acc.jit(lambda a: acc.stencil(f, a, (3, 3), boundary=boundary), backend="native")(x)
        # smooth = p + exp(d): p = sin·n rounds twice (libm, product); d rounds once, which moves exp(d) by a
        # factor within e^{±u|d|}, and exp adds libm; the sum rounds once more
        p, d = acc.jit(lambda a: acc.stencil(parts, a, (3, 3), boundary=boundary), backend="interp")(x.astype(float))
        dp, dq = ((1 + libm) * (1 + u) - 1) * np.abs(p), (np.exp(u * np.abs(d)) * (1 + libm) - 1) * np.exp(d)
        smooth = p + np.exp(d)
        assert_within(got[0], smooth, dp + dq + u * (np.abs(smooth) + dp + dq), np.float32)
        for g, w in zip(got[1:], want[1:], strict=True):  # a selection, comparisons: exact
            assert g.dtype == w.dtype
            np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("boundary", BOUNDARIES, ids=str)
def test_fused_with_producers_and_consumers(boundary):
    """A stencil of fused element-wise and index-map producers, read by a map and a fold; the lambda reads
    a free rank-0 value and a free array."""
    table = np.array([0.5, -1.0, 2.0, 4.0])

    def f(a, b):
        scale, weights = a.sum(), acc.use(table)
        src = acc.sin(a) * 2.0 + b.T[1:, :]
        out = acc.stencil(
            lambda n: weighted(n) + scale * weights[acc.cast(n[1][1] > 0.0, "int64") * 3], src, (3, 5), boundary
        )
        return out * 2.0 + 1.0, out.sum()

    for rows in [1, 2, 3, 40]:
        a, b = data((rows, 6), "float64"), data((6, rows + 1), "float64")
        want = acc.jit(f, backend="interp")(a, b)
        got = acc.jit(f, backend="native")(a, b)
        for g, w in zip(got, want, strict=True):
            assert_close(g, w)


@pytest.mark.parametrize("boundary", BOUNDARIES, ids=str)
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (5, 6), (300, 200)], ids=str)
def test_gradient_of_stencil_sum(boundary, shape):
    """The gradient program: a stencil with the partial derivatives as extra outputs, then their transpose."""

    def f(a):
        return acc.stencil(lambda n: n[0][0] * n[1][1] - acc.sin(n[2][2]) + n[0][2] * 0.5, a, (3, 3), boundary).sum()

    x = data(shape, "float64")
    assert_close(acc.jit(ad.grad(f), backend="native")(x), acc.jit(ad.grad(f), backend="interp")(x))


def test_out_of_bounds_index_in_the_lambda_raises():
    """``index`` reads keep their bounds check in the interior run."""

    def f(a):
        table = acc.use(np.arange(3.0))
        return acc.stencil(lambda n: table[acc.cast(n[1], "int64")], a, 3, boundary="clamp")

    with pytest.raises(acc.IndexOutOfBounds, match="index"):
        acc.jit(f, backend="native")(np.array([0.0, 1.0, 2.0, 7.0, 1.0]))


@pytest.mark.parametrize("boundary", BOUNDARIES, ids=str)
def test_interior_reads_without_boundary_rule(boundary):
    """The interior loop (the last one generated) reads its neighbours by plain index arithmetic."""
    source, _ = generate(trace(lambda a: acc.stencil(weighted, a, (3, 3), boundary), np.ones((4, 4))).program)
    interior = source[source.rindex("#pragma omp simd") :]
    assert "PA_MIRROR" not in interior and "%" not in interior and "?" not in interior
    assert "PA_MIRROR" in source or boundary != "mirror"
