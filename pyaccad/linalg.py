"""Linear algebra on traced arrays: ``cholesky``, ``triangular_solve`` and ``solve``, differentiable and batched.

Each works on the last two axes and is batched over the leading ones, as
``matmul`` is (their batch axes broadcast). The native backend calls LAPACK
from the library its ``matmul`` uses (MKL or OpenBLAS: ``potrf``, ``trsm``,
``gesv``). A right-hand side ``b`` is a vector when it has rank 1 (NumPy's
rule), else a stack of matrices ``(..., n, k)``. Only float32 and float64.

Derivatives are the standard ones (JAX's): ``x = solve(a, b)`` has tangent
``solve(a, b_tan - a_tan @ x)`` and cotangent ``solve(aᵀ, x_ct)`` for ``b``;
the Cholesky factor's tangent is ``L Φ(L⁻¹ a_tan L⁻ᵀ)`` (Murray, 2016), ``Φ``
taking the lower triangle with half its diagonal.

A matrix that is not positive definite (``cholesky``) or is singular
(``solve``, and a zero on a triangular matrix's diagonal) gives NaNs or
infinities in that matrix's result instead of raising, as in JAX.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import linalg
>>> acc.run(lambda a, b: linalg.solve(a, b), np.array([[2.0, 1.0], [1.0, 3.0]]), np.array([3.0, 5.0]))
array([0.8, 1.4])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pyaccad.errors import ArgumentError, DTypeError, ShapeError
from pyaccad.frontend.arrayops import array_op
from pyaccad.frontend.operators import broadcast_value
from pyaccad.frontend.shapes import reshape, transpose
from pyaccad.frontend.tracing import Value, check_live, emit, fail, to_value, wrap
from pyaccad.ir.primitives.linalg import LINALG_DTYPES

__all__ = ["cholesky", "solve", "triangular_solve"]


def __dir__() -> list[str]:
    return list(__all__)


def _swap_last(x: Value) -> Value:
    return transpose(x, (*range(x.ndim - 2), x.ndim - 1, x.ndim - 2))


def _solve_op(name: str, a: Any, b: Any, params: dict[str, bool]) -> Value:
    """Emit ``name(a, b)`` with a vector ``b`` as one column and the batch axes broadcast."""
    x, y = to_value(a, name), to_value(b, name)
    if x.ndim < 2:
        fail(ShapeError, f"{name}: a must be a matrix (..., n, n), got shape {x.shape}")
    vector = y.ndim == 1
    ym = reshape(y, (y.shape[0], 1)) if vector else y
    if ym.ndim < 2 or ym.shape[-2] != x.shape[-1]:
        fail(
            ShapeError, f"{name}: shapes {x.shape} and {y.shape} do not fit (need (..., n, n) and (n,) or (..., n, k))"
        )
    try:
        batch = tuple(np.broadcast_shapes(x.shape[:-2], ym.shape[:-2]))
    except ValueError:
        fail(ShapeError, f"{name}: batch axes of shapes {x.shape} and {y.shape} cannot be broadcast together")
    x = broadcast_value(x, (*batch, *x.shape[-2:]), name)
    ym = broadcast_value(ym, (*batch, *ym.shape[-2:]), name)
    (var,) = emit(name, (check_live(x), check_live(ym)), params or None)
    out = wrap(var)
    return reshape(out, (*batch, x.shape[-1])) if vector else out


@array_op
def cholesky(a: Any, symmetrize_input: bool = True) -> Value:
    """The lower Cholesky factor ``L`` of symmetric positive definite ``a`` (``a = L @ Lᵀ``), per matrix.

    As in JAX, ``a`` is first symmetrised (``(a + aᵀ) / 2``), so its gradient is
    symmetric; with ``symmetrize_input=False`` only the lower triangle is read
    (NumPy's rule). A matrix that is not positive definite gives NaNs.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import linalg
    >>> acc.run(linalg.cholesky, np.array([[4.0, 2.0], [2.0, 5.0]]))
    array([[2., 0.],
           [1., 2.]])
    """
    x = to_value(a, "cholesky")
    if not isinstance(symmetrize_input, bool):
        fail(ArgumentError, f"cholesky: symmetrize_input must be True or False, got {symmetrize_input!r}")
    if x.ndim < 2 or x.shape[-1] != x.shape[-2]:
        fail(ShapeError, f"cholesky: needs square matrices (..., n, n), got shape {x.shape}")
    if x.dtype not in LINALG_DTYPES:  # checked before symmetrising, which would fail first and less clearly
        fail(DTypeError, f"cholesky: needs float32 or float64 matrices, got {x.dtype}; use acc.cast")
    if symmetrize_input:
        x = (x + _swap_last(x)) * 0.5
    (var,) = emit("cholesky", (check_live(x),))
    return wrap(var)


@array_op
def triangular_solve(a: Any, b: Any, lower: bool = True, transpose_a: bool = False) -> Value:
    """``x`` with ``t @ x = b`` (``t.T @ x = b`` when ``transpose_a``), ``t`` the lower (or upper) triangle of ``a``.

    The other triangle of ``a`` is never read. ``b`` is a vector ``(n,)`` or
    matrices ``(..., n, k)``; only left-side solves (for ``x @ t = b``, solve
    the transposed system).

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import linalg
    >>> acc.run(lambda a, b: linalg.triangular_solve(a, b), np.array([[2.0, 9.0], [1.0, 1.0]]), np.array([2.0, 3.0]))
    array([1., 2.])
    """
    for flag, value in (("lower", lower), ("transpose_a", transpose_a)):
        if not isinstance(value, bool):
            fail(ArgumentError, f"triangular_solve: {flag} must be True or False, got {value!r}")
    return _solve_op("triangular_solve", a, b, {"lower": lower, "transpose_a": transpose_a})


@array_op
def solve(a: Any, b: Any) -> Value:
    """``x`` with ``a @ x = b`` for square ``a`` (LU with partial pivoting); a singular ``a`` gives NaNs.

    ``b`` is a vector ``(n,)`` or matrices ``(..., n, k)``, as in NumPy 2.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import linalg
    >>> acc.run(lambda a, b: linalg.solve(a, b), np.array([[0.0, 2.0], [1.0, 0.0]]), np.array([4.0, 1.0]))
    array([1., 2.])
    """
    return _solve_op("solve", a, b, {})
