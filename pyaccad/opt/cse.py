"""Common-subexpression elimination: compute each distinct statement once.

Two statements are the same when they apply the same primitive to the same
atoms with equal parameters. Nested programs (lambdas, loop bodies, branches)
are compared *structurally, up to renaming of the variables they bind*: each
bound variable is named by its position, free variables by identity. The
arguments of ``add``, ``mul``, ``eq``, ``ne``, ``and`` and ``or`` are
unordered (these are exactly commutative in IEEE arithmetic; ``minimum`` and
``maximum`` are not, because of signed zeros and nan). Literals compare by
their bits (``0.0`` is not ``-0.0``) and ``const`` arrays by dtype, shape and
bytes, so constants with different values are never merged.

Scopes nest: a statement inside a lambda or a loop body may reuse a result
computed in an enclosing scope (lexical scoping makes it visible there), but
never one computed in a sibling scope. The body of a ``remat`` reuses nothing
from outside: it is there to recompute (``ad.checkpoint``).

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> from pyaccad.opt.cse import cse
>>> prog = trace(lambda x: (x * x) + (x * x), np.ones(3)).program
>>> [s.prim.name for s in cse(prog).stmts]
['mul', 'add']
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np

from pyaccad.ir import Atom, Lit, Program, Stmt, Var
from pyaccad.ir.rewrite import rename_atom
from pyaccad.opt.walk import lit_key


def _param_key(value: Any, names: dict[Var, int]) -> Hashable:
    if isinstance(value, Program):
        return ("program", program_key(value, names))
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_param_key(v, names) for v in value))
    if isinstance(value, float):
        return ("float", repr(value))  # repr keeps -0.0 apart from 0.0
    if isinstance(value, np.dtype):
        return ("dtype", value.str)
    return (type(value).__name__, value)


def _atom_key(atom: Atom, names: Mapping[Var, int]) -> Hashable:
    if isinstance(atom, Lit):
        return ("lit", *lit_key(atom))
    local = names.get(atom)
    return ("bound", local) if local is not None else ("free", atom.id)


def stmt_key(stmt: Stmt, names: dict[Var, int] | None = None) -> Hashable:
    """What makes ``stmt`` equal to another: primitive, argument atoms, parameters (programs up to renaming).

    ``names`` numbers the variables bound by an enclosing program being keyed (empty at the top).
    """
    names = {} if names is None else names
    args = tuple(_atom_key(a, names) for a in stmt.args)
    if stmt.prim.commutative:
        args = tuple(sorted(args, key=repr))
    params = tuple(sorted((k, _param_key(v, names)) for k, v in stmt.params.items()))
    return (stmt.prim.name, args, params)


def program_key(program: Program, names: dict[Var, int] | None = None) -> Hashable:
    """A key equal for two programs exactly when they are the same up to renaming of bound variables.

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> f = lambda x: x * 2.0
    >>> program_key(trace(f, np.ones(2)).program) == program_key(trace(f, np.ones(2)).program)
    True
    """
    names = dict(names or {})
    for var in program.inputs:
        names[var] = len(names)
    parts: list[Hashable] = [tuple(str(v.type) for v in program.inputs)]
    for stmt in program.stmts:
        parts.append((stmt_key(stmt, names), tuple(str(v.type) for v in stmt.outs)))
        for var in stmt.outs:
            names[var] = len(names)
    parts.append(tuple(_atom_key(a, names) for a in program.outputs))
    return tuple(parts)


class _Eliminator:
    def __init__(self) -> None:
        self.env: dict[Var, Atom] = {}

    def program(self, program: Program, table: Mapping[Hashable, tuple[Var, ...]]) -> Program:
        seen = dict(table)  # this scope sees its enclosing scopes' statements, not its siblings'
        stmts: list[Stmt] = []
        for stmt in program.stmts:
            params = dict(stmt.params)
            for name in stmt.prim.subprogram_params:
                if params.get(name) is not None:
                    params[name] = self.program(params[name], {} if stmt.prim.name == "remat" else seen)
            args = tuple(rename_atom(a, self.env) for a in stmt.args)
            new = Stmt(stmt.prim, args, params, stmt.outs, stmt.source)
            key = stmt_key(new)
            earlier = seen.get(key)
            if earlier is not None:
                self.env.update(zip(stmt.outs, earlier, strict=True))
                continue
            seen[key] = stmt.outs
            stmts.append(new)
        return Program(program.inputs, tuple(stmts), tuple(rename_atom(a, self.env) for a in program.outputs))


def cse(program: Program) -> Program:
    """``program`` with each repeated statement replaced by the first one computing the same value."""
    return _Eliminator().program(program, {})
