"""The one visible list of what the derivative passes do not cover.

Every primitive has a JVP rule, and every primitive that can appear in a
linear program has a transpose rule (the coverage test checks both against
:data:`pyaccad.ir.PRIMITIVES`), so the allow-lists of missing rules are
empty. What remains are *cases* of some rules, each raising
:class:`pyaccad.NotDifferentiable` naming the primitive; the tests check
that each one does.

Reads of a differentiated array inside a ``while_`` loop of a
``map``/``generate``/``stencil`` lambda are covered in both modes: reverse
mode by :mod:`pyaccad.ad.lambdas.loop_reads`, which recomputes each lane's loop state
rather than storing it (``O(n²)`` body runs for ``n`` trips, no tape).

>>> MISSING_JVP, MISSING_TRANSPOSE
(frozenset(), frozenset())
"""

from __future__ import annotations

MISSING_JVP: frozenset[str] = frozenset()
"""Primitives without a JVP rule."""

MISSING_TRANSPOSE: frozenset[str] = frozenset()
"""Primitives that can be linear but have no transpose rule."""

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
