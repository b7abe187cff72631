"""Batching rules of the collective primitives, whose scalar lambdas stay unchanged where they can.

The iteration space gains the batch axis (always in front here). A lambda
that uses a batched free value needs to know its lane:

- ``map`` becomes a ``generate`` over the batched shape that reads its operands itself;
- ``generate``, ``backpermute`` and ``permute``'s index function get the lane as a new first index;
- ``fold``/``scan`` carry a lane operand (a ``generate`` of the batch index) beside the data,
  and an initial value that differs per lane is folded into the data
  (``fold f z xs = fold1 f ([z] ++ xs)``, ``scanl f z xs = scanl1 f ([z] ++ xs)``,
  ``scanr f z xs = scanr1 f (xs ++ [z])``);
- a ``permute`` combine or a ``stencil`` function that uses batched values cannot be given
  the lane, so those run once per lane (``B`` statements, then stacked): correct, but slow
  for large batches.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> row_sums = ad.vmap(lambda r: acc.fold(lambda a, b: a + b, 0.0, r))
>>> acc.jit(row_sums)(np.arange(6.0).reshape(2, 3))
array([ 3., 12.])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyaccad.ad.batching import (
    BatchContext,
    BDim,
    at_axis,
    batch_rule,
    generate,
    index_lambda,
    inline_lambda,
    lambda_over,
    lane_index,
    moveaxis,
    zero,
)
from pyaccad.frontend.tracing import emit
from pyaccad.ir import INDEX_DTYPE, Atom, Lit, Program, Stmt

Out = tuple[Sequence[Atom], Sequence[BDim]]


def _per_example_shape(atom: Atom, bdim: BDim) -> tuple[int, ...]:
    shape = atom.shape
    return shape if bdim is None else shape[:bdim] + shape[bdim + 1 :]


def _read(atom: Atom, bdim: BDim, lane: Atom, indices: Sequence[Atom]) -> Atom:
    """Emit (inside a lambda) the read of element ``indices`` of one example of ``atom``."""
    full = list(indices) if bdim is None else lane_index(lane, indices, bdim)
    (out,) = emit("index", (atom, *full))
    return out


@batch_rule("map")
def _map(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    lam = stmt.params["lam"]
    if not ctx.is_batched(lam):
        operands = [at_axis(ctx, a, b, 0) for a, b in zip(args, bdims, strict=True)]
        outs = emit(stmt.prim, operands, {"lam": ctx.rename(lam)})
        return outs, [0] * len(outs)
    shape = _per_example_shape(args[0], bdims[0])

    def body(lane: Atom, *indices: Atom) -> list[Atom]:
        return inline_lambda(ctx, lam, [_read(a, b, lane, indices) for a, b in zip(args, bdims, strict=True)], lane)

    outs = generate((ctx.size, *shape), index_lambda(len(shape), body))
    return outs, [0] * len(outs)


@batch_rule("generate")
def _generate(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    shape, lam = stmt.params["shape"], stmt.params["lam"]
    outs = generate((ctx.size, *shape), index_lambda(len(shape), lambda lane, *ix: inline_lambda(ctx, lam, ix, lane)))
    return outs, [0] * len(outs)


def _with_init(ctx: BatchContext, x: Atom, init: Atom, bdim: BDim, axis: int, at_end: bool) -> Atom:
    """``[init] ++ x`` (or ``x ++ [init]``) along ``axis`` of the batched ``x``."""
    shape = list(x.shape)
    shape[axis] = 1
    (piece,) = emit(
        "broadcast_in_dim",
        (moveaxis(init, bdim, 0) if bdim is not None else init,),
        {"shape": tuple(shape), "dims": () if bdim is None else (0,)},
    )
    return emit("concatenate", (x, piece) if at_end else (piece, x), {"axis": axis})[0]


@batch_rule("fold", "scan")
def _fold_or_scan(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    lam = stmt.params["lam"]
    n = len(lam.outputs)
    xs = [at_axis(ctx, x, b, 0) for x, b in zip(args[:n], bdims[:n], strict=True)]
    inits, init_bdims = list(args[n:]), list(bdims[n:])
    axis = stmt.params["axis"] + 1
    lam_batched = ctx.is_batched(lam)
    if inits and (lam_batched or any(b is not None for b in init_bdims)):
        at_end = bool(stmt.params.get("reverse", False))
        xs = [_with_init(ctx, x, z, b, axis, at_end) for x, z, b in zip(xs, inits, init_bdims, strict=True)]
        inits = []
    if not lam_batched:
        outs = emit(stmt.prim, [*xs, *inits], {**stmt.params, "axis": axis, "lam": ctx.rename(lam)})
        return outs, [0] * n
    # The function differs per lane: carry the lane beside the data. Both operands of one
    # combination come from the same lane (the batch axis is not the reduced one).
    (lanes,) = generate(xs[0].shape, lambda_over([INDEX_DTYPE] * len(xs[0].shape), lambda lane, *ix: [lane]))
    dtypes = [x.dtype for x in xs] + [INDEX_DTYPE]

    def body(*values: Atom) -> list[Atom]:
        left, lane, right = values[:n], values[n], values[n + 1 : 2 * n + 1]
        return [*inline_lambda(ctx, lam, [*left, *right], lane), lane]

    outs = emit(stmt.prim, [*xs, lanes], {**stmt.params, "axis": axis, "lam": lambda_over(dtypes * 2, body)})
    return outs[:n], [0] * n


@batch_rule("backpermute")
def _backpermute(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    (x,), (x_bdim,) = args, bdims
    shape, index = stmt.params["shape"], stmt.params["index"]

    def body(lane: Atom, *ix: Atom) -> list[Atom]:
        source = inline_lambda(ctx, index, ix, lane)
        return source if x_bdim is None else lane_index(lane, source, x_bdim)

    return emit(stmt.prim, (x,), {"shape": (ctx.size, *shape), "index": index_lambda(len(shape), body)}), [0]


@batch_rule("permute")
def _permute(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    if ctx.is_batched(stmt.params["combine"]):
        return _per_lane(stmt, ctx, args, bdims)
    defaults, x = (at_axis(ctx, a, b, 0) for a, b in zip(args, bdims, strict=True))
    index = stmt.params["index"]

    def body(lane: Atom, *ix: Atom) -> list[Atom]:
        keep, *target = inline_lambda(ctx, index, ix, lane)
        return [keep, lane, *target]

    new = {"combine": ctx.rename(stmt.params["combine"]), "index": index_lambda(len(x.shape) - 1, body)}
    return emit(stmt.prim, (defaults, x), new), [0]


@batch_rule("stencil")
def _stencil(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    if ctx.is_batched(stmt.params["lam"]):
        return _per_lane(stmt, ctx, args, bdims)
    x = moveaxis(args[0], bdims[0], 0)
    outs = emit(
        stmt.prim, (x,), {**stmt.params, "size": (1, *stmt.params["size"]), "lam": ctx.rename(stmt.params["lam"])}
    )
    return outs, [0] * len(outs)


def _per_lane(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    """Run the statement once per lane (lambdas read their batched values at a literal lane), then stack."""
    lanes = []
    for k in range(ctx.size):
        lane = Lit(k, INDEX_DTYPE)
        lane_params = dict(stmt.params)
        for name in stmt.prim.subprogram_params:
            lane_params[name] = _at_literal_lane(ctx, stmt.params[name], lane)
        outs = emit(stmt.prim, [_take(a, b, k) for a, b in zip(args, bdims, strict=True)], lane_params)
        lanes.append([emit("reshape", (o,), {"shape": (1, *o.shape)})[0] for o in outs])
    if not lanes:  # an empty batch: the results are empty arrays of the right type
        types = stmt.prim.type_rule(
            [
                a.type if b is None else a.type.with_shape(_per_example_shape(a, b))
                for a, b in zip(args, bdims, strict=True)
            ],
            stmt.params,
        )
        return [_empty(t.dtype, t.shape) for t in types], [0] * len(types)
    return [emit("concatenate", column, {"axis": 0})[0] for column in zip(*lanes, strict=True)], [0] * len(lanes[0])


def _at_literal_lane(ctx: BatchContext, lam: Program, lane: Lit) -> Program:
    return lambda_over([t.dtype for t in lam.input_types], lambda *xs: inline_lambda(ctx, lam, xs, lane))


def _take(atom: Atom, bdim: BDim, k: int) -> Atom:
    """Example ``k`` of a batched value (an unbatched one is the same for every lane)."""
    if bdim is None:
        return atom
    starts = [0] * len(atom.shape)
    stops = list(atom.shape)
    starts[bdim], stops[bdim] = k, k + 1
    (piece,) = emit("slice", (atom,), {"starts": tuple(starts), "stops": tuple(stops), "steps": (1,) * len(atom.shape)})
    return emit("reshape", (piece,), {"shape": _per_example_shape(atom, bdim)})[0]


def _empty(dtype: Any, shape: tuple[int, ...]) -> Atom:
    return emit("broadcast_in_dim", (zero(dtype),), {"shape": (0, *shape), "dims": ()})[0]
