"""Reverse mode through ``awhile``: a tape, or bisection over a checkpoint stack (``ad.transpose_rules.loop``).

Every gradient test runs under each policy (the ``policy`` fixture): the tape (every state stored), the
mixed tape (every third state stored, the others recomputed) and bisection.

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

POLICIES = [1, 3, "bisect"]


@pytest.fixture(params=POLICIES, ids=["tape", "mixed", "bisect"])
def policy(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> object:
    """The reverse-mode policy of loops that name none (``acc.awhile``'s ``checkpoint``)."""
    monkeypatch.setattr(transpose_loop, "DEFAULT_CHECKPOINT", request.param)
    return request.param


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
def test_gradient_matches_jax_for_each_trip_count(backend: str, n: int, policy: object) -> None:
    _check_loop(backend, n)


@pytest.mark.parametrize("levels", [1, 2, 3])
@pytest.mark.parametrize("n", [7, 100])
def test_full_stack_falls_back_to_recomputation(
    backend: str, levels: int, n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transpose_loop, "DEFAULT_CHECKPOINT", "bisect")
    monkeypatch.setattr(transpose_loop, "CHECKPOINT_LEVELS", levels)  # 1: every state from the initial one
    _check_loop(backend, n)


@pytest.mark.parametrize("n", [3, 100])
def test_single_trip_leaves_match_jax(backend: str, n: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(transpose_loop, "DEFAULT_CHECKPOINT", "bisect")
    monkeypatch.setattr(transpose_loop, "LEAF_STEPS", 1)  # bisect down to single trips
    _check_loop(backend, n)


def test_data_dependent_trip_count_matches_finite_differences(backend: str, policy: object) -> None:
    def f(x: Any) -> Any:  # grows the state until its sum passes 50: the trip count depends on x
        s, t = acc.awhile(lambda c: c[0].sum() < 50.0, lambda c: (c[0] * 1.1 + c[1] * x, c[1] * 0.9), (x, x))
        return (s * t).sum()

    x = np.array([0.31, 0.77, 0.52])
    got = _run(ad.grad(f), backend, x)
    run = acc.jit(f, backend=backend)
    eps = 1e-6
    fd = [(run(x + eps * e) - run(x - eps * e)) / (2 * eps) for e in np.eye(3)]
    np.testing.assert_allclose(got, fd, rtol=1e-6, atol=1e-8)


def test_body_never_runs_past_the_last_trip(backend: str, policy: object) -> None:
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


def test_tuple_state_with_integer_components_matches_jax(backend: str, policy: object) -> None:
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


def test_loop_in_loop_matches_jax(backend: str, policy: object) -> None:
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
def test_second_derivatives_match_jax(backend: str, mode: str, policy: object) -> None:
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


def test_vmap_of_grad_with_a_trip_count_per_lane_matches_jax(backend: str, policy: object) -> None:
    counts = np.array([0, 1, 5, 12, 3])
    xs, w = RNG.uniform(-1, 1, size=(5, 2)), RNG.uniform(0.5, 1.5, size=2)

    def f(x: Any, n: Any) -> Any:
        s, _ = acc.awhile(lambda c: c[1] < n, lambda c: (_step(acc, c[0], w), c[1] + 1), (x, np.int64(0)))
        return (s * s).sum()

    got = _run(ad.vmap(ad.grad(f)), backend, xs, counts)
    want = np.stack([jax.grad(_loop_jax(int(n)))(x, w) for x, n in zip(xs, counts, strict=True)])
    _close(got, want)


def test_loop_inside_acond_matches_jax(backend: str, policy: object) -> None:
    def f(x: Any, w: Any) -> Any:
        return acc.acond(x.sum() > 0.0, lambda v: _loop(5)(v, w), lambda v: (v * w).sum(), x)

    def f_jax(x: Any, w: Any) -> Any:
        return jax.lax.cond(x.sum() > 0.0, lambda v: _loop_jax(5)(v, w), lambda v: (v * w).sum(), x)

    w = RNG.uniform(0.5, 1.5, size=3)
    for x in (np.array([0.4, 0.2, -0.1]), np.array([-0.4, 0.2, -0.1])):
        _close(_run(ad.grad(f, argnums=(0, 1)), backend, x, w), jax.grad(f_jax, argnums=(0, 1))(x, w))


@pytest.mark.parametrize("checkpoint", POLICIES)
def test_each_loop_takes_its_own_policy(backend: str, checkpoint: object) -> None:
    """``checkpoint=`` of one ``awhile`` (here two loops in a row, one with the default policy)."""

    def f(x: Any, w: Any) -> Any:
        s, _ = acc.awhile(lambda c: c[1] < 9, lambda c: (_step(acc, c[0], w), c[1] + 1), (x, np.int64(0)), checkpoint)
        return _loop(4)(s, w)

    def f_jax(x: Any, w: Any) -> Any:
        return _loop_jax(4)(jax.lax.fori_loop(0, 9, lambda _, s: _step(jnp, s, w), x), w)

    x, w = RNG.uniform(-1, 1, size=3), RNG.uniform(0.5, 1.5, size=3)
    _close(_run(ad.grad(f, argnums=(0, 1)), backend, x, w), jax.grad(f_jax, argnums=(0, 1))(x, w))


def _tape_bytes(program: Any) -> int:
    """The bytes of every tape in ``program`` (the results of ``permute``, which only the tapes use here)."""
    total = 0
    for stmt in program.stmts:
        if stmt.prim.name == "permute":
            total += sum(v.type.size * v.type.dtype.itemsize for v in stmt.outs)
        total += sum(_tape_bytes(sub) for sub in stmt.subprograms())
    return total


@pytest.mark.parametrize(("checkpoint", "taped"), [(None, 24 * 1024), (1, 24 * 1024), (3, 32 * 1024), ("bisect", 0)])
def test_the_policy_decides_the_tape(checkpoint: object, taped: int) -> None:
    """A tape holds 1024 states: of 3 float64 (the counter is read by no transposed trip), or with the counter
    (8 bytes) when segments are advanced from their first state."""

    def f(x: Any, w: Any) -> Any:
        s, _ = acc.awhile(lambda c: c[1] < 9, lambda c: (_step(acc, c[0], w), c[1] + 1), (x, np.int64(0)), checkpoint)
        return s.sum()

    x, w = RNG.uniform(-1, 1, size=3), RNG.uniform(0.5, 1.5, size=3)
    assert _tape_bytes(trace(ad.grad(f, argnums=(0, 1)), x, w).program) == taped


@pytest.mark.parametrize(("stride", "n"), [(1, 40), (3, 40), (1, 5), (3, 5)])
def test_a_tiny_budget_bounds_the_tape_and_falls_back_to_bisection(
    backend: str, stride: int, n: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A budget of 8 states of 3 float64: 40 trips do not fit (bisection reverses them), 5 do (the tape)."""
    monkeypatch.setattr(transpose_loop, "DEFAULT_CHECKPOINT", stride)
    monkeypatch.setenv("PYACCAD_LOOP_TAPE_MB", str(8 * 24 * stride / 2**20))  # 8 // stride slots for n // stride
    x, w = RNG.uniform(-1, 1, size=3), RNG.uniform(0.5, 1.5, size=3)
    grad = ad.grad(_loop(n), argnums=(0, 1))
    assert 0 < _tape_bytes(trace(grad, x, w).program) <= 8 * 24 * stride
    _close(_run(grad, backend, x, w), jax.grad(_loop_jax(n), argnums=(0, 1))(x, w))


def test_no_budget_means_bisection_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYACCAD_LOOP_TAPE_MB", "0")
    x, w = RNG.uniform(-1, 1, size=3), RNG.uniform(0.5, 1.5, size=3)
    grad = ad.grad(_loop(30), argnums=(0, 1))
    assert _tape_bytes(trace(grad, x, w).program) == 0
    _close(_run(grad, "interp", x, w), jax.grad(_loop_jax(30), argnums=(0, 1))(x, w))


def test_a_linear_body_stores_nothing() -> None:
    """The transposed trips of a linear body (a stencil) read no state: no tape, whatever the trip count."""

    def f(u: Any) -> Any:
        step = lambda c: (acc.stencil(lambda n: n[1] + 0.25 * (n[0] - 2.0 * n[1] + n[2]), c[0], 3), c[1] + 1)  # noqa: E731
        return (acc.awhile(lambda c: c[1] < 2000, step, (u, np.int64(0)))[0] ** 2).sum()

    u = RNG.uniform(0, 1, size=8)
    assert _tape_bytes(trace(ad.grad(f), u).program) == 0
    # reverse of the 2000 steps: the transposed stencil (the one-sided clamp reflected) 2000 times
    padded = lambda v: np.concatenate([v[:1], v, v[-1:]])  # noqa: E731
    want = u
    for _ in range(2000):
        want = want + 0.25 * (padded(want)[:-2] - 2.0 * want + padded(want)[2:])
    ct = 2.0 * want
    step_matrix = np.eye(8) * 0.5
    for i in range(8):
        step_matrix[i, max(i - 1, 0)] += 0.25
        step_matrix[i, min(i + 1, 7)] += 0.25
    for _ in range(2000):
        ct = step_matrix.T @ ct
    np.testing.assert_allclose(acc.jit(ad.grad(f), backend="interp")(u), ct, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("checkpoint", [0, -2, 1.5, True, "tape"])
def test_a_bad_policy_is_an_argument_error(checkpoint: object) -> None:
    def f(x: Any) -> Any:
        return acc.awhile(lambda s: s.sum() < 1.0, lambda s: s * 2.0, x, checkpoint)

    with pytest.raises(acc.ArgumentError, match=r"awhile: checkpoint must be .* got"):
        acc.run(f, np.ones(2), backend="interp")


def test_a_bad_budget_is_an_argument_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYACCAD_LOOP_TAPE_MB", "lots")
    with pytest.raises(acc.ArgumentError, match="PYACCAD_LOOP_TAPE_MB='lots'"):
        trace(ad.grad(_loop(3), argnums=(0, 1)), np.ones(3), np.ones(3))
