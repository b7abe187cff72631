"""API.md "Running": a jitted function's fast path (``pyaccad.frontend.signature``) changes no answer.

A call whose arguments (plain pytrees of NumPy arrays and Python numbers) were met before skips the full
path's checks; each test warms that path first, then calls with what it must not mistake for the warm
call (another dtype, shape, structure, byte order, layout, a Python number of another type or range, bad
input, a call inside a trace), checking the answer against NumPy and the traces counted.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
import pytest

import pyaccad as acc
from pyaccad.frontend import trace

B = "interp"
HERE = "test_jit_fast_path.py:"


def test_a_new_dtype_shape_or_structure_traces_again_and_gives_numpys_answer():
    f = acc.jit(lambda p, x: p[0] * x + p[1], backend=B)
    x, a, b = np.arange(3.0), np.full(3, 2.0), np.ones(3)
    for _ in range(2):  # the second call takes the fast path
        np.testing.assert_array_equal(f((a, b), x), a * x + b)
    assert f.trace_count == 1
    x32, a32, b32 = (v.astype(np.float32) for v in (x, a, b))
    out = f((a32, b32), x32)
    assert out.dtype == np.float32 and f.trace_count == 2
    np.testing.assert_array_equal(out, a32 * x32 + b32)
    np.testing.assert_array_equal(f((a[:2], b[:2]), x[:2]), a[:2] * x[:2] + b[:2])  # a new shape
    np.testing.assert_array_equal(f([a, b], x), a * x + b)  # a list where a tuple was
    np.testing.assert_array_equal(f({0: a, 1: b}, x), a * x + b)  # a dict
    Pair = namedtuple("Pair", "w b")
    np.testing.assert_array_equal(f(Pair(a, b), x), a * x + b)  # a namedtuple: the full path only
    assert f.trace_count == 6
    np.testing.assert_array_equal(f((a, b), x + 1), a * (x + 1) + b)  # the first signature, still warm
    assert f.trace_count == 6


def test_nested_structures_are_told_apart():
    """``((a, b), c)`` and ``((a,), b, c)``-like nestings have the same leaves in the same order."""
    f = acc.jit(lambda *args: args, backend=B)
    a, b, c = np.arange(2.0), np.arange(2.0) + 10, np.arange(2.0) + 20
    first = f((a, b), c)
    f((a, b), c)
    second = f((a,), b, c)
    assert isinstance(first, tuple) and len(first) == 2 and len(first[0]) == 2
    assert isinstance(second, tuple) and len(second) == 3 and len(second[0]) == 1
    np.testing.assert_array_equal(second[1], b)
    assert f((None, a), {"k": [b]})[1]["k"][0].tolist() == b.tolist()
    assert f.trace_count == 3


def test_results_are_rebuilt_as_returned_and_do_not_share_the_inputs_memory():
    for backend in (B, "native"):
        f = acc.jit(lambda x, y: (x, {"sum": x + y, "pair": [y]}), backend=backend)
        g = acc.jit(lambda x: x, backend=backend)
        x, y = np.arange(3.0), np.ones(3)
        for _ in range(2):
            same, rest = f(x, y)
            np.testing.assert_array_equal(same, x)
            np.testing.assert_array_equal(rest["sum"], x + y)
            assert isinstance(rest["pair"], list)
            np.testing.assert_array_equal(rest["pair"][0], y)
            out = g(x)
            assert out is not x and not np.shares_memory(out, x)
            np.testing.assert_array_equal(out, x)


@pytest.mark.parametrize("backend", [B, "native"])
def test_inputs_that_are_not_c_contiguous_or_not_in_native_byte_order(backend):
    f = acc.jit(lambda x, y: x * 2.0 + y, backend=backend)
    base = np.arange(16.0).reshape(4, 4)
    y = np.full((4, 4), 0.5)
    np.testing.assert_array_equal(f(base.copy(), y), base * 2.0 + y)  # warm: C-contiguous
    np.testing.assert_array_equal(f(base.T, y), base.T * 2.0 + y)  # Fortran order: same key
    wide = np.arange(32.0).reshape(4, 8)[:, ::2]
    np.testing.assert_array_equal(f(wide, y), wide * 2.0 + y)  # strided
    swapped = base.astype(">f8")
    np.testing.assert_array_equal(f(swapped, y), base * 2.0 + y)  # converted to native order
    np.testing.assert_array_equal(f(swapped, y), base * 2.0 + y)  # and again (it never takes the fast path)
    np.testing.assert_array_equal(f(base, y), base * 2.0 + y)
    assert f.trace_count == 1  # the byte order is not part of the signature: the values are converted


def test_python_numbers_keep_their_weak_types_and_dtypes():
    g = acc.jit(lambda x, s: x * s, backend=B)
    x = np.arange(3, dtype=np.float32)
    for _ in range(2):
        out = g(x, 2.0)  # a Python float takes the array's dtype
        assert out.dtype == np.float32
        np.testing.assert_array_equal(out, x * 2.0)
    strong = g(x, np.float64(2.0))  # a NumPy scalar keeps its own dtype, as in NumPy
    assert strong.dtype == (x * np.float64(2.0)).dtype == np.float64
    np.testing.assert_array_equal(g(x, 3), x * 3)
    np.testing.assert_array_equal(g(x, True), x * True)
    np.testing.assert_array_equal(g(x, 2.5), x * 2.5)  # the first signature, another value
    assert g.trace_count == 4

    h = acc.jit(lambda a, n: a + n, backend=B)
    a = np.arange(3, dtype=np.uint64)
    for n in (5, 5, 2**63, 2**63 + 1, 7):  # a Python int past int64 is uint64 to NumPy: another signature
        np.testing.assert_array_equal(h(a, n), a + np.uint64(n))
    assert h.trace_count == 2


def check_error(cls, words, call):
    with pytest.raises(cls) as info:
        call()
    message = str(info.value)
    assert isinstance(info.value, acc.Error)
    for word in words:
        assert word in message, message
    assert HERE in message, message


def add(a, b):
    return a + b


def test_errors_after_a_warm_call_are_those_of_a_cold_one():
    jitted = acc.jit(add, backend=B)
    np.testing.assert_array_equal(jitted(np.ones(2), 1), np.full(2, 2.0))
    np.testing.assert_array_equal(jitted(np.ones(2), 1), np.full(2, 2.0))
    check_error(acc.ArgumentError, ["add(a, b)", "1 positional", "'b'"], lambda: jitted(np.ones(2)))
    check_error(acc.ArgumentError, ["add(a, b)", "3 positional"], lambda: jitted(*[np.ones(2)] * 3))
    check_error(acc.DTypeError, ["add", "complex64"], lambda: jitted(np.ones(2, np.complex64), 1))
    check_error(acc.DTypeError, ["add", "object"], lambda: jitted(np.ones(2), 2**70))
    check_error(acc.DTypeError, ["add", "<U2"], lambda: jitted(np.ones(2), "hi"))
    check_error(acc.ShapeError, ["add", "(2,)", "(3,)"], lambda: jitted(np.ones(2), np.ones(3)))
    assert jitted.trace_count == 1


def test_a_warm_function_called_inside_a_trace_traces_through():
    inner = acc.jit(acc.sin, backend=B)
    c = np.arange(3.0)
    np.testing.assert_array_equal(inner(c), np.sin(c))
    np.testing.assert_array_equal(inner(c), np.sin(c))  # warm for a NumPy array of c's type
    outer = acc.jit(lambda y: inner(c) + y, backend=B)  # inner meets c, a NumPy array, while tracing
    np.testing.assert_array_equal(outer(np.ones(3)), np.sin(c) + 1.0)
    assert inner.trace_count == 1
    # traced through: the program takes the sine (the compiled inner function would have given a constant)
    program = trace(lambda y: inner(c) + y, np.ones(3)).program
    assert [s.prim.name for s in program.stmts if s.prim.name != "const"] == ["sin", "add"]


def test_the_environments_backend_is_read_at_every_call(monkeypatch):
    f = acc.jit(lambda x: x + 1.0)  # no backend: the argument's default, $PYACCAD_BACKEND
    monkeypatch.setenv("PYACCAD_BACKEND", B)
    x = np.arange(2.0)
    np.testing.assert_array_equal(f(x), x + 1.0)
    np.testing.assert_array_equal(f(x), x + 1.0)
    monkeypatch.setenv("PYACCAD_BACKEND", "no-such-backend")
    check_error(acc.BackendUnavailable, ["no-such-backend"], lambda: f(x))
    monkeypatch.setenv("PYACCAD_BACKEND", "native")
    np.testing.assert_array_equal(f(x), x + 1.0)
    assert f.trace_count == 2  # one program per backend


def test_static_arguments_select_the_program_on_the_fast_path_too():
    f = acc.jit(lambda n, x, scale=1.0: acc.fill((n,), 1.0) * x * scale, static_argnums=0, backend=B)
    x = np.array(2.0)
    for n in (3, 3, 2, 3, -1 + 5, 2):
        np.testing.assert_array_equal(f(n, x), np.full(n, 2.0))
    assert f.trace_count == 3
    np.testing.assert_array_equal(f(2, x, scale=np.array(3.0)), np.full(2, 6.0))  # a keyword: the full path
    np.testing.assert_array_equal(f(2, x, 3.0), np.full(2, 6.0))  # a weak number where a keyword was
    assert f.trace_count == 5
    check_error(acc.ArgumentError, ["<lambda>", "hashable", "list"], lambda: f([2], x))
    g = acc.jit(lambda x, n: x * n, static_argnums=-1, backend=B)
    np.testing.assert_array_equal(g(np.arange(3.0), 2), np.arange(3.0) * 2)
    np.testing.assert_array_equal(g(np.arange(3.0), 2), np.arange(3.0) * 2)
    np.testing.assert_array_equal(g(np.arange(3.0), 5), np.arange(3.0) * 5)
    check_error(acc.ArgumentError, ["<lambda>", "static_argnums -1", "0 positional"], lambda: g())
    assert g.trace_count == 2


def test_array_subclasses_take_the_full_path():
    class Tagged(np.ndarray):
        pass

    g = acc.jit(lambda x: x - 1.0, backend=B)
    plain = np.arange(3.0)
    np.testing.assert_array_equal(g(plain), plain - 1.0)
    out = g(plain.view(Tagged))
    assert type(out) is np.ndarray and g.trace_count == 1
    np.testing.assert_array_equal(out, plain - 1.0)


def test_keyword_arguments_take_the_fast_path_in_any_order_and_a_new_one_traces_again():
    f = acc.jit(lambda x, *, w, b: w * x + b, backend="native")
    x, w, b = np.arange(3.0), np.full(3, 2.0), np.ones(3)
    for _ in range(2):
        np.testing.assert_array_equal(f(x, w=w, b=b), w * x + b)
    np.testing.assert_array_equal(f(x, b=b + 1, w=w), w * x + b + 1)  # the order of keywords changes nothing
    assert f.trace_count == 1 and len(f._fast) == 1  # met once, on the fast path since
    out = f(x, w=w.astype(np.float32), b=b)  # a keyword argument of another dtype
    assert f.trace_count == 2 and out.dtype == np.float64
    np.testing.assert_array_equal(out, w * x + b)
    np.testing.assert_array_equal(f(x, w=2.0, b=b), 2.0 * x + b)  # a Python number: weak, another program
    np.testing.assert_array_equal(f(x, w=2.0, b=b), 2.0 * x + b)
    assert f.trace_count == 3
    g = acc.jit(lambda x, y: x - y, backend="native")
    for _ in range(2):
        np.testing.assert_array_equal(g(x, y=w), x - w)
    np.testing.assert_array_equal(g(y=x, x=w), w - x)  # both by name: another structure, the right answer
    np.testing.assert_array_equal(g(x, w), x - w)
    assert g.trace_count == 3


def test_static_keyword_arguments_select_their_program_on_the_fast_path():
    f = acc.jit(lambda x, *, k, scale: x**k * scale, backend=B, static_argnames="k")
    x = np.arange(4.0)
    for k in (2, 3, 2, 3):
        np.testing.assert_array_equal(f(x, k=k, scale=np.float64(1.5)), x**k * 1.5)
        np.testing.assert_array_equal(f(x, scale=np.full(4, 0.5), k=k), x**k * 0.5)
    assert f.trace_count == 4
    with pytest.raises(acc.ArgumentError, match="must be hashable") as info:
        f(x, k=[2], scale=np.ones(4))
    assert HERE in str(info.value)


def test_a_change_of_the_environments_backend_takes_effect_at_the_next_warm_call(monkeypatch):
    """``$PYACCAD_BACKEND`` is read at every call, also once the calls for each backend are warm."""
    f = acc.jit(lambda x: x * 2.0 + 1.0)
    x = np.arange(4.0)
    for backend in ["native", B]:
        monkeypatch.setenv("PYACCAD_BACKEND", backend)
        np.testing.assert_array_equal(f(x), x * 2.0 + 1.0)
    ran: list[str] = []
    for compiled in f._cache.values():  # each program tells which backend ran it
        compiled.executable = _Logged(compiled.executable, compiled.backend, ran)
    chosen = ["native", B, "native", B, B, "native"]
    for backend in chosen:
        monkeypatch.setenv("PYACCAD_BACKEND", backend)
        np.testing.assert_array_equal(f(x), x * 2.0 + 1.0)
    assert ran == chosen
    for _ in range(2):  # a backend that does not exist is reported at every call
        monkeypatch.setenv("PYACCAD_BACKEND", "no-such-backend")
        check_error(acc.BackendUnavailable, ["no-such-backend"], lambda: f(x))
    monkeypatch.delenv("PYACCAD_BACKEND")
    np.testing.assert_array_equal(f(x), x * 2.0 + 1.0)
    assert ran[-1] == "native" and f.trace_count == 2


class _Logged:
    """An executable that logs its backend's name at each call."""

    def __init__(self, executable, name, log):
        self.executable, self.name, self.log = executable, name, log

    def __call__(self, arrays):
        self.log.append(self.name)
        return self.executable(arrays)


def test_an_invalid_static_argument_is_reported_at_every_call():
    f = acc.jit(lambda x, n, *, k=1: x * n + k, static_argnums=1, static_argnames="k", backend=B)
    x = np.arange(3.0)
    for _ in range(2):
        np.testing.assert_array_equal(f(x, 2, k=3), x * 2 + 3)  # warm
    for _ in range(2):
        check_error(acc.ArgumentError, ["<lambda>", "static argument 1", "hashable", "list"], lambda: f(x, [2], k=3))
        check_error(acc.ArgumentError, ["<lambda>", "keyword argument 'k'", "hashable", "dict"], lambda: f(x, 2, k={}))
        check_error(acc.ArgumentError, ["<lambda>", "static_argnums 1", "1 positional"], lambda: f(x, k=3))
    np.testing.assert_array_equal(f(x, 2, k=3), x * 2 + 3)
    assert f.trace_count == 1


def test_static_values_by_position_and_by_name_are_told_apart():
    """``f(2, ("k", 3))`` holds the same static values, in order, as ``f(2, k=3)``: not the same call."""

    def count(*args, x, k=0):
        return x * len(args) + (k if isinstance(k, int) else 100)

    f = acc.jit(count, static_argnums=(0, -1), static_argnames="k", backend=B)
    x = np.arange(3.0)
    for _ in range(2):
        np.testing.assert_array_equal(f(2, k=3, x=x), x * 1 + 3)  # one positional argument: both numbers name it
        np.testing.assert_array_equal(f(2, ("k", 3), x=x), x * 2 + 0)
        np.testing.assert_array_equal(f(2, 5, x=x), x * 2)
        np.testing.assert_array_equal(f(7, k=3, x=x), x * 1 + 3)  # a new static value: traced again
    assert f.trace_count == 4
