"""Batching rules of the element-wise and structural primitives (no lambdas).

Element-wise operations move their batched operands' batch axes to one
place and broadcast the unbatched ones; shape operations shift their axis
parameters past the batch axis; ``matmul`` uses its own leading batch axes.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> f = ad.vmap(lambda v: acc.reverse(v) + v[:1], in_axes=1)
>>> acc.jit(f)(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]))
array([[6., 4., 2.],
       [8., 6., 4.]])
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from pyaccad.ad.batching import (
    BatchContext,
    BDim,
    at_axis,
    batch_rule,
    broadcast_batch,
    copy_unbatched,
    moveaxis,
    zero,
)
from pyaccad.frontend.tracing import emit
from pyaccad.ir import BOOL, ELEMENTWISE, Atom, Lit, Stmt

Out = tuple[Sequence[Atom], Sequence[BDim]]


@batch_rule(*ELEMENTWISE, "select", "cast")
def _elementwise(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    # Keep the first batched operand's axis where it is: no transpose when all agree (the common case).
    target = next(b for b in bdims if b is not None)
    operands = [at_axis(ctx, a, b, target) for a, b in zip(args, bdims, strict=True)]
    return emit(stmt.prim, operands, dict(stmt.params)), [target]


# const has no operands, so it is never batched: its statement is always copied.
batch_rule("const")(copy_unbatched)


@batch_rule("broadcast_in_dim")
def _broadcast_in_dim(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    x = moveaxis(args[0], bdims[0], 0)
    shape = (ctx.size, *stmt.params["shape"])
    dims = (0, *(d + 1 for d in stmt.params["dims"]))
    return emit(stmt.prim, (x,), {"shape": shape, "dims": dims}), [0]


@batch_rule("reshape")
def _reshape(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    x = moveaxis(args[0], bdims[0], 0)
    return emit(stmt.prim, (x,), {"shape": (ctx.size, *stmt.params["shape"])}), [0]


def _shift(axis: int, bdim: int) -> int:
    """A per-example axis as an axis of the value batched at ``bdim``."""
    return axis if axis < bdim else axis + 1


@batch_rule("transpose")
def _transpose(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    (bdim,) = bdims
    perm = (bdim, *(_shift(p, bdim) for p in stmt.params["perm"]))
    return emit(stmt.prim, args, {"perm": perm}), [0]


@batch_rule("reverse")
def _reverse(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    (bdim,) = bdims
    return emit(stmt.prim, args, {"axes": tuple(_shift(a, bdim) for a in stmt.params["axes"])}), [bdim]


def _insert(values: Sequence[int], at: int, value: int) -> tuple[int, ...]:
    return (*values[:at], value, *values[at:])


@batch_rule("slice")
def _slice(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    (bdim,) = bdims
    new = {
        "starts": _insert(stmt.params["starts"], bdim, 0),
        "stops": _insert(stmt.params["stops"], bdim, ctx.size),
        "steps": _insert(stmt.params["steps"], bdim, 1),
    }
    return emit(stmt.prim, args, new), [bdim]


@batch_rule("pad")
def _pad(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    (x, value), (x_bdim, value_bdim) = args, bdims
    x = at_axis(ctx, x, x_bdim, 0)
    batched = {"lo": (0, *stmt.params["lo"]), "hi": (0, *stmt.params["hi"]), "interior": (0, *stmt.params["interior"])}
    if value_bdim is None:
        return emit(stmt.prim, (x, value), batched), [0]
    # A padding value per example: pad with anything, then choose the value where a padded mask is False.
    per_example = x.shape[1:]
    (ones,) = emit("broadcast_in_dim", (Lit(True, BOOL),), {"shape": per_example, "dims": ()})
    (mask,) = emit(stmt.prim, (ones, Lit(False, BOOL)), dict(stmt.params))
    (padded,) = emit(stmt.prim, (x, zero(x.dtype)), batched)
    (fill,) = emit("broadcast_in_dim", (moveaxis(value, value_bdim, 0),), {"shape": padded.shape, "dims": (0,)})
    return emit("select", (broadcast_batch(mask, ctx.size, 0), padded, fill)), [0]


@batch_rule("concatenate")
def _concatenate(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    operands = [at_axis(ctx, a, b, 0) for a, b in zip(args, bdims, strict=True)]
    return emit(stmt.prim, operands, {"axis": stmt.params["axis"] + 1}), [0]


@batch_rule("matmul")
def _matmul(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    (a, b), (a_bdim, b_bdim) = args, bdims
    if b_bdim is None and len(b.shape) == 2:
        # A batch of matrices times one matrix: stack the batch into the rows, one plain matmul.
        a = moveaxis(a, a_bdim, 0)
        (rows,) = emit("reshape", (a,), {"shape": (prod(a.shape[:-1]), a.shape[-1])})
        (product,) = emit(stmt.prim, (rows, b))
        return emit("reshape", (product,), {"shape": (*a.shape[:-1], b.shape[-1])}), [0]
    if a_bdim is None and len(a.shape) == 2:
        # One matrix times a batch of matrices: stack the batch into the columns (no copies of ``a``).
        b = moveaxis(b, b_bdim, 1)  # (k, B, n)
        (columns,) = emit("reshape", (b,), {"shape": (b.shape[0], prod(b.shape[1:]))})
        (product,) = emit(stmt.prim, (a, columns))
        return emit("reshape", (product,), {"shape": (a.shape[0], *b.shape[1:])}), [1]
    return emit(stmt.prim, (at_axis(ctx, a, a_bdim, 0), at_axis(ctx, b, b_bdim, 0))), [0]
