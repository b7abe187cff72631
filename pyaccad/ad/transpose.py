"""Reverse mode: transposing a linear program, statement by statement, backwards.

``transpose_into(linear, outs_ct)`` walks the statements of a linear program
(from :mod:`pyaccad.ad.linearize`) from last to first, inside the current
builder, accumulating a cotangent ``x_ct`` per linear variable (symbolic
:class:`~pyaccad.ad.tangents.Zero` until something flows into it; a
statement whose results all have zero cotangents is skipped). Each
statement goes to its primitive's rule in :data:`TRANSPOSE_RULES`, called as
every rule of the three tables is (:mod:`pyaccad.ad.rules`):

    rule(stmt, ctx, args, outs_ct) -> [(x, x_ct), ...]

``args`` are the statement's operands and ``ctx`` (a :class:`TransposeContext`)
knows which variables are linear: a rule reads the other operands as
residuals (primal constants) and returns cotangent contributions for the
linear ones — its arguments, or for ``cond``/``while``, free variables of its
branches and body.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> acc.jit(ad.grad(lambda x: (acc.reverse(x) * np.arange(3.0)).sum()))(np.ones(3))
array([2., 1., 0.])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyaccad.ad.gaps import MISSING_TRANSPOSE, NOT_LINEAR
from pyaccad.ad.rules import Rule, RuleTable
from pyaccad.ad.tangents import Tan, Zero, is_zero, tadd
from pyaccad.errors import NotDifferentiable
from pyaccad.ir import Atom, Program, Var


@dataclass(frozen=True)
class TransposeContext:
    """The transpose pass's state at a statement: the linear variables (the others are residuals).

    >>> from pyaccad.ir import FLOAT64, Lit
    >>> TransposeContext(set()).is_linear(Lit(1.0, FLOAT64))
    False
    """

    linear: set[Var]

    def is_linear(self, atom: Atom) -> bool:
        return isinstance(atom, Var) and atom in self.linear


Contributions = list[tuple[Atom, Tan]]
TransposeRule = Rule[TransposeContext, Tan, Contributions]
TRANSPOSE_RULES: RuleTable[TransposeRule] = RuleTable(
    "transpose (reverse-mode)", NotDifferentiable, {**NOT_LINEAR, **MISSING_TRANSPOSE}
)
"""The transpose table, keyed by primitive (filled by :mod:`pyaccad.ad.transpose_rules` and the custom family)."""
register = TRANSPOSE_RULES.register


def linear_vars(program: Program, free: Sequence[Var] = ()) -> set[Var]:
    """The linear variables of a linear program: its inputs, the given free ones, everything its statements bind."""
    found = set(program.inputs) | set(free)
    for stmt in program.stmts:
        found.update(stmt.outs)
    return found


def transpose_stmts(program: Program, linear: set[Var], outs_ct: Sequence[Tan]) -> dict[Var, Tan]:
    """Emit the transpose of ``program``'s statements; return the cotangents of the linear variables reached."""
    ct: dict[Var, Tan] = {}
    ctx = TransposeContext(linear)

    def add(atom: Atom, value: Tan) -> None:
        if ctx.is_linear(atom) and not is_zero(value):
            ct[atom] = tadd(ct[atom], value) if atom in ct else value

    for out, value in zip(program.outputs, outs_ct, strict=False):
        add(out, value)
    for stmt in reversed(program.stmts):
        cts = [ct.pop(v, Zero(v.type)) for v in stmt.outs]
        if all(is_zero(c) for c in cts):
            continue
        for atom, value in TRANSPOSE_RULES.lookup(stmt)(stmt, ctx, list(stmt.args), cts):
            add(atom, value)
    return ct


def transpose_into(program: Program, outs_ct: Sequence[Tan]) -> list[Tan]:
    """The cotangents of ``program``'s inputs, given its outputs' cotangents (emitted into the current builder)."""
    ct = transpose_stmts(program, linear_vars(program), outs_ct)
    return [ct.get(v, Zero(v.type)) for v in program.inputs]
