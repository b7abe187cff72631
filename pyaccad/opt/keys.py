"""What makes two statements, or two programs, the same: keys equal up to renaming of bound variables.

Two statements are the same when they apply the same primitive to the same
atoms with equal parameters. Nested programs (lambdas, loop bodies, branches)
are compared *structurally, up to renaming of the variables they bind*: each
bound variable is named by its position, free variables by identity. The
arguments of commutative primitives (``add``, ``mul``, ``eq``, ``ne``, ``and``,
``or``: exactly commutative in IEEE arithmetic; not ``minimum`` and ``maximum``,
because of signed zeros and nan) are unordered. Literals compare by their bits
(``0.0`` is not ``-0.0``) and ``const`` arrays by dtype, shape and bytes, so
constants with different values are never equal. CSE (:mod:`pyaccad.opt.cse`)
and the loop projections (:mod:`pyaccad.opt.loops`) compare through these keys.

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> f = lambda x: x * 2.0
>>> program_key(trace(f, np.ones(2)).program) == program_key(trace(lambda y: 2.0 * y, np.ones(2)).program)
True
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np

from pyaccad.ir import Atom, Lit, Program, Stmt, Var
from pyaccad.opt.walk import lit_key


def param_key(value: Any, names: dict[Var, int]) -> Hashable:
    """A statement parameter's key: a nested program up to renaming, an array by its bytes, a float by its repr."""
    if isinstance(value, Program):
        return ("program", program_key(value, names))
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(param_key(v, names) for v in value))
    if isinstance(value, float):
        return ("float", repr(value))  # repr keeps -0.0 apart from 0.0
    if isinstance(value, np.dtype):
        return ("dtype", value.str)
    return (type(value).__name__, value)


def atom_key(atom: Atom, names: Mapping[Var, int]) -> Hashable:
    """``atom``'s key: a literal by its bits, a variable bound here by its number in ``names``, else by identity."""
    if isinstance(atom, Lit):
        return ("lit", *lit_key(atom))
    local = names.get(atom)
    return ("bound", local) if local is not None else ("free", atom.id)


def stmt_key(stmt: Stmt, names: dict[Var, int] | None = None) -> Hashable:
    """What makes ``stmt`` equal to another: primitive, argument atoms, parameters (programs up to renaming).

    ``names`` numbers the variables bound by an enclosing program being keyed (empty at the top).
    """
    names = {} if names is None else names
    args = tuple(atom_key(a, names) for a in stmt.args)
    if stmt.prim.commutative:
        args = tuple(sorted(args, key=repr))
    params = tuple(sorted((k, param_key(v, names)) for k, v in stmt.params.items()))
    return (stmt.prim.name, args, params)


def program_key(program: Program, names: dict[Var, int] | None = None) -> Hashable:
    """A key equal for two programs exactly when they are the same up to renaming of bound variables.

    ``names`` (the numbering of an enclosing program's bound variables) is extended while ``program`` is keyed
    and given back as it was, not copied: a copy per nested program would cost the enclosing program's size
    for every lambda in it.

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> f = lambda x: x * 2.0
    >>> program_key(trace(f, np.ones(2)).program) == program_key(trace(f, np.ones(2)).program)
    True
    """
    names = {} if names is None else names
    shadowed: list[tuple[Var, int | None]] = []  # what each binding here replaced, to undo

    def bind(var: Var) -> None:
        shadowed.append((var, names.get(var)))
        names[var] = len(names)

    try:
        for var in program.inputs:
            bind(var)
        parts: list[Hashable] = [tuple(str(v.type) for v in program.inputs)]
        for stmt in program.stmts:
            parts.append((stmt_key(stmt, names), tuple(str(v.type) for v in stmt.outs)))
            for var in stmt.outs:
                bind(var)
        parts.append(tuple(atom_key(a, names) for a in program.outputs))
        return tuple(parts)
    finally:
        for var, number in reversed(shadowed):
            if number is None:
                del names[var]
            else:
                names[var] = number
