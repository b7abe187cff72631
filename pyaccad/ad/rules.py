"""The three rule tables of the derivative passes, and the one shape of their rules.

The JVP pass (:mod:`pyaccad.ad.jvp`), the transpose pass (:mod:`pyaccad.ad.transpose`) and the
batching pass (:mod:`pyaccad.ad.batching`) each walk a program statement by statement and hand a
statement they must transform to its primitive's rule in their table. Every rule is called alike::

    rule(stmt, ctx, args, flows) -> result

``stmt``
    the statement (its primitive, params and nested programs, which still name the variables of
    the program being transformed; ``ctx`` renames them);
``ctx``
    the pass's state at the statement: the JVP :class:`~pyaccad.ad.jvp.Env`, the
    :class:`~pyaccad.ad.transpose.TransposeContext` (which variables are linear), the batching
    :class:`~pyaccad.ad.batching.BatchContext` (or, for ``index`` inside a lambda, its ``LaneContext``);
``args``
    the statement's operands as the pass sees them: the new atoms in the forward passes (JVP,
    batching), the statement's own operands in the transpose pass (which emits no primal copy);
``flows``
    what flows into the statement in the pass's direction: one per operand in the forward passes
    (tangents, batch dimensions), one per result in the reverse pass (cotangents).

The results: JVP ``(outs, outs_tan)``; transpose ``[(x, x_ct), ...]``, cotangent contributions
to linear variables; batching ``(outs, out_bdims)``.

A :class:`RuleTable` is a dict from primitive to rule that knows its name, how to register a rule
and how to fail, naming the primitive, when a statement meets no rule. The primitives a table may
lack, each with the reason, are declared in :mod:`pyaccad.ad.gaps`; the coverage test checks
every table against :data:`pyaccad.ir.PRIMITIVES` with :func:`uncovered`.

>>> from pyaccad.ad.jvp import JVP_RULES
>>> from pyaccad.ad.transpose import TRANSPOSE_RULES
>>> from pyaccad.ad.batching import BATCH_RULES
>>> from pyaccad import ad  # loads the rule families
>>> [uncovered(t) for t in (JVP_RULES, TRANSPOSE_RULES, BATCH_RULES)]
[[], [], []]
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from pyaccad.errors import Error
from pyaccad.frontend.tracing import fail
from pyaccad.ir import PRIMITIVES, Atom, Primitive, Stmt

Ctx = TypeVar("Ctx")
Flow = TypeVar("Flow")
Result = TypeVar("Result")

Rule = Callable[[Stmt, Ctx, list[Atom], list[Flow]], Result]
"""``rule(stmt, ctx, args, flows) -> result``: the shape of every rule of the three tables (see the module doc)."""

R = TypeVar("R", bound=Callable[..., Any])


class RuleTable(dict[Primitive, R]):
    """The rules of one pass, keyed by primitive.

    ``name`` names the rules in messages ("no <name> rule"); ``error`` is what a statement without a rule raises;
    ``exempt`` maps the names of the primitives that need no rule here to the reason
    (:mod:`pyaccad.ad.gaps`).

    >>> table: RuleTable[Callable[..., Any]] = RuleTable("example", Error, {})
    >>> table.register("neg")(print) is print and PRIMITIVES["neg"] in table
    True
    >>> uncovered(table)[:2]
    ['abs', 'acos']
    """

    def __init__(self, name: str, error: type[Error], exempt: Mapping[str, str]) -> None:
        super().__init__()
        self.name = name
        self.error = error
        self.exempt = exempt

    def register(self, *names: str) -> Callable[[R], R]:
        """Decorator: the rule of the primitives ``names``."""

        def deco(rule: R) -> R:
            for name in names:
                self[PRIMITIVES[name]] = rule
            return rule

        return deco

    def lookup(self, stmt: Stmt) -> R:
        """The rule of ``stmt``'s primitive; without one, ``error`` naming the primitive and the user's line."""
        rule = self.get(stmt.prim)
        if rule is None:
            fail(self.error, f"{stmt.prim.name}: no {self.name} rule (at {stmt.source or 'unknown line'})")
        return rule


def uncovered(table: RuleTable[Any]) -> list[str]:
    """The primitives (by name, sorted) with neither a rule in ``table`` nor a declared reason to lack one."""
    return sorted(name for name, prim in PRIMITIVES.items() if prim not in table and name not in table.exempt)
