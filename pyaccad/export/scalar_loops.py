"""Loops over scalars as one scalar ``while``: what the export prints for an ``awhile`` whose state is rank 0.

accelerate runs an ``awhile`` on the host: every array operation of its body, on every trip, is a task of
its executor (about 5 µs each through accelerate-llvm-native, whatever its size; BENCHMARKS.md, "Loops through
accelerate"), even where each holds one number. A loop whose state is all rank-0 values (a counter, a running
value, a Newton iterate), and whose body computes only rank-0 values, reads nothing from its arrays that a
scalar function cannot: it is one scalar ``while`` (accelerate's ``Exp``-level ``while``), run by one thread
inside one ``generate`` of one element. :func:`scalar_loops` rewrites such loops so (in nested array-level
bodies too): the body's element-wise statements stay as they are (they act on rank-0 values either way), a
rank-0 ``generate``/``map`` lends its lambda's statements, a rank-0 ``backpermute`` of a larger array
becomes the ``index`` read of its index lambda's result, rank-0 broadcasts and reshapes are their operand,
and an array-level ``cond`` or ``while`` of rank-0 values becomes the scalar one. A loop with anything else
in its body (a fold, a larger array) is left as it is. The same operations run in the same order, so the
values are the same bits.

The ``generate`` is materialised (:func:`scalar_loops` returns its results for ``compute``): accelerate
would otherwise fuse it into each consumer, and run the loop again for every element of one that reads it
everywhere (a ``replicate``), and once for each result it unzips.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad.frontend import trace
>>> def f(x):
...     return acc.awhile(lambda s: s[0] < 10, lambda s: (s[0] + 1, s[1] * 0.5 + x[s[0] % 3]), (0, x[0]))[1]
>>> program, loops = scalar_loops(trace(f, np.arange(3.0)).program)
>>> [s.prim.name for s in program.stmts if s.outs[0] in loops], len(loops)
(['generate'], 2)
"""

from __future__ import annotations

from collections.abc import Sequence

from pyaccad.ir import PRIMITIVES, Atom, Lit, Program, Stmt, Var
from pyaccad.ir.rewrite import inline, rebuild_program, rebuild_stmt, rename_atom, substitute

_INDEX, _GENERATE = PRIMITIVES["index"], PRIMITIVES["generate"]
_SAME_VALUE = {"broadcast_in_dim", "reshape", "transpose", "reverse"}  # at rank 0: their operand itself


def scalar_loops(program: Program) -> tuple[Program, set[Var]]:
    """``program`` with every array-level ``while`` over rank-0 values run as a scalar ``while`` (module doc),
    and the results of the ``generate`` each became (to materialise)."""
    loops: set[Var] = set()
    return _program(program, loops), loops


def _program(program: Program, loops: set[Var]) -> Program:
    stmts = [_stmt(stmt, loops) for stmt in program.stmts]
    return rebuild_program(program, stmts, program.outputs)


def _stmt(stmt: Stmt, loops: set[Var]) -> Stmt:
    if stmt.prim.scalar_bodies or not stmt.prim.subprogram_params:
        return stmt  # a collective's lambdas are scalar already; nothing nested otherwise
    params = {**stmt.params, **{name: _program(sub, loops) for name, sub in _named_subprograms(stmt)}}
    stmt = rebuild_stmt(stmt, stmt.args, params, stmt.outs)
    if stmt.prim.name != "while" or not _all_rank_0(stmt.args, stmt.outs):
        return stmt
    scalar = _scalar_control(stmt)
    if scalar is None:
        return stmt
    results = tuple(Var(v.type, v.hint) for v in stmt.outs)
    scalar = Stmt(scalar.prim, scalar.args, scalar.params, results, stmt.source)
    loops.update(stmt.outs)
    lam = Program((), (scalar,), results)
    return Stmt(_GENERATE, (), {"shape": (), "lam": lam}, stmt.outs, stmt.source)


def _named_subprograms(stmt: Stmt) -> list[tuple[str, Program]]:
    return [(name, stmt.params[name]) for name in stmt.prim.subprogram_params if stmt.params.get(name) is not None]


def _all_rank_0(*groups: Sequence[Atom]) -> bool:
    return all(not atom.type.shape for group in groups for atom in group)


def _scalar_control(stmt: Stmt) -> Stmt | None:
    """An array-level ``while``/``cond`` of rank-0 values as the scalar one, or None where its bodies compute
    something a scalar function cannot."""
    params = dict(stmt.params)
    for name, sub in _named_subprograms(stmt):
        scalar = _scalar_program(sub)
        if scalar is None:
            return None
        params[name] = scalar
    return Stmt(stmt.prim, stmt.args, params, stmt.outs, stmt.source)


def _scalar_program(program: Program) -> Program | None:
    """``program`` (array level, all its values rank 0) as a scalar lambda's body, or None where it is not."""
    env: dict[Var, Atom] = {}
    out: list[Stmt] = []
    for stmt in program.stmts:
        if not _all_rank_0(stmt.outs) or not _scalar_stmt(stmt, env, out):
            return None
    return Program(program.inputs, tuple(out), tuple(rename_atom(a, env) for a in program.outputs))


def _scalar_stmt(stmt: Stmt, env: dict[Var, Atom], out: list[Stmt]) -> bool:
    """Append ``stmt``'s scalar form to ``out`` (or map its result in ``env``); whether it has one."""
    args = tuple(rename_atom(a, env) for a in stmt.args)
    name, family = stmt.prim.name, stmt.prim.family
    if family == "elementwise" and _all_rank_0(args):
        out.append(Stmt(stmt.prim, args, stmt.params, stmt.outs, stmt.source))
    elif name in _SAME_VALUE and _all_rank_0(args):
        env[stmt.outs[0]] = args[0]
    elif name in ("generate", "map") and _all_rank_0(args):
        env.update(zip(stmt.outs, inline(stmt.params["lam"], args, out, env), strict=True))
    elif name == "backpermute":
        (source,) = args
        if not source.type.shape:
            env[stmt.outs[0]] = source
        else:  # a read of a larger array, which is free here (the body's own values are rank 0)
            index = inline(stmt.params["index"], (), out, env)
            out.append(Stmt(_INDEX, (source, *index), {}, stmt.outs, stmt.source))
    elif name == "const":
        env[stmt.outs[0]] = Lit(stmt.params["value"].item(), stmt.outs[0].dtype)
    elif name in ("cond", "while") and _all_rank_0(args):
        renamed = {**stmt.params, **{n: substitute(sub, env) for n, sub in _named_subprograms(stmt)}}
        scalar = _scalar_control(Stmt(stmt.prim, args, renamed, stmt.outs, stmt.source))
        if scalar is None:
            return False
        out.append(scalar)
    else:
        return False
    return True
