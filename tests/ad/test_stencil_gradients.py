"""Derivatives of ``stencil`` for every boundary, against JAX (a ``jnp.pad``-based stencil) and finite differences.

Ranks 1-3, stencil sizes 3/5/7 per axis, extents from 1 to past the stencil's width (where a shift wraps,
reflects or clamps more than once), float32 and float64, on every backend; ``vmap`` of ``grad`` and the
Hessian; and the reverse-mode program holds no scatter (:mod:`pyaccad.ad.lambdas.shifts`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest
from ad_checks import check_against_fd, check_dot_product
from helpers import assert_close, available_backends, primitive_names

import pyaccad as acc
from pyaccad import ad
from pyaccad.frontend import trace
from pyaccad.ir import verify

jax = pytest.importorskip("jax", reason="JAX is not installed: the JAX agreement tests need it")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

BOUNDARIES: dict[str, tuple[str | float, dict[str, Any]]] = {
    "clamp": ("clamp", {"mode": "edge"}),
    "mirror": ("mirror", {"mode": "reflect"}),
    "wrap": ("wrap", {"mode": "wrap"}),
    "constant": (1.5, {"mode": "constant", "constant_values": 1.5}),
}

# (size, shape): extents 1 .. size + 1 and larger, per rank
CASES = [
    ((3,), (1,)),
    ((3,), (2,)),
    ((3,), (4,)),
    ((3,), (9,)),
    ((5,), (1,)),
    ((5,), (3,)),
    ((5,), (6,)),
    ((7,), (2,)),
    ((7,), (5,)),
    ((7,), (8,)),
    ((7,), (13,)),
    ((3, 3), (1, 4)),
    ((3, 3), (2, 2)),
    ((3, 3), (5, 6)),
    ((5, 3), (3, 7)),
    ((7, 5), (4, 6)),
    ((3, 3, 3), (2, 3, 4)),
    ((3, 5, 3), (1, 4, 6)),
]


def _neighbourhood(value: Any, f: Callable[[Sequence[Any]], Any]) -> Any:
    """``f`` of the neighbours in row-major order, from a stencil lambda's nested neighbour tuples."""

    def flat(n: Any) -> list[Any]:
        return [leaf for part in n for leaf in flat(part)] if isinstance(n, tuple) else [n]

    return f(flat(value))


def _element(ns: Sequence[Any], sin: Callable[[Any], Any]) -> Any:
    """A non-linear element function: the partials differ per neighbour and per element."""
    k = len(ns)
    linear = sum(((j + 1) / k) * n for j, n in enumerate(ns))
    return linear + ns[0] * ns[-1] + sin(ns[k // 2]) * ns[1]


def _acc_stencil(size: tuple[int, ...], boundary: str | float) -> Callable[[Any], Any]:
    return lambda x: acc.stencil(lambda n: _neighbourhood(n, lambda ns: _element(ns, acc.sin)), x, size, boundary)


def _acc_loss(size: tuple[int, ...], boundary: str | float, weights: np.ndarray) -> Callable[[Any], Any]:
    def loss(x: Any) -> Any:
        y = _acc_stencil(size, boundary)(x)
        return (y * weights.astype(y.dtype)).sum()

    return loss


def _jax_loss(size: tuple[int, ...], pad: dict[str, Any], weights: np.ndarray) -> Callable[[Any], Any]:
    def loss(x: Any) -> Any:
        r = [s // 2 for s in size]
        padded = jnp.pad(x, [(q, q) for q in r], **pad)
        offsets = itertools.product(*(range(s) for s in size))
        ns = [padded[tuple(slice(o, o + n) for o, n in zip(off, x.shape, strict=True))] for off in offsets]
        return jnp.sum(_element(ns, jnp.sin) * weights)

    return loss


def _inputs(shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=shape), rng.normal(size=shape)


# Every case on the interpreter; on compiled backends (a compile per case) one case per rank and stencil size,
# with extents below, at and above the stencil's: they run the same generated primitives.
COMPILED_CASES = [((3,), (1,)), ((7,), (5,)), ((7,), (13,)), ((3, 3), (1, 4)), ((7, 5), (4, 6)), ((3, 5, 3), (1, 4, 6))]
JAX_CASES = [
    (backend, size, shape)
    for backend in available_backends()
    for size, shape in (CASES if backend == "interp" else COMPILED_CASES)
]


@pytest.mark.parametrize("boundary", list(BOUNDARIES))
@pytest.mark.parametrize(("backend", "size", "shape"), JAX_CASES, ids=[f"{b}-{s}-{n}" for b, s, n in JAX_CASES])
def test_grad_matches_jax(backend: str, boundary: str, size: tuple[int, ...], shape: tuple[int, ...]) -> None:
    value, pad = BOUNDARIES[boundary]
    x, weights = _inputs(shape)
    got = acc.jit(ad.grad(_acc_loss(size, value, weights)), backend=backend)(x)
    # jit: one XLA compile of the whole reference, not one per operation and slice (most of this test's time)
    assert_close(got, np.asarray(jax.jit(jax.grad(_jax_loss(size, pad, weights)))(x)))


@pytest.mark.parametrize("boundary", list(BOUNDARIES))
@pytest.mark.parametrize(("size", "shape"), [((5,), (4,)), ((3, 5), (4, 3)), ((3, 3, 3), (2, 4, 3))])
def test_float32_grad_matches_jax(backend: str, boundary: str, size: tuple[int, ...], shape: tuple[int, ...]) -> None:
    value, pad = BOUNDARIES[boundary]
    x, weights = _inputs(shape, seed=1)
    got = acc.jit(ad.grad(_acc_loss(size, value, weights)), backend=backend)(x.astype(np.float32))
    expected = np.asarray(jax.jit(jax.grad(_jax_loss(size, pad, weights)))(x.astype(np.float32).astype(np.float64)))
    assert_close(got, expected.astype(np.float32))


@pytest.mark.parametrize("boundary", list(BOUNDARIES))
@pytest.mark.parametrize(("size", "shape"), [((7,), (3,)), ((3, 5), (2, 3)), ((3, 3, 3), (2, 1, 3))])
def test_grad_matches_finite_differences(boundary: str, size: tuple[int, ...], shape: tuple[int, ...]) -> None:
    x, weights = _inputs(shape, seed=2)
    value = BOUNDARIES[boundary][0]
    check_against_fd(_acc_loss(size, value, weights), x)
    check_dot_product(_acc_stencil(size, value), x, np.random.default_rng(3))  # reverse mode is forward's transpose


@pytest.mark.parametrize("boundary", list(BOUNDARIES))
def test_reverse_mode_gathers(boundary: str) -> None:
    """The cotangent reads the output cotangent at each element's preimages: no scatter, no gather by index."""
    x, weights = _inputs((6, 5))
    program = trace(ad.grad(_acc_loss((5, 3), BOUNDARIES[boundary][0], weights)), x).program
    verify(program)
    assert not primitive_names(program) & {"permute", "backpermute"}


@pytest.mark.parametrize("boundary", list(BOUNDARIES))
def test_vmap_of_grad_and_hessian(backend: str, boundary: str) -> None:
    value, pad = BOUNDARIES[boundary]
    x, weights = _inputs((3, 4))
    batch = np.random.default_rng(4).normal(size=(2, 3, 4))
    loss, reference = _acc_loss((3, 5), value, weights), _jax_loss((3, 5), pad, weights)
    got = acc.jit(ad.vmap(ad.grad(loss)), backend=backend)(batch)
    assert_close(got, np.asarray(jax.jit(jax.vmap(jax.grad(reference)))(batch)))
    hessian = acc.jit(ad.hessian(loss), backend=backend)(x)
    assert_close(hessian, np.asarray(jax.jit(jax.hessian(reference))(x)))
