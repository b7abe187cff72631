"""Dense linear algebra on the last two axes, batched over the leading ones (as ``matmul`` is).

``cholesky(a)`` is the lower factor ``L`` of ``a = L Lᵀ``, read from the lower
triangle of ``a`` only (LAPACK's ``potrf``); ``triangular_solve(a, b; lower,
transpose_a)`` is ``x`` with ``op(a) x = b`` for the lower or upper triangle of
``a`` (``op`` transposes when ``transpose_a``; the other triangle is never
read); ``solve(a, b)`` is ``x`` with ``a x = b`` through an LU factorisation
with partial pivoting (``gesv``). ``b`` is ``(..., n, k)``: the front end turns
a vector right-hand side into one column. Only float32 and float64, LAPACK's.

A matrix that is not positive definite (``cholesky``) or exactly singular
(``solve``) gives NaNs in that matrix's result, not an error, as in JAX: a
batch of Newton steps is not stopped by one bad matrix.

>>> from pyaccad.ir import PRIMITIVES, ArrayType, FLOAT64
>>> PRIMITIVES["solve"].type_rule([ArrayType(FLOAT64, (5, 3, 3)), ArrayType(FLOAT64, (5, 3, 2))], {})
[ArrayType(dtype=dtype('float64'), shape=(5, 3, 2))]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyaccad.errors import DTypeError, ShapeError
from pyaccad.ir.core import Primitive, declare
from pyaccad.ir.types import FLOAT32, FLOAT64, ArrayType

Params = Mapping[str, Any]
LINALG_DTYPES = (FLOAT32, FLOAT64)
"""The element types LAPACK computes in."""


def _square(name: str, a: ArrayType) -> None:
    if a.dtype not in LINALG_DTYPES:
        raise DTypeError(f"{name}: needs float32 or float64 matrices, got {a.dtype}; use acc.cast")
    if a.ndim < 2 or a.shape[-1] != a.shape[-2]:
        raise ShapeError(f"{name}: needs square matrices (..., n, n), got shape {a.shape}")


def _cholesky_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    (a,) = args
    _square("cholesky", a)
    return [a]


def _solve_rule(name: str) -> Any:
    def rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
        a, b = args
        _square(name, a)
        if b.dtype != a.dtype:
            raise DTypeError(f"{name}: operands must share a dtype, got {a.dtype} and {b.dtype}")
        if b.ndim != a.ndim or b.shape[:-1] != a.shape[:-1]:
            raise ShapeError(f"{name}: shapes {a.shape} and {b.shape} do not fit (need (..., n, n) and (..., n, k))")
        return [b]

    return rule


CHOLESKY = declare(
    Primitive(
        "cholesky", _cholesky_rule, doc="cholesky(a): lower L with a = L Lᵀ (lower triangle read)", family="linalg"
    )
)
TRIANGULAR_SOLVE = declare(
    Primitive(
        "triangular_solve",
        _solve_rule("triangular_solve"),
        linear_args=(1,),
        doc="triangular_solve(a, b; lower, transpose_a): x with op(tri(a)) x = b, linear in b",
        family="linalg",
    )
)
SOLVE = declare(
    Primitive(
        "solve",
        _solve_rule("solve"),
        linear_args=(1,),
        doc="solve(a, b): x with a x = b (LU), linear in b",
        family="linalg",
    )
)
