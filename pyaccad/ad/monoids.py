"""Recognising the operator of a reduction, scan or scatter from its lambda's body.

Rules try the special cases first (Futhark's habit): a lambda whose every
result ``j`` is one statement ``prim(a_j, b_j)`` (either order) of the
monoids ``add``, ``mul``, ``maximum``, ``minimum`` gets a dedicated rule;
``first`` is the combine that keeps the new value (``permute``'s overwrite).
Anything else takes the general rule.

>>> import numpy as np
>>> from pyaccad.frontend.tracing import trace_program
>>> from pyaccad.ir import ArrayType, FLOAT64
>>> s = ArrayType(FLOAT64, ())
>>> monoids(trace_program(lambda a, b: b * a, [s, s], "scalar")[0])
['mul']
"""

from __future__ import annotations

from pyaccad.ir import Program

MONOIDS = ("add", "mul", "maximum", "minimum")


def monoids(lam: Program) -> list[str] | None:
    """Per result, the monoid of ``lam`` (``lam(a_1..a_k, b_1..b_k)``), or None when it is not one."""
    k = len(lam.outputs)
    if len(lam.inputs) != 2 * k:
        return None
    if not lam.stmts and k == 1 and lam.outputs[0] is lam.inputs[0]:
        return ["first"]
    by_out = {s.outs[0]: s for s in lam.stmts if len(s.outs) == 1}
    if len(lam.stmts) != k:
        return None
    found = []
    for j, out in enumerate(lam.outputs):
        stmt = by_out.get(out)  # type: ignore[arg-type]
        pair = {lam.inputs[j], lam.inputs[k + j]}
        if stmt is None or stmt.prim.name not in MONOIDS or len(stmt.args) != 2 or set(stmt.args) != pair:
            return None
        found.append(stmt.prim.name)
    return found


def monoid(lam: Program) -> str | None:
    """The monoid of a single-result lambda, or None."""
    found = monoids(lam)
    return found[0] if found and len(found) == 1 else None
