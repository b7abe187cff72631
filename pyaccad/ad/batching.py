"""Batching by re-tracing: the rule table, the interpreter that walks a program, and shared helpers.

``vmap`` traces the user's function once at the per-example types, then
:func:`batch_into` walks that program's statements inside the current trace,
keeping for every variable its new atom and its *batch dimension* (``bdim``):
the axis that runs over the batch, or ``None`` when the value is the same for
every example. A statement whose operands (and the free variables of its
lambdas and bodies) are all unbatched is copied unchanged; any other is
handed to its rule in :data:`BATCH_RULES`, called as every rule of the three
tables is (:mod:`pyaccad.ad.rules`)::

    rule(stmt, ctx, args, bdims) -> (outs, out_bdims)

``args`` are the new atoms and ``bdims`` their batch dimensions; the
statement's lambdas still refer to the per-example program's variables
(``ctx`` resolves them). Rules emit IR with
:func:`pyaccad.frontend.tracing.emit` into the current builder.

Lambdas stay scalar. When a lambda reads a batched free array (``index``) or
uses a batched free scalar, the rule gives it the batch index — the *lane* —
as an extra argument (a ``map`` becomes a ``generate`` over the batched
shape, a ``fold`` carries a lane operand), and :func:`inline_lambda` rewrites
each such read to ``index(a, ..lane..)``: the batching rule of ``index``.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> acc.jit(ad.vmap(lambda x: x * 2.0))(np.ones((2, 3)))
array([[2., 2., 2.],
       [2., 2., 2.]])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pyaccad.ad.gaps import MISSING_BATCHING
from pyaccad.ad.rules import Rule, RuleTable
from pyaccad.errors import Error
from pyaccad.frontend.tracing import emit, trace_program, value_of
from pyaccad.ir import BOOL, INDEX_DTYPE, PRIMITIVES, Atom, Lit, Program, Stmt, Var, scalar_type
from pyaccad.ir.rewrite import substitute
from pyaccad.ir.types import is_float

BDim = int | None
BatchRule = Rule["BatchContext | LaneContext", BDim, tuple[Sequence[Atom], Sequence[BDim]]]

BATCH_RULES: RuleTable[BatchRule] = RuleTable("batching (vmap)", Error, MISSING_BATCHING)
"""The batching rule of every primitive (filled by :mod:`pyaccad.ad.batching_rules` and the custom family).

>>> from pyaccad import ad  # loads the rule families
>>> BATCH_RULES[PRIMITIVES["fold"]] is BATCH_RULES[PRIMITIVES["scan"]]
True
"""
batch_rule = BATCH_RULES.register


class BatchContext:
    """The state of one batched (array-level) program: the batch size and each variable's new atom and bdim.

    A context made for a nested body (``awhile``, ``acond``) starts from a copy of its parent's
    maps, because bodies read their enclosing scope lexically.

    >>> from pyaccad.ir import FLOAT64
    >>> BatchContext(4).read(Lit(1.0, FLOAT64))  # literals are never batched
    (Lit(1.0: float64), None)
    """

    def __init__(self, size: int, parent: BatchContext | None = None) -> None:
        self.size = size
        self.atoms: dict[Var, Atom] = dict(parent.atoms) if parent else {}
        self.bdims: dict[Var, int] = dict(parent.bdims) if parent else {}

    def bind(self, var: Var, atom: Atom, bdim: BDim) -> None:
        self.atoms[var] = atom
        if bdim is None:
            self.bdims.pop(var, None)
        else:
            self.bdims[var] = bdim

    def read(self, atom: Atom) -> tuple[Atom, BDim]:
        """The new atom for an old one and its bdim; variables of scopes outside the batched program are unbatched."""
        if isinstance(atom, Lit):
            return atom, None
        return self.atoms.get(atom, atom), self.bdims.get(atom)

    def is_batched(self, program: Program) -> bool:
        """True when the nested ``program`` uses a batched variable of an enclosing scope."""
        return any(v in self.bdims for v in program.free_vars)

    def rename(self, program: Program) -> Program:
        """A fresh copy of a nested program that uses no batched variable, its free variables renamed."""
        return substitute(program, {v: self.atoms.get(v, v) for v in program.free_vars})


def batch_into(
    ctx: BatchContext, program: Program, args: Sequence[Atom], bdims: Sequence[BDim]
) -> tuple[list[Atom], list[BDim]]:
    """Emit the batched statements of ``program`` into the current builder; return its outputs and their bdims.

    >>> from pyaccad.frontend.tracing import trace_program
    >>> from pyaccad.ir import ArrayType, FLOAT64
    >>> f, _ = trace_program(lambda x: x * 2.0, [ArrayType(FLOAT64, (3,))])
    >>> run = lambda xs: [value_of(a) for a in batch_into(BatchContext(5), f, [xs.var], [1])[0]]
    >>> [str(t) for t in trace_program(run, [ArrayType(FLOAT64, (3, 5))])[0].output_types]
    ['f64[3,5]']
    """
    for var, atom, bdim in zip(program.inputs, args, bdims, strict=True):
        ctx.bind(var, atom, bdim)
    for stmt in program.stmts:
        pairs = [ctx.read(a) for a in stmt.args]
        new_args, new_bdims = [a for a, _ in pairs], [b for _, b in pairs]
        if all(b is None for b in new_bdims) and not any(ctx.is_batched(s) for s in stmt.subprograms()):
            outs, out_bdims = copy_unbatched(stmt, ctx, new_args, new_bdims)
        else:
            outs, out_bdims = BATCH_RULES.lookup(stmt)(stmt, ctx, new_args, new_bdims)
        for var, atom, bdim in zip(stmt.outs, outs, out_bdims, strict=True):
            ctx.bind(var, atom, bdim)
    results = [ctx.read(a) for a in program.outputs]
    return [a for a, _ in results], [b for _, b in results]


def copy_unbatched(
    stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]
) -> tuple[Sequence[Atom], Sequence[BDim]]:
    """Re-emit a statement that no batched value reaches: its results are unbatched.

    >>> from pyaccad.ir import ArrayType, FLOAT64
    >>> f, _ = trace_program(lambda x: -x, [ArrayType(FLOAT64, (2,))])
    >>> neg = lambda x: value_of(copy_unbatched(f.stmts[0], BatchContext(3), [x.var], [None])[0][0])
    >>> trace_program(neg, [ArrayType(FLOAT64, (2,))])[0].output_types[0].shape
    (2,)
    """
    params = dict(stmt.params)
    for name in stmt.prim.subprogram_params:
        if params.get(name) is not None:
            params[name] = ctx.rename(params[name])
    outs = emit(stmt.prim, args, params)
    return outs, [None] * len(outs)


# ---------------------------------------------------------------------------------------------- helpers for rules


def moveaxis(atom: Atom, src: int, dst: int) -> Atom:
    """``atom`` with axis ``src`` moved to position ``dst`` (one ``transpose``, or none).

    >>> from pyaccad.ir import ArrayType, FLOAT64
    >>> moved = lambda x: value_of(moveaxis(x.var, 0, 2))
    >>> trace_program(moved, [ArrayType(FLOAT64, (2, 3, 4))])[0].output_types[0].shape
    (3, 4, 2)
    """
    if src == dst:
        return atom
    perm = [i for i in range(len(atom.shape)) if i != src]
    perm.insert(dst, src)
    (out,) = emit("transpose", (atom,), {"perm": tuple(perm)})
    return out


def broadcast_batch(atom: Atom, size: int, axis: int) -> Atom:
    """An unbatched value with a new batch axis of ``size`` inserted at ``axis``.

    >>> from pyaccad.ir import ArrayType, FLOAT64
    >>> widened = lambda x: value_of(broadcast_batch(x.var, 5, 1))
    >>> trace_program(widened, [ArrayType(FLOAT64, (2, 3))])[0].output_types[0].shape
    (2, 5, 3)
    """
    shape = list(atom.shape)
    shape.insert(axis, size)
    dims = tuple(i for i in range(len(shape)) if i != axis)
    (out,) = emit("broadcast_in_dim", (atom,), {"shape": tuple(shape), "dims": dims})
    return out


def at_axis(ctx: BatchContext, atom: Atom, bdim: BDim, axis: int = 0) -> Atom:
    """``atom`` batched along ``axis``: moved there if batched elsewhere, broadcast if unbatched.

    >>> from pyaccad.ir import ArrayType, FLOAT64
    >>> placed = lambda x: value_of(at_axis(BatchContext(5), x.var, None, 0))
    >>> trace_program(placed, [ArrayType(FLOAT64, (2,))])[0].output_types[0].shape
    (5, 2)
    """
    if bdim is None:
        return broadcast_batch(atom, ctx.size, axis)
    return moveaxis(atom, bdim, axis)


def zero(dtype: np.dtype) -> Lit:
    """The literal zero (False for bool) of ``dtype``.

    >>> zero(np.dtype("int32"))
    Lit(0: int32)
    """
    return Lit(False if dtype == BOOL else 0.0 if is_float(dtype) else 0, dtype)


def lane_index(lane: Atom, indices: Sequence[Atom], bdim: int) -> list[Atom]:
    """The indices of a per-example read with the lane inserted at the batch dimension.

    >>> lane_index("lane", ["i", "j"], 1)
    ['i', 'lane', 'j']
    """
    return [*indices[:bdim], lane, *indices[bdim:]]


# ------------------------------------------------------------------------------------------------- scalar lambdas


class LaneContext:
    """Reading the enclosing array scope from inside a lambda, at one lane of the batch.

    ``outer`` resolves the array-level variables; ``local`` maps the lambda's own variables.

    >>> LaneContext(BatchContext(2), None, {}).read(Lit(0, INDEX_DTYPE))
    (Lit(0: int64), None)
    """

    def __init__(self, outer: BatchContext, lane: Atom | None, local: dict[Var, Atom]) -> None:
        self.outer = outer
        self.lane = lane
        self.local = local

    def read(self, atom: Atom) -> tuple[Atom, BDim]:
        if isinstance(atom, Var) and atom in self.local:
            return self.local[atom], None
        return self.outer.read(atom)

    def scalar(self, atom: Atom) -> Atom:
        """The value of ``atom`` at this lane: a batched free scalar is read with ``index`` at the lane."""
        new, bdim = self.read(atom)
        if bdim is None:
            return new
        assert self.lane is not None, "a batched value reached a lambda that was not given the lane"
        (out,) = emit("index", (new, self.lane))
        return out


def inline_lambda(
    ctx: BatchContext, lam: Program, args: Sequence[Atom], lane: Atom | None, parent: LaneContext | None = None
) -> list[Atom]:
    """Emit ``lam``'s body at ``args`` into the current scalar builder, reading batched free values at ``lane``.

    ``lane`` is a variable of the enclosing lambda (or a literal lane); it may be None when
    ``lam`` uses no batched value. Nested scalar bodies (``cond``, ``while_``) are re-traced the same way.

    >>> from pyaccad.ir import FLOAT64
    >>> square = lambda_over([FLOAT64], lambda x: emit("mul", (x, x)))
    >>> copy = lambda_over([FLOAT64], lambda x: inline_lambda(BatchContext(1), square, [x], None))
    >>> [s.prim.name for s in copy.stmts]
    ['mul']
    """
    lctx = LaneContext(ctx, lane, dict(parent.local) if parent else {})
    lctx.local.update(zip(lam.inputs, args, strict=True))
    for stmt in lam.stmts:
        if stmt.prim is PRIMITIVES["index"]:
            array, bdim = lctx.read(stmt.args[0])
            indices = [lctx.scalar(a) for a in stmt.args[1:]]
            outs, _ = BATCH_RULES.lookup(stmt)(stmt, lctx, [array, *indices], [bdim] + [None] * len(indices))
        else:
            params = dict(stmt.params)
            for name in stmt.prim.subprogram_params:
                if params.get(name) is not None:
                    params[name] = _retrace_scalar(ctx, params[name], lane, lctx)
            outs = emit(stmt.prim, [lctx.scalar(a) for a in stmt.args], params)
        lctx.local.update(zip(stmt.outs, outs, strict=True))
    return [lctx.scalar(a) for a in lam.outputs]


def _retrace_scalar(ctx: BatchContext, body: Program, lane: Atom | None, parent: LaneContext) -> Program:
    def run(*xs: Any) -> list[Any]:
        return [value_of(a) for a in inline_lambda(ctx, body, [x.var for x in xs], lane, parent)]

    program, _ = trace_program(run, body.input_types, "scalar")
    return program


def lambda_over(in_types: Sequence, body: Callable[..., Sequence[Atom]]) -> Program:
    """Trace a scalar lambda of ``in_types`` (dtypes) whose body, given the input atoms, emits and returns atoms.

    >>> from pyaccad.ir import FLOAT64
    >>> [s.prim.name for s in lambda_over([FLOAT64], lambda x: emit("neg", (x,))).stmts]
    ['neg']
    """

    def run(*xs: Any) -> list[Any]:
        return [value_of(a) for a in body(*[x.var for x in xs])]

    program, _ = trace_program(run, [scalar_type(t) for t in in_types], "scalar")
    return program


def index_lambda(rank: int, body: Callable[..., Sequence[Atom]]) -> Program:
    """A ``generate``-style lambda over ``(lane, i_0, .., i_{rank-1})`` (all int64).

    >>> len(index_lambda(2, lambda lane, i, j: [lane]).inputs)
    3
    """
    return lambda_over([INDEX_DTYPE] * (rank + 1), body)


def generate(shape: Sequence[int], lam: Program) -> tuple[Var, ...]:
    """Emit ``generate(; shape, lam)``.

    >>> program, _ = trace_program(lambda: value_of(generate((2,), index_lambda(0, lambda i: [i]))[0]), [])
    >>> program.output_types[0].shape
    (2,)
    """
    return emit("generate", (), {"shape": tuple(shape), "lam": lam})
