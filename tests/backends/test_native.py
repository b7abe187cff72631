"""The native backend against the interpreter on hand-written programs: every skeleton, dtype and edge.

Each case runs one traced function on both backends and compares with the
dtype-aware tolerances of ``helpers.assert_close``. Sizes include empty and
size-1 axes, and arrays big enough (> 2**18 elements) to take the parallel
paths (split reductions, two-pass scans, atomic scatters).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

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


def same(fn, *args):
    """Run ``fn`` on native and interp; every output leaf must agree."""
    want = acc.jit(fn, backend="interp")(*args)
    got = acc.jit(fn, backend="native")(*args)
    want_leaves = want if isinstance(want, (tuple, list)) else [want]
    got_leaves = got if isinstance(got, (tuple, list)) else [got]
    assert len(got_leaves) == len(want_leaves)
    for g, w in zip(got_leaves, want_leaves, strict=True):
        assert_close(np.asarray(g), np.asarray(w))
    return got


SHAPES = [(0,), (1,), (5,), (3, 1), (1, 4), (3, 0), (4, 5), (2, 3, 4), (300000,)]


@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_elementwise_chain(dtype, shape):
    x, y = data(shape, dtype), data(shape, dtype)
    if np.dtype(dtype).kind == "f":
        same(lambda a, b: acc.where(a > b, acc.sin(a) * b, acc.exp(b) - a) / (1.0 + a * a), x, y)
    else:
        same(lambda a, b: (a * 3 + b) // (b + 7) - a % (b - 6) + acc.maximum(a, b) * abs(a), x, y)


@pytest.mark.parametrize("op", ["add", "mul", "minimum", "maximum", "general"])
@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("axis", [0, 1, -1])
@pytest.mark.parametrize("shape", [(3, 4, 5), (1, 1, 1), (2, 0, 3), (3, 100000, 1), (270001, 1, 1)], ids=str)
def test_fold(op, dtype, axis, shape):
    x = data(shape, dtype)
    if op == "mul" and np.dtype(dtype).kind == "f":
        x = (1.0 + 0.0001 * x).astype(dtype)
    f = {
        "add": lambda a, b: a + b,
        "mul": lambda a, b: a * b,
        "minimum": acc.minimum,
        "maximum": acc.maximum,
        "general": lambda a, b: acc.maximum(a, b) + acc.minimum(a, b) * 0,  # associative, not a plain monoid
    }[op]
    init = {"mul": 1, "add": 0}.get(op, -3)
    init = float(init) if np.dtype(dtype).kind == "f" else init
    same(lambda a: acc.fold(f, init, a, axis=axis), x)
    if x.shape[axis] > 0:
        same(lambda a: acc.fold1(f, a, axis=axis), x)


@pytest.mark.parametrize("n", [0, 1, 7, 300000])
def test_fold_all_and_tuple_fold(n):
    x = data((n,), "float64")
    same(lambda a: acc.fold_all(lambda p, q: p + q, 0.0, acc.sin(a) * a), x)
    # argmax as a tuple fold: (value, index) with the lowest index among ties
    idx = np.arange(n, dtype=np.int64)

    def argmax(v, i):
        def pick(p, q):
            (pv, pi), (qv, qi) = p, q
            take = (qv > pv) | ((qv == pv) & (qi < pi))
            return acc.where(take, qv, pv), acc.where(take, qi, pi)

        return acc.fold(pick, (-np.inf, np.int64(-1)), (v, i))

    same(argmax, x, idx)


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
        same(lambda v: fn(lambda p, q: p + q, v, axis=axis), x)
        same(lambda u, w: fn(_affine, (u, w), axis=axis), a, b)
    else:
        same(lambda v: fn(lambda p, q: p + q, 1.5, v, axis=axis), x)
        same(lambda u, w: fn(_affine, (np.int32(1), np.int32(0)), (u, w), axis=axis), a, b)


@pytest.mark.parametrize("dtype", NUMERIC)
def test_index_maps_fuse_and_agree(dtype):
    x = data((4, 6), dtype)
    same(lambda a: acc.transpose(a)[1:5:2, ::-1], x)
    same(lambda a: acc.reverse(acc.reshape(a, (3, 8)), axis=0) + acc.reshape(acc.transpose(a), (3, 8)), x)
    same(lambda a: acc.concatenate([a, a[:, :2], acc.broadcast_to(a[:, :1], (4, 3))], axis=1), x)
    same(lambda a: acc.backpermute((6, 4), lambda i, j: (j, 5 - i), a), x)
    same(lambda a: acc.generate((3, 5), lambda i, j: a[i, j] * a[i + 1, 5 - j]), x)
    same(lambda a: acc.replicate(a[0], 3, axis=0) + a[:3], x)


def test_pad():
    from pyaccad.frontend.tracing import emit, wrap

    x = data((3, 4), "float32")

    def padded(a):
        (v,) = emit("pad", (a.var, acc.unit(np.float32(-1.0)).var), {"lo": (1, 0), "hi": (2, 1), "interior": (1, 2)})
        return wrap(v) * 2.0

    same(padded, x)


@pytest.mark.parametrize("boundary", ["clamp", "mirror", "wrap", 0.5])
@pytest.mark.parametrize("shape", [(1,), (2,), (7,), (1, 1), (2, 3), (5, 6), (600, 500)], ids=str)
def test_stencil(boundary, shape):
    x = data(shape, "float64")
    if len(shape) == 1:
        same(lambda a: acc.stencil(lambda n: n[0] - 2.0 * n[2] + n[4] * n[1], a, 5, boundary=boundary), x)
    else:
        same(lambda a: acc.stencil(lambda n: n[0][0] + n[1][1] * 4.0 - n[2][1], a, (3, 3), boundary=boundary), x)


@pytest.mark.parametrize("dtype", NUMERIC)
@pytest.mark.parametrize("n", [0, 1, 10, 300000])
def test_permute_collisions_and_ignore(dtype, n):
    x = data((n,), dtype)
    zeros = np.zeros(7, dtype)

    def scatter_add(a):
        return acc.permute(lambda new, old: new + old, zeros, lambda i: acc.cond(i % 3 == 0, acc.IGNORE, (i % 7,)), a)

    if np.dtype(dtype).kind == "f":  # ~n/10 terms per target, summed in chunks: a float64 reference, and room
        kept = np.arange(n) % 3 != 0  # for float32 rounding in proportion to the magnitudes summed
        want = np.zeros(7)
        np.add.at(want, (np.arange(n) % 7)[kept], x[kept].astype(np.float64))
        got = acc.jit(scatter_add, backend="native")(x)
        assert got.dtype == x.dtype
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6 * np.abs(x).sum() + 1e-12)
    else:
        same(scatter_add, x)

    def scatter_general(a):  # not commutative: the result depends on the (source) order of collisions
        return acc.permute(lambda new, old: old * 2 + new, zeros, lambda i: (i % 7,), a)

    if np.dtype(dtype).kind == "i" or n < 100:
        same(scatter_general, x)


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

    same(grow, x)
    same(lambda a: acc.acond(acc.unit(acc.the(a.sum()) > 3.0), lambda: a * 2.0, lambda: -a), x)
    same(lambda a: acc.acond(acc.unit(acc.the(a.sum()) > 1e9), lambda: a * 2.0, lambda: -a), x)


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
    """``fn(a, b)`` on native and interp, each within the classic float GEMM error bound of the exact product.

    Integers must be exact. Floats: ``|computed - exact| ≤ γ_k·(|A|·|B|)`` elementwise with ``γ_k = k·u/(1 - k·u)``
    (``u`` the unit roundoff, ``k`` the inner dimension; Higham, *Accuracy and Stability*, §3.5), computed in
    float64 from the same inputs. Two BLAS libraries (native's MKL or OpenBLAS, NumPy's for interp) may sum in
    different orders, so they need not agree with each other more closely than that.
    """
    exact = reference(a.astype(np.float64), b.astype(np.float64))
    for backend in ("native", "interp"):
        got = np.asarray(acc.jit(fn, backend=backend)(a, b))
        assert got.dtype == a.dtype and got.shape == exact.shape
        if a.dtype.kind != "f":
            np.testing.assert_array_equal(got, reference(a, b))
            continue
        u, k = np.finfo(a.dtype).eps / 2, a.shape[-1]
        bound = 2 * k * u / (1 - k * u) * reference(np.abs(a.astype(np.float64)), np.abs(b.astype(np.float64)))
        assert np.all(np.abs(got - exact) <= bound + np.finfo(a.dtype).tiny), backend


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
    a, b, bias = data((m, k), dtype), data((k, n), dtype), data((n,), dtype)

    def dense(p, q, c):
        return acc.tanh(acc.matmul(p, q) + c)

    assert _epilogues(dense, a, b, bias) == [True]
    same(dense, a, b, bias)
    got = acc.run(dense, a, b, bias, backend="native")
    tol = 1e-4 if dtype == "float32" else 1e-10  # float32: a sum of 200 products, rounded
    np.testing.assert_allclose(got, np.tanh(a.astype(np.float64) @ b + bias), rtol=tol, atol=tol)

    def shifted(p, q):  # reads the product at other indices: a kernel of its own, after the GEMM
        y = acc.matmul(p, q)
        return acc.exp(y[1:] - y[:-1])

    assert _epilogues(shifted, a, b) == [False]
    same(shifted, a, b)
    if m == n:
        return
    square = data((m, m), dtype)

    def transposed(p, s):
        return acc.transpose(acc.matmul(p, s)) * 2.0

    assert _epilogues(transposed, square, square) == [False]
    same(transposed, square, square)


@pytest.mark.parametrize("dtype", ["float32", "int32", "bool"])
def test_casts_and_bools(dtype):
    x = np.array([-2.5, -0.5, 0.0, 0.5, 1.5, 2.5, 1e3], np.float64)
    same(lambda a: (acc.cast(a, dtype), acc.round(a), acc.sign(a), acc.trunc(a)), x)
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
    results are identical for any thread count (only permute's atomic float additions may differ)."""
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
    c = a.astype(np.float64) @ b
    np.testing.assert_allclose(grad[0], 2 * c @ b.T, rtol=2e-3, atol=1e-3)
    np.testing.assert_allclose(grad[1], 2 * a.T @ c, rtol=2e-3, atol=1e-3)


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

    def softmax(x):
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    failures = []

    def work(x):
        try:
            for _ in range(20):
                got = jitted(x)
                if not np.allclose(got, softmax(x), rtol=1e-12, atol=1e-15):
                    failures.append(x.shape)
        except Exception as exc:  # an exception in a thread would not fail the test by itself
            failures.append(repr(exc))

    threads = [threading.Thread(target=work, args=(x,)) for x in inputs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
