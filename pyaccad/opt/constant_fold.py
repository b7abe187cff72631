"""Constant folding: evaluate at compile time what depends only on known values.

A value is *known* when every element holds one literal (a splat: a literal
inside a lambda, ``broadcast_in_dim`` of a literal, or a ``const`` whose
elements are all equal) — the zeros and ones that AD leaves are splats. Small
``const`` arrays (at most :data:`MAX_FOLD_SIZE` elements) are known too.

Folded values are computed with the interpreter's semantics (the ``numpy``
function of each ``ELEMENTWISE`` row, errors ignored, the result cast to the
IR dtype), so a folded program gives bit-for-bit what the interpreter gives
for the original. The one exception is left alone: a float → int ``cast`` of
nan, inf or an out-of-range value, which the IR leaves unspecified.

Rules:

* an element-wise operation, ``select`` or ``cast`` of known operands becomes
  a splat (or a small ``const``);
* any structural operation of a splat (``reshape``, ``transpose``,
  ``broadcast_in_dim``, ``slice``, ``reverse``, ``backpermute``) is a splat of the
  result shape; ``concatenate`` and ``pad`` of one splat value likewise;
* a uniform ``const`` becomes ``broadcast_in_dim`` of its literal (no data);
* ``index`` of a splat array inside a lambda is the literal.

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> from pyaccad.opt.constant_fold import constant_fold
>>> prog = trace(lambda x: x * (2.0 + 3.0), np.ones(3)).program
>>> [s.prim.name for s in constant_fold(prog).stmts]
['broadcast_in_dim', 'mul']
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pyaccad.ir import ELEMENTWISE, Atom, Lit, Program, Stmt
from pyaccad.ir.types import is_float, is_int
from pyaccad.opt.walk import Rewriter, lit_key, lit_value, make_lit, uniform_value

MAX_FOLD_SIZE = 64
"""Largest non-uniform ``const`` folded into a new ``const`` (bigger ones stay computed at run time)."""


def _known_array(rw: Rewriter, atom: Atom) -> np.ndarray | None:
    """The value of ``atom`` as an array (a splat broadcast to its shape, or a small const), if known."""
    lit = rw.splat(atom)
    if lit is not None:
        return np.broadcast_to(lit_value(lit), atom.shape)
    stmt = rw.definition(atom)
    if stmt is not None and stmt.prim.name == "const" and stmt.params["value"].size <= MAX_FOLD_SIZE:
        return stmt.params["value"]
    return None


def evaluate(stmt: Stmt, values: Sequence[np.ndarray]) -> np.ndarray | None:
    """``stmt``'s result on ``values`` with the interpreter's semantics, or None where it is unspecified.

    >>> import numpy as np
    >>> from pyaccad.ir import PRIMITIVES, Stmt, Var, ArrayType, INT32, FLOAT32
    >>> out = Var(ArrayType(INT32, ()))
    >>> cast = Stmt(PRIMITIVES["cast"], (), {"dtype": INT32}, (out,))
    >>> int(evaluate(cast, [np.float32(-2.5)])), evaluate(cast, [np.float32("nan")])
    (-2, None)
    """
    name = stmt.prim.name
    out_dtype = stmt.outs[0].dtype
    with np.errstate(all="ignore"):
        if name == "select":
            result = np.where(*values)
        elif name == "cast":
            (x,) = values
            if is_float(x.dtype) and is_int(out_dtype):
                info, wide = np.iinfo(out_dtype), np.asarray(x, np.float64)
                if not np.all(np.isfinite(wide) & (wide > float(info.min) - 1) & (wide < float(info.max) + 1)):
                    return None
            result = np.asarray(x).astype(out_dtype)
        else:
            result = ELEMENTWISE[name].numpy(*values)
    return np.asarray(result).astype(out_dtype, copy=False)


def _fold_elementwise(rw: Rewriter, stmt: Stmt, scalar: bool) -> Sequence[Atom] | None:
    name = stmt.prim.name
    if name not in ELEMENTWISE and name not in ("select", "cast"):
        return None
    values = [_known_array(rw, a) for a in stmt.args]
    if any(v is None for v in values):
        return None
    lits = [rw.splat(a) for a in stmt.args]
    splat = all(lit is not None for lit in lits)
    if splat:  # evaluate once, on the rank-0 literals
        values = [lit_value(lit) for lit in lits]
    result = evaluate(stmt, values)
    if result is None:
        return None
    out = stmt.outs[0]
    if splat:  # a value computed from an extent is one too (Lit.from_extents)
        lit = make_lit(result, out.dtype, any(lit.from_extents for lit in lits))
        return (rw.filled(lit, out.shape, scalar, stmt.source),)
    return rw.emit("const", (), {"value": np.ascontiguousarray(result)}, scalar, stmt.source)


def _fold_structural(rw: Rewriter, stmt: Stmt, scalar: bool) -> Sequence[Atom] | None:
    name = stmt.prim.name
    if stmt.prim.family == "index_map" or name == "backpermute":  # a splat in, the same splat out
        lits = [rw.splat(a) for a in stmt.args]
        if None in lits or len({lit_key(lit) for lit in lits}) != 1:
            return None
        lit = rw.splat(stmt.args[0])
        if name == "broadcast_in_dim" and isinstance(stmt.args[0], Lit):
            return None  # already the canonical splat
        return (rw.filled(lit, stmt.outs[0].shape, scalar, stmt.source),)
    if name == "const":
        lit = uniform_value(stmt.params["value"])
        return None if lit is None else (rw.filled(lit, stmt.outs[0].shape, scalar, stmt.source),)
    if name == "index":
        lit = rw.splat(stmt.args[0])
        return None if lit is None else (lit,)
    return None


RULES = (_fold_structural, _fold_elementwise)


def constant_fold(program: Program) -> Program:
    """``program`` with every computation on known values replaced by its value."""
    return Rewriter(RULES).run(program)
