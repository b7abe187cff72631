"""NumPy-style sugar and shape operations, against NumPy on random shapes (rank 0-3, empty and size-1 axes)."""

from __future__ import annotations

import numpy as np
import pytest
from frontend_helpers import run_checked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import pyaccad as acc
from pyaccad.frontend import trace

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
shapes = st.lists(st.integers(0, 3), min_size=0, max_size=3).map(tuple)


def arrays(shape, dtype=np.float64, seed=0):
    data = np.random.default_rng(seed).integers(-5, 6, size=shape)
    return data.astype(dtype)


@st.composite
def array_and_axis(draw, min_rank=0):
    shape = draw(st.lists(st.integers(0, 3), min_size=min_rank, max_size=3).map(tuple))
    axis = draw(st.one_of(st.none(), st.integers(-len(shape), len(shape) - 1) if shape else st.none()))
    return arrays(shape), axis


@pytest.mark.filterwarnings("ignore:Mean of empty slice")
@SETTINGS
@given(array_and_axis(), st.booleans(), st.sampled_from(["sum", "prod", "mean"]))
def test_reductions_with_identity(xa, keepdims, op):
    x, axis = xa
    out = run_checked(lambda a: getattr(a, op)(axis=axis, keepdims=keepdims), x)
    with np.errstate(invalid="ignore"):
        ref = getattr(np, op)(x, axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(out, ref)
    assert out.shape == np.shape(ref)


@SETTINGS
@given(array_and_axis(), st.booleans(), st.sampled_from(["max", "min"]))
def test_max_min(xa, keepdims, op):
    x, axis = xa
    reduced = x.shape if axis is None else (x.shape[axis],)
    if 0 in reduced:
        return  # no identity: an error, tested in test_errors.py
    out = run_checked(lambda a: getattr(a, op)(axis=axis, keepdims=keepdims), x)
    np.testing.assert_array_equal(out, getattr(np, op)(x, axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("axis", [(0, 2), (2, 0), (-1, 1), ()])
def test_reductions_over_several_axes(axis):
    x = arrays((2, 3, 4), seed=1)
    np.testing.assert_allclose(run_checked(lambda a: a.sum(axis=axis), x), x.sum(axis=axis))
    np.testing.assert_array_equal(run_checked(lambda a: a.max(axis=axis, keepdims=True), x), x.max(axis, keepdims=True))


def test_reductions_of_bools_and_ints_follow_numpy():
    x = np.array([[True, False], [True, True]])
    out = run_checked(lambda a: a.sum(axis=0), x)
    np.testing.assert_array_equal(out, x.sum(axis=0))
    out = run_checked(lambda a: a.mean(), np.array([1, 2], np.int32))
    assert out.dtype == np.float64 and out == 1.5


def test_reduction_lowers_to_one_fold_with_a_monoid():
    program = trace(lambda a: a.sum(axis=(0, 2)), np.ones((2, 3, 4))).program
    names = [s.prim.name for s in program.stmts]
    assert names == ["transpose", "reshape", "fold"]
    (lam,) = [s.params["lam"] for s in program.stmts if s.prim.name == "fold"]
    assert [s.prim.name for s in lam.stmts] == ["add"]


@st.composite
def basic_index(draw):
    shape = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3).map(tuple))
    key = []
    for dim in shape:
        kind = draw(st.sampled_from(["int", "slice", "none", "full"]))
        if kind == "int":
            key.append(draw(st.integers(-dim, dim - 1)))
        elif kind == "slice":
            bound = st.one_of(st.none(), st.integers(-dim - 2, dim + 2))
            step = draw(st.one_of(st.none(), st.integers(-3, 3).filter(lambda s: s != 0)))
            key.append(slice(draw(bound), draw(bound), step))
        elif kind == "none":
            key.extend([None, slice(None)])
        else:
            key.append(slice(None))
    if draw(st.booleans()) and len(key) > 1:
        # `...` stands for full slices: drop a run of them (maybe none) and the rest still index the last axes
        cut = draw(st.integers(0, len(key) - 1))
        rest = key[cut:]
        while rest and draw(st.booleans()) and isinstance(rest[0], slice) and rest[0] == slice(None):
            rest = rest[1:]
        key = key[:cut] + [Ellipsis] + rest
    return arrays(shape), tuple(key)


@SETTINGS
@given(basic_index())
def test_basic_indexing_matches_numpy(case):
    x, key = case
    expected = x[key]
    out = run_checked(lambda a: a[key], x)
    np.testing.assert_array_equal(out, expected)
    assert out.shape == expected.shape


def test_indexing_forms():
    x = np.arange(24.0).reshape(2, 3, 4)
    for key in [1, -1, (0, 2), (..., 1), (None, 1, ..., None), slice(None, None, -2), (1, slice(3, 0, -1), 2)]:
        np.testing.assert_array_equal(run_checked(lambda a, k=key: a[k], x), x[key])


def test_element_reads_inside_lambdas_emit_index():
    x = np.arange(6.0).reshape(2, 3)
    program = trace(lambda a: acc.generate((3, 2), lambda i, j: a[j, -1 - i]), x).program
    lam = program.stmts[-1].params["lam"]
    assert "index" in [s.prim.name for s in lam.stmts]
    out = run_checked(lambda a: acc.generate((3, 2), lambda i, j: a[j, 2 - i] + a[0, -1]), x)
    np.testing.assert_array_equal(out, x[:, ::-1].T + x[0, -1])


def test_dynamic_index_with_a_rank0_array():
    x = np.arange(12.0).reshape(3, 4)
    out = run_checked(lambda a: a[acc.unit(2), 1:3], x)
    np.testing.assert_array_equal(out, x[2, 1:3])
    for k in [3, -1, -4]:
        out = run_checked(lambda a, k: a[:, k], x, np.array(k, np.int32))
        np.testing.assert_array_equal(out, x[:, k])
    out = run_checked(lambda a, k: a[None, k, 1:], x, np.array(-2))
    np.testing.assert_array_equal(out, x[None, -2, 1:])


@SETTINGS
@given(shapes)
def test_reshape_transpose_reverse(shape):
    x = arrays(shape, seed=2)
    np.testing.assert_array_equal(run_checked(lambda a: a.reshape(-1), x), x.reshape(-1))
    np.testing.assert_array_equal(run_checked(lambda a: a.T, x), x.T)
    np.testing.assert_array_equal(run_checked(lambda a: acc.transpose(a), x), np.transpose(x))
    if shape:
        np.testing.assert_array_equal(run_checked(lambda a: acc.reverse(a), x), x[..., ::-1])
        np.testing.assert_array_equal(run_checked(lambda a: acc.reverse(a, axis=0), x), x[::-1])
        np.testing.assert_array_equal(run_checked(lambda a: a.reshape(*shape[::-1]), x), x.reshape(shape[::-1]))


def test_reshape_forms_and_transpose_axes():
    x = np.arange(12)
    np.testing.assert_array_equal(run_checked(lambda a: a.reshape(3, -1), x), x.reshape(3, -1))
    np.testing.assert_array_equal(run_checked(lambda a: a.reshape((2, 6)), x), x.reshape(2, 6))
    np.testing.assert_array_equal(run_checked(lambda a: acc.reshape(a, 12), x), x)
    y = x.reshape(2, 3, 2)
    np.testing.assert_array_equal(run_checked(lambda a: acc.transpose(a, (2, 0, 1)), y), y.transpose(2, 0, 1))
    np.testing.assert_array_equal(run_checked(lambda a: acc.transpose(a, (-1, 0, 1)), y), y.transpose(2, 0, 1))


@SETTINGS
@given(shapes, st.integers(0, 3), st.data())
def test_replicate_and_broadcast_to(shape, n, data):
    x = arrays(shape, seed=3)
    axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    np.testing.assert_array_equal(
        run_checked(lambda a: acc.replicate(a, n, axis), x), np.repeat(np.expand_dims(x, axis), n, axis=axis)
    )
    target = (2, *[1 if d == 1 and n else d for d in shape])
    np.testing.assert_array_equal(run_checked(lambda a: acc.broadcast_to(a, target), x), np.broadcast_to(x, target))


def test_broadcast_to_stretches_size1_axes():
    x = np.arange(3.0).reshape(3, 1)
    np.testing.assert_array_equal(
        run_checked(lambda a: acc.broadcast_to(a, (2, 3, 4)), x), np.broadcast_to(x, (2, 3, 4))
    )


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concatenate(axis):
    a, b = arrays((2, 3)), arrays((2, 3), seed=4)
    np.testing.assert_array_equal(
        run_checked(lambda p, q: acc.concatenate([p, q, p], axis), a, b), np.concatenate([a, b, a], axis)
    )


@pytest.mark.parametrize(
    "sa,sb",
    [
        ((2, 3), (3, 4)),
        ((3,), (3, 4)),
        ((2, 3), (3,)),
        ((3,), (3,)),
        ((5, 2, 3), (3, 4)),
        ((2, 3), (5, 3, 4)),
        ((5, 1, 2, 3), (4, 3, 2)),
        ((0, 3), (3, 2)),
        ((2, 0), (0, 3)),
    ],
)
def test_matmul_numpy_semantics(sa, sb):
    a, b = arrays(sa, seed=5), arrays(sb, seed=6)
    out = run_checked(lambda p, q: p @ q, a, b)
    np.testing.assert_allclose(out, a @ b)
    assert out.shape == (a @ b).shape
    np.testing.assert_allclose(run_checked(acc.matmul, a, b), a @ b)


def test_operators_broadcast_and_literals():
    x = arrays((2, 3)).astype(np.float32)
    out = run_checked(lambda a, b: (a + b) * 2 - 1.5, x, x[0])
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, (x + x[0]) * 2 - 1.5)
    np.testing.assert_array_equal(
        run_checked(lambda a: a // 2 + a % 3, np.arange(7)), np.arange(7) // 2 + np.arange(7) % 3
    )


@st.composite
def broadcastable_pair(draw):
    shape = draw(st.lists(st.integers(0, 3), min_size=0, max_size=3).map(tuple))
    cut = draw(st.integers(0, len(shape)))
    other = tuple(1 if draw(st.booleans()) else d for d in shape[cut:])
    return shape, other


@SETTINGS
@given(broadcastable_pair(), st.sampled_from(["+", "-", "*", "max", "<", "where"]))
def test_operators_broadcast_like_numpy(shapes, op):
    a, b = arrays(shapes[0], seed=7), arrays(shapes[1], seed=8)
    fns = {
        "+": lambda p, q: p + q,
        "-": lambda p, q: p - q,
        "*": lambda p, q: p * q,
        "max": lambda p, q: acc.maximum(p, q),
        "<": lambda p, q: p < q,
        "where": lambda p, q: acc.where(p > 0.0, p, q),
    }
    refs = {**fns, "max": np.maximum, "where": lambda p, q: np.where(p > 0, p, q)}
    out = run_checked(fns[op], a, b)
    np.testing.assert_array_equal(out, refs[op](a, b))
    np.testing.assert_array_equal(
        run_checked(lambda p, q: fns[op](q, p) if op != "where" else q + p, a, b),
        refs[op](b, a) if op != "where" else b + a,
    )


@st.composite
def matmul_operands(draw):
    """Shapes ``np.matmul`` accepts: vectors or (batched, broadcasting) matrices; empty and size-1 axes included."""
    m, k, n = (draw(st.integers(0, 3)) for _ in range(3))
    batch = draw(st.lists(st.integers(0, 2), max_size=2).map(tuple))
    a_shape = (k,) if draw(st.booleans()) else (*[d if draw(st.booleans()) else 1 for d in batch], m, k)
    b_batch = batch[draw(st.integers(0, len(batch))) :]
    b_shape = (k,) if draw(st.booleans()) else (*[d if draw(st.booleans()) else 1 for d in b_batch], k, n)
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int32, np.int64]))
    return arrays(a_shape, dtype, seed=m), arrays(b_shape, dtype, seed=n)


@SETTINGS
@given(matmul_operands())
def test_matmul_matches_numpy_on_random_shapes(operands):
    a, b = operands
    want = np.matmul(a, b)
    for fn in (lambda p, q: p @ q, acc.matmul):
        out = run_checked(fn, a, b)
        assert out.dtype == want.dtype and out.shape == want.shape
        np.testing.assert_allclose(out, want, rtol=1e-5)
