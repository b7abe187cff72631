"""``ad.checkpoint`` survives optimisation: the reverse pass recomputes, and peak memory falls.

The program: four checkpointed blocks of four ``tanh(h @ W)`` layers, then ``Σ h²``, differentiated with
``value_and_grad``. Without checkpoints the reverse pass reads every layer's stored output; with them it
reads only each block's input and recomputes the block's 4 matrix products (16 more in all), which the
optimiser must not merge with the forward ones. On native, whose workspace shares memory between values
with disjoint lifetimes, the stored layer outputs no longer live from the forward pass to the reverse one.
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from helpers import primitive_counts

import pyaccad as acc
from pyaccad import ad
from pyaccad.backends import get_backend
from pyaccad.frontend import trace
from pyaccad.opt import optimize

RNG = np.random.default_rng(11)
W = RNG.normal(size=(128, 128)) / 12


def _block(h):
    for _ in range(4):
        h = acc.tanh(h @ W)
    return h


def _loss(checkpointed: bool):
    block = ad.checkpoint(_block) if checkpointed else _block

    def loss(x):
        for _ in range(4):
            x = block(x)
        return (x * x).sum()

    return loss


def _reference(x: np.ndarray) -> tuple[float, np.ndarray]:
    """NumPy: the forward pass keeping every layer, then the chain rule backwards."""
    hs = [x]
    for _ in range(16):
        hs.append(np.tanh(hs[-1] @ W))
    ct = 2 * hs[-1]
    for h in reversed(hs[1:]):
        ct = (ct * (1 - h * h)) @ W.T
    return float((hs[-1] ** 2).sum()), ct


def _optimised(checkpointed: bool, x: np.ndarray):
    return optimize(trace(ad.value_and_grad(_loss(checkpointed)), x).program, "native")


def test_the_reverse_pass_recomputes_after_optimisation() -> None:
    x = RNG.normal(size=(8, 128))
    stored, recomputed = (primitive_counts(_optimised(c, x))["matmul"] for c in (False, True))
    assert (stored, recomputed) == (32, 48)  # 16 forward, 16 in the reverse pass, 16 recomputed


def test_checkpoints_agree_with_numpy(backend: str) -> None:
    x = RNG.normal(size=(8, 128))
    value, grad = acc.jit(ad.value_and_grad(_loss(True)), backend=backend)(x)
    want_value, want_grad = _reference(x)
    # 16 layers of 128-term dot products in float64: rounding far below 1e-10 relative
    np.testing.assert_allclose(value, want_value, rtol=1e-10)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-9, atol=1e-12)


def _peak_bytes(program, x: np.ndarray) -> tuple[int, list[np.ndarray]]:
    """Bytes NumPy allocated at the peak of building the executable (its workspace) and calling it."""
    backend = get_backend("native")
    backend.compile(program)  # compiled and cached outside the measurement
    tracemalloc.start()
    try:
        results = backend.compile(program)([x])
        return tracemalloc.get_traced_memory()[1], results
    finally:
        tracemalloc.stop()


def test_checkpoints_lower_peak_memory_on_native() -> None:
    try:
        get_backend("native")
    except acc.BackendUnavailable as exc:
        pytest.skip(f"the native backend is unavailable: {exc}")
    x = RNG.normal(size=(256, 128))
    layer = x.nbytes  # 256 KiB: one layer's output
    stored, plain = _peak_bytes(_optimised(False, x), x)
    recomputed, checked = _peak_bytes(_optimised(True, x), x)
    for a, b in zip(plain, checked, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    # Without checkpoints the 16 layer outputs (and the products before tanh) wait for the reverse pass;
    # with them, one block's 4 layers at a time. Measured here: 4.8 and 2.3 MiB.
    assert stored > 12 * layer and recomputed < stored / 2
