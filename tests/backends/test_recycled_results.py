"""Result arrays a compiled program writes again on a later call (pyaccad.backends.recycled): only those nobody holds.

The values are small integers in float64, so every backend computes them exactly and results compare equal.
"""

from __future__ import annotations

import weakref

import numpy as np
import pytest
from helpers import available_backends

import pyaccad as acc
from pyaccad.backends import recycled

RECYCLING = [name for name in available_backends() if name in ("native", "accelerate")]


def _f(x):
    return x * 2.0 + 1.0, x > 0.0


def _expected(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return x * 2.0 + 1.0, x > 0.0


def _input(k: int) -> np.ndarray:
    return np.arange(-500.0, 500.0) + 1000.0 * k  # k = 0: both signs, so the Bool result is mixed


def test_results_the_caller_holds_are_never_written_again(backend):
    f = acc.jit(_f, backend=backend)
    held = f(_input(0))  # both results held
    view = f(_input(1))[0][::3]  # only a view of the first result held
    buffer = memoryview(f(_input(2))[1])  # only an exported buffer of the second held
    for k in range(3, 8):
        dropped = f(_input(k))  # each call's results are dropped by the next: free for reuse
        for got, want in zip(dropped, _expected(_input(k)), strict=True):
            np.testing.assert_array_equal(got, want)
        del dropped
    for got, want in zip(held, _expected(_input(0)), strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(view, _expected(_input(1))[0][::3])
    np.testing.assert_array_equal(np.asarray(buffer), _expected(_input(2))[1])


@pytest.mark.parametrize("backend", RECYCLING)
def test_results_nobody_holds_are_written_again(backend):
    """A dropped result's memory serves the next call (no fresh pages to fault in); a held one's does not."""
    f = acc.jit(_f, backend=backend)
    first = f(_input(0))[0]
    kept = weakref.ref(first)
    del first
    second = f(_input(1))[0]
    assert second is kept()
    third = f(_input(2))[0]
    assert third is not second
    np.testing.assert_array_equal(second, _expected(_input(1))[0])
    np.testing.assert_array_equal(third, _expected(_input(2))[0])


@pytest.mark.parametrize("backend", RECYCLING)
def test_results_past_the_budget_are_not_kept(backend, monkeypatch):
    """An executable keeps at most KEEP_BYTES of dropped results: past it, a dropped result is freed at once."""
    monkeypatch.setattr(recycled, "KEEP_BYTES", 1000)  # one call's results are 8000 + 1000 bytes
    f = acc.jit(_f, backend=backend)
    first = f(_input(0))[0]
    freed = weakref.ref(first)
    del first
    assert freed() is None
    np.testing.assert_array_equal(f(_input(1))[0], _expected(_input(1))[0])
