"""Derivatives of ``permute`` with ``*`` (a scatter-multiply), on every backend.

References: JAX's ``.at[].multiply`` where the indices are unique (JAX differentiates only that case),
and otherwise central finite differences and an explicit NumPy derivative: ``out[t] = d[t] · Π_{i→t} x_i``
is linear in each factor, so ``∂out[t]/∂x_i = d[t] · Π_{j→t, j≠i} x_j`` and ``∂out[t]/∂d[t] = Π_{i→t} x_i``,
computed here by leaving the factor out (no division), zeros included.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from ad_checks import check_dot_product
from helpers import assert_close

import pyaccad as acc
from pyaccad import ad
from pyaccad.frontend import trace
from pyaccad.ir import verify

jax = pytest.importorskip("jax", reason="JAX is not installed: the JAX agreement tests need it")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

RNG = np.random.default_rng(7)


def _mul(a: Any, b: Any) -> Any:
    return a * b


def run_on(backend: str, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` compiled by ``backend``, after checking the traced program with ``verify``."""
    verify(trace(fn, *args).program)
    return acc.jit(fn, backend=backend)(*args)


def scatter_mul(targets: np.ndarray) -> Callable[[Any, Any], Any]:
    """``(d, x) -> permute(*, d, i -> targets[i], x)``; a negative target drops the source (``acc.IGNORE``)."""

    def f(d: Any, x: Any) -> Any:
        def index(i: Any) -> Any:
            t = acc.use(targets)[i]
            return acc.cond(t < 0, acc.IGNORE, (t,))

        return acc.permute(_mul, d, index, x)

    return f


def weighted(f: Callable[[Any, Any], Any], w: np.ndarray) -> Callable[[Any, Any], Any]:
    return lambda d, x: (f(d, x) * w).sum()


def reference_partials(d: np.ndarray, x: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``∂out[t]/∂d[t]`` per target and ``∂out[target(i)]/∂x_i`` per source (0 for a dropped source)."""
    d_partial = np.array([np.prod(x[targets == t]) for t in range(d.size)])
    x_partial = np.zeros_like(x)
    for i, t in enumerate(targets):
        if t >= 0:
            others = (targets == t) & (np.arange(x.size) != i)
            x_partial[i] = d[t] * np.prod(x[others])
    return d_partial, x_partial


def reference_value(d: np.ndarray, x: np.ndarray, targets: np.ndarray) -> np.ndarray:
    out = d.copy()
    for v, t in zip(x, targets, strict=True):
        if t >= 0:
            out[t] *= v
    return out


def central_differences(f: Callable[[np.ndarray, np.ndarray], float], d: np.ndarray, x: np.ndarray, eps: float = 1e-6):
    """Central differences of a scalar NumPy function in every element of ``d`` and ``x``."""
    grads = []
    for k in range(2):
        base = [d.copy(), x.copy()]
        g = np.zeros_like(base[k])
        for j in range(g.size):
            hi, lo = [a.copy() for a in base], [a.copy() for a in base]
            hi[k][j] += eps
            lo[k][j] -= eps
            g[j] = (f(*hi) - f(*lo)) / (2 * eps)
        grads.append(g)
    return tuple(grads)


def test_unique_targets_agree_with_jax(backend: str) -> None:
    targets = np.array([3, 0, 4])
    d, x = RNG.normal(size=5), RNG.normal(size=3)
    w = RNG.normal(size=5)
    f = scatter_mul(targets)
    got = run_on(backend, ad.grad(weighted(f, w), (0, 1)), d, x)

    def jax_f(d, x):
        return d.at[targets].multiply(x, unique_indices=True)

    want = jax.grad(lambda d, x: (jax_f(d, x) * w).sum(), (0, 1))(d, x)
    for g, h in zip(got, want, strict=True):
        assert_close(g, np.asarray(h))
    d_tan, x_tan = RNG.normal(size=5), RNG.normal(size=3)
    jvp = run_on(backend, lambda p, t: ad.jvp(f, p, t)[1], (d, x), (d_tan, x_tan))
    assert_close(jvp, np.asarray(jax.jvp(jax_f, (d, x), (d_tan, x_tan))[1]))


# Collisions: sources 0..7 into targets 0..2; the zeros are placed so that a target sees none, one or two.
COLLISIONS = np.array([0, 1, 2, 0, 1, 2, 0, 1])
ZERO_CASES = {
    "no zeros": ([], []),
    "one zero source": ([], [1]),
    "two zero sources at a target": ([], [0, 3]),
    "zero default": ([2], []),
    "zero default and a zero source": ([1], [4]),
    "zeros everywhere": ([0, 2], [1, 2, 5, 7]),
}


@pytest.mark.parametrize("zeros", list(ZERO_CASES), ids=list(ZERO_CASES))
def test_collisions_and_zeros_agree_with_references(backend: str, zeros: str) -> None:
    d_zeros, x_zeros = ZERO_CASES[zeros]
    d, x = RNG.uniform(0.5, 2.0, size=3), RNG.uniform(-2.0, 2.0, size=8)
    d[d_zeros], x[x_zeros] = 0.0, 0.0
    w = RNG.normal(size=3)
    f = scatter_mul(COLLISIONS)
    assert_close(run_on(backend, f, d, x), reference_value(d, x, COLLISIONS))
    got = run_on(backend, ad.grad(weighted(f, w), (0, 1)), d, x)
    d_partial, x_partial = reference_partials(d, x, COLLISIONS)
    assert_close(got[0], d_partial * w)
    assert_close(got[1], x_partial * w[COLLISIONS])
    fd = central_differences(lambda d, x: float((reference_value(d, x, COLLISIONS) * w).sum()), d, x)
    for g, h in zip(got, fd, strict=True):
        assert_close(g, h, rtol=1e-7, atol=1e-8)
    d_tan, x_tan = RNG.normal(size=3), RNG.normal(size=8)
    jvp = run_on(backend, lambda p, t: ad.jvp(f, p, t)[1], (d, x), (d_tan, x_tan))
    assert_close(jvp, d_partial * d_tan + np.bincount(COLLISIONS, x_partial * x_tan, minlength=3))


def test_dropped_sources_get_no_gradient(backend: str) -> None:
    targets = np.array([1, -1, 0, 1, -1, 0, 1])
    d, x = RNG.uniform(0.5, 2.0, size=2), RNG.uniform(-2.0, 2.0, size=7)
    x[2] = 0.0
    w = RNG.normal(size=2)
    got = run_on(backend, ad.grad(weighted(scatter_mul(targets), w), (0, 1)), d, x)
    d_partial, x_partial = reference_partials(d, x, targets)
    assert_close(got[0], d_partial * w)
    assert_close(got[1], x_partial * np.where(targets >= 0, w[targets], 0.0))
    assert not got[1][targets < 0].any()


def test_rank2_targets(backend: str) -> None:
    d, x = RNG.uniform(0.5, 2.0, size=(2, 3)), RNG.uniform(-2.0, 2.0, size=(4, 5))
    x[1, 2] = 0.0
    w = RNG.normal(size=(2, 3))

    def f(d, x):
        return (acc.permute(_mul, d, lambda i, j: (i % 2, (i + j) % 3), x) * w).sum()

    got = run_on(backend, ad.grad(f, (0, 1)), d, x)
    i, j = np.indices(x.shape)
    flat = ((i % 2) * 3 + (i + j) % 3).reshape(-1)
    d_partial, x_partial = reference_partials(d.reshape(-1), x.reshape(-1), flat)
    assert_close(got[0], (d_partial * w.reshape(-1)).reshape(d.shape))
    assert_close(got[1], (x_partial * w.reshape(-1)[flat]).reshape(x.shape))


def test_vmap_of_grad(backend: str) -> None:
    d = RNG.uniform(0.5, 2.0, size=3)
    xs = RNG.uniform(-2.0, 2.0, size=(4, 8))
    xs[1, [0, 3]] = 0.0  # two zeros at target 0 in one lane, one zero in another
    xs[2, 4] = 0.0
    w = RNG.normal(size=3)
    g = ad.grad(lambda x: weighted(scatter_mul(COLLISIONS), w)(d, x))
    got = run_on(backend, ad.vmap(g), xs)
    want = np.stack([reference_partials(d, x, COLLISIONS)[1] * w[COLLISIONS] for x in xs])
    assert_close(got, want)


def test_float32(backend: str) -> None:
    d = RNG.uniform(0.5, 2.0, size=3).astype(np.float32)
    x = RNG.uniform(-2.0, 2.0, size=8).astype(np.float32)
    x[5] = 0.0
    got = run_on(backend, ad.grad(lambda d, x: scatter_mul(COLLISIONS)(d, x).sum(), (0, 1)), d, x)
    d_partial, x_partial = reference_partials(d.astype(np.float64), x.astype(np.float64), COLLISIONS)
    assert_close(got[0], d_partial.astype(np.float32))
    assert_close(got[1], x_partial.astype(np.float32))


def test_reverse_mode_is_the_transpose_of_forward_mode() -> None:
    d = RNG.uniform(0.5, 2.0, size=3)
    x = RNG.uniform(-2.0, 2.0, size=8)
    x[[0, 3, 4]] = 0.0
    check_dot_product(lambda x: scatter_mul(COLLISIONS)(d, x), x, RNG)
    check_dot_product(lambda d: scatter_mul(COLLISIONS)(d, x), d, RNG)
