"""Errors when calling compiled functions: bad arguments and run-time out-of-bounds reads on the interpreter.

Each names the function or operation, the values involved and this file's line, and is an ``acc.Error``.
"""

from __future__ import annotations

import numpy as np
import pytest

import pyaccad as acc

HERE = "test_frontend_call_errors.py:"


def check_call_error(cls, words, call):
    with pytest.raises(cls) as info:
        call()
    assert isinstance(info.value, acc.Error)
    message = str(info.value)
    for word in words:
        assert word in message, message
    assert HERE in message, message


def add(a, b):
    return a + b


jitted = acc.jit(add, backend="interp")


def test_wrong_number_of_arguments():
    check_call_error(acc.ArgumentError, ["add(a, b)", "1 positional", "'b'"], lambda: jitted(np.ones(2)))
    check_call_error(acc.ArgumentError, ["add(a, b)", "3 positional"], lambda: jitted(*[np.ones(2)] * 3))
    check_call_error(acc.ArgumentError, ["add(a, b)", "'c'"], lambda: jitted(np.ones(2), c=np.ones(2)))
    check_call_error(acc.ArgumentError, ["<lambda>(x)"], lambda: acc.run(lambda x: x, np.ones(2), np.ones(2)))
    check_call_error(acc.ArgumentError, ["<lambda>(x, y)"], lambda: acc.lower(lambda x, y: x, np.ones(2)))
    assert issubclass(acc.ArgumentError, TypeError)


@pytest.mark.parametrize("dtype", [np.complex64, np.longdouble, np.dtype("m8[s]")])
def test_unsupported_input_dtypes(dtype):
    hint = "use one of float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool"
    check_call_error(acc.DTypeError, ["add", str(np.dtype(dtype)), hint], lambda: jitted(np.ones(2, dtype), 1))


def test_inputs_that_are_not_arrays():
    check_call_error(acc.DTypeError, ["add", "<U2"], lambda: jitted("hi", np.ones(2)))
    check_call_error(acc.DTypeError, ["add", "object"], lambda: jitted(2**70, np.ones(2)))


def test_runtime_out_of_bounds_on_the_interpreter():
    x = np.arange(3.0)
    check_call_error(
        acc.IndexOutOfBounds,
        ["backpermute", "index (7,)", "shape (3,)"],
        lambda: acc.run(lambda a, i: a[i], x, np.array(7), backend="interp"),
    )
    check_call_error(
        acc.IndexOutOfBounds,
        ["index inside map", "(3,)"],
        lambda: acc.run(lambda a, i: acc.map(lambda k: a[k], i), x, np.array([0, 3]), backend="interp"),
    )
    check_call_error(
        acc.IndexOutOfBounds,
        ["permute", "index (3,)", "shape (2,)"],
        lambda: acc.run(
            lambda a: acc.permute(lambda p, q: p + q, acc.fill(2, 0.0), lambda k: (k + 3,), a), x, backend="interp"
        ),
    )
    # In range, the same programs run.
    assert acc.run(lambda a, i: a[i], x, np.array(-1), backend="interp") == 2.0
