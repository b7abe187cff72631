"""API.md "Running" and "Values": jit, run, backends, lower, pytrees, the trace cache, literals and constants."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

import pyaccad as acc
from pyaccad.ir import verify

B = "interp"
X32 = np.arange(6, dtype=np.float32).reshape(2, 3)


def test_pytrees_of_inputs_and_outputs_with_dicts_and_nested_tuples():
    def f(params, batch):
        w, (b, scale) = params["w"], params["rest"]
        return {"y": (batch @ w + b) * scale, "aux": [(w.sum(), batch.T)]}

    w, b, scale, batch = np.ones((3, 2)), np.arange(2.0), np.array(2.0), np.arange(6.0).reshape(2, 3)
    out = acc.run(f, {"w": w, "rest": (b, scale)}, batch, backend=B)
    assert set(out) == {"y", "aux"} and isinstance(out["aux"], list) and isinstance(out["aux"][0], tuple)
    assert_close(out["y"], (batch @ w + b) * scale)
    assert_close(out["aux"][0][0], np.array(w.sum()))
    assert_close(out["aux"][0][1], batch.T)


def test_python_and_numpy_scalars_as_inputs():
    assert_close(acc.run(lambda x: x * 2, 3.0, backend=B), np.array(6.0))
    assert_close(acc.run(lambda x: x * 2, np.float32(3), backend=B), np.array(6, np.float32))
    assert_close(acc.run(lambda x: ~x, True, backend=B), np.array(False))


def test_jit_as_a_decorator_with_and_without_a_backend():
    @acc.jit
    def plain(x):
        return x + 1.0

    @acc.jit(backend=B)
    def chosen(x):
        return x * 3.0

    assert plain.__name__ == "plain" and chosen.__name__ == "chosen"
    assert_close(chosen(np.arange(3.0)), np.arange(3.0) * 3)
    assert_close(acc.jit(lambda x: x - 1.0, backend=B)(np.ones(2)), np.zeros(2))
    assert_close(acc.jit(lambda x: x - 1.0, B)(np.ones(2)), np.zeros(2))


def test_trace_cache_traces_once_per_signature(monkeypatch):
    calls = []

    @acc.jit(backend=B)
    def f(x, pair):
        calls.append(1)
        return x + pair[0] * pair[1]

    a, b = np.ones(3), np.arange(3.0)
    assert_close(f(a, (b, b)), a + b * b)
    assert_close(f(a * 2, (b + 1, b)), 2 * a + (b + 1) * b)  # same signature, new values: no trace
    assert len(calls) == 1 and f.trace_count == 1
    f(np.ones(4), (np.ones(4), np.ones(4)))  # new shape
    f(np.ones(3, np.float32), (np.ones(3, np.float32), np.ones(3, np.float32)))  # new dtype
    f(a, [b, b])  # new pytree structure (list instead of tuple)
    assert len(calls) == 4 and f.trace_count == 4
    f(a, [b, b])
    assert len(calls) == 4
    monkeypatch.setenv("PYACCAD_BACKEND", "native")  # f names its backend: the environment does not matter
    f(a, [b, b])
    assert len(calls) == 4


def test_keyword_arguments_are_traced_inputs():
    f = acc.jit(lambda x, y=None, *, scale: x * scale, backend=B)
    assert_close(f(np.arange(3.0), scale=np.array(2.0)), np.arange(3.0) * 2)
    assert_close(f(np.arange(3.0), scale=np.array(5.0)), np.arange(3.0) * 5)
    assert f.trace_count == 1


def test_jit_inside_jit_traces_through():
    inner = acc.jit(lambda x: x * 2.0, backend=B)
    assert_close(acc.run(lambda x: inner(x) + 1.0, np.arange(3.0), backend=B), np.arange(3.0) * 2 + 1)


def test_backend_choice_argument_environment_default(monkeypatch):
    monkeypatch.setenv("PYACCAD_BACKEND", "interp")
    assert_close(acc.run(lambda x: x + 1, np.arange(2)), np.arange(2) + 1)
    monkeypatch.setenv("PYACCAD_BACKEND", "no-such-backend")
    with pytest.raises(acc.BackendUnavailable, match="no-such-backend") as info:
        acc.run(lambda x: x, np.arange(2))
    assert "test_frontend_running.py" in str(info.value)
    # The argument wins over the environment.
    assert_close(acc.run(lambda x: x + 1, np.arange(2), backend=B), np.arange(2) + 1)
    monkeypatch.delenv("PYACCAD_BACKEND")
    from pyaccad.backends import resolve_name

    assert resolve_name(None) == "native"


def test_unknown_and_unavailable_backends_raise_with_the_reason():
    with pytest.raises(acc.BackendUnavailable, match="'tpu'.*native, cuda, accelerate, interp"):
        acc.run(lambda x: x, np.ones(1), backend="tpu")
    for name, reason in acc.backends().items():
        if reason is not None:
            with pytest.raises(acc.BackendUnavailable, match=name) as info:
                acc.run(lambda x: x, np.ones(1), backend=name)
            assert reason in str(info.value)


def test_backends_lists_the_three_backends():
    available = acc.backends()
    assert set(available) == {"native", "cuda", "accelerate", "interp"}
    assert available["interp"] is None
    assert all(reason is None or (isinstance(reason, str) and reason) for reason in available.values())


def test_lower_prints_the_optimised_program():
    text = acc.lower(lambda x, y: acc.map(lambda a: a * 2.0, x) + y, X32, X32, backend=B)
    assert text.startswith("program (x: f32[2,3], y: f32[2,3])")
    assert "lam" in text and "add" in text


def test_literals_take_the_dtype_they_meet():
    a = np.ones((3, 3), np.float32)
    tri = acc.run(lambda m: acc.generate((3, 3), lambda i, j: acc.cond(i > j, m[i, j], 0.0)), a, backend=B)
    assert_close(tri, np.tril(a, -1))
    assert_close(acc.run(lambda m: m * 2 + 1, a, backend=B), a * 2 + 1)
    # Two literal branches promote as NumPy does (np.where(p, 1.5, 2) is float64).
    x = np.arange(3.0)
    out = acc.run(lambda v: acc.map(lambda e: acc.cond(e > 1.0, 1.5, 2), v), x, backend=B)
    assert_close(out, np.where(x > 1, 1.5, 2))
    i32 = np.arange(3, dtype=np.int32)
    assert_close(acc.run(lambda v: acc.fold(lambda x, y: x + y, 100, v), i32, backend=B), np.array(103, np.int32))


def test_literals_returned_by_acond_and_awhile_functions_adopt_the_other_side():
    x = np.array([1.0, -2.0, 4.0], np.float32)
    # acond: a literal branch takes the dtype (and fills the shape) of the other branch.
    out = acc.run(lambda a: acc.acond(a.sum() > 0.0, lambda v: v * 2.0, lambda v: 0.0, a), x, backend=B)
    assert_close(out, x * 2)
    out = acc.run(lambda a: acc.acond(a.sum() < 0.0, lambda v: v * 2.0, lambda v: 0, a), x, backend=B)
    assert_close(out, np.zeros(3, np.float32))
    out = acc.run(lambda a: acc.acond(a.sum() < 0.0, lambda: (a.sum(), 1), lambda: (2.0, a.size)), x, backend=B)
    assert_close(out[0], np.array(2.0, np.float32))
    # awhile: a literal in the body's result takes the dtype and shape of that part of the state.
    out = acc.run(
        lambda a: acc.awhile(lambda s: s[1] < 3, lambda s: (0.5, s[1] + 1), (a, acc.unit(np.int32(0)))), x, backend=B
    )
    assert_close(out[0], np.full(3, 0.5, np.float32))
    assert_close(out[1], np.array(3, np.int32))


def test_numpy_arrays_closed_over_or_passed_are_constants():
    table = np.array([10.0, 20.0, 30.0])

    def f(i):
        gathered = acc.backpermute((3,), lambda k: (2 - k,), table)
        return gathered + table + acc.map(lambda k: acc.use(table)[k], i)

    out = acc.run(f, np.array([0, 2, 1]), backend=B)
    assert_close(out, table[::-1] + table + table[[0, 2, 1]])


def test_traced_programs_verify():
    from pyaccad.frontend import trace

    verify(trace(lambda d: {"s": d["a"].sum(axis=0, keepdims=True), "t": d["b"][::-1]}, {"a": X32, "b": X32}).program)


def test_namedtuples_are_pytree_nodes():
    from collections import namedtuple

    Params = namedtuple("Params", "w b")
    f = acc.jit(lambda p, x: Params(p.w * x, p.b + 1.0), backend=B)
    out = f(Params(np.full(2, 3.0), np.zeros(2)), np.arange(2.0))
    assert isinstance(out, Params)
    assert_close(out.w, np.array([0.0, 3.0]))
    assert_close(out.b, np.ones(2))


def test_threads_trace_independently():
    """A jit traced in one thread while another thread is in the middle of its own trace is traced on its
    own: each thread has its own stack of open traces (a shared one made the second call trace into the
    first thread's program and return a traced array)."""
    import threading

    inside, release, results = threading.Event(), threading.Event(), {}

    def held_open(x):
        y = acc.sin(x)
        inside.set()
        release.wait(30)  # keep this trace open while the main thread traces
        return y * 2.0

    worker = threading.Thread(target=lambda: results.update(a=acc.jit(held_open, backend=B)(np.ones(3))))
    worker.start()
    try:
        assert inside.wait(30)
        results["b"] = acc.jit(lambda x: acc.cos(x) + 1.0, backend=B)(np.zeros(3))
    finally:
        release.set()
        worker.join()
    assert_close(results["a"], 2.0 * np.sin(np.ones(3)))
    assert_close(results["b"], np.full(3, 2.0))
