"""Batching rules of ``cholesky``, ``triangular_solve`` and ``solve``: the vmapped axis joins their batch axes.

A solve whose matrix is not batched puts the batch into the columns of the
right-hand side instead (one factorisation for the whole batch, as
``matmul`` stacks a batch into rows).

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad, linalg
>>> acc.jit(ad.vmap(lambda b: linalg.solve(np.eye(2) * 2.0, b)))(np.ones((3, 2)))
array([[0.5, 0.5],
       [0.5, 0.5],
       [0.5, 0.5]])
"""

from __future__ import annotations

from collections.abc import Sequence

from pyaccad.ad.batching import BatchContext, BDim, at_axis, batch_rule, moveaxis
from pyaccad.frontend.tracing import emit
from pyaccad.ir import Atom, Stmt

Out = tuple[Sequence[Atom], Sequence[BDim]]


@batch_rule("cholesky")
def _cholesky(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    return emit(stmt.prim, (moveaxis(args[0], bdims[0], 0),)), [0]


@batch_rule("triangular_solve", "solve")
def _solve(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    (a, b), (a_bdim, b_bdim) = args, bdims
    if a_bdim is None:
        # b: (..., n, k) batched → (..., n, B, k) → (..., n, B·k): one solve with B·k columns.
        axis = a.type.ndim - 1
        b = moveaxis(b, b_bdim, axis)
        shape = b.type.shape
        (columns,) = emit("reshape", (b,), {"shape": (*shape[:axis], shape[axis] * shape[axis + 1])})
        (x,) = emit(stmt.prim, (a, columns), dict(stmt.params))
        return emit("reshape", (x,), {"shape": shape}), [axis]
    return emit(stmt.prim, (moveaxis(a, a_bdim, 0), at_axis(ctx, b, b_bdim, 0)), dict(stmt.params)), [0]
