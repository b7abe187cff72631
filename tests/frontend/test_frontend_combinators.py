"""The accelerate combinators, each against an independent NumPy computation."""

from __future__ import annotations

import numpy as np
import pytest
from frontend_helpers import run_checked
from hypothesis import given, settings
from hypothesis import strategies as st

import pyaccad as acc
from pyaccad.frontend import trace

RNG = np.random.default_rng(0)
X = RNG.standard_normal((3, 4)).astype(np.float32)
V = np.arange(1, 6, dtype=np.int64)


def add(a, b):
    return a + b


def test_use_unit_the_fill():
    c = np.arange(3.0)
    np.testing.assert_array_equal(run_checked(lambda: acc.use(c) + 1.0), c + 1.0)
    assert run_checked(lambda: acc.unit(2.5)).shape == ()
    np.testing.assert_array_equal(run_checked(lambda x: acc.map(lambda v: v * acc.the(x.sum()), x), X), X * X.sum())
    np.testing.assert_array_equal(run_checked(lambda: acc.fill((2, 3), 7, dtype="int32")), np.full((2, 3), 7, np.int32))
    np.testing.assert_array_equal(run_checked(lambda x: acc.fill(2, acc.the(x[0])), V), np.full(2, V[0]))


def test_closed_over_numpy_array_is_embedded():
    c = np.array([10.0, 20.0, 30.0])
    out = run_checked(lambda x: acc.map(lambda v: v * 2.0, x) + c, np.ones(3))
    np.testing.assert_array_equal(out, 2.0 + c)
    out = run_checked(lambda x: acc.generate((3,), lambda i: acc.use(c)[i] + x[i]), np.ones(3))
    np.testing.assert_array_equal(out, c + 1.0)


def test_generate_gets_int64_indices():
    out = run_checked(lambda: acc.generate((2, 3), lambda i, j: i * 3 + j))
    np.testing.assert_array_equal(out, np.arange(6).reshape(2, 3))
    assert out.dtype == np.int64
    assert run_checked(lambda: acc.generate((), lambda: 4.0)) == 4.0


def test_generate_and_map_return_tuples():
    out = run_checked(lambda: acc.generate((3,), lambda i: (i, acc.cast(i, "float32") / 2.0)))
    np.testing.assert_array_equal(out[0], np.arange(3))
    np.testing.assert_array_equal(out[1], np.arange(3, dtype=np.float32) / 2)
    lo, hi = run_checked(lambda x: acc.map(lambda v: (acc.minimum(v, 0.0), acc.maximum(v, 0.0)), x), X)
    np.testing.assert_array_equal(lo, np.minimum(X, 0))
    np.testing.assert_array_equal(hi, np.maximum(X, 0))


def test_map_zip_with_literals_take_the_array_dtype():
    out = run_checked(lambda x: acc.map(lambda v: v * 2.0 + 1, x), X)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, X * 2 + 1, rtol=1e-6)
    out = run_checked(lambda a, b, c: acc.zip_with(lambda p, q, r: p * q - r, a, b, c), X, X, X)
    np.testing.assert_allclose(out, X * X - X, rtol=1e-6)


@pytest.mark.parametrize("axis", [0, 1, -1, -2])
def test_fold_and_fold1_on_every_axis(axis):
    np.testing.assert_allclose(run_checked(lambda x: acc.fold(add, 0.0, x, axis=axis), X), X.sum(axis=axis), rtol=1e-5)
    np.testing.assert_allclose(run_checked(lambda x: acc.fold1(acc.maximum, x, axis=axis), X), X.max(axis=axis))


def test_fold_init_is_not_required_to_be_neutral():
    # accelerate: fold f z xs = f z (fold1 f xs), z for an empty axis.
    np.testing.assert_array_equal(run_checked(lambda x: acc.fold(add, 10, x), V), 10 + V.sum())
    np.testing.assert_array_equal(run_checked(lambda x: acc.fold(add, 10, x), np.zeros((2, 0), np.int64)), [10, 10])


def test_fold_over_a_tuple_of_arrays():
    # arg-max as a fold over (value, index) pairs, the function taking two tuples as in accelerate.
    def better(a, b):
        take_b = b[0] > a[0]
        return acc.cond(take_b, b[0], a[0]), acc.cond(take_b, b[1], a[1])

    def argmax(x):
        idx = acc.generate(x.shape, lambda i, j: j)
        return acc.fold1(better, (x, idx))[1]

    np.testing.assert_array_equal(run_checked(argmax, X), X.argmax(axis=1))


def test_fold_all():
    np.testing.assert_allclose(run_checked(lambda x: acc.fold_all(add, 0.0, x), X), X.sum(), rtol=1e-5)
    assert run_checked(lambda x: acc.fold_all(lambda a, b: a * b, 1, x), V) == np.prod(V)


def test_scans():
    np.testing.assert_array_equal(run_checked(lambda x: acc.scanl(add, 0, x), V), np.concatenate([[0], np.cumsum(V)]))
    np.testing.assert_array_equal(run_checked(lambda x: acc.scanl1(add, x), V), np.cumsum(V))
    np.testing.assert_array_equal(
        run_checked(lambda x: acc.scanr(add, 0, x), V), np.concatenate([np.cumsum(V[::-1])[::-1], [0]])
    )
    np.testing.assert_array_equal(run_checked(lambda x: acc.scanr1(add, x), V), np.cumsum(V[::-1])[::-1])
    np.testing.assert_allclose(run_checked(lambda x: acc.scanl1(add, x, axis=0), X), np.cumsum(X, axis=0), rtol=1e-5)
    assert run_checked(lambda x: acc.scanl(add, 0.0, x, axis=0), X).shape == (4, 4)


def test_scans_with_a_non_neutral_initial_value():
    # accelerate: scanl f z = [z, f z x0, f (f z x0) x1, ...]; scanr f z = [..., f x_{n-1} z, z].
    left, right = [10], [10]
    for v in V:
        left.append(left[-1] + v)
    for v in V[::-1]:
        right.insert(0, v + right[0])
    np.testing.assert_array_equal(run_checked(lambda x: acc.scanl(add, 10, x), V), left)
    np.testing.assert_array_equal(run_checked(lambda x: acc.scanr(add, 10, x), V), right)
    m = np.array([[3, 1, 4], [1, 5, 9]])
    want = np.maximum.accumulate(np.concatenate([np.full((2, 1), 4), m], axis=1), axis=1)
    np.testing.assert_array_equal(run_checked(lambda x: acc.scanl(acc.maximum, 4, x), m), want)
    np.testing.assert_array_equal(
        run_checked(lambda x: acc.scanl(add, 10, x), np.zeros((2, 0), np.int64)), [[10], [10]]
    )


def test_backpermute_transposes():
    out = run_checked(lambda x: acc.backpermute((4, 3), lambda i, j: (j, i), x), X)
    np.testing.assert_array_equal(out, X.T)
    out = run_checked(lambda x: acc.backpermute((2,), lambda i: 4 - 2 * i, x), V)
    np.testing.assert_array_equal(out, V[[4, 2]])


def test_permute_histogram_and_ignore():
    data = np.array([0, 2, 2, 1, 2, 3])

    def hist(x):
        ones = acc.fill(x.shape, 1)
        return acc.permute(add, acc.fill(3, 0), lambda i: acc.cond(x[i] < 3, (x[i],), acc.IGNORE), ones)

    np.testing.assert_array_equal(run_checked(hist, data), np.bincount(data[data < 3], minlength=3))
    dropped = run_checked(lambda x: acc.permute(add, acc.fill(2, 0.0), lambda i: acc.IGNORE, x), np.ones(4))
    np.testing.assert_array_equal(dropped, [0.0, 0.0])


def test_permute_scatters_with_combine():
    out = run_checked(lambda x: acc.permute(acc.maximum, acc.fill((2,), -100), lambda i: (i % 2,), x), V)
    np.testing.assert_array_equal(out, [V[0::2].max(), V[1::2].max()])


def _numpy_stencil(x, f, boundary):
    mode = {"clamp": "edge", "mirror": "reflect", "wrap": "wrap"}.get(boundary, "constant")
    kwargs = {"constant_values": boundary} if mode == "constant" else {}
    padded = np.pad(x, 1, mode=mode, **kwargs)
    return f(padded)


@pytest.mark.parametrize("boundary", ["clamp", "mirror", "wrap", 0.5])
def test_stencil_3x3(boundary):
    def laplace(n):
        (_, up, _), (left, mid, right), (_, down, _) = n
        return up + down + left + right - 4.0 * mid

    x = RNG.standard_normal((4, 5))
    out = run_checked(lambda a: acc.stencil(laplace, a, (3, 3), boundary), x)
    ref = _numpy_stencil(
        x, lambda p: p[:-2, 1:-1] + p[2:, 1:-1] + p[1:-1, :-2] + p[1:-1, 2:] - 4 * p[1:-1, 1:-1], boundary
    )
    np.testing.assert_allclose(out, ref, rtol=1e-12)


def test_stencil_rank1_flat_tuple():
    x = np.arange(5.0) ** 2
    out = run_checked(lambda a: acc.stencil(lambda n: n[2] - n[0], a, 3, "clamp"), x)
    padded = np.pad(x, 1, mode="edge")
    np.testing.assert_array_equal(out, padded[2:] - padded[:-2])


def test_awhile_and_acond():
    def doubling(x):
        return acc.awhile(lambda s: s[0].sum() < 100.0, lambda s: (s[0] * 2.0, s[1] + 1), (x, acc.unit(0)))

    x = np.array([1.0, 2.0])
    y, steps = run_checked(doubling, x)
    np.testing.assert_array_equal(y, [64.0, 128.0])
    assert steps == 6
    f = lambda v: acc.acond(v.sum() > 0.0, lambda a: a * 2.0, lambda a: -a, v)
    np.testing.assert_array_equal(run_checked(f, x), 2 * x)
    np.testing.assert_array_equal(run_checked(f, -x), x)


def test_cond_is_lazy_and_literals_take_the_branch_dtype():
    x = np.arange(9, dtype=np.float32).reshape(3, 3)
    lower = run_checked(lambda a: acc.generate(a.shape, lambda i, j: acc.cond(i > j, a[i, j], 0.0)), x)
    assert lower.dtype == np.float32
    np.testing.assert_array_equal(lower, np.tril(x, -1))
    # The index a[i + 1] is out of bounds on the last row, but only read when chosen.
    out = run_checked(lambda a: acc.generate((3,), lambda i: acc.cond(i < 2, lambda: a[i + 1, 0], lambda: -1.0)), x)
    np.testing.assert_array_equal(out, [3.0, 6.0, -1.0])


def test_while_on_scalar_state():
    def collatz_steps(n):
        body = lambda s: (acc.cond(s[0] % 2 == 0, s[0] // 2, 3 * s[0] + 1), s[1] + 1)
        return acc.while_(lambda s: s[0] != 1, body, (n, 0))[1]

    def reference(n):
        steps = 0
        while n != 1:
            n, steps = (n // 2 if n % 2 == 0 else 3 * n + 1), steps + 1
        return steps

    out = run_checked(lambda a: acc.map(collatz_steps, a), np.arange(1, 10))
    np.testing.assert_array_equal(out, [reference(n) for n in range(1, 10)])


def test_array_operations_inside_lambdas_are_hoisted():
    out = run_checked(lambda x: acc.map(lambda v: v / x.sum(), x), X)
    np.testing.assert_allclose(out, X / X.sum(), rtol=1e-5)
    out = run_checked(lambda x: acc.generate((2,), lambda i: x[1:][i]), V)
    np.testing.assert_array_equal(out, V[1:3])


def test_sharing_a_value_used_twice_is_computed_once():
    def f(x):
        y = acc.map(lambda v: acc.sin(v), x)
        return y + y

    program = trace(f, X).program
    assert [s.prim.name for s in program.stmts] == ["map", "add"]


def test_scan_over_a_tuple_of_arrays():
    # Running (sum, count of positives) in one scan, the function taking two tuples.
    x = np.array([1.0, -2.0, 3.0, 4.0])

    def f(a):
        positive = acc.map(lambda v: acc.cast(v > 0.0, "int64"), a)
        return acc.scanl(lambda p, q: (p[0] + q[0], p[1] + q[1]), (0.0, 0), (a, positive))

    sums, counts = run_checked(f, x)
    np.testing.assert_array_equal(sums, np.concatenate([[0.0], np.cumsum(x)]))
    np.testing.assert_array_equal(counts, np.concatenate([[0], np.cumsum(x > 0)]))


def test_array_level_cond_on_values_and_the_in_expressions():
    x = np.array([1.0, 2.0])
    f = lambda a: acc.cond(a.sum() > 2.0, (a, a * 2.0), (-a, a))
    np.testing.assert_array_equal(run_checked(f, x)[1], 2 * x)
    np.testing.assert_array_equal(run_checked(f, x / 4)[0], -x / 4)
    np.testing.assert_array_equal(run_checked(lambda a: a * acc.the(a[1]), x), x * x[1])


def test_literal_results_take_the_expected_dtype():
    x = np.arange(4, dtype=np.int32)
    out = run_checked(lambda a: acc.map(lambda v: acc.while_(lambda s: s < 10, lambda s: 10, v), a), x)
    assert out.dtype == np.int32
    np.testing.assert_array_equal(out, np.full(4, 10))
    out = run_checked(lambda a: acc.fold(lambda p, q: acc.maximum(p, q), 0, a), x)
    assert out.dtype == np.int32 and out == 3


def test_awhile_over_a_dict_state():
    def f(x):
        state = {"x": x, "n": acc.unit(0)}
        return acc.awhile(lambda s: s["n"] < 3, lambda s: {"x": s["x"] + s["x"], "n": s["n"] + 1}, state)

    out = run_checked(f, np.array([1.0, 2.0]))
    np.testing.assert_array_equal(out["x"], [8.0, 16.0])
    assert out["n"] == 3


def test_cond_literals_in_both_branches_meet_values():
    x = np.arange(3, dtype=np.float32)
    f = lambda a: acc.map(lambda v: acc.cond(v > 0.5, (v, 1), (0.0, acc.cast(v, "int32"))), a)
    first, second = run_checked(f, x)
    assert first.dtype == np.float32 and second.dtype == np.int32
    np.testing.assert_array_equal(first, np.where(x > 0.5, x, 0))
    np.testing.assert_array_equal(second, np.where(x > 0.5, 1, x.astype(np.int32)))


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=3).map(tuple), st.data())
def test_fold_and_scans_on_random_shapes(shape, data):
    x = np.random.default_rng(len(shape)).integers(-5, 6, size=shape)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    np.testing.assert_array_equal(run_checked(lambda a: acc.fold(add, 0, a, axis=axis), x), x.sum(axis=axis))
    inclusive = np.cumsum(x, axis=axis)
    np.testing.assert_array_equal(run_checked(lambda a: acc.scanl1(add, a, axis=axis), x), inclusive)
    zero = np.zeros(tuple(1 if ax == axis % len(shape) else d for ax, d in enumerate(shape)), x.dtype)
    np.testing.assert_array_equal(
        run_checked(lambda a: acc.scanl(add, 0, a, axis=axis), x), np.concatenate([zero, inclusive], axis=axis)
    )
    reversed_sums = np.flip(np.cumsum(np.flip(x, axis), axis=axis), axis)
    np.testing.assert_array_equal(run_checked(lambda a: acc.scanr1(add, a, axis=axis), x), reversed_sums)


def test_scan_argument_order_follows_accelerate():
    # `first` and `last` are associative but not commutative, so they expose the argument order:
    # scanl f z xs = [z, f z x0, ...], scanr f z xs = [..., f x_{n-1} z, z].
    first, last = (lambda a, b: a), (lambda a, b: b)
    x = np.array([1, 2, 3])
    np.testing.assert_array_equal(run_checked(lambda a: acc.scanl(last, 0, a), x), [0, 1, 2, 3])
    np.testing.assert_array_equal(run_checked(lambda a: acc.scanl(first, 0, a), x), [0, 0, 0, 0])
    np.testing.assert_array_equal(run_checked(lambda a: acc.scanr(first, 0, a), x), [1, 2, 3, 0])
    np.testing.assert_array_equal(run_checked(lambda a: acc.scanr(last, 0, a), x), [0, 0, 0, 0])
    np.testing.assert_array_equal(run_checked(lambda a: acc.scanl1(last, a), x), [1, 2, 3])
    np.testing.assert_array_equal(run_checked(lambda a: acc.scanr1(first, a), x), [1, 2, 3])
    assert run_checked(lambda a: acc.fold(first, 0, a), x) == 0  # fold f z xs = f z (fold1 f xs)


def test_stencil_neighbourhood_orientation():
    # n[0][2] is the neighbour one row up and one column right: x[i - 1, j + 1] (clamped at the borders).
    x = np.arange(12.0).reshape(3, 4)
    out = run_checked(lambda a: acc.stencil(lambda n: n[0][2], a, (3, 3), "clamp"), x)
    rows = np.clip(np.arange(3) - 1, 0, 2)[:, None]
    cols = np.clip(np.arange(4) + 1, 0, 3)[None, :]
    np.testing.assert_array_equal(out, x[rows, cols])
    out = run_checked(lambda a: acc.stencil(lambda n: n[1][0][4], a, (3, 1, 5), "wrap"), x.reshape(3, 1, 4))
    np.testing.assert_array_equal(out, np.roll(x, -2, axis=1).reshape(3, 1, 4))
