"""Indices of every integer dtype (int32 index arrays above all) in gathers, scatters and reads, on every backend.

Each program is compared with NumPy's fancy indexing / ``np.add.at`` on the same int32 indices. Float and
bool indices are refused (as NumPy refuses them) with a DTypeError naming the operation and this file's line.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

import pyaccad as acc
from pyaccad.frontend import trace
from pyaccad.ir import verify

RNG = np.random.default_rng(11)
HERE = "test_frontend_index_dtypes.py:"


def add(p, q):
    return p + q


def run(backend, fn, *args):
    """``fn(*args)`` compiled by ``backend``, after checking the traced program with ``verify``."""
    verify(trace(fn, *args).program)
    return acc.jit(fn, backend=backend)(*args)


def test_backpermute_index_function_returning_int32(backend):
    x, ix = RNG.standard_normal(7), RNG.integers(0, 7, 12).astype(np.int32)
    out = run(backend, lambda a, k: acc.backpermute((12,), lambda i: k[i], a), x, ix)
    assert_close(out, x[ix])
    # rank 2, one axis from an int32 table and one an int64 lambda argument: a mixed tuple
    y, cols = RNG.standard_normal((3, 5)), np.array([4, 0, 0, 2], np.int32)
    out = run(backend, lambda a, k: acc.backpermute((3, 4), lambda i, j: (i, k[j]), a), y, cols)
    assert_close(out, y[:, cols])


def test_permute_index_function_returning_int32(backend):
    x, ix = RNG.standard_normal(9), RNG.integers(0, 4, 9).astype(np.int32)
    want = np.zeros(4)
    np.add.at(want, ix, x)
    assert_close(run(backend, lambda a, k: acc.permute(add, acc.fill(4, 0.0), lambda i: k[i], a), x, ix), want)
    assert_close(run(backend, lambda a, k: acc.permute(add, acc.fill(4, 0.0), lambda i: (k[i],), a), x, ix), want)


@pytest.mark.parametrize("tupled", [False, True], ids=["index", "tuple"])
@pytest.mark.parametrize("ignore_first", [True, False], ids=["IGNORE-then", "IGNORE-else"])
def test_permute_cond_between_ignore_and_an_int32_index(backend, tupled, ignore_first):
    """The issue's program: negative int32 targets drop their element."""
    x = RNG.standard_normal(8)
    ix = np.array([2, -1, 0, 2, -3, 1, 1, 0], np.int32)

    def f(a, k):
        def target(i):
            t = (k[i],) if tupled else k[i]
            return acc.cond(k[i] < 0, acc.IGNORE, t) if ignore_first else acc.cond(k[i] >= 0, t, acc.IGNORE)

        return acc.permute(add, acc.fill((3,), 0.0), target, a)

    want = np.zeros(3)
    np.add.at(want, ix[ix >= 0], x[ix >= 0])
    assert_close(run(backend, f, x, ix), want)


def test_permute_nested_conds_with_int32_and_int64_targets(backend):
    """A Scatter met again in an outer cond; the branches' indices are int32 and int64 (all widened)."""
    x, ix = RNG.standard_normal(6), np.array([1, -1, 0, 5, 2, -2], np.int32)

    def f(a, k):
        def target(i):
            inner = acc.cond(k[i] < 0, acc.IGNORE, k[i])  # an int32 target
            return acc.cond(k[i] > 2, (i % 3,), inner)  # an int64 one

        return acc.permute(add, acc.fill(3, 0.0), target, a)

    targets = np.where(ix > 2, np.arange(6) % 3, ix)
    want = np.zeros(3)
    np.add.at(want, targets[targets >= 0], x[targets >= 0])
    assert_close(run(backend, f, x, ix), want)


def test_reads_with_int32_indices_inside_lambdas(backend):
    table, ix = RNG.standard_normal(10), RNG.integers(0, 10, 6).astype(np.int32)
    # a map lambda's argument is an int32 element of the index array
    assert_close(run(backend, lambda t, k: acc.map(lambda q: t[q] * 2.0, k), table, ix), table[ix] * 2.0)
    # a generate lambda reading a[i, ix[j]]: one int64 index, one int32
    grid, cols = RNG.standard_normal((4, 10)), ix
    out = run(backend, lambda g, k: acc.generate((4, 6), lambda i, j: g[i, k[j]]), grid, cols)
    assert_close(out, grid[:, cols])
    # arithmetic in int32 (a literal takes int32), and a computed int32 index
    out = run(backend, lambda t: acc.generate((5,), lambda i: t[acc.cast(i, "int32") * 2 + 1]), table)
    assert_close(out, table[np.arange(5) * 2 + 1])


def test_numpy_integer_scalars_of_any_width_as_static_indices(backend):
    x = np.arange(12.0).reshape(3, 4)
    out = run(backend, lambda a: acc.generate((2,), lambda i: a[np.uint8(2), i + np.int16(1)]), x)
    assert_close(out, x[2, 1:3])
    out = run(backend, lambda a: acc.backpermute((2,), lambda i: (np.uint16(1), i), a), x)
    assert_close(out, x[1, :2])


def test_rank0_int32_array_index(backend):
    x, k = RNG.standard_normal((4, 3)), np.int32(-2)
    assert_close(run(backend, lambda a, i: a[i], x, k), x[k])
    assert_close(run(backend, lambda a, i: a[1, i + 1], x, k), x[1, k + 1])


def test_cond_between_int32_and_int64_needs_a_cast(backend):
    """No promotion (as for ``+``): a DTypeError naming both dtypes; with a cast the program runs."""
    with pytest.raises(acc.DTypeError) as info:
        trace(
            lambda t, k: acc.generate((4,), lambda i: t[acc.cond(i < 2, k[i], i)]), np.zeros(3), np.zeros(4, np.int32)
        )
    message = str(info.value)
    assert "cond" in message and "i32[]" in message and "i64[]" in message and "acc.cast" in message, message
    assert HERE in message, message
    table, ix = RNG.standard_normal(5), np.array([4, 0, 3, 1], np.int32)

    def f(t, k):
        return acc.generate((4,), lambda i: t[acc.cond(i < 2, acc.cast(k[i], "int64"), i)])

    assert_close(run(backend, f, table, ix), table[np.where(np.arange(4) < 2, ix, np.arange(4))])


def check_index_error(dtype, words, fn, *args):
    """Tracing ``fn`` raises a DTypeError holding ``words``, the dtype's name and this file's line."""
    with pytest.raises(acc.DTypeError) as info:
        trace(fn, *args)
    message = str(info.value)
    for word in [*words, f"a {dtype} index", "indices must be integers", HERE]:
        assert word in message, message


FLOATS = np.linspace(0.0, 1.0, 4, dtype=np.float32)
MASK = np.array([True, False, True, False])


@pytest.mark.parametrize("values", [FLOATS, MASK], ids=["float32", "bool"])
def test_float_and_bool_indices_are_refused(values):
    dtype = values.dtype
    x = np.zeros(4)
    returned = ["the index function returned"]
    check_index_error(
        dtype, ["backpermute:", *returned], lambda a, v: acc.backpermute((4,), lambda i: v[i], a), x, values
    )
    check_index_error(
        dtype, ["permute:", *returned], lambda a, v: acc.permute(add, acc.fill(4, 0.0), lambda i: v[i], a), x, values
    )
    check_index_error(
        dtype,
        ["permute:", *returned],
        lambda a, v: acc.permute(add, acc.fill(4, 0.0), lambda i: acc.cond(i > 1, acc.IGNORE, (v[i],)), a),
        x,
        values,
    )
    check_index_error(
        dtype, ["index:", "reading an array of shape (4,)"], lambda a, v: acc.map(lambda q: a[q], v), x, values
    )
    check_index_error(dtype, ["index:", "(4,)"], lambda a, v: acc.generate((4,), lambda i: a[v[i]]), x, values)


def test_python_float_and_bool_literal_indices_are_refused():
    x = np.zeros(4)
    check_index_error("float64", ["backpermute:"], lambda a: acc.backpermute((1,), lambda i: 1.0, a), x)
    check_index_error("bool", ["permute:"], lambda a: acc.permute(add, acc.fill(4, 0.0), lambda i: True, a), x)
    check_index_error("float64", ["index:"], lambda a: acc.generate((4,), lambda i: a[i, 0.0]), x[:, None])
