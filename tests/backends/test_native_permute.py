"""Native ``permute`` with ``max``/``min`` (chunks scattered in parallel, merged in order) against the interpreter.

The results must be bit-identical to the interpreter's (NumPy's ``maximum.at``/``minimum.at``) for every thread
count: the data are drawn from a few values, so targets see many ties, including ``-0.0`` against ``0.0`` (the
later source wins) and NaNs of two payloads (the first one stays). Sizes straddle the parallel threshold
(2**18 sources), and the number of sources per target caps the number of chunks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import pyaccad as acc
from pyaccad.backends import availability

pytestmark = pytest.mark.skipif(availability()["native"] is not None, reason="native backend unavailable here")

RNG = np.random.default_rng(11)
THREADS = ("1", "2", "3", "5")
COMBINES: dict[str, Callable[[Any, Any], Any]] = {
    "max(new, old)": lambda new, old: acc.maximum(new, old),
    "max(old, new)": lambda new, old: acc.maximum(old, new),
    "min(new, old)": lambda new, old: acc.minimum(new, old),
    "min(old, new)": lambda new, old: acc.minimum(old, new),
}


def nans(dtype: np.dtype) -> np.ndarray:
    """Two quiet NaNs with different payloads, so a test sees which one a target keeps."""
    payloads = [0x7FC00001, 0x7FC00002] if dtype == np.float32 else [0x7FF8000000000001, 0x7FF8000000000002]
    return np.array(payloads, f"u{dtype.itemsize}").view(dtype)


def tied(shape: tuple[int, ...], dtype: str, values: str = "mixed") -> np.ndarray:
    """Values from a small set (many ties): ``mixed`` (floats: ±0, ±1.5, ±inf) or ``signed zeros`` (only ±0, so
    the sign of a result is decided by which zero comes last); floats also get NaNs of two payloads (0.1%)."""
    dt = np.dtype(dtype)
    if dt.kind == "i":
        return RNG.integers(-3, 4, size=shape).astype(dt)
    choices = [-0.0, 0.0] if values == "signed zeros" else [-0.0, 0.0, 1.5, -1.5, np.inf, -np.inf]
    out = RNG.choice(np.array(choices, dt), size=shape)
    spots = RNG.random(shape) < 1e-3
    out[spots] = RNG.choice(nans(dt), size=int(spots.sum()))
    return out


def bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.dtype(f"u{a.itemsize}")) if a.dtype.kind == "f" else a


def identical_for_every_thread_count(fn: Callable[..., Any], *args: np.ndarray) -> None:
    want = acc.jit(fn, backend="interp")(*args)
    native = acc.jit(fn, backend="native")
    with pytest.MonkeyPatch.context() as patch:
        for threads in THREADS:
            patch.setenv("PYACCAD_NUM_THREADS", threads)
            got = native(*args)
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_array_equal(bits(got), bits(want), err_msg=f"{threads} threads")


@pytest.mark.parametrize("combine", list(COMBINES))
@pytest.mark.parametrize(
    ("dtype", "values"),
    [(f, v) for f in ("float32", "float64") for v in ("mixed", "signed zeros")] + [("int32", ""), ("int64", "")],
)
@pytest.mark.parametrize(("n", "m"), [(0, 3), (1, 1), (1000, 7), (300000, 1), (300000, 1000), (10**6, 5000)])
def test_max_min_scatter_is_bit_identical_to_interp(combine: str, dtype: str, values: str, n: int, m: int) -> None:
    x, defaults, targets = tied((n,), dtype, values), tied((m,), dtype, values), RNG.integers(0, m, size=n)

    def scatter(d, a, t):  # every fifth source dropped
        return acc.permute(COMBINES[combine], d, lambda i: acc.cond(i % 5 == 4, acc.IGNORE, (t[i],)), a)

    identical_for_every_thread_count(scatter, defaults, x, targets)


@pytest.mark.parametrize("n", [100, 300000])
def test_as_many_targets_as_sources(n: int) -> None:
    """One chunk (the serial loop): more chunks would cost more than the scatter."""
    x, defaults = tied((n,), "float64"), tied((n,), "float64")
    targets = RNG.integers(0, n, size=n)
    identical_for_every_thread_count(
        lambda d, a, t: acc.permute(COMBINES["max(new, old)"], d, lambda i: (t[i],), a), defaults, x, targets
    )


def test_rank2_fused_source_into_rank2_targets() -> None:
    """A delayed source (computed inside the chunk loop) of rank 2, scattered into a rank-2 array."""
    x, defaults = tied((600, 700), "float32"), tied((9, 11), "float32")

    def scatter(d, a):
        return acc.permute(lambda new, old: acc.minimum(new, old), d, lambda i, j: (i % 9, (i * j) % 11), a * 2.0 - 1.0)

    identical_for_every_thread_count(scatter, defaults, x)


def test_out_of_bounds_target_raises_on_the_parallel_path(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYACCAD_NUM_THREADS", "2")
    x = np.ones(300000)
    with pytest.raises(acc.IndexOutOfBounds, match="permute"):
        acc.jit(
            lambda a: acc.permute(lambda p, q: acc.maximum(p, q), np.zeros(10), lambda i: (i % 11,), a),
            backend="native",
        )(x)
