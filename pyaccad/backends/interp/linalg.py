"""Linear algebra: ``cholesky`` and ``solve`` by ``numpy.linalg``, ``triangular_solve`` by substitution.

NumPy raises ``LinAlgError`` for a matrix that is not positive definite or
is singular; pyaccad gives NaNs in that matrix's result instead (as JAX
does, and as the native backend's LAPACK calls do), so a failing batch is
retried matrix by matrix. Substitution divides by the diagonal as
``trsm`` does: a zero on it gives infinities and NaNs, not an error.

>>> import numpy as np
>>> _triangular(np.array([[2.0, 0.0], [1.0, 1.0]]), np.array([[2.0], [3.0]]), lower=True, transpose_a=False)
array([[1.],
       [2.]])
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pyaccad.backends.interp.evaluator import Context, Env, register
from pyaccad.ir import Stmt


def _nan_on_failure(fn: Callable[..., np.ndarray], out_shape: tuple[int, ...], *xs: np.ndarray) -> np.ndarray:
    """``fn(*xs)`` over the batch; where NumPy refuses a matrix, that matrix's result is all NaN."""
    try:
        return fn(*xs)
    except np.linalg.LinAlgError:
        batch = xs[0].shape[:-2]
        out = np.full((*batch, *out_shape[-2:]), np.nan, dtype=xs[0].dtype)
        for i in np.ndindex(*batch):
            try:
                out[i] = fn(*(x[i] for x in xs))
            except np.linalg.LinAlgError:
                pass
        return out


def _triangular(a: np.ndarray, b: np.ndarray, lower: bool, transpose_a: bool) -> np.ndarray:
    t = np.tril(a) if lower else np.triu(a)
    if transpose_a:
        t, lower = np.swapaxes(t, -1, -2), not lower
    x = np.zeros(np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + b.shape[-2:], dtype=b.dtype)
    n = a.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        for i in range(n) if lower else reversed(range(n)):
            # rows not solved yet are still zero, so the whole row of t may take part in the sum
            done = (t[..., i : i + 1, :] @ x)[..., 0, :]
            x[..., i, :] = (b[..., i, :] - done) / t[..., i, i, None]
    return x


@register("cholesky")
def _cholesky(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    (a,) = args
    return [_nan_on_failure(np.linalg.cholesky, a.shape, a)]


@register("triangular_solve")
def _triangular_solve(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    a, b = args
    return [_triangular(a, b, stmt.params["lower"], stmt.params["transpose_a"])]


@register("solve")
def _solve(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    a, b = args
    return [_nan_on_failure(np.linalg.solve, b.shape, a, b)]
