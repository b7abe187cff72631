"""Reverse mode: transposing a linear program, statement by statement, backwards.

``transpose_into(linear, outs_ct)`` walks the statements of a linear program
(from :mod:`pyaccad.ad.linearize`) from last to first, inside the current
builder, accumulating a cotangent ``x_ct`` per linear variable (symbolic
:class:`~pyaccad.ad.tangents.Zero` until something flows into it; a
statement whose results all have zero cotangents is skipped). Each
statement goes to its primitive's rule in :data:`TRANSPOSE_RULES`:

    rule(stmt, linear, outs_ct) -> [(x, x_ct), ...]

``linear`` is the set of linear variables: a rule reads the other operands
as residuals (primal constants) and returns cotangent contributions for
the linear ones — its arguments, or for ``cond``/``while``, free variables
of its branches and body.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> acc.jit(ad.grad(lambda x: (acc.reverse(x) * np.arange(3.0)).sum()))(np.ones(3))
array([2., 1., 0.])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyaccad.ad.tangents import Tan, Zero, is_zero, tadd
from pyaccad.errors import NotDifferentiable
from pyaccad.frontend.tracing import fail
from pyaccad.ir import PRIMITIVES, Atom, Primitive, Program, Stmt, Var

Contributions = list[tuple[Atom, Tan]]
TransposeRule = Callable[[Stmt, set[Var], list[Tan]], Contributions]
TRANSPOSE_RULES: dict[Primitive, TransposeRule] = {}
"""The transpose table, keyed by primitive (filled by :mod:`pyaccad.ad.transpose_rules` and the custom family)."""


def register(*names: str) -> Callable[[TransposeRule], TransposeRule]:
    """Decorator: the transpose rule of the primitives ``names``."""

    def deco(rule: TransposeRule) -> TransposeRule:
        for name in names:
            TRANSPOSE_RULES[PRIMITIVES[name]] = rule
        return rule

    return deco


def linear_vars(program: Program, free: Sequence[Var] = ()) -> set[Var]:
    """The linear variables of a linear program: its inputs, the given free ones, everything its statements bind."""
    found = set(program.inputs) | set(free)
    for stmt in program.stmts:
        found.update(stmt.outs)
    return found


def transpose_stmts(program: Program, linear: set[Var], outs_ct: Sequence[Tan]) -> dict[Var, Tan]:
    """Emit the transpose of ``program``'s statements; return the cotangents of the linear variables reached."""
    ct: dict[Var, Tan] = {}

    def add(atom: Atom, value: Tan) -> None:
        if isinstance(atom, Var) and atom in linear and not is_zero(value):
            ct[atom] = tadd(ct[atom], value) if atom in ct else value

    for out, value in zip(program.outputs, outs_ct, strict=False):
        add(out, value)
    for stmt in reversed(program.stmts):
        cts = [ct.pop(v, Zero(v.type)) for v in stmt.outs]
        if all(is_zero(c) for c in cts):
            continue
        rule = TRANSPOSE_RULES.get(stmt.prim)
        if rule is None:
            fail(NotDifferentiable, _no_rule_message(stmt))
        for atom, value in rule(stmt, linear, cts):
            add(atom, value)
    return ct


def _no_rule_message(stmt: Stmt) -> str:
    return f"{stmt.prim.name}: no transpose rule (reverse mode), at {stmt.source or '?'}"


def transpose_into(program: Program, outs_ct: Sequence[Tan]) -> list[Tan]:
    """The cotangents of ``program``'s inputs, given its outputs' cotangents (emitted into the current builder)."""
    ct = transpose_stmts(program, linear_vars(program), outs_ct)
    return [ct.get(v, Zero(v.type)) for v in program.inputs]
