"""Batching rules of control flow (array-level ``acond``/``awhile``) and of ``index`` inside lambdas.

- ``acond`` with an unbatched predicate stays a ``cond`` whose branches are
  batched (outputs batched in either branch are batched in both); with a
  batched predicate both branches run and ``select`` picks per example.
- ``awhile``: the loop state's batched components are found by iterating to
  a fixed point (a component the body makes batched is batched from the
  start). With an unbatched condition the loop is unchanged; with a batched
  one it runs while *any* lane continues, and only continuing lanes take the
  body's new state.
- ``index`` inside a lambda reads a batched free array at the lane.

As in JAX, a batched predicate makes both branches of an ``acond`` run for
every example, and an ``awhile`` body run on lanes that have already
finished (their results are discarded): those computations must be safe to
evaluate, e.g. a loop counter used as an index must stay in bounds one step
past the end (the interpreter reports an out-of-bounds read).

Scalar ``cond``/``while_`` inside lambdas are per element already; lambdas
are re-traced whole by the collective rules.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> halve = ad.vmap(lambda x: acc.awhile(lambda s: s.sum() > 1.0, lambda s: s / 2.0, x))
>>> acc.jit(halve)(np.array([[1.0, 1.0], [4.0, 0.0], [0.5, 0.0]]))
array([[0.5, 0.5],
       [1. , 0. ],
       [0.5, 0. ]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyaccad.ad.batching import (
    BatchContext,
    BDim,
    LaneContext,
    at_axis,
    batch_into,
    batch_rule,
    lambda_over,
    lane_index,
    moveaxis,
)
from pyaccad.frontend.tracing import emit, trace_program, value_of
from pyaccad.ir import BOOL, Atom, Lit, Program, Stmt

Out = tuple[Sequence[Atom], Sequence[BDim]]


@batch_rule("index")
def _index(stmt: Stmt, ctx: LaneContext, args: list[Atom], bdims: list[BDim]) -> Out:
    array, *indices = args
    if bdims[0] is None:
        return emit(stmt.prim, args), [None]
    return emit(stmt.prim, (array, *lane_index(ctx.lane, indices, bdims[0]))), [None]


def batch_body(
    ctx: BatchContext, body: Program, in_bdims: Sequence[BDim], out_bdims: Sequence[BDim] | None = None
) -> tuple[Program, list[BDim]]:
    """``body`` (an array-level program) batched as a nested program; batched values enter and leave at axis 0.

    ``out_bdims`` (None or 0 per output) batches outputs the body alone would leave unbatched.
    """
    found: list[BDim] = []

    def run(*xs: Any) -> list[Any]:
        outs, bdims = batch_into(BatchContext(ctx.size, ctx), body, [x.var for x in xs], in_bdims)
        want = out_bdims or [None if b is None else 0 for b in bdims]
        found.extend(want)
        return [value_of(o if w is None else at_axis(ctx, o, b, 0)) for o, b, w in zip(outs, bdims, want, strict=True)]

    in_types = [
        t if b is None else t.with_shape((ctx.size, *t.shape)) for t, b in zip(body.input_types, in_bdims, strict=True)
    ]
    program, _ = trace_program(run, in_types, "array")
    return program, found


def _either(*bdim_lists: Sequence[BDim]) -> list[BDim]:
    return [0 if any(b is not None for b in column) else None for column in zip(*bdim_lists, strict=True)]


def _mask(pred: Atom, shape: tuple[int, ...]) -> Atom:
    """A batched rank-0 predicate (batch axis 0) broadcast over a batched value of ``shape``."""
    return emit("broadcast_in_dim", (pred,), {"shape": shape, "dims": (0,)})[0]


@batch_rule("cond")
def _cond(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    (pred,), (pred_bdim,) = args, bdims
    then_, else_ = stmt.params["then_"], stmt.params["else_"]
    if pred_bdim is None:
        joint = _either(batch_body(ctx, then_, [])[1], batch_body(ctx, else_, [])[1])
        branches = {"then_": batch_body(ctx, then_, [], joint)[0], "else_": batch_body(ctx, else_, [], joint)[0]}
        return emit(stmt.prim, (pred,), branches), joint
    # A predicate per example: evaluate both branches, choose element by element.
    t_outs, t_bdims = batch_into(BatchContext(ctx.size, ctx), then_, [], [])
    e_outs, e_bdims = batch_into(BatchContext(ctx.size, ctx), else_, [], [])
    pred = moveaxis(pred, pred_bdim, 0)
    outs = []
    for t, tb, e, eb in zip(t_outs, t_bdims, e_outs, e_bdims, strict=True):
        t, e = at_axis(ctx, t, tb, 0), at_axis(ctx, e, eb, 0)
        outs.append(emit("select", (_mask(pred, t.shape), t, e))[0])
    return outs, [0] * len(outs)


@batch_rule("while")
def _while(stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]) -> Out:
    cond, body = stmt.params["cond"], stmt.params["body"]
    state = _either(bdims)
    while True:  # a fixed point: at most one round per state component
        grown = _either(state, batch_body(ctx, body, state)[1])
        if grown == state:
            break
        state = grown
    cond_prog, (pred_bdim,) = batch_body(ctx, cond, state)
    if pred_bdim is None:
        init = [a if s is None else at_axis(ctx, a, b, 0) for a, b, s in zip(args, bdims, state, strict=True)]
        new = {**stmt.params, "cond": cond_prog, "body": batch_body(ctx, body, state, state)[0]}
        return emit(stmt.prim, init, new), state
    # Lanes finish at different times: run while any continues, freezing the finished ones.
    state = [0] * len(args)
    init = [at_axis(ctx, a, b, 0) for a, b in zip(args, bdims, strict=True)]
    types = [a.type for a in init]
    any_lambda = lambda_over([BOOL, BOOL], lambda a, b: emit("or", (a, b)))

    def any_continues(*xs: Any) -> list[Any]:
        preds = _lanes_continue(ctx, cond, xs, state)
        return [value_of(emit("fold", (preds, Lit(False, BOOL)), {"lam": any_lambda, "axis": 0})[0])]

    def step(*xs: Any) -> list[Any]:
        preds = _lanes_continue(ctx, cond, xs, state)
        outs, out_bdims = batch_into(BatchContext(ctx.size, ctx), body, [x.var for x in xs], state)
        return [
            value_of(emit("select", (_mask(preds, x.shape), at_axis(ctx, o, b, 0), x.var))[0])
            for x, o, b in zip(xs, outs, out_bdims, strict=True)
        ]

    new = {
        **stmt.params,
        "cond": trace_program(any_continues, types, "array")[0],
        "body": trace_program(step, types, "array")[0],
    }
    return emit(stmt.prim, init, new), state


def _lanes_continue(ctx: BatchContext, cond: Program, xs: Sequence[Any], state: Sequence[BDim]) -> Atom:
    """The loop condition of every lane, a bool vector over the batch."""
    (pred,), (bdim,) = batch_into(BatchContext(ctx.size, ctx), cond, [x.var for x in xs], state)
    return at_axis(ctx, pred, bdim, 0)
