"""Reads of a differentiated array inside a ``while_`` loop of a lambda, against central finite differences and JAX.

Forward mode (``jvp``, ``jacobian(mode="fwd")``, forward over forward) and reverse mode (``grad``, ``vjp``,
``jacobian(mode="rev")``, ``vmap`` of ``grad``, ``grad`` of ``grad``, forward over reverse). JAX cannot run
reverse mode through a ``while_loop`` with a dynamic trip count, so the reverse-mode references are
JAX's forward-mode Jacobians (``jax.jacfwd``) contracted with the cotangent. Reverse mode takes the loops'
states from a tape by default; ``test_lane_loop_policies.py`` covers the other policies further.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from ad_checks import check_dot_product, finite_difference_grad, jvp_of, traced_run

import pyaccad as acc
from pyaccad import ad
from pyaccad.ad.transpose_rules import loop as transpose_loop

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


def _countdown(x: Any) -> Any:  # lane i runs i steps (lane 0 none); every lane reads x[0] and x[1]: collisions
    def body(s: Any) -> Any:
        return (s[0] * x[s[1] % 2] + x[0], s[1] + 1)

    return acc.generate((4,), lambda i: acc.while_(lambda s: s[1] < i, body, (x[i] * x[i], np.int64(0)))[0])


def _countdown_jax(x: Any) -> Any:
    def body(s: Any) -> Any:
        return (s[0] * x[s[1] % 2] + x[0], s[1] + 1)

    return jax.vmap(lambda i: jax.lax.while_loop(lambda s: s[1] < i, body, (x[i] * x[i], 0))[0])(jnp.arange(4))


def _loop(cond: Callable[[Any], Any], body: Callable[[Any], Any], init: Any) -> Any:
    """``acc.while_`` with the int counters of the state made int64 (JAX's twin is ``jax.lax.while_loop``)."""
    return acc.while_(cond, body, tuple(np.int64(v) if isinstance(v, int) else v for v in init))


def _pair(x: Any, loop: Callable[..., Any], sin: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def body(s: Any) -> Any:  # a tuple state with two float components
        a, b, k = s
        return (a * x[k] + b, b + sin(x[k + 1]) * a, k + 1)

    return lambda v: loop(lambda s: s[2] < 2, body, (v, v * v, 0))[1]


def _twice(x: Any, loop: Callable[..., Any], sin: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def per(v: Any) -> Any:  # two loops; their bodies read t and u, values of the lambda computed from reads
        t = v * x[1]
        s = loop(lambda s: s[1] < 2, lambda s: (s[0] + t * x[s[1]], s[1] + 1), (v, 0))[0]
        u = sin(s * s)
        return loop(lambda r: r[1] < 3, lambda r: (r[0] * x[r[1]] + u, r[1] + 1), (t, 1))[0]

    return per


def _branchy(x: Any, loop: Callable[..., Any], choose: Callable[..., Any]) -> Callable[[Any], Any]:
    def per(v: Any) -> Any:  # a loop in one branch of a cond, a read in the other
        return choose(
            v > 0.5, lambda: loop(lambda s: s[1] < 2, lambda s: (s[0] * x[s[1]], s[1] + 1), (v, 0))[0], lambda: v * x[2]
        )

    return per


def _nested(x: Any, loop: Callable[..., Any], sin: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def inner(s: Any) -> Any:  # a loop in a loop: trip s[1] + 1, reading x and the outer state
        return loop(lambda r: r[1] < s[1] + 1, lambda r: (r[0] * x[r[1]] + sin(s[0]), r[1] + 1), (s[0], 0))[0]

    return lambda v: loop(lambda s: s[1] < 2, lambda s: (inner(s), s[1] + 1), (v, 0))[0]


def _grid(x: Any) -> Any:  # 2-D lanes (i, j), i + j trips
    def body(s: Any) -> Any:
        return (s[0] * x[(s[1] + s[2]) % 4] + x[s[2]], s[1] + 1, s[2])

    return acc.generate((2, 3), lambda i, j: acc.while_(lambda s: s[1] < i + j, body, (x[j], np.int64(0), i))[0])


def _grid_jax(x: Any) -> Any:
    def body(s: Any) -> Any:
        return (s[0] * x[(s[1] + s[2]) % 4] + x[s[2]], s[1] + 1, s[2])

    per = lambda i, j: jax.lax.while_loop(lambda s: s[1] < i + j, body, (x[j], 0, i))[0]  # noqa: E731
    return jax.vmap(lambda i: jax.vmap(lambda j: per(i, j))(jnp.arange(3)))(jnp.arange(2))


def _lane_map(per: Callable[..., Callable[[Any], Any]], *ops: Any) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    """A ``map`` of ``per(x, *ops)`` over ``x``, and its JAX twin (``vmap``, the ops' JAX counterparts)."""
    twins = {_loop: jax.lax.while_loop, acc.sin: jnp.sin, acc.cond: lambda p, t, e: jax.lax.cond(p, t, e)}
    return (lambda x: acc.map(per(x, *ops), x)), (lambda x: jax.vmap(per(x, *(twins[o] for o in ops)))(x))


PROGRAMS: dict[str, tuple[Callable[[Any], Any], Callable[[Any], Any], int]] = {
    "map_walk": (_walk, _walk_jax, 3),
    "generate_chase": (_chase, _chase_jax, 4),
    "stencil_clamp": (_stencil, _stencil_jax, 4),
    "generate_zero_trips": (_countdown, _countdown_jax, 4),
    "map_tuple_state": (*_lane_map(_pair, _loop, acc.sin), 3),
    "map_two_loops": (*_lane_map(_twice, _loop, acc.sin), 3),
    "map_loop_in_cond": (*_lane_map(_branchy, _loop, acc.cond), 3),
    "map_loop_in_loop": (*_lane_map(_nested, _loop, acc.sin), 3),
    "generate_2d": (_grid, _grid_jax, 4),
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


def _weights(f_jax: Callable[[Any], Any], x: np.ndarray, seed: int) -> np.ndarray:
    return np.random.default_rng(seed + 20).normal(size=np.shape(f_jax(jnp.asarray(x))))


def _jax_vjp(f_jax: Callable[[Any], Any], x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``wᵀ J`` with JAX's forward-mode Jacobian (JAX has no reverse mode through a dynamic ``while_loop``)."""
    jac = np.asarray(jax.jacfwd(f_jax)(x))
    return np.tensordot(w, jac, axes=w.ndim)


@pytest.mark.parametrize("name", list(PROGRAMS))
@pytest.mark.parametrize("seed", [0, 1])
def test_grad_matches_finite_differences_and_jax(name: str, seed: int, backend: str) -> None:
    f, f_jax, n = PROGRAMS[name]
    x = _draw(n, seed)
    w = _weights(f_jax, x, seed)
    loss = lambda x: (f(x) * w).sum()  # noqa: E731
    got = acc.jit(ad.grad(loss), backend=backend)(x)
    np.testing.assert_allclose(got, _jax_vjp(f_jax, x, w), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(got, finite_difference_grad(loss, x), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", list(PROGRAMS))
@pytest.mark.parametrize("policy", [3, "bisect"])
def test_every_policy_gives_the_same_gradient(name: str, policy: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """The mixed tape and bisection (the tape is the default, above), by the policy of loops that name none."""
    monkeypatch.setattr(transpose_loop, "DEFAULT_CHECKPOINT", policy)
    f, f_jax, n = PROGRAMS[name]
    x = _draw(n, 0)
    w = _weights(f_jax, x, 0)
    got = traced_run(ad.grad(lambda x: (f(x) * w).sum()), x)
    np.testing.assert_allclose(got, _jax_vjp(f_jax, x, w), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_vjp_is_the_transpose_of_jvp(name: str) -> None:
    f, _, n = PROGRAMS[name]
    check_dot_product(f, _draw(n, 4), np.random.default_rng(4))


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_reverse_jacobian_agrees_with_jax(name: str) -> None:
    f, f_jax, n = PROGRAMS[name]
    x = _draw(n, 3)
    np.testing.assert_allclose(traced_run(ad.jacobian(f, mode="rev"), x), jax.jacfwd(f_jax)(x), rtol=1e-10)


@pytest.mark.parametrize("name", ["generate_chase", "map_loop_in_cond"])
def test_vmap_of_grad_agrees_with_jax(name: str) -> None:
    f, f_jax, n = PROGRAMS[name]
    xs = np.stack([_draw(n, seed) for seed in range(3)])
    got = traced_run(ad.vmap(ad.grad(lambda x: f(x).sum())), xs)
    np.testing.assert_allclose(got, jax.vmap(jax.jacfwd(lambda x: f_jax(x).sum()))(xs), rtol=1e-10)


@pytest.mark.parametrize("name", ["map_walk", "generate_zero_trips", "map_tuple_state", "map_loop_in_cond"])
def test_second_order_agrees_with_jax(name: str) -> None:  # fwd over rev, rev over rev, rev over fwd
    f, f_jax, n = PROGRAMS[name]
    x, v = _draw(n, 5), np.random.default_rng(5).normal(size=n)
    want = jax.jacfwd(jax.jacfwd(lambda x: (f_jax(x) ** 2).sum()))(x)
    np.testing.assert_allclose(traced_run(ad.hessian(lambda x: (f(x) ** 2).sum()), x), want, rtol=1e-9)
    grad_of_grad = ad.grad(lambda x: (ad.grad(lambda y: (f(y) ** 2).sum())(x) * v).sum())
    np.testing.assert_allclose(traced_run(grad_of_grad, x), np.asarray(want) @ v, rtol=1e-9)
    grad_of_jvp = ad.grad(lambda x: ad.jvp(lambda y: (f(y) ** 2).sum(), (x,), (v,))[1])
    np.testing.assert_allclose(traced_run(grad_of_jvp, x), np.asarray(want) @ v, rtol=1e-9)


def test_a_rank0_array_read_in_a_loop_counts_once() -> None:
    def f(x: Any, v: Any) -> Any:  # v: rank 0, the map's operand and read as v[()] in the loop
        body = lambda s: (s[0] * x[s[1]] + v[()], s[1] + 1)  # noqa: E731
        return acc.map(lambda u: _loop(lambda s: s[1] < 2, body, (u, 0))[0], v)

    def f_jax(x: Any, v: Any) -> Any:
        return jax.lax.while_loop(lambda s: s[1] < 2, lambda s: (s[0] * x[s[1]] + v, s[1] + 1), (v, 0))[0]

    x, v = _draw(3, 6), np.array(0.3)
    got = traced_run(ad.grad(f, argnums=(0, 1)), x, v)
    want = jax.jacfwd(f_jax, argnums=(0, 1))(x, v)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    tangent = traced_run(lambda x, v: ad.jvp(lambda v: f(x, v), (v,), (np.array(1.0),))[1], x, v)
    np.testing.assert_allclose(tangent, want[1], rtol=1e-12)


def _choosy(x: Any, loop: Callable[..., Any], choose: Callable[..., Any]) -> Callable[[Any], Any]:
    def body(s: Any) -> Any:  # reads in the branches of a cond in the body, and in the loop's condition
        extra = choose(s[0] < 0.8, lambda: x[s[1]], lambda: x[s[1] + 1] * 2.0)
        return (s[0] + extra * s[0], s[1] + 1, s[2] * x[0])

    def per(v: Any) -> Any:  # three results: two floats, the trip count
        s = loop(lambda s: (s[0] < x[3] * 3.0) & (s[1] < 3), body, (v, 0, v))
        return s[0], s[2] + s[0], s[1]

    return per


def test_several_results_and_reads_in_branches_and_conditions(backend: str) -> None:
    f = lambda x: acc.map(_choosy(x, _loop, acc.cond), x)  # noqa: E731
    f_jax = lambda x: jax.vmap(_choosy(x, jax.lax.while_loop, lambda p, t, e: jax.lax.cond(p, t, e)))(x)  # noqa: E731
    x, w, u = np.array([0.3, 0.5, 0.7, 0.9]), np.array([1.0, -2.0, 0.5, 3.0]), np.array([0.3, 0.1, -1.0, 2.0])
    values = acc.jit(f, backend=backend)(x)  # on the backend under test, against JAX's loop
    np.testing.assert_array_equal(values[2], [3, 3, 3, 2])
    for got, want in zip(values[:2], f_jax(jnp.asarray(x))[:2], strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12)
    loss = lambda x: (f(x)[0] * w + f(x)[1] * u).sum()  # noqa: E731
    want = jax.jacfwd(lambda x: (f_jax(x)[0] * w + f_jax(x)[1] * u).sum())(x)
    np.testing.assert_allclose(acc.jit(ad.grad(loss), backend=backend)(x), want, rtol=1e-10)
