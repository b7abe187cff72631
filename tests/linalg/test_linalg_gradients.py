"""Derivatives of ``acc.linalg``: gradients and JVPs against JAX (float64) on every backend, gradients against
central finite differences, second derivatives, and a Newton step written with no escape to NumPy.

Error bounds: each derivative is a few products of solves with the matrix (the primal solution and the
adjoint one), each solve within ``κ∞(A)·γ_3n`` relative error (Higham thm 9.4 with growth ≤ 2 on the drawn
matrices, and at most ``n`` times that through the products), so pyaccad's and JAX's results agree within
twice that bound, squared in κ for Cholesky's two triangular solves with ``L`` (κ(L)² = κ(A)); we allow
``8 n κ∞(A)² γ_3n`` relative to the largest entry.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import jax.scipy.linalg as jsl
import numpy as np
import pytest
from helpers import assert_within, gamma
from hypothesis import given, settings
from hypothesis import strategies as st
from linalg_reference import condition, draw_dominant, draw_rhs, draw_spd

import pyaccad as acc
from pyaccad import ad, linalg

jax.config.update("jax_enable_x64", True)


def _triangular(lower: bool, transpose_a: bool):
    mine = lambda a, b: linalg.triangular_solve(a, b, lower=lower, transpose_a=transpose_a)  # noqa: E731
    theirs = lambda a, b: jsl.solve_triangular(a, b, lower=lower, trans=int(transpose_a))  # noqa: E731
    return mine, theirs


# name: (pyaccad function of (a, b), JAX function of (a, b), how a is drawn)
OPS = {
    "cholesky": (lambda a, b: linalg.cholesky(a) @ b, lambda a, b: jnp.linalg.cholesky(a) @ b, draw_spd),
    "solve": (linalg.solve, jnp.linalg.solve, draw_dominant),
    **{
        f"triangular_solve-{'lower' if lo else 'upper'}{'-transposed' if tr else ''}": (
            *_triangular(lo, tr),
            draw_dominant,
        )
        for lo in (True, False)
        for tr in (False, True)
    },
}


def _loss(op, weights):
    return lambda a, b: (op(a, b) * weights).sum()


def _bound(a: np.ndarray, reference: np.ndarray, *operands: np.ndarray) -> float:
    """The bound of the module docstring, relative to the size of the terms a derivative sums: at least the
    result's, and (a result may cancel to nearly 0) ``|A⁻¹|² |A|`` times the operands' (``w``, ``b``, tangents)."""
    n = a.shape[-1]
    inverse, norm = np.max(np.linalg.norm(np.linalg.inv(a), np.inf, axis=(-2, -1))), np.max(np.abs(a))
    terms = max(1.0, inverse) ** 2 * max(1.0, norm) * np.prod([max(1.0, float(np.max(np.abs(x)))) for x in operands])
    scale = max(float(np.max(np.abs(reference))), terms)
    return 8 * n * condition(a) ** 2 * float(gamma(3 * n, np.float64)) * scale


def _draw(data: st.DataObject, draw_a) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n, k = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 3))
    batch = data.draw(st.sampled_from([(), (2,)]))
    a = draw_a(data.draw, (*batch, n, n))
    b, w = draw_rhs(data.draw, (*batch, n, k)), draw_rhs(data.draw, (*batch, n, k))
    return a, b, w


@pytest.mark.parametrize("name", sorted(OPS))
@given(data=st.data())
@settings(max_examples=5)  # each new shape compiles a program on native
def test_gradient_and_jvp_agree_with_jax(backend: str, name: str, data: st.DataObject) -> None:
    if backend == "accelerate":
        pytest.skip("accelerate has no LAPACK (the export raises; tests/linalg/test_linalg.py)")
    mine, theirs, draw_a = OPS[name]
    a, b, w = _draw(data, draw_a)
    grads = acc.jit(ad.grad(_loss(mine, w), argnums=(0, 1)), backend=backend)(a, b)
    expected = jax.grad(_loss(theirs, w), argnums=(0, 1))(a, b)
    for got, want in zip(grads, expected, strict=True):
        assert_within(got, np.asarray(want), _bound(a, np.asarray(want), b, w))
    a_tan, b_tan = draw_rhs(data.draw, a.shape), draw_rhs(data.draw, b.shape)
    if name == "cholesky":
        a_tan = a_tan + np.swapaxes(a_tan, -1, -2)  # a symmetric direction, as JAX's rule assumes
    _, tangent = acc.jit(lambda *p: ad.jvp(mine, p[:2], p[2:]), backend=backend)(a, b, a_tan, b_tan)
    _, want = jax.jvp(theirs, (a, b), (a_tan, b_tan))
    assert_within(tangent, np.asarray(want), _bound(a, np.asarray(want), b, a_tan, b_tan))


@pytest.mark.parametrize("name", sorted(OPS))
def test_gradient_agrees_with_central_differences(name: str) -> None:
    mine, _, draw_a = OPS[name]
    rng = np.random.default_rng(7)
    a = draw_a(rng, (3, 3))
    b, w = rng.uniform(-1, 1, (3, 2)), rng.uniform(-1, 1, (3, 2))
    loss = _loss(mine, w)
    grad_a, grad_b = acc.jit(ad.grad(loss, argnums=(0, 1)), backend="interp")(a, b)
    f = acc.jit(loss, backend="interp")
    h = 1e-5
    for _ in range(3):  # random directions: the directional derivative is <grad, direction>
        da, db = rng.uniform(-1, 1, a.shape), rng.uniform(-1, 1, b.shape)
        if name == "cholesky":
            da = da + da.T  # a symmetric direction: the input is symmetrised, so its gradient is symmetric
        central = (float(f(a + h * da, b + h * db)) - float(f(a - h * da, b - h * db))) / (2 * h)
        exact = float(np.sum(grad_a * da) + np.sum(grad_b * db))
        # truncation h²/6·|f'''| with third derivatives of order κ³ ≤ 10³ here, plus rounding u·|f|/h
        assert abs(central - exact) <= 1e-6 * max(1.0, abs(exact))
    if name == "cholesky":
        np.testing.assert_allclose(grad_a, grad_a.T, rtol=0, atol=_bound(a, grad_a, b, w))


def test_second_derivatives_of_solve_agree_with_jax(backend: str) -> None:
    if backend == "accelerate":
        pytest.skip("accelerate has no LAPACK")
    rng = np.random.default_rng(3)
    a, b, v = rng.uniform(-1, 1, (3, 3)) + 6 * np.eye(3), rng.uniform(-1, 1, 3), rng.uniform(-1, 1, (3, 3))
    mine = lambda a: (linalg.solve(a, b) ** 2).sum()  # noqa: E731
    theirs = lambda a: (jnp.linalg.solve(a, b) ** 2).sum()  # noqa: E731
    got = acc.jit(ad.hessian_product(mine), backend=backend)(a, v)
    want = np.asarray(jax.jvp(jax.grad(theirs), (a,), (v,))[1])
    assert_within(got, want, _bound(a, want, b, v) * condition(a))


def test_a_newton_step_needs_no_numpy(backend: str) -> None:
    """Minimise ``½xᵀQx - cᵀx + Σ exp(x)``: Newton steps with ``ad.grad``, ``ad.hessian`` and ``linalg.solve``."""
    if backend == "accelerate":
        pytest.skip("accelerate has no LAPACK")
    rng = np.random.default_rng(5)
    m = rng.uniform(-1, 1, (4, 4))
    q, c = m @ m.T + np.eye(4), rng.uniform(-1, 1, 4)
    f = lambda x: 0.5 * (x * (acc.use(q) @ x)).sum() - (acc.use(c) * x).sum() + acc.exp(x).sum()  # noqa: E731
    step = acc.jit(lambda x: x - linalg.solve(ad.hessian(f)(x), ad.grad(f)(x)), backend=backend)
    x = np.zeros(4)
    for _ in range(8):
        x = step(x)
    gradient = q @ x - c + np.exp(x)  # NumPy's gradient at pyaccad's minimiser
    # Newton converges quadratically: after 8 steps the gradient is at rounding level (κ(H)·u·|terms|)
    scale = np.abs(q) @ np.abs(x) + np.abs(c) + np.exp(x)
    assert np.all(np.abs(gradient) <= 64 * condition(q + np.diag(np.exp(x))) * 2.0**-53 * scale)
