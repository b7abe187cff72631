"""Reads of a differentiated array inside a ``while_`` loop of a lambda: forward mode (``jvp``,
``jacobian(mode="fwd")``, forward over forward) against central finite differences and JAX; reverse mode
raises a precise ``NotDifferentiable``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from ad_checks import jvp_of, traced_run

import pyaccad as acc
from pyaccad import ad

jax = pytest.importorskip("jax", reason="JAX is not installed: the JAX agreement tests need it")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy


def _walk(x: Any) -> Any:  # per element v: s ← s·x[k+1] + x[0] for k < 2; reads inside and outside the loop
    step = lambda s: (s[0] * x[s[1] + 1] + x[0], s[1] + 1)  # noqa: E731
    return acc.map(lambda v: acc.while_(lambda s: s[1] < 2, step, (v * x[2], np.int64(0)))[0], x)


def _walk_jax(x: Any) -> Any:
    step = lambda s: (s[0] * x[s[1] + 1] + x[0], s[1] + 1)  # noqa: E731
    return jax.vmap(lambda v: jax.lax.while_loop(lambda s: s[1] < 2, step, (v * x[2], 0))[0])(x)


def _chase(x: Any) -> Any:  # a data-dependent trip count: add to the sum until it passes 1 (at most 3 steps)
    def body(s: Any) -> Any:
        return (s[0] + acc.sin(x[s[1] % 4]) * x[(s[1] + 1) % 4], s[1] + 1)

    return acc.generate((3,), lambda i: acc.while_(lambda s: (s[0] < 1.0) & (s[1] < i + 3), body, (x[i], i))[0])


def _chase_jax(x: Any) -> Any:
    def body(s: Any) -> Any:
        return (s[0] + jnp.sin(x[s[1] % 4]) * x[(s[1] + 1) % 4], s[1] + 1)

    return jax.vmap(lambda i: jax.lax.while_loop(lambda s: (s[0] < 1.0) & (s[1] < i + 3), body, (x[i], i))[0])(
        jnp.arange(3)
    )


def _stencil(x: Any) -> Any:  # per neighbourhood (left, centre): s ← s·x[k] + left, twice
    def per(n: Any) -> Any:
        return acc.while_(lambda s: s[1] < 2, lambda s: (s[0] * x[s[1]] + n[0], s[1] + 1), (n[1], np.int64(0)))[0]

    return acc.stencil(per, x, 3, "clamp")


def _stencil_jax(x: Any) -> Any:
    def per(left: Any, centre: Any) -> Any:
        return jax.lax.while_loop(lambda s: s[1] < 2, lambda s: (s[0] * x[s[1]] + left, s[1] + 1), (centre, 0))[0]

    return jax.vmap(per)(jnp.concatenate([x[:1], x[:-1]]), x)


PROGRAMS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any], int]] = {
    "map_walk": (_walk, _walk_jax, 3),
    "generate_chase": (_chase, _chase_jax, 4),
    "stencil_clamp": (_stencil, _stencil_jax, 4),
}


def _draw(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0.2, 0.9, size=n)


def _fd_jvp(f: Callable[[Any], Any], x: np.ndarray, v: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    run = acc.jit(f, backend="interp")
    return (run(x + eps * v) - run(x - eps * v)) / (2 * eps)


@pytest.mark.parametrize("name", list(PROGRAMS))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_jvp_matches_finite_differences_and_jax(name: str, seed: int) -> None:
    f, f_jax, n = PROGRAMS[name]
    x, v = _draw(n, seed), np.random.default_rng(seed + 10).normal(size=n)
    got = jvp_of(f, (x,), (v,))
    np.testing.assert_allclose(got, _fd_jvp(f, x, v), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got, jax.jvp(f_jax, (x,), (v,))[1], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_forward_jacobian_agrees_with_jax(name: str) -> None:
    f, f_jax, n = PROGRAMS[name]
    x = _draw(n, 3)
    np.testing.assert_allclose(traced_run(ad.jacobian(f, mode="fwd"), x), jax.jacfwd(f_jax)(x), rtol=1e-10)


def test_forward_over_forward_agrees_with_jax() -> None:
    x, v, w = _draw(3, 4), np.array([1.0, -0.5, 0.25]), np.array([0.3, 0.2, -1.0])
    got = traced_run(lambda x, v, w: ad.jvp(lambda y: ad.jvp(_walk, (y,), (v,))[1], (x,), (w,))[1], x, v, w)
    want = jax.jvp(lambda y: jax.jvp(_walk_jax, (y,), (v,))[1], (x,), (w,))[1]
    np.testing.assert_allclose(got, want, rtol=1e-10)


def test_reverse_mode_names_the_case() -> None:
    with pytest.raises(acc.NotDifferentiable, match="index: reverse mode .* inside a while_ loop of a map lambda"):
        traced_run(ad.grad(lambda x: _walk(x).sum()), _draw(3, 5))
