"""Random programs with ``checkpoint``, ``custom_vjp`` and ``stop_gradient`` inside, under every transform.

Hypothesis draws a chain of vector layers (element-wise, scans, reductions, gathers, stencils, matrix
products, a ``stop_gradient``) and wraps runs of them in ``ad.checkpoint`` or in an ``ad.custom_vjp``
whose rule is the run's true derivative (``fwd`` keeps the input, ``bwd`` is ``ad.vjp`` of the run).
Every composition of transforms must agree with the JAX twin of the same program (built from
``jax.checkpoint``, ``jax.custom_vjp`` and ``jax.lax.stop_gradient``) and with the same pyaccad program
without the wrappers, whose rules agree with them by construction. Float64 values of order 1 through at
most a few dozen operations: rounding stays far below ``rtol=1e-9``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from ad_checks import traced_run
from hypothesis import given, settings
from hypothesis import strategies as st

import pyaccad as acc
from pyaccad import ad

jax = pytest.importorskip("jax", reason="JAX is not installed: the random custom-rule programs need it")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

N = 4
W = np.random.default_rng(3).uniform(-0.6, 0.6, size=(N, N))
WEIGHTS = np.random.default_rng(4).uniform(-1.0, 1.0, size=N)


def _second_difference(a):
    return acc.stencil(lambda n: n[0] - 2.0 * n[1] + n[2], a, 3, boundary="clamp")


def _second_difference_jax(a):
    p = jnp.concatenate([a[:1], a, a[-1:]])
    return p[:-2] - 2.0 * p[1:-1] + p[2:]


# name: (pyaccad layer, JAX layer), each R^N -> R^N
LAYERS: dict[str, tuple[Callable, Callable]] = {
    "sin": (acc.sin, jnp.sin),
    "tanh": (lambda a: acc.tanh(a * 1.3), lambda a: jnp.tanh(a * 1.3)),
    "square": (lambda a: a * a * 0.5 + a, lambda a: a * a * 0.5 + a),
    "reverse": (lambda a: a * acc.reverse(a) + a, lambda a: a * a[::-1] + a),
    "scan": (lambda a: acc.scanl1(lambda p, q: p + q, a) * 0.3, lambda a: jnp.cumsum(a) * 0.3),
    "sum": (lambda a: a * a.sum() * 0.2, lambda a: a * a.sum() * 0.2),
    "matmul": (lambda a: a @ W, lambda a: a @ W),
    "stencil": (lambda a: _second_difference(a) + a, lambda a: _second_difference_jax(a) + a),
    "gather": (
        lambda a: acc.generate((N,), lambda i: a[(i + 1) % N] * a[i]) + a,
        lambda a: jnp.roll(a, -1) * a + a,
    ),
    "stop_gradient": (
        lambda a: a * ad.stop_gradient(a.sum()) * 0.2,
        lambda a: a * jax.lax.stop_gradient(a.sum()) * 0.2,
    ),
}

Segment = tuple[str, tuple[str, ...]]  # (wrapper: "plain", "checkpoint" or "custom_vjp"; layer names)


def _chain(layers: tuple[str, ...], side: int) -> Callable:
    def run(a):
        for name in layers:
            a = LAYERS[name][side](a)
        return a

    return run


def _wrapped(wrapper: str, run: Callable, side: int) -> Callable:
    if wrapper == "plain":
        return run
    if wrapper == "checkpoint":
        return (ad.checkpoint, jax.checkpoint)[side](run)
    vjp = (ad.vjp, jax.vjp)[side]
    rule = (ad.custom_vjp, jax.custom_vjp)[side](run)
    rule.defvjp(lambda a: (run(a), a), lambda a, ct: vjp(run, a)[1](ct))  # the true derivative
    return rule


def build(segments: list[Segment], side: int, wrappers: bool = True) -> Callable:
    """The program ``x -> Σ chain(x) · w``: side 0 is pyaccad, side 1 is JAX."""
    parts = [_wrapped(w if wrappers else "plain", _chain(layers, side), side) for w, layers in segments]

    def f(x):
        for part in parts:
            x = part(x)
        return (x * WEIGHTS).sum()

    return f


segments = st.lists(
    st.tuples(
        st.sampled_from(["plain", "checkpoint", "custom_vjp"]),
        st.lists(st.sampled_from(sorted(LAYERS)), min_size=1, max_size=3).map(tuple),
    ),
    min_size=1,
    max_size=3,
)


def _compositions(f: Callable, m) -> dict[str, Callable]:
    """Each composition as a function of a batch of examples ``xs``."""
    return {
        "vmap_grad": m.vmap(m.grad(f)),
        "grad_vmap": m.grad(lambda xs: m.vmap(f)(xs).sum()),
        "hessian": m.vmap(m.hessian(f)),
        "jacobian": (lambda xs: ad.jacobian(ad.vmap(f), mode="rev")(xs)) if m is ad else jax.jacrev(jax.vmap(f)),
    }


@settings(max_examples=12, deadline=None)
@given(segments=segments, seed=st.integers(0, 2**31))
def test_random_programs_agree_with_jax_and_without_the_wrappers(segments: list[Segment], seed: int) -> None:
    xs = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(2, N))
    f, twin, plain = build(segments, 0), build(segments, 1), build(segments, 0, wrappers=False)
    ours, theirs, unwrapped = _compositions(f, ad), _compositions(twin, jax), _compositions(plain, ad)
    for name in ours:
        got = traced_run(ours[name], xs)
        np.testing.assert_allclose(got, jax.jit(theirs[name])(xs), rtol=1e-9, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(got, traced_run(unwrapped[name], xs), rtol=1e-9, atol=1e-12, err_msg=name)
    if not any(w == "custom_vjp" for w, _ in segments):  # forward mode is defined: it must agree too
        ts = np.random.default_rng(seed + 1).uniform(-1.0, 1.0, size=(2, N))
        jvp = traced_run(lambda xs, ts: ad.jvp(ad.vmap(f), (xs,), (ts,))[1], xs, ts)
        np.testing.assert_allclose(
            jvp, jax.jit(lambda xs, ts: jax.jvp(jax.vmap(twin), (xs,), (ts,))[1])(xs, ts), rtol=1e-9, atol=1e-12
        )
