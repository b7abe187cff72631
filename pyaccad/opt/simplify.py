"""Algebraic simplification: the identities that remove the zeros, ones and reshuffles AD leaves.

Each rule looks at one statement (and the statements defining its operands)
and replaces its results by existing values or by a cheaper statement. Rules
apply at both levels: inside lambdas (on rank-0 values and literals) and on
whole arrays (where a literal is a splat, ``broadcast_in_dim`` of it).

Floating-point rules follow XLA's algebraic simplifier and keep IEEE results:

=========================== ===================================================================
rewrite                     why it is exact
=========================== ===================================================================
``x * 1``, ``x / 1`` → x    exact for every x, nan and inf included
``x ** 1`` → x, ``x ** 0``  ``pow(x, 0) = 1`` for every x (nan too, C and NumPy agree)
→ 1, ``x ** 2`` → ``x * x``
``x + 0``, ``x - 0`` → x    exact except the sign of a zero: ``-0.0 + 0.0 = +0.0`` (XLA does the same;
                            ``-0.0 == 0.0``, so results compare equal)
``0 - x`` → ``-x``          likewise only the sign of a zero result differs
``x + (-y)`` → ``x - y``    exact (IEEE subtraction is addition of the negation)
``-(-x)``, ``not not p``    exact
=========================== ===================================================================

Not done, because it is wrong for floats: ``x * 0 → 0`` (``inf * 0`` and
``nan * 0`` are nan, ``-1 * 0`` is ``-0``), ``x - x → 0``, ``x / x → 1``. For
integers ``x * 0 → 0`` is exact and done. AD avoids most float zeros with
symbolic zeros before the optimiser sees them, as JAX does.

Structural rules: casts to the same dtype, reshapes to the same shape,
identity transposes, broadcasts and ``backpermute``s, full-range slices, empty
reverses and pads vanish; chains of ``reshape``, ``transpose``,
``broadcast_in_dim``, ``slice`` and ``reverse`` compose into one; ``select``
and ``cond`` on a known predicate pick a branch; ``map``/``generate`` results
that are a lambda input or a literal become that array or a splat.

No rule looks at an extent's value (a ``fold`` over a length-1 axis stays a
``fold``, a ``reverse`` of a length-1 axis stays a ``reverse``), nor at the
value of a literal computed from extents (``Lit.from_extents``: a mean's ``N``
is 1 at a batch of 1, and ``sum / N`` must stay a division): the program's
structure must not depend on the batch size, because the native backend passes
extents at run time and reuses one library for every batch size.

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> from pyaccad.opt.simplify import simplify
>>> prog = trace(lambda x: -(-(x * 1.0)), np.ones(3)).program
>>> simplify(prog).outputs[0] is prog.inputs[0]  # the dead neg and the splat 1.0 are left to DCE
True
"""

from __future__ import annotations

from collections.abc import Sequence

from pyaccad.ir import BOOL, Atom, Lit, Program, Stmt
from pyaccad.ir.index_maps import INDEX_MAPS
from pyaccad.ir.types import is_int
from pyaccad.opt.walk import Rewriter, make_lit

Result = Sequence[Atom] | None


def _known(rw: Rewriter, atom: Atom, value: float | bool) -> bool:
    """Whether every element of ``atom`` is known to equal ``value`` (numerically: 0 matches both signed zeros)."""
    lit = rw.splat(atom)
    if lit is None:
        return False
    if isinstance(value, bool):
        return lit.dtype == BOOL and lit.value is value
    return lit.dtype != BOOL and lit.is_fixed(value)  # a mean's N = 1 is 1 at this batch size only


def _defined_by(rw: Rewriter, atom: Atom, name: str) -> Stmt | None:
    stmt = rw.definition(atom)
    return stmt if stmt is not None and stmt.prim.name == name else None


def _fill(rw: Rewriter, stmt: Stmt, value: float | bool, scalar: bool) -> Result:
    out = stmt.outs[0]
    return (rw.filled(make_lit(value, out.dtype), out.shape, scalar, stmt.source),)


def _emit(rw: Rewriter, stmt: Stmt, prim: str, args: Sequence[Atom], scalar: bool, **params) -> Result:
    return rw.emit(prim, args, params, scalar, stmt.source)


def _arithmetic(rw: Rewriter, stmt: Stmt, scalar: bool) -> Result:
    """Identities of add, sub, mul, div, pow and neg (see the table in the module docstring)."""
    name, args = stmt.prim.name, stmt.args
    if name == "neg":
        inner = _defined_by(rw, args[0], "neg")
        return (inner.args[0],) if inner is not None else None
    if len(args) != 2:
        return None
    x, y = args
    if name == "add":
        for a, b in ((x, y), (y, x)):
            if _known(rw, b, 0):
                return (a,)
            negated = _defined_by(rw, b, "neg")
            if negated is not None:
                return _emit(rw, stmt, "sub", (a, negated.args[0]), scalar)
    elif name == "sub":
        if _known(rw, y, 0):
            return (x,)
        if _known(rw, x, 0):
            return _emit(rw, stmt, "neg", (y,), scalar)
        negated = _defined_by(rw, y, "neg")
        if negated is not None:
            return _emit(rw, stmt, "add", (x, negated.args[0]), scalar)
    elif name == "mul":
        for a, b in ((x, y), (y, x)):
            if _known(rw, b, 1):
                return (a,)
            if is_int(stmt.outs[0].dtype) and _known(rw, b, 0):
                return _fill(rw, stmt, 0, scalar)
    elif name == "div":
        return (x,) if _known(rw, y, 1) else None
    elif name == "pow":
        if _known(rw, y, 1):
            return (x,)
        if _known(rw, y, 0):
            return _fill(rw, stmt, 1, scalar)
        if _known(rw, y, 2):
            return _emit(rw, stmt, "mul", (x, x), scalar)
    return None


def _logic(rw: Rewriter, stmt: Stmt, scalar: bool) -> Result:
    """``not not p``, ``p & True``, ``p & False``, ``p | False``, ``p | True``, and ``op(x, x)`` for idempotent ops."""
    name, args = stmt.prim.name, stmt.args
    if name == "not":
        inner = _defined_by(rw, args[0], "not")
        return (inner.args[0],) if inner is not None else None
    if name in ("and", "or", "minimum", "maximum") and args[0] is args[1]:
        return (args[0],)
    if name in ("and", "or"):
        neutral = name == "and"  # True is neutral for and, absorbing for or
        for a, b in (args, args[::-1]):
            if _known(rw, b, neutral):
                return (a,)
            if _known(rw, b, not neutral):
                return _fill(rw, stmt, not neutral, scalar)
    if name == "select":
        pred, on_true, on_false = args
        if on_true is on_false:
            return (on_true,)
        if _known(rw, pred, True):
            return (on_true,)
        if _known(rw, pred, False):
            return (on_false,)
    if name == "cast" and stmt.params["dtype"] == args[0].dtype:
        return (args[0],)
    return None


def _structural(rw: Rewriter, stmt: Stmt, scalar: bool) -> Result:
    """Identity index maps vanish; chains of the same index map compose into one (:mod:`pyaccad.ir.index_maps`)."""
    index_map = INDEX_MAPS.get(stmt.prim)
    x = stmt.args[0] if stmt.args else None
    if index_map is None or isinstance(x, Lit):
        return None  # broadcast_in_dim of a literal is how splats are written
    if index_map.identity(stmt):
        return (x,)
    inner = rw.definition(x)
    if index_map.compose is None or inner is None or inner.prim is not stmt.prim:
        return None
    return rw.emit(stmt.prim, inner.args, index_map.compose(stmt, inner), scalar, stmt.source)


def _lambdas(rw: Rewriter, stmt: Stmt, scalar: bool) -> Result:
    """Trivial collective operations: results that are a lambda input (of a map) or a literal; identity gathers;
    known conds."""
    name = stmt.prim.name
    if name == "cond":
        pred = stmt.args[0]
        for value, branch in ((True, "then_"), (False, "else_")):
            if _known(rw, pred, value):
                return rw.splice(stmt.params[branch])
        return None
    if name == "backpermute":
        index = stmt.params["index"]
        identity = not index.stmts and index.outputs == index.inputs
        return (stmt.args[0],) if identity and stmt.outs[0].type == stmt.args[0].type else None
    if name not in ("map", "generate", "stencil"):
        return None
    lam = stmt.params["lam"]
    trivial: dict[int, Atom] = {}
    for k, (atom, out) in enumerate(zip(lam.outputs, stmt.outs, strict=True)):
        if isinstance(atom, Lit):
            trivial[k] = rw.filled(atom, out.shape, scalar, stmt.source)
        elif name == "map" and atom in lam.inputs:
            trivial[k] = stmt.args[lam.inputs.index(atom)]
    if not trivial:
        return None
    keep = [k for k in range(len(stmt.outs)) if k not in trivial]
    rest: tuple[Atom, ...] = ()
    if keep:  # the same operation, computing only the non-trivial results
        reduced = Program(lam.inputs, lam.stmts, tuple(lam.outputs[k] for k in keep))
        rest = rw.emit(stmt.prim, stmt.args, {**stmt.params, "lam": reduced}, scalar, stmt.source)
    results = dict(zip(keep, rest, strict=True)) | trivial
    return tuple(results[k] for k in range(len(stmt.outs)))


RULES = (_arithmetic, _logic, _structural, _lambdas)


def simplify(program: Program) -> Program:
    """``program`` with the algebraic and structural identities above applied everywhere (lambdas included)."""
    return Rewriter(RULES).run(program)
