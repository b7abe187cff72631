"""README ("Backends", the variables): ``$PYACCAD_NUM_THREADS`` (and ``$PYACCAD_BACKEND``) take effect at the next call.

They are read at every call through :class:`pyaccad.backends.environment.Variable`, which caches what it
decoded; these tests change the environment between warm calls and check that the next call sees the change
(``os.environ.get`` is the reference), that the results stay NumPy's, and that a bad value is reported at
every call, not only the first.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import pyaccad as acc
from pyaccad.backends import availability
from pyaccad.backends.environment import Variable

NAME = "PYACCAD_TEST_ENVIRONMENT_VARIABLE"


@pytest.mark.parametrize("replaced", [False, True])
def test_a_variable_reads_what_os_environ_holds_at_every_read(monkeypatch, replaced):
    variable = Variable(NAME)
    if replaced:  # os.environ replaced by a plain dict: read through its get
        monkeypatch.setattr(os, "environ", dict(os.environ))
    monkeypatch.delenv(NAME, raising=False)
    for value in [None, "2", "2", "3", "", None, "2", "héllo", "2", None]:
        if value is None:
            monkeypatch.delenv(NAME, raising=False)
        else:
            monkeypatch.setenv(NAME, value)
        assert variable() == os.environ.get(NAME) == value
        assert variable() == value  # read again, nothing changed


def test_a_variable_follows_os_environ_when_it_is_replaced_and_put_back(monkeypatch):
    variable = Variable(NAME)
    monkeypatch.setenv(NAME, "real")
    assert variable() == "real"
    monkeypatch.setattr(os, "environ", {NAME: "stand-in"})
    assert variable() == "stand-in"
    monkeypatch.undo()  # the real os.environ again, without the variable
    assert variable() is None and os.environ.get(NAME) is None


class _Recording:
    """A native library whose entry point records the thread count each call passes it."""

    def __init__(self, lib):
        self.lib, self.threads = lib, []

    def pyaccad_entry(self, buffers, ints, threads):
        self.threads.append(threads)
        return self.lib.pyaccad_entry(buffers, ints, threads)


@pytest.mark.skipif(availability()["native"] is not None, reason="native backend unavailable here")
def test_the_native_thread_count_is_read_at_every_call(monkeypatch):
    f = acc.jit(lambda x: x * 2.0 + 1.0, backend="native")
    x = np.arange(4.0)
    monkeypatch.delenv("PYACCAD_NUM_THREADS", raising=False)
    np.testing.assert_array_equal(f(x), x * 2.0 + 1.0)
    (compiled,) = f._cache.values()
    recording = compiled.executable.lib = _Recording(compiled.executable.lib)
    asked = []
    for value, threads in [("1", 1), ("3", 3), ("3", 3), (" 2 ", 2), ("", os.cpu_count()), (None, os.cpu_count())]:
        if value is None:
            monkeypatch.delenv("PYACCAD_NUM_THREADS")
        else:
            monkeypatch.setenv("PYACCAD_NUM_THREADS", value)
        np.testing.assert_array_equal(f(x), x * 2.0 + 1.0)
        asked.append(threads)
    assert recording.threads == asked
    monkeypatch.setenv("PYACCAD_NUM_THREADS", "auto")  # the cores no other process is running on, at least one
    np.testing.assert_array_equal(f(x), x * 2.0 + 1.0)
    assert 1 <= recording.threads[-1] <= (os.cpu_count() or 1)
    for bad in ["0", "0", "two", "two", "-1"]:  # reported at every call, also where it is the value already read
        monkeypatch.setenv("PYACCAD_NUM_THREADS", bad)
        with pytest.raises(acc.BackendUnavailable, match=f"PYACCAD_NUM_THREADS='{bad}'"):
            f(x)
    monkeypatch.setenv("PYACCAD_NUM_THREADS", "2")
    np.testing.assert_array_equal(f(x), x * 2.0 + 1.0)
    assert recording.threads[-1] == 2 and f.trace_count == 1
