"""Derivatives of gathers and scatters whose indices are int32, on every backend, against JAX and finite differences.

The int32 indices are widened to int64 by a ``cast`` in the index functions; the derivative rules must see
through it (an integer value has no derivative) and index the cotangents as the primal indexed the values.
Repeated indices are included, so the gathers' transposes accumulate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from ad_checks import finite_difference_grad
from helpers import assert_close

import pyaccad as acc
from pyaccad import ad
from pyaccad.frontend import trace
from pyaccad.ir import verify

jax = pytest.importorskip("jax", reason="JAX is not installed: the JAX agreement tests need it")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

RNG = np.random.default_rng(5)
IX = np.array([3, 0, 3, 1, -1, 4, 0, -2], np.int32)  # repeats, and negatives that a scatter drops
W = np.linspace(-1.0, 1.0, 8)


def run_on(backend: str, fn: Callable[..., Any], *args: Any) -> Any:
    verify(trace(fn, *args).program)
    return acc.jit(fn, backend=backend)(*args)


def gather(x: Any, k: Any) -> Any:
    """``sum(w * sin(x[k mod 5]))`` with an int32 ``backpermute`` index function."""
    g = acc.backpermute((8,), lambda i: k[i] % 5, x)
    return (acc.sin(g) * W).sum()


def gather_jax(x: Any, k: np.ndarray) -> Any:
    return (jnp.sin(x[k % 5]) * W).sum()


def scatter(d: Any, x: Any, k: Any) -> Any:
    """``sum(w[:5] * permute(+, d, i -> IGNORE if k[i] < 0 else k[i], x * x))``."""
    out = acc.permute(lambda p, q: p + q, d, lambda i: acc.cond(k[i] < 0, acc.IGNORE, k[i]), x * x)
    return (out * W[:5]).sum()


def scatter_jax(d: Any, x: Any, k: np.ndarray) -> Any:
    out = d.at[np.where(k < 0, 5, k)].add(x * x, mode="drop")
    return (out * W[:5]).sum()


def lambda_reads(g: Any, t: Any, k: Any) -> Any:
    """Reads inside lambdas: ``g[i, k[j]]`` in a ``generate``, ``t[q]`` for an int32 ``q`` in a ``map``."""
    cols = acc.generate((3, 8), lambda i, j: g[i, acc.maximum(k[j], 0)] * g[i, 0])
    rows = acc.map(lambda q: acc.exp(t[acc.maximum(q, 0)]), k)
    return (cols * W).sum() + (rows * W).sum()


def lambda_reads_jax(g: Any, t: Any, k: np.ndarray) -> Any:
    kk = np.maximum(k, 0)
    return (g[:, kk] * g[:, :1] * W).sum() + (jnp.exp(t[kk]) * W).sum()


def test_gather_with_int32_indices(backend: str) -> None:
    x = RNG.standard_normal(5)
    got = run_on(backend, ad.grad(gather), x, IX)
    assert_close(got, np.asarray(jax.grad(gather_jax)(x, IX)))
    assert_close(got, finite_difference_grad(lambda v: gather(v, acc.use(IX)), x), rtol=1e-7, atol=1e-9)


def test_scatter_with_int32_targets_and_ignore(backend: str) -> None:
    d, x = RNG.standard_normal(5), RNG.standard_normal(8)
    got = run_on(backend, ad.grad(scatter, (0, 1)), d, x, IX)
    want = jax.grad(scatter_jax, (0, 1))(d, x, IX)
    for g, h in zip(got, want, strict=True):
        assert_close(g, np.asarray(h))
    fd = finite_difference_grad(lambda v: scatter(acc.use(d), v, acc.use(IX)), x)
    assert_close(got[1], fd, rtol=1e-7, atol=1e-9)
    assert not got[1][IX < 0].any()  # dropped sources get no gradient
    d_tan, x_tan = RNG.standard_normal(5), RNG.standard_normal(8)
    jvp = run_on(backend, lambda p, t: ad.jvp(lambda a, b: scatter(a, b, acc.use(IX)), p, t)[1], (d, x), (d_tan, x_tan))
    want_jvp = jax.jvp(lambda a, b: scatter_jax(a, b, IX), (d, x), (d_tan, x_tan))[1]
    assert_close(jvp, np.asarray(want_jvp))


def test_reads_with_int32_indices_inside_lambdas(backend: str) -> None:
    g, t = RNG.standard_normal((3, 5)), RNG.standard_normal(5)
    got = run_on(backend, ad.grad(lambda_reads, (0, 1)), g, t, IX)
    want = jax.grad(lambda_reads_jax, (0, 1))(g, t, IX)
    for a, b in zip(got, want, strict=True):
        assert_close(a, np.asarray(b))
    fd = finite_difference_grad(lambda v: lambda_reads(v, acc.use(t), acc.use(IX)), g)
    assert_close(got[0], fd, rtol=1e-7, atol=1e-9)
