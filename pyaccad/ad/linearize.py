"""Linearize = JVP, then partial evaluation into a primal part and a linear part.

The JVP program ``J(x, x_tan) -> (y, y_tan)`` is split by dependence on the
tangent inputs: a statement none of whose inputs (arguments, or free
variables of its nested programs) depends on a tangent is *primal* and is
emitted into the current trace at once; every other statement is *linear*
(the JVP rules guarantee it) and goes to a linear program
``L(x_tan) -> y_tan`` whose free variables are the primal values it needs
(the residuals). ``vjp`` transposes ``L``.

The ``cond``/``while``/``remat`` statements of forward mode compute primal and
tangent values together. Their primal results are needed by the rest of the
primal part, so a primal copy restricted to those results (dead code removed
from its branches or body) goes to the primal part; the whole statement, with
its primal results renamed away, goes to the linear part, where its transpose
recomputes what it needs (:mod:`pyaccad.ad.transpose_rules.control`,
:mod:`pyaccad.ad.transpose_rules.loop`, :mod:`pyaccad.ad.remat`).

>>> import numpy as np, pyaccad as acc
>>> from pyaccad.frontend.tracing import trace_program
>>> from pyaccad.ir import ArrayType, FLOAT64
>>> t = ArrayType(FLOAT64, (2,))
>>> f, _ = trace_program(lambda x: acc.sin(x) * x, [t])
>>> linear_names = []
>>> def primal_then_linear(x):
...     lin = linearize_into(f, [x.var])  # emits sin x, sin x * x and cos x here
...     linear_names.extend(s.prim.name for s in lin.linear.stmts)
...     return x
>>> _ = trace_program(primal_then_linear, [t])
>>> linear_names  # x_tan * cos x, then the product rule
['mul', 'mul', 'mul', 'add']
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyaccad.ad.jvp import jvp_atoms
from pyaccad.ad.tangents import Tan, Zero, differentiable, instantiate
from pyaccad.frontend.tracing import current_builder, trace_program, value_of
from pyaccad.ir import Atom, Program, Stmt, Var
from pyaccad.ir.rewrite import rename_atom, substitute, substitute_stmt


@dataclass
class Linearized:
    """The primal outputs (atoms of the current trace) and the linear program of the tangents.

    ``linear`` takes the tangents of the differentiable inputs (``diff_inputs``
    lists their positions) and returns the output tangents; its free
    variables are residuals of the current trace.
    """

    outs: list[Atom]
    linear: Program
    diff_inputs: list[int]


def linearize_into(program: Program, primals: Sequence[Atom]) -> Linearized:
    """Emit the primal part of ``program``'s JVP at ``primals`` into the current trace; return the linear part."""
    diff_inputs = [i for i, v in enumerate(program.inputs) if differentiable(v.type)]
    n = len(program.inputs)
    kind = current_builder().kind  # type: ignore[union-attr]

    def jvp_fn(*values: object) -> list[object]:
        atoms = [v.var for v in values]  # type: ignore[attr-defined]
        tans: list[Tan] = [Zero(v.type) for v in program.inputs]
        for k, i in enumerate(diff_inputs):
            tans[i] = atoms[n + k]
        outs, outs_tan = jvp_atoms(program, atoms[:n], tans)
        return [value_of(a) for a in outs] + [value_of(instantiate(t)) for t in outs_tan]

    types = list(program.input_types) + [program.inputs[i].type for i in diff_inputs]
    hints = [v.hint for v in program.inputs] + [f"{program.inputs[i].hint or 'x'}_tan" for i in diff_inputs]
    jprog, _ = trace_program(jvp_fn, types, kind, hints=hints)
    env: dict[Var, Atom] = dict(zip(jprog.inputs[:n], primals, strict=False))
    tangent_inputs = jprog.inputs[n:]
    linear_stmts = split(jprog.stmts, set(tangent_inputs), env, current_builder().stmts)  # type: ignore
    m = len(program.outputs)
    outs = [rename_atom(a, env) for a in jprog.outputs[:m]]
    linear = substitute(Program(tangent_inputs, tuple(linear_stmts), jprog.outputs[m:]), env)
    return Linearized(outs, linear, diff_inputs)


def split(stmts: Iterable[Stmt], linear: set[Var], env: dict[Var, Atom], primal_out: list[Stmt]) -> list[Stmt]:
    """Partial evaluation: append primal statements (renamed by ``env``) to ``primal_out``; return the linear ones.

    ``linear`` (updated) holds the variables that depend on tangents.
    """
    linear_stmts: list[Stmt] = []
    for stmt in stmts:
        if not depends(stmt, linear):
            primal_out.append(substitute_stmt(stmt, env))
            continue
        if _is_control(stmt):
            primal_pos = primal_outputs(stmt, linear)
            if primal_pos:
                copy = primal_copy(stmt, primal_pos, linear)
                renamed = substitute_stmt(copy, env)
                primal_out.append(renamed)
                env.update(zip([stmt.outs[j] for j in primal_pos], renamed.outs, strict=False))
                outs = tuple(Var(v.type, v.hint) if j in primal_pos else v for j, v in enumerate(stmt.outs))
                stmt = Stmt(stmt.prim, stmt.args, stmt.params, outs, stmt.source)
        linear_stmts.append(stmt)
        linear.update(v for v in stmt.outs)
    return linear_stmts


def depends(stmt: Stmt, linear: set[Var]) -> bool:
    """Whether ``stmt`` reads a variable of ``linear`` (as an argument or a free variable of a nested program)."""
    if any(isinstance(a, Var) and a in linear for a in stmt.args):
        return True
    return any(v in linear for sub in stmt.subprograms() for v in sub.free_vars)


def project(stmts: Sequence[Stmt], linear: set[Var]) -> list[Stmt]:
    """The statements that compute what does not depend on ``linear`` (updated with what does).

    A forward-mode ``cond``/``while``/``remat`` with some results free of tangents is
    replaced by its primal copy; every other statement is kept or dropped whole.
    """
    kept: list[Stmt] = []
    for stmt in stmts:
        if not depends(stmt, linear):
            kept.append(stmt)
            continue
        primal_pos = primal_outputs(stmt, linear) if _is_control(stmt) else []
        if primal_pos:
            kept.append(primal_copy(stmt, primal_pos, linear))
        linear.update(v for j, v in enumerate(stmt.outs) if j not in primal_pos)
    return kept


def _is_control(stmt: Stmt) -> bool:
    return stmt.prim.name in ("cond", "while", "remat")


def linear_outputs(program: Program, linear: set[Var]) -> list[bool]:
    """Per output of ``program``: whether it depends on ``linear`` (inputs or free variables)."""
    lin = set(linear)
    project(program.stmts, lin)
    return [isinstance(a, Var) and a in lin for a in program.outputs]


def primal_outputs(stmt: Stmt, linear: set[Var]) -> list[int]:
    """The results of a forward-mode ``cond``/``while``/``remat`` that do not depend on tangents."""
    if stmt.prim.name == "cond":
        flags = [linear_outputs(stmt.params[b], linear) for b in ("then_", "else_")]
        return [j for j in range(len(stmt.outs)) if not (flags[0][j] or flags[1][j])]
    if stmt.prim.name == "remat":
        body = stmt.params["body"]
        flags = linear_outputs(body, linear | {body.inputs[j] for j in _linear_args(stmt, linear)})
        return [j for j in range(len(stmt.outs)) if not flags[j]]
    body = stmt.params["body"]
    primal = {j for j, a in enumerate(stmt.args) if not (isinstance(a, Var) and a in linear)}
    while True:
        lin = linear | {v for j, v in enumerate(body.inputs) if j not in primal}
        flags = linear_outputs(body, lin)
        shrunk = {j for j in primal if not flags[j]}
        if shrunk == primal:
            return sorted(primal)
        primal = shrunk


def primal_copy(stmt: Stmt, keep: list[int], linear: set[Var]) -> Stmt:
    """``stmt`` computing only the results ``keep`` (which depend on nothing in ``linear``)."""
    outs = tuple(stmt.outs[j] for j in keep)
    if stmt.prim.name == "cond":
        params = {**stmt.params, **{b: restrict(stmt.params[b], keep, linear) for b in ("then_", "else_")}}
        return Stmt(stmt.prim, stmt.args, params, outs, stmt.source)
    if stmt.prim.name == "remat":  # the primal arguments only
        body = stmt.params["body"]
        dropped = _linear_args(stmt, linear)
        primal = [j for j in range(len(stmt.args)) if j not in dropped]
        inputs = [body.inputs[j] for j in primal]
        new_body = restrict(body, keep, linear | {body.inputs[j] for j in dropped}, inputs)
        return Stmt(stmt.prim, tuple(stmt.args[j] for j in primal), {"body": new_body}, outs, stmt.source)
    cond, body = stmt.params["cond"], stmt.params["body"]
    dropped = {v for j, v in enumerate(body.inputs) if j not in keep}
    dropped |= {v for j, v in enumerate(cond.inputs) if j not in keep}
    new_body = restrict(body, keep, linear | dropped, [body.inputs[j] for j in keep])
    new_cond = restrict(cond, [0], linear | dropped, [cond.inputs[j] for j in keep])
    args = tuple(stmt.args[j] for j in keep)
    return Stmt(stmt.prim, args, {**stmt.params, "cond": new_cond, "body": new_body}, outs, stmt.source)


def _linear_args(stmt: Stmt, linear: set[Var]) -> list[int]:
    return [j for j, a in enumerate(stmt.args) if isinstance(a, Var) and a in linear]


def restrict(program: Program, keep: list[int], linear: set[Var], inputs: Sequence[Var] | None = None) -> Program:
    """``program`` returning only the outputs ``keep`` (free of ``linear``), without what they do not need."""
    outputs = tuple(program.outputs[j] for j in keep)
    stmts = project(program.stmts, set(linear))
    return Program(tuple(program.inputs if inputs is None else inputs), dce(stmts, outputs), outputs)


def dce(stmts: Sequence[Stmt], outputs: Sequence[Atom]) -> tuple[Stmt, ...]:
    """The statements needed for ``outputs`` (every primitive is pure)."""
    needed = {a for a in outputs if isinstance(a, Var)}
    kept: list[Stmt] = []
    for stmt in reversed(stmts):
        if not any(v in needed for v in stmt.outs):
            continue
        kept.append(stmt)
        needed.update(a for a in stmt.args if isinstance(a, Var))
        for sub in stmt.subprograms():
            needed.update(sub.free_vars)
    return tuple(reversed(kept))
