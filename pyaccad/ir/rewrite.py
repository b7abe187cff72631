"""Renaming and inlining: the plumbing every IR → IR pass shares.

Because scoping is lexical, copying a statement means renaming the variables
it binds *and* every use of them in nested programs. :func:`substitute`
does that for a whole program; :func:`inline` splices a program's body into
a statement list at given argument atoms.

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> prog = trace(lambda x: x + x, np.ones(2)).program
>>> copy = substitute(prog, {})
>>> copy.inputs[0] is prog.inputs[0]
False
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from pyaccad.ir.core import Atom, Lit, Program, Stmt, Var


def rename_atom(atom: Atom, env: Mapping[Var, Atom]) -> Atom:
    """``env[atom]`` for a renamed variable, else ``atom`` itself (free variables stay as they are)."""
    if isinstance(atom, Lit):
        return atom
    return env.get(atom, atom)


def fresh_like(var: Var) -> Var:
    """A new variable of the same type and hint."""
    return Var(var.type, var.hint)


def substitute_stmt(stmt: Stmt, env: MutableMapping[Var, Atom]) -> Stmt:
    """A copy of ``stmt`` reading renamed arguments and binding fresh outputs (recorded in ``env``)."""
    args = tuple(rename_atom(a, env) for a in stmt.args)
    params = substitute_params(stmt, env)
    outs = tuple(fresh_like(v) for v in stmt.outs)
    env.update(zip(stmt.outs, outs, strict=True))
    return Stmt(stmt.prim, args, params, outs, stmt.source)


def substitute_params(stmt: Stmt, env: MutableMapping[Var, Atom]) -> dict[str, Any]:
    """``stmt.params`` with every nested program renamed under ``env`` (which is given back as it came)."""
    if not stmt.prim.subprogram_params:
        return dict(stmt.params)
    params = dict(stmt.params)
    for name in stmt.prim.subprogram_params:
        if params.get(name) is not None:
            params[name] = _substitute_within(params[name], env)
    return params


def substitute(program: Program, env: Mapping[Var, Atom]) -> Program:
    """A copy of ``program`` with fresh bound variables and free variables mapped through ``env``."""
    return _substitute_within(program, dict(env))


_UNBOUND = object()


def _substitute_within(program: Program, env: MutableMapping[Var, Atom]) -> Program:
    """:func:`substitute`, binding ``program``'s variables in ``env`` itself and undoing that at the end: a copy
    of ``env`` for every nested program would cost the enclosing program's size for every lambda in it."""
    bound = [*program.inputs, *(var for stmt in program.stmts for var in stmt.outs)]
    saved = [(var, env.get(var, _UNBOUND)) for var in bound]
    try:
        inputs = tuple(fresh_like(v) for v in program.inputs)
        env.update(zip(program.inputs, inputs, strict=True))
        stmts = tuple(substitute_stmt(s, env) for s in program.stmts)
        outputs = tuple(rename_atom(a, env) for a in program.outputs)
        return Program(inputs, stmts, outputs)
    finally:
        for var, atom in reversed(saved):  # all saved before binding: a variable bound twice gets its first value
            if atom is _UNBOUND:
                env.pop(var, None)
            else:
                env[var] = atom


def inline(
    program: Program, args: Sequence[Atom], out: list[Stmt], env: Mapping[Var, Atom] | None = None
) -> tuple[Atom, ...]:
    """Append ``program``'s statements (renamed, inputs bound to ``args``) to ``out``; return its outputs."""
    if len(args) != len(program.inputs):
        raise ValueError(f"inline: {len(args)} arguments for a program of {len(program.inputs)} inputs")
    local: dict[Var, Atom] = dict(env or {})
    local.update(zip(program.inputs, args, strict=True))
    out.extend(substitute_stmt(s, local) for s in program.stmts)
    return tuple(rename_atom(a, local) for a in program.outputs)


def abstract(program: Program, refs: Sequence[Atom]) -> Program:
    """The input-free ``program`` as a function of ``refs``: new inputs take the place of their free uses.

    >>> from pyaccad.ir import ArrayType, FLOAT64, PRIMITIVES
    >>> x, y = Var(ArrayType(FLOAT64, ())), Var(ArrayType(FLOAT64, ()))
    >>> body = abstract(Program((), (Stmt(PRIMITIVES["neg"], (x,), {}, (y,)),), (y,)), [x])
    >>> body.free_vars, body.stmts[0].args == body.inputs
    ((), True)
    """
    inputs = tuple(Var(r.type, r.hint if isinstance(r, Var) else "") for r in refs)
    renamed = substitute(program, {r: v for r, v in zip(refs, inputs, strict=True) if isinstance(r, Var)})
    return Program(inputs, renamed.stmts, renamed.outputs)


def _same(new: Sequence[Any], old: Sequence[Any]) -> bool:
    return len(new) == len(old) and all(a is b for a, b in zip(new, old, strict=True))


def rebuild_stmt(
    stmt: Stmt, args: Sequence[Atom], params: Mapping[str, Any], outs: Sequence[Var] | None = None
) -> Stmt:
    """``stmt`` with these arguments, parameters and results: ``stmt`` itself where each is the same object.

    A pass copies every statement it walks; handing back the statements (and programs, with
    :func:`rebuild_program`) it did not change keeps what a pass allocates, and so what Python's garbage
    collector walks, in proportion to what it changed.

    >>> from pyaccad.ir import ArrayType, FLOAT64, PRIMITIVES
    >>> x, y = Var(ArrayType(FLOAT64, ())), Var(ArrayType(FLOAT64, ()))
    >>> stmt = Stmt(PRIMITIVES["neg"], (x,), {}, (y,))
    >>> rebuild_stmt(stmt, [x], {}) is stmt, rebuild_stmt(stmt, [y], {}).args == (y,)
    (True, True)
    """
    outs = stmt.outs if outs is None else tuple(outs)
    same_params = params.keys() == stmt.params.keys() and all(params[k] is v for k, v in stmt.params.items())
    if same_params and _same(args, stmt.args) and _same(outs, stmt.outs):
        return stmt
    return Stmt(stmt.prim, tuple(args), params, outs, stmt.source)


def rebuild_program(
    program: Program, stmts: Sequence[Stmt], outputs: Sequence[Atom], inputs: Sequence[Var] | None = None
) -> Program:
    """``program`` with these statements and outputs (and inputs): ``program`` itself where all are the same."""
    inputs = program.inputs if inputs is None else tuple(inputs)
    if _same(stmts, program.stmts) and _same(outputs, program.outputs) and _same(inputs, program.inputs):
        return program
    return Program(inputs, tuple(stmts), tuple(outputs))
