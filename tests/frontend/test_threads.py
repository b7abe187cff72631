"""Tracing in several threads at once: each thread's builders are its own (``frontend.values``)."""

from __future__ import annotations

import threading

import numpy as np

import pyaccad as acc
from pyaccad.backends import get_backend
from pyaccad.frontend import trace
from pyaccad.ir import verify


def test_two_threads_trace_at_the_same_time() -> None:
    both_open, both_emitted = threading.Barrier(2, timeout=30), threading.Barrier(2, timeout=30)
    programs: dict[str, object] = {}
    errors: list[BaseException] = []

    def traced(name: str, op) -> None:
        def fn(x):
            y = op(x)
            both_open.wait()  # the other thread's trace is open too
            ones = acc.fill((3,), 1.0, dtype="float64")  # emitted where the current builder is: this thread's
            both_emitted.wait()
            return op(y) + ones

        try:
            programs[name] = trace(fn, np.ones(3)).program
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=traced, args=a) for a in (("sin", acc.sin), ("exp", acc.exp))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    x = np.linspace(-1.0, 1.0, 3)
    for name, program in programs.items():
        verify(program)
        other = "exp" if name == "sin" else "sin"
        names = [s.prim.name for s in program.stmts]
        assert names.count(name) == 2 and other not in names
        want = getattr(np, name)(getattr(np, name)(x)) + 1.0  # the same NumPy calls interp makes: exact
        np.testing.assert_array_equal(get_backend("interp").compile(program)([x])[0], want)
