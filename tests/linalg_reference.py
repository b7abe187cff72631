"""Matrices the linear algebra tests draw, and the error bounds their results are held to.

The drawn matrices are well conditioned by construction: symmetric positive
definite ``M Mᵀ + n I`` for ``cholesky``, diagonally dominant by columns for
``solve`` and ``triangular_solve`` (Gaussian elimination with partial
pivoting then makes no row interchanges and its growth factor is at most 2:
Higham, *Accuracy and Stability of Numerical Algorithms*, thm 9.9). The
bounds are Higham's backward error bounds carried to the solution through
the condition number of the data, for the dtype under test plus the float64
reference's own (the factor 2 covers the bounds' second-order terms):

* triangular solve (thm 8.5): ``|x̂ - x| ≤ γ_n |T⁻¹| |T| |x|``;
* LU solve (thm 9.4): ``|x̂ - x| ≤ γ_3n |A⁻¹| |L| |U| |x|``, ``L``, ``U`` the factors without pivoting;
* Cholesky (thm 10.3 with Sun's perturbation bound, thm 10.8): ``‖L̂ - L‖_F ≤ 2^-½ κ₂(A) γ_n+1 n^1.5 ‖L‖₂``.
"""

from __future__ import annotations

import numpy as np
from helpers import gamma, unit_roundoff
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


def _uniform(draw, shape: tuple[int, ...]) -> np.ndarray:
    """Floats in [-1, 1]: drawn by hypothesis (``draw``), or by a NumPy ``Generator`` passed instead."""
    if isinstance(draw, np.random.Generator):
        return draw.uniform(-1.0, 1.0, shape)
    return draw(hnp.arrays(np.float64, shape, elements=st.floats(-1.0, 1.0, allow_subnormal=False)))


def draw_spd(draw, shape: tuple[int, ...]) -> np.ndarray:
    """Symmetric positive definite matrices of ``shape`` (``(..., n, n)``): ``M Mᵀ + n I``, κ₂ ≤ n + 1."""
    m = _uniform(draw, shape)
    n = shape[-1]
    return m @ np.swapaxes(m, -1, -2) + n * np.eye(n)


def draw_dominant(draw, shape: tuple[int, ...]) -> np.ndarray:
    """Matrices diagonally dominant by columns (each diagonal entry beats its column's others by 0.5 to 2)."""
    a = _uniform(draw, shape)
    n = shape[-1]
    margin = _uniform(draw, (*shape[:-2], n)) * 0.75 + 1.25
    sign = np.where(_uniform(draw, (*shape[:-2], n)) < 0, -1.0, 1.0)
    off = np.abs(a).sum(axis=-2) - np.abs(np.diagonal(a, axis1=-2, axis2=-1))
    idx = np.arange(n)
    a[..., idx, idx] = sign * (off + margin)
    return a


def draw_rhs(draw, shape: tuple[int, ...]) -> np.ndarray:
    return _uniform(draw, shape)


def _both_gammas(n: int, dtype: np.dtype) -> float:
    return 2 * (float(gamma(n, dtype)) + float(gamma(n, np.float64)))


def triangular_bound(t: np.ndarray, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Componentwise bound on a computed ``x = T⁻¹ b`` (``t`` the triangle actually used, transposes applied)."""
    n = t.shape[-1]
    return _both_gammas(n, dtype) * (np.abs(np.linalg.inv(t)) @ np.abs(t) @ np.abs(x))


def _lu_without_pivoting(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    u = a.astype(np.float64).copy()
    n = a.shape[-1]
    lower = np.broadcast_to(np.eye(n), a.shape).copy()
    for j in range(n - 1):
        f = u[..., j + 1 :, j] / u[..., j, j, None]
        lower[..., j + 1 :, j] = f
        u[..., j + 1 :, :] -= f[..., None] * u[..., j, None, :]
    return lower, u


def solve_bound(a: np.ndarray, x: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Componentwise bound on a computed ``x = A⁻¹ b`` for ``a`` diagonally dominant by columns."""
    n = a.shape[-1]
    lower, upper = _lu_without_pivoting(a)
    return _both_gammas(3 * n, dtype) * (np.abs(np.linalg.inv(a)) @ np.abs(lower) @ np.abs(upper) @ np.abs(x))


def cholesky_bound(a: np.ndarray, chol: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A bound on every element of a computed Cholesky factor's error (one per matrix, broadcast over it)."""
    n = a.shape[-1]
    if n == 0:
        return np.zeros(a.shape)
    kappa = np.linalg.cond(a, 2) if a.size else np.ones(a.shape[:-2])
    scale = np.linalg.norm(chol, 2, axis=(-2, -1)) if a.size else np.ones(a.shape[:-2])
    per_matrix = 2**-0.5 * kappa * _both_gammas(n + 1, dtype) * n**1.5 * scale
    return np.broadcast_to(np.asarray(per_matrix)[..., None, None], a.shape)


def stored(bound: np.ndarray, exact: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """``bound`` widened by the rounding of the result to ``dtype``, and by underflow: the bounds above are
    relative, and a library may flush subnormal values to zero (at most the smallest normal number per
    operation of a row's ``n + 2``)."""
    underflow = (exact.shape[-1] + 2) * np.finfo(dtype).tiny if exact.ndim else 0.0
    return bound + unit_roundoff(dtype) * np.abs(exact) + underflow


def condition(a: np.ndarray) -> float:
    """The largest ∞-norm condition number of a batch of matrices (1 for an empty batch)."""
    return float(np.max(np.linalg.cond(a, np.inf), initial=1.0)) if a.size else 1.0
