"""The native backend against the interpreter on hand-written programs: every skeleton, dtype and edge.

Each case runs one traced function on both backends and compares with the
dtype-aware tolerances of ``helpers.assert_close``. Sizes include empty and
size-1 axes, and arrays big enough (> 2**18 elements) to take the parallel
paths (split reductions, two-pass scans, atomic scatters).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import (
    LIBM_ULPS,
    assert_close,
    assert_within,
    dot_bound,
    gamma,
    lit,
    program_of,
    softmax_bound,
    sum_bound,
    unit_roundoff,
)

import pyaccad as acc
from pyaccad import ad
from pyaccad.backends import availability

pytestmark = pytest.mark.skipif(availability()["native"] is not None, reason="native backend unavailable here")

RNG = np.random.default_rng(7)
NUMERIC = ["float32", "float64", "int32", "int64"]


def data(shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return RNG.random(shape) < 0.5
    if dtype.kind == "i":
        return RNG.integers(-5, 6, size=shape).astype(dtype)
    return RNG.normal(size=shape).astype(dtype)


def same(fn, *args, exact=False):
    """Run ``fn`` on native and interp; every output leaf must agree: within ``assert_close``'s tolerance, or
    ``exact``ly (the same bits: for programs whose every rounding both backends do alike, see each caller)."""
    want = acc.jit(fn, backend="interp")(*args)
    got = acc.jit(fn, backend="native")(*args)
    want_leaves = want if isinstance(want, (tuple, list)) else [want]
    got_leaves = got if isinstance(got, (tuple, list)) else [got]
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves, strict=True):
        if exact:
            assert np.asarray(g).dtype == np.asarray(w).dtype and np.shape(g) == np.shape(w)
            np.testing.assert_array_equal(bits(g), bits(w))
        else:
            assert_close(np.asarray(g), np.asarray(w))
    return got


def bits(a):
    """A float array's bits (as unsigned integers: ``-0.0`` differs from ``0.0``), any other array as it is."""
    a = np.asarray(a)
    return a.view(f"u{a.itemsize}") if a.dtype.kind == "f" else a


SHAPES = [(0,), (1,), (5,), (3, 1), (1, 4), (3, 0), (4, 5), (2, 3, 4), (300000,)]


@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_elementwise_chain(dtype, shape):
    x, y = data(shape, dtype), data(shape, dtype)
    if np.dtype(dtype).kind != "f":
        same(lambda a, b: (a * 3 + b) // (b + 7) - a % (b - 6) + acc.maximum(a, b) * abs(a), x, y)
        return
    # r = N / Q with N = sin(a)·b or exp(b) - a, Q = 1 + a²; relative errors u (one rounding, float64's counted
    # too for the reference) and l (a libm call: LIBM_ULPS): |ΔN| ≤ ((1 + l)(1 + u) - 1)·|sin(a)·b| or
    # l·exp(b) + u·(|N| + l·exp(b)); Q is off by a factor within (1 ± u)², the division by one more u.
    a, b = x.astype(np.float64), y.astype(np.float64)
    u = unit_roundoff(dtype) + unit_roundoff(np.float64)
    libm = 2 * LIBM_ULPS * u
    first, e = a > b, np.exp(b)
    numerator = np.where(first, np.sin(a) * b, e - a)
    size = np.abs(numerator)
    delta = np.where(first, ((1 + libm) * (1 + u) - 1) * size, libm * e + u * (size + libm * e))
    quotient = 1 + a * a
    bound = (delta * (1 + u) + size * ((1 + u) / (1 - (2 * u + u * u)) - 1)) / quotient

    def chain(p, q):
        return acc.where(p > q, acc.sin(p) * q, acc.exp(q) - p) / (1.0 + p * p)

    within_bound(chain, (x, y), numerator / quotient, bound)


@pytest.mark.parametrize("op", ["add", "mul", "minimum", "maximum", "general"])
@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("shape", [(3, 4, 5), (1, 1, 1), (2, 0, 3), (3, 100000, 1), (270001, 1, 1)], ids=str)
def test_fold(op, dtype, axis, shape):
    x = exact_terms(shape, dtype, op)
    f = {
        "add": lambda a, b: a + b,
        "mul": lambda a, b: a * b,
        "minimum": acc.minimum,
        "maximum": acc.maximum,
        "general": lambda a, b: acc.maximum(a, b) + acc.minimum(a, b) * 0,  # associative, not a plain monoid
    }[op]
    init = {"mul": 1, "add": 0}.get(op, -3)
    init = float(init) if np.dtype(dtype).kind == "f" else init
    same(lambda a: acc.fold(f, init, a, axis=axis), x, exact=True)
    if x.shape[axis] > 0:
        same(lambda a: acc.fold1(f, a, axis=axis), x, exact=True)


def exact_terms(shape, dtype, op):
    """Data whose float folds by ``op`` are exact in any order, so native (16 lanes, slices) and interp (NumPy's
    pairwise sums) must agree bit for bit: for ``mul``, ``±1`` but for 50 twos and 50 halves (every partial
    product ``±2^j``, ``|j| ≤ 50``); else quarters below 5 in magnitude (every partial sum of up to 2¹⁹ of them is
    a multiple of 1/4 below 2²² in magnitude: exact in float32). Integers: :func:`data` (integer folds wrap
    exactly)."""
    if np.dtype(dtype).kind != "f":
        return data(shape, dtype)
    n = int(np.prod(shape))
    assert n <= 1 << 19
    if op != "mul":  # + 0.0: no -0.0, as which of two equal zeros min and max keep depends on the order they take
        return (np.round(np.clip(RNG.normal(size=shape), -4.5, 4.5) * 4) / 4 + 0.0).astype(dtype)
    magnitudes = np.ones(n)
    spots = RNG.permutation(n)[:100]
    magnitudes[spots[:50]], magnitudes[spots[50:]] = 2.0, 0.5
    return (magnitudes * RNG.choice([-1.0, 1.0], size=n)).reshape(shape).astype(dtype)


@pytest.mark.parametrize("n", [0, 1, 7, 300000])
def test_fold_all_and_tuple_fold(n):
    x = data((n,), "float64")
    # n terms sin(a)·a, each off by one libm call and one rounding (relative; the reference's counted too),
    # added to 0.0 in some order: sum_bound of n + 1 terms. The reference sums exactly (fsum), then rounds.
    terms = np.sin(x) * x
    u = 2 * unit_roundoff(np.float64)
    per_term = (1 + 2 * LIBM_ULPS * u) * (1 + u) - 1
    magnitude = np.abs(terms).sum()
    bound = per_term * magnitude + sum_bound(magnitude * (1 + per_term), n + 1, np.float64)
    within_bound(lambda a: acc.fold_all(lambda p, q: p + q, 0.0, acc.sin(a) * a), (x,), math.fsum(terms), bound)
    # argmax as a tuple fold: (value, index) with the lowest index among ties
    idx = np.arange(n, dtype=np.int64)

    def argmax(v, i):
        def pick(p, q):
            (pv, pi), (qv, qi) = p, q
            take = (qv > pv) | ((qv == pv) & (qi < pi))
            return acc.where(take, qv, pv), acc.where(take, qi, pi)

        return acc.fold(pick, (-np.inf, np.int64(-1)), (v, i))

    same(argmax, x, idx, exact=True)  # comparisons and selections: nothing is rounded


def _affine(p, q):
    """Composition of affine maps x -> a x + b: associative, not commutative (int32 wraps exactly)."""
    (a1, b1), (a2, b2) = p, q
    return a1 * a2, b1 * a2 + b2


@pytest.mark.parametrize("kind", ["scanl", "scanl1", "scanr", "scanr1"])
@pytest.mark.parametrize(
    "shape,axis",
    [((0,), 0), ((1,), 0), ((9,), 0), ((300007,), 0), ((3, 4, 5), 1), ((3, 4, 5), 2), ((4, 0), 1), ((2, 150000), 0)],
    ids=str,
)
def test_scan(kind, shape, axis):
    x = np.round(data(shape, "float64") * 4) / 4  # quarters: every partial sum is exact in any order
    a, b = data(shape, "int32"), data(shape, "int32")
    fn = getattr(acc, kind)
    if kind.endswith("1"):
        if shape[axis] == 0:
            return
        same(lambda v: fn(lambda p, q: p + q, v, axis=axis), x, exact=True)
        same(lambda u, w: fn(_affine, (u, w), axis=axis), a, b)
    else:
        same(lambda v: fn(lambda p, q: p + q, 1.5, v, axis=axis), x, exact=True)
        same(lambda u, w: fn(_affine, (np.int32(1), np.int32(0)), (u, w), axis=axis), a, b)


@pytest.mark.parametrize("dtype", NUMERIC)
def test_index_maps_fuse_and_agree(dtype):
    """Moved elements, at most one rounded operation each (the same IEEE one in NumPy and C): exact."""
    x = data((4, 6), dtype)
    same(lambda a: acc.transpose(a)[1:5:2, ::-1], x, exact=True)
    same(lambda a: acc.reverse(acc.reshape(a, (3, 8)), axis=0) + acc.reshape(acc.transpose(a), (3, 8)), x, exact=True)
    same(lambda a: acc.concatenate([a, a[:, :2], acc.broadcast_to(a[:, :1], (4, 3))], axis=1), x, exact=True)
    same(lambda a: acc.backpermute((6, 4), lambda i, j: (j, 5 - i), a), x, exact=True)
    same(lambda a: acc.generate((3, 5), lambda i, j: a[i, j] * a[i + 1, 5 - j]), x, exact=True)
    same(lambda a: acc.replicate(a[0], 3, axis=0) + a[:3], x, exact=True)


def test_pad():
    from pyaccad.frontend.tracing import emit, wrap

    x = data((3, 4), "float32")

    def padded(a):
        (v,) = emit("pad", (a.var, acc.unit(np.float32(-1.0)).var), {"lo": (1, 0), "hi": (2, 1), "interior": (1, 2)})
        return wrap(v) * 2.0

    same(padded, x, exact=True)  # copies, doubled: exact


@pytest.mark.parametrize("boundary", ["clamp", "mirror", "wrap", 0.5])
@pytest.mark.parametrize("shape", [(1,), (2,), (7,), (1, 1), (2, 3), (5, 6), (600, 500)], ids=str)
def test_stencil(boundary, shape):
    """The lambda's operations in the same order, each rounded once (no multiply-add is fused): exact."""
    x = data(shape, "float64")
    if len(shape) == 1:
        same(lambda a: acc.stencil(lambda n: n[0] - 2.0 * n[2] + n[4] * n[1], a, 5, boundary=boundary), x, exact=True)
    else:
        fn = lambda a: acc.stencil(lambda n: n[0][0] + n[1][1] * 4.0 - n[2][1], a, (3, 3), boundary=boundary)
        same(fn, x, exact=True)


@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("n", [0, 1, 10, 300000])
def test_permute_collisions_and_ignore(dtype, n):
    x = data((n,), dtype)
    zeros = np.zeros(7, dtype)

    def scatter_add(a):
        return acc.permute(lambda new, old: new + old, zeros, lambda i: acc.cond(i % 3 == 0, acc.IGNORE, (i % 7,)), a)

    if np.dtype(dtype).kind == "f":  # each target: a sum of its terms and its default (0), in chunks: sum_bound
        kept = np.arange(n) % 3 != 0
        targets = (np.arange(n) % 7)[kept]
        want, magnitude = np.zeros(7), np.zeros(7)
        np.add.at(want, targets, x[kept].astype(np.float64))
        np.add.at(magnitude, targets, np.abs(x[kept].astype(np.float64)))
        bound = sum_bound(magnitude, np.bincount(targets, minlength=7) + 1, dtype)
        assert_within(acc.jit(scatter_add, backend="native")(x), want, bound, dtype=dtype)
    else:
        same(scatter_add, x)

    def scatter_general(a):  # not commutative: the result depends on the (source) order of collisions
        return acc.permute(lambda new, old: old * 2 + new, zeros, lambda i: (i % 7,), a)

    if np.dtype(dtype).kind == "i" or n < 100:  # one serial loop in source order, as the interpreter's: exact
        same(scatter_general, x, exact=True)


def test_scalar_while_and_cond_in_lambdas():
    x = np.abs(data((1000,), "float64")) * 10 + 1

    def collatz_steps(v):
        def steps(e):
            n0 = acc.cast(e, "int64")
            _, count = acc.while_(
                lambda s: s[0] > 1,
                lambda s: (acc.cond(s[0] % 2 == 0, s[0] // 2, 3 * s[0] + 1), s[1] + 1),
                (n0, np.int64(0)),
            )
            return count

        return acc.map(steps, v)

    same(collatz_steps, x)


def test_awhile_and_acond():
    x = np.abs(data((4, 5), "float32")) + 0.1

    def grow(a):
        return acc.awhile(lambda s: acc.unit(acc.the(s[0].sum()) < 500.0), lambda s: (s[0] * 1.5, s[1] + 1), (a, 0))

    def decided(state, threshold):
        """``state.sum() < threshold`` as both backends compute it: true sum farther than their rounding errors."""
        total, magnitude = state.astype(np.float64).sum(), np.abs(state.astype(np.float64)).sum()
        assert abs(total - threshold) > sum_bound(magnitude, state.size, state.dtype)
        return total < threshold

    # Every value is x times 1.5 (rounded alike by NumPy and C), once per trip, or ×2 or negated: exact agreement,
    # as long as both backends take the same trips and branches (decided asserts that they do).
    state = x
    while decided(state, 500.0):
        state = state * np.float32(1.5)
    same(grow, x, exact=True)
    assert not decided(x, 3.0) and decided(x, 1e9)
    same(lambda a: acc.acond(acc.unit(acc.the(a.sum()) > 3.0), lambda: a * 2.0, lambda: -a), x, exact=True)
    same(lambda a: acc.acond(acc.unit(acc.the(a.sum()) > 1e9), lambda: a * 2.0, lambda: -a), x, exact=True)


@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize(
    "shapes",
    [
        ((3, 4), (4, 5)),
        ((2, 3, 4), (2, 4, 1)),
        ((0, 3), (3, 2)),
        ((2, 0), (0, 3)),
        ((2, 128, 400), (2, 400, 100)),
        ((5, 30000), (30000, 40)),
    ],  # the last two: BLAS-sized
    ids=str,
)
def test_matmul(dtype, shapes):
    a, b = data(shapes[0], dtype), data(shapes[1], dtype)
    within_gemm_bound(lambda p, q: acc.matmul(p, q), a, b, lambda p, q: p @ q)
    within_gemm_bound(lambda p, q: acc.matmul(acc.transpose(acc.transpose(p)) * 2, q), a, b, lambda p, q: 2 * p @ q)

    def swap(v):  # the transposes AD emits: BLAS reads them with its transpose flag
        return acc.transpose(v, (*range(v.ndim - 2), v.ndim - 1, v.ndim - 2))

    within_gemm_bound(lambda p, q: acc.matmul(swap(q), swap(p)), a, b, lambda p, q: np.swapaxes(p @ q, -1, -2))


@pytest.mark.parametrize("dtype", ["float64", "int32"])
def test_matmul_with_two_batch_axes(dtype):
    a, b = data((2, 3, 4, 5), dtype), data((2, 3, 5, 2), dtype)
    within_gemm_bound(lambda p, q: acc.matmul(p, q), a, b, lambda p, q: p @ q)


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_integer_products_have_no_gemm_epilogue(dtype):
    a, b = data((6, 7), dtype), data((7, 3), dtype)

    def scaled(p, q):
        return acc.matmul(p, q) * 3 + 1

    assert _epilogues(scaled, a, b) == [False]  # integer products run no GEMM to hold an epilogue
    np.testing.assert_array_equal(acc.run(scaled, a, b, backend="native"), (a @ b) * 3 + 1)


def within_gemm_bound(fn, a, b, reference):
    """``fn(a, b)`` on native and interp, each within the classic GEMM error bound of the product in float64.

    Integers must be exact. Floats: :func:`helpers.dot_bound` (``γ_k·(|A|·|B|)``, ``k`` the inner dimension,
    whatever order the sums take). Two BLAS libraries (native's MKL or OpenBLAS, NumPy's for interp), or one
    library on two CPUs, may sum in different orders, so they need not agree with each other more closely.
    """
    if a.dtype.kind != "f":
        for backend in ("native", "interp"):
            got = acc.jit(fn, backend=backend)(a, b)
            assert got.dtype == a.dtype
            np.testing.assert_array_equal(got, reference(a, b))
        return
    within_bound(fn, (a, b), reference(a.astype(np.float64), b), dot_bound(a, b, reference))


def within_bound(fn, args, exact, bound):
    """``fn(*args)`` on native and interp: the dtype of ``args[0]``, and within ``bound`` of ``exact`` (float64)."""
    for backend in ("native", "interp"):
        assert_within(acc.jit(fn, backend=backend)(*args), exact, bound, dtype=args[0].dtype)


def _epilogues(fn, *args):
    """For each matmul kernel followed by a kernel: whether that kernel runs as the GEMM's epilogue."""
    from pyaccad.backends.native.blas import epilogue_fits
    from pyaccad.frontend import trace
    from pyaccad.opt.fusion import plan_program

    kernels = plan_program(trace(fn, *args).program).kernels
    return [epilogue_fits(k, after) for k, after in zip(kernels, kernels[1:], strict=False) if k.kind == "matmul"]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("m,k,n", [(300, 200, 100), (100, 200, 300), (7, 5, 3)], ids=str)  # rows / columns split
def test_matmul_epilogue_runs_inside_the_gemm_and_agrees(dtype, m, k, n):
    """Each result within the error bound of its roundings, from the GEMM's (:func:`helpers.dot_bound`, ``D``):
    ``y + c`` and ``y[1:] - y[:-1]`` add one rounding (``u``) to ``D`` (two ``D``s for the difference); ``tanh`` is
    1-Lipschitz, ``exp(d + δ) = exp(d)·e^δ``; each libm call errs by ``LIBM_ULPS`` more. ``u`` counts float64's
    too (the reference's roundings). The inputs are scaled by 1/4 (exactly), so that the products are a few
    units: ``tanh`` does not saturate, ``exp`` does not overflow."""
    a, b, bias = data((m, k), dtype) / 4, data((k, n), dtype) / 4, data((n,), dtype)
    u = unit_roundoff(dtype) + unit_roundoff(np.float64)
    libm = 2 * LIBM_ULPS * u
    y, err = a.astype(np.float64) @ b, dot_bound(a, b)

    def dense(p, q, c):
        return acc.tanh(acc.matmul(p, q) + c)

    assert _epilogues(dense, a, b, bias) == [True]
    exact = np.tanh(y + bias)
    within_bound(dense, (a, b, bias), exact, (err + u * (np.abs(y + bias) + err)) * (1 + libm) + libm * np.abs(exact))

    def shifted(p, q):  # reads the product at other indices: a kernel of its own, after the GEMM
        z = acc.matmul(p, q)
        return acc.exp(z[1:] - z[:-1])

    assert _epilogues(shifted, a, b) == [False]
    d = y[1:] - y[:-1]
    delta = err[1:] + err[:-1] + u * (np.abs(d) + err[1:] + err[:-1])
    within_bound(shifted, (a, b), np.exp(d), np.exp(d) * (np.expm1(delta) + libm * np.exp(delta)))
    if m == n:
        return
    square = data((m, m), dtype)

    def transposed(p, s):
        return acc.transpose(acc.matmul(p, s)) * 2.0

    assert _epilogues(transposed, square, square) == [False]
    within_bound(
        transposed, (square, square), 2 * (square.astype(np.float64) @ square).T, 2 * dot_bound(square, square).T
    )


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_casts_and_bools(dtype):
    x = np.array([-2.5, -0.5, 0.0, 0.5, 1.5, 2.5, 1e3], np.float64)
    same(lambda a: (acc.cast(a, dtype), acc.round(a), acc.sign(a), acc.trunc(a)), x, exact=True)  # all exact
    b = RNG.random((9,)) < 0.5
    same(lambda p: acc.fold(lambda s, t: s & t, True, p), b)
    same(lambda p: acc.fold(lambda s, t: s | t, False, p), b)


def test_integer_division_conventions():
    a = np.array([7, -7, 0, np.iinfo(np.int32).min, 5], np.int32)
    b = np.array([0, 2, 0, -1, -3], np.int32)
    same(lambda p, q: (p // q, p % q, acc.power(q, p % 4 - 1)), a, b)


def test_scalar_cond_reads_only_inside_the_taken_branch():
    """A value branch's read is emitted inside the C ``if`` of its ``cond`` (sunk there), never before it.

    A ternary over values computed beforehand would read (and fail) where the branch is not taken.
    """
    from pyaccad.backends.native.program import generate
    from pyaccad.frontend import trace
    from pyaccad.opt import optimize

    fn = lambda a: acc.generate((4,), lambda i: acc.cond(i < 3, a[i + 1] * 2.0, 0.0))  # a[4] is out of bounds
    source, _ = generate(optimize(trace(fn, np.zeros(4)).program, "native"))
    lines = source.splitlines()
    loads = [n for n, line in enumerate(lines) if "? in1[" in line]  # the guarded loads of a (one in the cold
    assert loads  # path that records a failing index)
    for load in loads:
        indent = len(lines[load]) - len(lines[load].lstrip())
        enclosing = next(line for line in reversed(lines[:load]) if len(line) - len(line.lstrip()) < indent)
        assert enclosing.strip().startswith("if (") and enclosing.strip().endswith("{")
    assert_close(acc.jit(fn, backend="native")(np.arange(4.0)), np.array([2.0, 4.0, 6.0, 0.0]))


def test_thread_count_does_not_change_results(monkeypatch):
    """Reductions to rank 0 and rank-1 scans cut their input into a fixed number of slices, so even float
    results are identical for any thread count (only permute's float additions, one chunk per thread, may differ)."""
    x, y = data((300001,), "int64"), data((300001,), "float64")

    def f(a, b):
        return (
            acc.fold_all(lambda p, q: p + q, 0, a * a),
            acc.scanl1(lambda p, q: p + q, a),
            b.sum(),
            acc.scanl1(lambda p, q: p + q, b),
            acc.fold(lambda p, q: p + q, 0.0, acc.reshape(b[:300000], (3000, 100)), axis=0),
        )

    g = acc.jit(f, backend="native")
    results = []
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("PYACCAD_NUM_THREADS", threads)
        results.append(g(x, y))
    for other in results[1:]:
        for p, q in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(p, q)


def test_thread_count_does_not_change_a_gemm_epilogue(monkeypatch):
    """A GEMM split by columns cuts them at multiples of EPILOGUE_STEP, so its epilogue's ``tanh`` meets each column
    at the same place in its vector loop (libmvec) or remainder (libm) whatever the thread count. Eighths make the
    product exact in any order (multiples of 1/64 below 2¹⁷), so the bits compared are the epilogue's alone."""
    from pyaccad.backends.native.blas import EPILOGUE_STEP

    a, b = (RNG.integers(-3, 4, size=shape).astype(np.float32) / 8 for shape in [(100, 200), (200, 300)])
    assert _epilogues(lambda p, q: acc.tanh(acc.matmul(p, q)), a, b) == [True] and 300 % EPILOGUE_STEP != 0
    dense = acc.jit(lambda p, q: acc.tanh(acc.matmul(p, q)), backend="native")
    results = []
    for threads in ("1", "2", "3"):  # 300 columns > 100 rows: split by columns
        monkeypatch.setenv("PYACCAD_NUM_THREADS", threads)
        results.append(dense(a, b))
    for other in results[1:]:
        np.testing.assert_array_equal(bits(other), bits(results[0]))


@pytest.mark.parametrize("library", ["mkl", "openblas"])
def test_matmul_on_each_blas_library(library, monkeypatch):
    """``$PYACCAD_BLAS`` picks the library; both give products within the GEMM bound (and the gradient's)."""
    from pyaccad.backends.native.blas_library import blas_library

    monkeypatch.setenv("PYACCAD_BLAS", library)
    try:
        chosen = blas_library()
    except acc.CompileError as exc:
        # a dependency on x86-64 (pyproject.toml): where its wheel is installed, not finding it is a failure
        if _installed({"mkl": "mkl", "openblas": "scipy-openblas64"}[library]):
            raise
        pytest.skip(f"{library} is not installed here: {exc}")
    assert chosen.name == library
    a, b = data((70, 300), "float32"), data((300, 40), "float32")
    within_gemm_bound(lambda p, q: acc.matmul(p, q), a, b, lambda p, q: p @ q)
    grad = acc.jit(ad.grad(lambda p, q: (acc.matmul(p, q) ** 2).sum(), argnums=(0, 1)), backend="native")(a, b)
    # The gradient is two more GEMMs of the computed C = AB (off by at most D = dot_bound) doubled (exactly):
    # 2·Ĉ·Bᵀ is within 2·(γ_n·(|C| + D)·|B|ᵀ + D·|B|ᵀ) of 2·C·Bᵀ, and so for Aᵀ·2Ĉ (γ_m), with float64's γ for the
    # reference's own roundings (as in dot_bound).
    c, err = a.astype(np.float64) @ b, dot_bound(a, b)
    mag_a, mag_b, mag_c = np.abs(a.astype(np.float64)), np.abs(b.astype(np.float64)), np.abs(c) + err

    def gemm(inner, left, right):
        return (gamma(inner, np.float32) + gamma(inner, np.float64)) * (left @ right) / (1 - gamma(inner, np.float64))

    assert_within(grad[0], 2 * c @ b.T, 2 * (gemm(b.shape[1], mag_c, mag_b.T) + err @ mag_b.T), dtype=np.float32)
    assert_within(grad[1], 2 * a.T @ c, 2 * (gemm(a.shape[0], mag_a.T, mag_c) + mag_a.T @ err), dtype=np.float32)


def _installed(distribution: str) -> bool:
    from importlib.metadata import PackageNotFoundError, version

    try:
        version(distribution)
    except PackageNotFoundError:
        return False
    return True


def test_unknown_blas_library_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PYACCAD_BLAS", "atlas")
    with pytest.raises(acc.BackendUnavailable, match="PYACCAD_BLAS='atlas'"):
        acc.run(lambda p, q: acc.matmul(p, q), np.ones((2, 2)), np.ones((2, 2)), backend="native")


def test_intermediates_workspace_is_safe_across_threads_and_sizes():
    """Intermediates live in a workspace each compiled program reuses; a call that finds it taken (another thread
    running the same program) gets its own, and a new batch size gets a workspace of its size."""
    import threading

    def f(x):
        y = acc.exp(x - x.max(axis=1, keepdims=True))  # intermediates: the row max, the sums
        return y / y.sum(axis=1, keepdims=True)

    jitted = acc.jit(f, backend="native")
    rng = np.random.default_rng(3)
    inputs = [rng.standard_normal((rows, 257)) for rows in (300, 7, 300, 1, 64, 300)]

    failures = []

    def work(x):
        exact, bound = softmax_bound(x, axis=1)
        try:
            for _ in range(20):
                if not np.all(np.abs(jitted(x) - exact) <= bound):
                    failures.append(x.shape)
        except Exception as exc:  # an exception in a thread is only a warning to pytest: report it here
            failures.append(exc)

    threads = [threading.Thread(target=work, args=(x,)) for x in inputs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures


def test_every_kind_of_output_is_fresh_and_right_on_every_call():
    """The runtime assembles each output from where the layout says it comes from (a buffer the program writes,
    an input, a constant, a literal, an output repeated), on every call of one executable: values as NumPy's,
    no result sharing memory with an input, a constant or another result, whatever the caller did to the last."""
    from pyaccad.backends.native import BACKEND
    from pyaccad.frontend.tracing import embed_constant

    table = np.array([5.0, 6.0, 7.0])

    def f(a):
        doubled = a + a
        return doubled, a, embed_constant(table), lit(1.5, "float64"), doubled

    executable = BACKEND.compile(program_of(f, [table]))
    assert [kind for kind, _ in executable.layout.outputs] == ["buffer", "input", "const", "lit", "output"]
    for k in range(3):
        x = np.arange(3.0) + k
        results = executable([x])
        for got, want in zip(results, [x * 2.0, x, table, np.array(1.5), x * 2.0], strict=True):
            np.testing.assert_array_equal(got, want)
            assert got.dtype == want.dtype
        arrays = [x, table, *results]
        assert not any(np.shares_memory(p, q) for i, p in enumerate(arrays) for q in arrays[i + 1 :])
        for result in results:
            result[...] = -1.0  # the caller's to change: the next call must not see it
        del results  # the written buffer is free for the next call to reuse


def test_every_primitive_fusion_may_delay_has_a_native_producer():
    """A delayed value is computed inside its consumers by its rule in ``element.PRODUCERS`` (no fall-through)."""
    from pyaccad.backends.clike.element import PRODUCERS
    from pyaccad.ir import PRIMITIVES
    from pyaccad.opt.fusion import FUSIBLE

    assert {PRIMITIVES[name] for name in FUSIBLE} == set(PRODUCERS)
