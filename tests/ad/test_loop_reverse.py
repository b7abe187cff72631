"""Reverse mode through ``awhile`` (bisection over a checkpoint stack, :mod:`pyaccad.ad.transpose_rules.loop`).

References: JAX reverse mode through ``jax.lax.fori_loop`` (a static trip count, which JAX can reverse), and
central finite differences where the trip count depends on the data. Every case runs on each backend; a full
checkpoint stack is forced by lowering ``pyaccad.ad.transpose_rules.loop.CHECKPOINT_LEVELS``.

Body runs of the reverse pass that advance checkpoints (counted on the interpreter; they depend on ``n`` only):
352 for ``n = 100`` and 5 420 for ``n = 1000``, plus one inside each transposed trip (131 and 1 255), against
4 950 and 499 500 when every state is recomputed from the initial one. Not asserted: the tests check values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import pyaccad as acc
from pyaccad import ad
from pyaccad.ad.transpose_rules import loop as transpose_loop
from pyaccad.frontend import trace
from pyaccad.ir import verify

jax = pytest.importorskip("jax", reason="JAX is not installed: the JAX agreement tests need it")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

RNG = np.random.default_rng(7)


def _run(fn: Callable[..., Any], backend: str, *args: Any) -> Any:
    verify(trace(fn, *args).program)
    return acc.jit(fn, backend=backend)(*args)


def _close(got: Any, want: Any) -> None:
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want), strict=True):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-9, atol=1e-12)


def _step(m: Any, s: Any, w: Any) -> Any:  # contracting, so a long loop keeps finite, non-zero gradients
    return 0.5 * s + m.tanh(s * w + 0.3)


def _loop(n: int) -> Callable[[Any, Any], Any]:
    def f(x: Any, w: Any) -> Any:
        s, _ = acc.awhile(lambda c: c[1] < n, lambda c: (_step(acc, c[0], w), c[1] + 1), (x, np.int64(0)))
        return (s * s).sum()

    return f


def _loop_jax(n: int) -> Callable[[Any, Any], Any]:
    def f(x: Any, w: Any) -> Any:
        s = jax.lax.fori_loop(0, n, lambda _, s: _step(jnp, s, w), x)
        return (s * s).sum()

    return f


def _check_loop(backend: str, n: int) -> None:
    """The gradient of :func:`_loop` with respect to the initial state and the weights the body reads."""
    x, w = RNG.uniform(-1, 1, size=3), RNG.uniform(0.5, 1.5, size=3)
    got = _run(ad.grad(_loop(n), argnums=(0, 1)), backend, x, w)
    _close(got, jax.grad(_loop_jax(n), argnums=(0, 1))(x, w))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7, 100, 1000])
def test_gradient_matches_jax_for_each_trip_count(backend: str, n: int) -> None:
    _check_loop(backend, n)


@pytest.mark.parametrize("levels", [1, 2, 3])
@pytest.mark.parametrize("n", [7, 100])
def test_full_stack_falls_back_to_recomputation(
    backend: str, levels: int, n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transpose_loop, "CHECKPOINT_LEVELS", levels)  # 1: every state from the initial one
    _check_loop(backend, n)


@pytest.mark.parametrize("n", [3, 100])
def test_single_trip_leaves_match_jax(backend: str, n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transpose_loop, "LEAF_STEPS", 1)  # bisect down to single trips
    _check_loop(backend, n)


def test_data_dependent_trip_count_matches_finite_differences(backend: str) -> None:
    def f(x: Any) -> Any:  # grows the state until its sum passes 50: the trip count depends on x
        s, t = acc.awhile(lambda c: c[0].sum() < 50.0, lambda c: (c[0] * 1.1 + c[1] * x, c[1] * 0.9), (x, x))
        return (s * t).sum()

    x = np.array([0.31, 0.77, 0.52])
    got = _run(ad.grad(f), backend, x)
    run = acc.jit(f, backend=backend)
    eps = 1e-6
    fd = [(run(x + eps * e) - run(x - eps * e)) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


def test_body_never_runs_past_the_last_trip(backend: str) -> None:
    def f(x: Any) -> Any:  # the body's log would be NaN at the final state (s >= 1)
        body = lambda c: (c[0] + 0.25 * x, c[1] + acc.log(1.0 - c[0]) * x)  # noqa: E731
        return acc.awhile(lambda c: c[0] < 1.0, body, (x * 0.0, x * 0.0))[1]

    def f_jax(x: Any) -> Any:  # at x = 0.55, s_k = 0.25·x·k < 1 for k <= 7: 8 trips
        return jax.lax.fori_loop(0, 8, lambda _, c: (c[0] + 0.25 * x, c[1] + jnp.log(1.0 - c[0]) * x), (0.0, 0.0))[1]

    x = np.array(0.55)
    got = _run(ad.grad(f), backend, x)
    assert np.isfinite(got)
    _close(got, jax.grad(f_jax)(x))


def _mixed(m: Any, cast: Callable[[Any, Any], Any], s: Any, w: Any) -> Any:
    """A tuple state: a vector, a scalar, an int64 counter and an int32 flag that the floats read back."""
    v, a, k, flag = s
    odd = cast(flag == 1, a.dtype)
    return (v * w * (1.0 + 0.01 * cast(k, a.dtype)) + a * 0.1, m.sin(a) + (v * odd).sum() * 0.05, k + 1, 1 - flag)


def test_tuple_state_with_integer_components_matches_jax(backend: str) -> None:
    n = 37

    def f(x: Any, w: Any) -> Any:
        init = (x, x.sum(), np.int64(0), np.int32(0))
        v, a, _, _ = acc.awhile(lambda s: s[2] < n, lambda s: _mixed(acc, acc.cast, s, w), init)
        return (v * v).sum() + a

    def f_jax(x: Any, w: Any) -> Any:
        v, a, _, _ = jax.lax.fori_loop(
            0, n, lambda _, s: _mixed(jnp, lambda v, t: v.astype(t), s, w), (x, x.sum(), 0, jnp.int32(0))
        )
        return (v * v).sum() + a

    x, w = RNG.uniform(-1, 1, size=4), RNG.uniform(0.5, 1.0, size=4)
    _close(_run(ad.grad(f, argnums=(0, 1)), backend, x, w), jax.grad(f_jax, argnums=(0, 1))(x, w))


def test_loop_in_loop_matches_jax(backend: str) -> None:
    def inner(m: Any, s: Any, w: Any) -> Any:
        return m.sin(s) * w + 0.2 * s

    def f(x: Any, w: Any) -> Any:
        def outer(c: Any) -> Any:
            r = acc.awhile(lambda d: d[1] < c[1] + 2, lambda d: (inner(acc, d[0], w), d[1] + 1), (c[0], np.int64(0)))
            return r[0] * 0.9, c[1] + 1

        return acc.awhile(lambda c: c[1] < 6, outer, (x, np.int64(0)))[0].sum()

    def f_jax(x: Any, w: Any) -> Any:
        for i in range(6):  # unrolled: JAX reverses a fori_loop only with a static trip count
            x = jax.lax.fori_loop(0, i + 2, lambda _, r: inner(jnp, r, w), x) * 0.9
        return x.sum()

    x, w = RNG.uniform(-1, 1, size=3), RNG.uniform(0.5, 1.5, size=3)
    _close(_run(ad.grad(f, argnums=(0, 1)), backend, x, w), jax.grad(f_jax, argnums=(0, 1))(x, w))


@pytest.mark.parametrize("mode", ["rev", "fwd"])
def test_second_derivatives_match_jax(backend: str, mode: str) -> None:
    """Reverse over reverse (the reverse loop's own stack machine reversed) and forward over reverse."""
    n = 9

    def f(x: Any) -> Any:
        step = lambda c: (acc.sin(c[0]) * x[::-1] + 0.1 * c[0], c[1] + 1)  # noqa: E731
        return acc.awhile(lambda c: c[1] < n, step, (x, np.int64(0)))[0].sum()

    def f_jax(x: Any) -> Any:
        return jax.lax.fori_loop(0, n, lambda _, s: jnp.sin(s) * x[::-1] + 0.1 * s, x).sum()

    x = np.array([0.3, 0.8, -0.5])
    got = _run(ad.jacobian(ad.grad(f), mode=mode), backend, x)
    _close(got, jax.hessian(f_jax)(x))


def test_vmap_of_grad_with_a_trip_count_per_lane_matches_jax(backend: str) -> None:
    counts = np.array([0, 1, 5, 12, 3])
    xs, w = RNG.uniform(-1, 1, size=(5, 2)), RNG.uniform(0.5, 1.5, size=2)

    def f(x: Any, n: Any) -> Any:
        s, _ = acc.awhile(lambda c: c[1] < n, lambda c: (_step(acc, c[0], w), c[1] + 1), (x, np.int64(0)))
        return (s * s).sum()

    got = _run(ad.vmap(ad.grad(f)), backend, xs, counts)
    want = np.stack([jax.grad(_loop_jax(int(n)))(x, w) for x, n in zip(xs, counts, strict=True)])
    _close(got, want)
