"""Both partial derivatives of every differentiable binary element-wise primitive, with arrays on both sides.

A literal operand has no tangent, so ``x % 1.5`` tests only the partial in ``x``: here both operands are
arrays, drawn with both signs where the operation allows (divisors, dividends, ``atan2``'s quadrants,
exponents) and away from the points where the operation is not differentiable. Gradients (reverse mode)
and JVPs (forward mode) are compared with JAX (float64) and with central differences of the primal;
ties of ``maximum``/``minimum`` and ``pow`` at a zero base follow JAX's conventions and are compared with
JAX only. ``%`` is the floored modulo (the result takes the divisor's sign, ``numpy.mod``), which is
``jnp.mod`` (``jnp.remainder`` is the same function; ``jnp.fmod`` truncates instead).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import pyaccad as acc
from pyaccad import ad

jax = pytest.importorskip("jax", reason="JAX is not installed: the JAX agreement tests need it")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

RNG = np.random.default_rng(9)
N = 8
# name -> (pyaccad, JAX)
OPS: dict[str, tuple[Any, Any]] = {
    "add": (lambda x, y: x + y, jnp.add),
    "sub": (lambda x, y: x - y, jnp.subtract),
    "mul": (lambda x, y: x * y, jnp.multiply),
    "div": (lambda x, y: x / y, jnp.divide),
    "mod": (lambda x, y: x % y, jnp.mod),
    "pow": (lambda x, y: x**y, jnp.power),
    "atan2": (acc.atan2, jnp.arctan2),
    "maximum": (acc.maximum, jnp.maximum),
    "minimum": (acc.minimum, jnp.minimum),
}


def _signs() -> np.ndarray:
    return np.resize([1.0, -1.0], N)


def _smooth_inputs() -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Operands of each operation where it is differentiable, with both signs."""
    u = lambda lo, hi: RNG.uniform(lo, hi, N)  # noqa: E731
    xs, ys = {}, {}
    for name in ("add", "sub", "mul"):
        xs[name], ys[name] = u(-3, 3), u(-3, 3)
    xs["div"], ys["div"] = u(-3, 3), _signs() * u(0.5, 3)
    ys["mod"] = _signs() * u(0.5, 2.5)  # x / y = k + f with f in [0.2, 0.8]: away from the jumps at integers
    xs["mod"] = (RNG.integers(-3, 4, N) + u(0.2, 0.8)) * ys["mod"]
    xs["pow"], ys["pow"] = u(0.5, 2.5), u(-2, 2)
    radius, angle = u(0.5, 2), u(-2.8, 2.8)  # every quadrant, away from the branch cut on the negative axis
    xs["atan2"], ys["atan2"] = radius * np.sin(angle), radius * np.cos(angle)
    for name in ("maximum", "minimum"):  # no ties: |x - y| >= 0.1
        xs[name] = u(-3, 3)
        ys[name] = xs[name] + RNG.choice([-1.0, 1.0], N) * u(0.1, 2)
    return xs, ys


def _loss(table: dict[str, Any], weights: dict[str, np.ndarray]):
    def loss(xs: dict, ys: dict) -> Any:
        return sum((table[name](xs[name], ys[name]) * weights[name]).sum() for name in xs)

    return loss


def _weights(names) -> dict[str, np.ndarray]:
    return {name: RNG.uniform(0.5, 1.5, N) for name in names}


def _mine(names) -> dict[str, Any]:
    return {name: OPS[name][0] for name in names}


def _jax(names) -> dict[str, Any]:
    return {name: OPS[name][1] for name in names}


def _close(got: dict, want: dict, **tol: float) -> None:
    for name in want:
        np.testing.assert_allclose(np.asarray(got[name]), np.asarray(want[name]), err_msg=name, **tol)


def test_modulo_is_floored_like_jnp_mod() -> None:
    xs, ys = _smooth_inputs()
    got = acc.run(lambda x, y: x % y, xs["mod"], ys["mod"], backend="interp")
    np.testing.assert_allclose(got, np.asarray(jnp.mod(xs["mod"], ys["mod"])), rtol=1e-15)
    assert np.all(np.sign(got) == np.sign(ys["mod"]))  # the divisor's sign (both signs are drawn)


def test_gradients_match_jax_and_finite_differences(backend: str) -> None:
    xs, ys = _smooth_inputs()
    weights = _weights(OPS)
    got_x, got_y = acc.jit(ad.grad(_loss(_mine(OPS), weights), argnums=(0, 1)), backend=backend)(xs, ys)
    want_x, want_y = jax.grad(_loss(_jax(OPS), weights), argnums=(0, 1))(xs, ys)
    _close(got_x, want_x, rtol=1e-12, atol=1e-14)  # float64 formulas, a few roundings apart
    _close(got_y, want_y, rtol=1e-12, atol=1e-14)
    # Central differences of the primal, every element at once (the operations are element-wise): their error
    # is at most h^2/6 |f'''| (below 2e-8 on these domains; pow's x^-2 and div's 1/y are the steepest) plus
    # 2 eps |f| / h (below 1e-9).
    primal = acc.jit(lambda x, y: {n: OPS[n][0](x[n], y[n]) for n in OPS}, backend="interp")
    _close(got_x, _central(primal, weights, xs, ys, 0), rtol=1e-7, atol=1e-7)
    _close(got_y, _central(primal, weights, xs, ys, 1), rtol=1e-7, atol=1e-7)


def _central(primal: Any, weights: dict, xs: dict, ys: dict, which: int, h: float = 1e-5) -> dict[str, np.ndarray]:
    """Weighted central differences of ``primal`` in its operand ``which`` (0: x, 1: y), per element."""

    def shifted(sign: float) -> dict[str, np.ndarray]:
        operands = [xs, ys]
        operands[which] = {n: v + sign * h for n, v in operands[which].items()}
        return primal(*operands)

    plus, minus = shifted(1.0), shifted(-1.0)
    return {n: (plus[n] - minus[n]) / (2 * h) * weights[n] for n in plus}


def test_jvps_match_jax(backend: str) -> None:
    xs, ys = _smooth_inputs()
    tx, ty = ({n: RNG.normal(size=N) for n in OPS} for _ in range(2))
    value = lambda table: lambda x, y: {n: table[n](x[n], y[n]) for n in OPS}  # noqa: E731
    jvp = acc.jit(lambda x, y, u, v: ad.jvp(value(_mine(OPS)), (x, y), (u, v))[1], backend=backend)
    _close(jvp(xs, ys, tx, ty), jax.jvp(value(_jax(OPS)), (xs, ys), (tx, ty))[1], rtol=1e-12, atol=1e-14)


def test_ties_and_a_zero_base_follow_jax(backend: str) -> None:
    """``maximum``/``minimum`` split the tangent evenly on a tie; ``pow`` at a zero base has partial
    ``y·0^(y-1)`` in the base and 0 in the exponent. (At ``0^0`` JAX's partial in the base is NaN, pyaccad's
    the limit 0: :func:`test_zero_to_the_zero`.)"""
    xs = {"maximum": np.array([1.0, -2.0, 0.5, 3.0]), "minimum": np.array([1.0, -2.0, 0.5, 3.0])}
    ys = {"maximum": np.array([1.0, -2.0, 0.7, 2.0]), "minimum": np.array([1.0, -2.0, 0.7, 2.0])}
    xs["pow"], ys["pow"] = np.zeros(4), np.array([0.5, 1.0, 2.0, 3.5])
    table = {n: OPS[n][0] for n in xs}
    weights = {n: np.array([1.0, 2.0, 3.0, 4.0]) for n in xs}
    got = acc.jit(ad.grad(_loss(table, weights), argnums=(0, 1)), backend=backend)(xs, ys)
    want = jax.grad(_loss({n: OPS[n][1] for n in xs}, weights), argnums=(0, 1))(xs, ys)
    for g, w in zip(got, want, strict=True):
        _close(g, w, rtol=1e-15, atol=0)
    np.testing.assert_array_equal(got[0]["maximum"][:2], [0.5, 1.0])  # half of each weight on the ties


def test_zero_to_the_zero(backend: str) -> None:
    """``d/dx x**y`` at ``x = y = 0`` is the limit 0 (``x**0`` is 1 for every ``x``), ``d/dy`` is 0."""
    f = lambda x, y: (x**y).sum()  # noqa: E731
    got = acc.jit(ad.grad(f, argnums=(0, 1)), backend=backend)(np.zeros(2), np.zeros(2))
    np.testing.assert_array_equal(np.stack(got), np.zeros((2, 2)))
