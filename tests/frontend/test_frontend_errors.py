"""Bad use raises a pyaccad error naming the operation, the shapes/dtypes and the user's line (this file)."""

from __future__ import annotations

import numpy as np
import pytest

import pyaccad as acc
from pyaccad import nn
from pyaccad.frontend import trace

X = np.zeros((2, 3), np.float32)
INTS = np.arange(3)
HERE = "test_frontend_errors.py:"


def check_error(cls, words, fn, *args):
    """Tracing ``fn`` at ``args`` raises ``cls`` whose message holds ``words`` and this file's line."""
    with pytest.raises(cls) as info:
        trace(fn, *args)
    message = str(info.value)
    assert isinstance(info.value, acc.Error)
    for word in [words] if isinstance(words, str) else words:
        assert word in message, message
    assert HERE in message, message
    return message


def test_map_over_arrays_of_different_shapes():
    check_error(acc.ShapeError, ["map", "(2, 3)", "(3,)"], lambda a, b: acc.map(lambda x, y: x + y, a, b), X, INTS)


def test_fold_of_a_rank0_array():
    check_error(acc.ShapeError, ["fold", "rank-0"], lambda a: acc.fold(lambda x, y: x + y, 0.0, a), np.float32(1))


AXIS_OPS = {
    "fold": lambda a: acc.fold(lambda x, y: x + y, 0.0, a, axis=2),
    "fold1": lambda a: acc.fold1(lambda x, y: x + y, a, axis=-3),
    "scanl": lambda a: acc.scanl(lambda x, y: x + y, 0.0, a, axis=2),
    "scanl1": lambda a: acc.scanl1(lambda x, y: x + y, a, axis=5),
    "scanr": lambda a: acc.scanr(lambda x, y: x + y, 0.0, a, axis=-3),
    "scanr1": lambda a: acc.scanr1(lambda x, y: x + y, a, axis=2),
    "reverse": lambda a: acc.reverse(a, axis=2),
    "transpose": lambda a: acc.transpose(a, (0, 2)),
    "replicate": lambda a: acc.replicate(a, 2, axis=4),
    "concatenate": lambda a: acc.concatenate([a, a], axis=2),
    "sum": lambda a: a.sum(axis=2),
    "prod": lambda a: a.prod(axis=(0, -3)),
    "max": lambda a: a.max(axis=-3),
    "min": lambda a: a.min(axis=3),
    "mean": lambda a: a.mean(axis=2),
    "softmax": lambda a: nn.softmax(a, axis=2),
    "log_softmax": lambda a: nn.log_softmax(a, axis=-3),
    "logsumexp": lambda a: nn.logsumexp(a, axis=2),
}


@pytest.mark.parametrize("op", sorted(AXIS_OPS))
def test_axis_out_of_range(op):
    check_error(acc.ShapeError, [op, "axis", "rank 2", "out of range"], AXIS_OPS[op], X)


def test_permute_index_function_returning_the_wrong_number_of_indices():
    def f(a):
        return acc.permute(lambda x, y: x + y, acc.fill((2, 2), 0), lambda i: (i, i, i), a)

    check_error(acc.ShapeError, ["permute", "(2, 2)", "3 indices", "expected 2"], f, INTS)
    g = lambda a: acc.permute(lambda x, y: x + y, acc.fill(3, 0), lambda i: acc.cond(i > 0, (i, i), acc.IGNORE), a)
    check_error(acc.ShapeError, ["permute", "2 indices", "expected 1"], g, INTS)


def test_backpermute_index_function_returning_the_wrong_number_of_indices():
    check_error(
        acc.ShapeError,
        ["backpermute", "(2, 3)", "1 indices", "expected 2"],
        lambda a: acc.backpermute(3, lambda i: i, a),
        X,
    )


def test_reshape_to_a_different_size():
    check_error(acc.ShapeError, ["reshape", "(2, 3)", "(4, 2)"], lambda a: a.reshape(4, 2), X)
    check_error(acc.ShapeError, ["reshape", "(2, 3)", "(4, -1)"], lambda a: acc.reshape(a, (4, -1)), X)


def test_lambda_returning_an_array():
    check_error(acc.ShapeError, ["map", "scalars", "(3,)"], lambda a: acc.map(lambda x: a, a), INTS)
    check_error(acc.ShapeError, ["generate", "scalars"], lambda a: acc.generate(2, lambda i: a + 1), INTS)


def test_mixed_dtypes_promote_as_in_jax_numpy():
    import jax.numpy as jnp

    ints64, ints32 = np.arange(6).reshape(2, 3), np.arange(6, dtype=np.int32).reshape(2, 3)
    for a, b in [(X, ints64), (X, ints32), (X.astype(np.float64), X), (ints32, ints64), (ints32 > 2, ints32)]:
        got = acc.run(lambda p, q: p + q, a, b, backend="interp")
        dtype = jnp.promote_types(a.dtype, b.dtype)  # JAX's lattice, whatever its x64 setting
        assert got.dtype == dtype and np.array_equal(got, a.astype(dtype) + b.astype(dtype)), (a.dtype, b.dtype)
    inside = acc.run(lambda p, q: acc.zip_with(lambda x, y: x * y, p, q), X, ints32, backend="interp")
    assert inside.dtype == np.float32 and np.array_equal(inside, X * ints32.astype(np.float32))


def test_true_division_of_ints_gives_floats():
    np.testing.assert_array_equal(acc.run(lambda a: a / 2, INTS, backend="interp"), INTS / 2)
    got = acc.run(lambda a: acc.map(lambda x: x / (x + 1), a), INTS, backend="interp")
    np.testing.assert_allclose(got, INTS / (INTS + 1), rtol=1e-15)


@pytest.mark.parametrize("size", [2, (3,), (3, 4), (0, 3), "3"])
def test_bad_stencil_size(size):
    check_error(acc.ShapeError, ["stencil", "size", "(2, 3)"], lambda a: acc.stencil(lambda n: 0.0, a, size), X)


def test_bad_stencil_boundary():
    check_error(acc.ShapeError, ["stencil", "reflect"], lambda a: acc.stencil(lambda n: n[1], a, 3, "reflect"), INTS)
    check_error(acc.DTypeError, ["stencil", "None"], lambda a: acc.stencil(lambda n: n[1], a, 3, None), INTS)
    check_error(acc.DTypeError, ["stencil", "1.5"], lambda a: acc.stencil(lambda n: n[1], a, 3, 1.5), INTS)


def test_tracer_used_after_its_trace_ended():
    leaked = []
    trace(lambda a: leaked.append(a) or a, X)
    check_error(acc.Error, ["add", "escaped", "f32[2,3]"], lambda a: a + leaked[0], X)


def test_lambda_scalar_leaking_out_of_its_lambda():
    inner = []
    check_error(
        acc.Error, ["add", "lambda", "f32[]"], lambda a: acc.map(lambda x: inner.append(x) or x, a) + inner[0], X
    )


def test_static_index_out_of_bounds():
    check_error(acc.ShapeError, ["index", "3", "size 3", "(2, 3)"], lambda a: a[0, 3], X)
    check_error(acc.ShapeError, ["index", "-3", "size 2"], lambda a: acc.generate(2, lambda i: a[-3, i]), X)
    check_error(acc.ShapeError, ["index", "too many"], lambda a: a[0, 0, 0], X)
    check_error(
        acc.ShapeError, ["index", "one integer index per axis", "(2, 3)"], lambda a: acc.generate(2, lambda i: a[i]), X
    )


def test_numpy_array_indexed_with_a_traced_index():
    c = np.arange(3.0)
    check_error(acc.DTypeError, ["acc.use"], lambda a: acc.generate(3, lambda i: c[i]), X)


def test_array_operation_on_a_lambda_scalar():
    check_error(acc.ShapeError, ["fill", "lambda"], lambda a: acc.map(lambda x: acc.fill(2, x).sum(), a), X)


def test_reducing_an_empty_axis_without_identity():
    check_error(acc.ShapeError, ["max", "empty", "(2, 0)"], lambda a: a.max(axis=1), np.zeros((2, 0)))


def test_matmul_mismatches():
    check_error(acc.ShapeError, ["matmul", "(2, 3)", "(2, 3)"], lambda a: a @ a, X)
    promoted = acc.run(lambda a, b: a @ b, X + 1.0, INTS, backend="interp")  # float32 @ int64: float32, as in JAX
    assert promoted.dtype == np.float32 and np.array_equal(promoted, np.full(2, 3.0, np.float32))
    check_error(acc.ShapeError, ["matmul", "rank"], lambda a: acc.matmul(a, acc.unit(1.0)), X)


def test_control_flow_mismatches():
    check_error(acc.ShapeError, ["cond", "structures"], lambda a: acc.cond(a.sum() > 0.0, (a, a), a), X)
    check_error(acc.DTypeError, ["cond", "bool"], lambda a: acc.cond(a.sum(), a, a), X)
    check_error(
        acc.ShapeError, ["awhile", "loop state"], lambda a: acc.awhile(lambda s: s.sum() > 0.0, lambda s: s[0], a), X
    )
    check_error(acc.DTypeError, ["awhile", "scalar bool"], lambda a: acc.awhile(lambda s: s, lambda s: s, a), X)
    check_error(acc.DTypeError, ["acond", "bool"], lambda a: acc.acond(a.sum(), lambda: a, lambda: a), X)


def test_the_needs_a_rank0_array():
    check_error(acc.ShapeError, ["the", "(2, 3)"], lambda a: acc.the(a), X)


def test_fold_function_of_the_wrong_type():
    check_error(acc.DTypeError, ["fold", "f32"], lambda a: acc.fold(lambda x, y: x < y, False, a), X)


def test_lambda_taking_the_wrong_number_of_arguments():
    check_error(acc.ArgumentError, ["map", "<lambda>(x, y)", "1 argument"], lambda a: acc.map(lambda x, y: x, a), X)
    check_error(acc.ArgumentError, ["fold", "2 argument"], lambda a: acc.fold(lambda x: x, 0.0, a), X)
    check_error(acc.ArgumentError, ["generate", "2 argument"], lambda a: acc.generate((2, 2), lambda i: i), X)
    check_error(acc.ArgumentError, ["backpermute", "2 argument"], lambda a: acc.backpermute((2, 3), lambda i: i, a), X)
    check_error(acc.ArgumentError, ["awhile body", "1 argument"], lambda a: acc.awhile(lambda s: True, lambda: a, a), X)
    check_error(
        acc.ArgumentError, ["acond (else)", "1 argument"], lambda a: acc.acond(True, lambda v: v, lambda: a, a), X
    )


def test_non_function_given_as_a_lambda():
    check_error(acc.DTypeError, ["map", "expected a function", "int"], lambda a: acc.map(3, a), X)


def test_stencil_neighbour_out_of_range():
    check_error(acc.ShapeError, ["stencil", "neighbour 3", "0 to 2"], lambda a: acc.stencil(lambda n: n[3], a, 3), INTS)


def test_cast_to_an_unsupported_dtype():
    check_error(acc.DTypeError, ["cast", "complex64"], lambda a: acc.cast(a, "complex64"), X)
    check_error(acc.DTypeError, ["cast", "'banana'"], lambda a: a.astype("banana"), X)
    check_error(acc.DTypeError, ["fill", "float128"], lambda: acc.fill(2, 1, dtype=np.float128))


def test_literal_that_does_not_fit_the_dtype_it_meets():
    check_error(acc.DTypeError, ["add", str(2**40), "int32"], lambda a: a + 2**40, INTS.astype(np.int32))
    # a weak float meeting integers makes floats, a weak int meeting bools makes ints (JAX's rules)
    np.testing.assert_array_equal(acc.run(lambda a: a + 1.5, INTS, backend="interp"), INTS + 1.5)
    np.testing.assert_array_equal(acc.run(lambda a: (a > 0) + 1, INTS, backend="interp"), (INTS > 0) + 1)


def test_python_truth_value_of_a_tracer():
    check_error(acc.Error, ["truth value", "acc.cond"], lambda a: a if a.sum() > 0 else -a, X)


def test_bad_shapes_and_counts():
    check_error(acc.ShapeError, ["fill", "(-1,)"], lambda: acc.fill((-1,), 0.0))
    check_error(acc.ShapeError, ["generate", "(2, -1)"], lambda: acc.generate((2, -1), lambda i, j: i))
    check_error(acc.ShapeError, ["replicate", "-2"], lambda a: acc.replicate(a, -2), X)
    check_error(acc.ShapeError, ["broadcast_to", "(2, 3)", "(3, 3)"], lambda a: acc.broadcast_to(a, (3, 3)), X)
    check_error(acc.ShapeError, ["transpose", "repeated"], lambda a: acc.transpose(a, (0, 0)), X)
    check_error(acc.ShapeError, ["reshape", "(-1, -1)"], lambda a: a.reshape(-1, -1), X)


def test_bad_index_kinds():
    check_error(acc.DTypeError, ["index", "'x'", "integer arrays"], lambda a: a["x"], X)
    check_error(
        acc.DTypeError, ["index", "index arrays must hold integers, got float64"], lambda a: a[np.array([0.5])], X
    )


def test_concatenate_mismatches():
    f = lambda a, b: acc.concatenate([a, b])
    check_error(acc.DTypeError, ["concatenate", "float32", "float64"], f, X, np.zeros((2, 3)))
    check_error(acc.ShapeError, ["concatenate", "(2, 3)", "(3, 3)"], f, X, np.zeros((3, 3), np.float32))


def test_bad_initial_values_and_defaults():
    check_error(acc.DTypeError, ["fold", "float32 scalar", "f32[2,3]"], lambda a: acc.fold(lambda x, y: x + y, a, a), X)
    f = lambda a: acc.scanl(lambda x, y: x + y, acc.unit(np.int32(1)), a)
    check_error(acc.DTypeError, ["scanl", "float32 scalar", "i32[]"], f, X)
    g = lambda a: acc.permute(lambda x, y: x + y, acc.fill(2, 0, dtype="int64"), lambda i: (i,), a)
    check_error(acc.DTypeError, ["permute", "int64", "float32"], g, X[0])
    weak = lambda a: acc.permute(lambda x, y: x + y, acc.fill(3, 0), lambda i: (i,), a)  # takes a's dtype
    assert acc.run(weak, X[0] + 1.0, backend="interp").dtype == np.float32


def test_element_wise_function_on_the_wrong_dtype():
    check_error(acc.DTypeError, ["sin", "int64", "float16, float32, float64"], lambda a: acc.sin(a), INTS)
    check_error(acc.DTypeError, ["invert", "float32", "int8"], lambda a: ~a, X)
    check_error(acc.DTypeError, ["where", "predicate", "float32"], lambda a: acc.where(a, a, a), X)


def test_unsupported_results_and_inputs():
    check_error(acc.DTypeError, ["result", "<U1"], lambda a: "s", X)
    check_error(acc.DTypeError, ["argument a", "complex128", "float32"], lambda a: a, X.astype(np.complex128))
