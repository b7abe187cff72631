"""The one visible list of what the derivative passes do not cover.

Every primitive has a JVP rule and a batching rule, and every primitive that
can appear in a linear program has a transpose rule (the coverage test checks
the three tables of :mod:`pyaccad.ad.rules` against :data:`pyaccad.ir.PRIMITIVES`),
so the lists of missing rules are empty; the primitives without a transpose
rule are those that are never linear (:data:`NOT_LINEAR`). What remains are
*cases* of some rules, each raising :class:`pyaccad.NotDifferentiable` naming
the primitive; the tests check that each one does.

Reads of a differentiated array inside a ``while_`` loop of a
``map``/``generate``/``stencil`` lambda are covered in both modes: reverse
mode by :mod:`pyaccad.ad.lambdas.loop_reads`, which reverses the lanes' loops
together with the ``awhile`` rule's policies: a tape of every lane's states
(``O(n)`` body runs for ``n`` trips, within ``PYACCAD_LOOP_TAPE_MB``), every
k-th state on the tape, or bisection over checkpoints (``O(n log n)``), the
fallback for loops whose trips do not fit (``acc.while_``'s ``checkpoint``).

>>> MISSING_JVP, MISSING_TRANSPOSE, MISSING_BATCHING
({}, {}, {})
>>> NOT_LINEAR["sin"]
'never linear: no operand is linear and no JVP rule applies it to tangents'
"""

from __future__ import annotations

from pyaccad.ir import PRIMITIVES

MISSING_JVP: dict[str, str] = {}
"""Primitives without a JVP rule, each with the reason (differentiating one raises NotDifferentiable)."""

MISSING_TRANSPOSE: dict[str, str] = {}
"""Primitives that can be linear but have no transpose rule, each with the reason."""

MISSING_BATCHING: dict[str, str] = {}
"""Primitives without a batching rule, each with the reason (``vmap`` of one raises)."""

UNSUPPORTED_CASES: dict[str, str] = {
    "permute": "a combine function other than +, *, max, min or overwrite (lambda new, old: new)",
}
"""Cases some rules reject with :class:`pyaccad.NotDifferentiable`, by primitive."""

LINEAR_IN_JVP: frozenset[str] = frozenset(
    {
        "mul",
        "div",
        "select",
        "cast",
        "fold",
        "scan",
        "permute",
        "cond",
        "while",
        "custom_rule",
        "remat",
        "concatenate",
    }
)
"""Primitives the JVP rules use linearly beyond those declaring ``linear_args`` (a residual operand, or
``+`` as the operator, control flow around linear statements, a custom rule's linear half, a checkpoint's
recomputation): each needs a transpose rule too."""

NOT_LINEAR: dict[str, str] = {
    name: "never linear: no operand is linear and no JVP rule applies it to tangents"
    for name, prim in PRIMITIVES.items()
    if not prim.linear_args and name not in LINEAR_IN_JVP
}
"""The primitives that never appear in a linear program, so need no transpose rule."""
