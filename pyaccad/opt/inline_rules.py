"""Splicing ``custom_rule`` and ``remat`` bodies in: the one "run the body" rule every backend shares.

Both primitives compute their body (:mod:`pyaccad.ir.primitives.custom`); once derivatives are taken
their rules have done their work, so :func:`optimize <pyaccad.opt.optimize>` replaces each statement
by its body's statements, at two moments:

* ``custom_rule`` first (:func:`inline_custom_rules`), so the optimiser sees through it. A rule whose
  body is not its forward meaning (the linear half of a ``custom_vjp``, reached by forward-mode
  differentiation) raises its :class:`pyaccad.NotDifferentiable` here instead of running the body.
* ``remat`` last (:func:`inline_remat`), after CSE has run for the last time: CSE gives a ``remat``
  body a scope of its own, so values recomputed inside are never replaced by stored ones, and once
  spliced nothing merges them any more.

Fusion splices whatever is left (:func:`inline_bodies`), so a backend handed an unoptimised program
runs it too; the interpreter and the export have a rule of their own doing the same.

>>> import numpy as np
>>> from pyaccad import ad
>>> from pyaccad.frontend import trace
>>> prog = trace(lambda x: ad.stop_gradient(x) * 2.0, np.ones(3)).program
>>> [s.prim.name for s in prog.stmts], [s.prim.name for s in inline_custom_rules(prog).stmts]
(['custom_rule', 'broadcast_in_dim', 'mul'], ['broadcast_in_dim', 'mul'])
"""

from __future__ import annotations

from collections.abc import Sequence

from pyaccad.errors import NotDifferentiable, with_location
from pyaccad.ir import Atom, Program, Stmt
from pyaccad.opt.walk import Rewriter


def _custom_rule(rw: Rewriter, stmt: Stmt, scalar: bool) -> Sequence[Atom] | None:
    if stmt.prim.name != "custom_rule":
        return None
    error = stmt.params["rule"].forward_error
    if error is not None:
        raise NotDifferentiable(with_location(error, stmt.source))
    return rw.splice(stmt.params["body"], stmt.args)


def _remat(rw: Rewriter, stmt: Stmt, scalar: bool) -> Sequence[Atom] | None:
    return rw.splice(stmt.params["body"], stmt.args) if stmt.prim.name == "remat" else None


def inline_custom_rules(program: Program) -> Program:
    """``program`` with every ``custom_rule`` replaced by its body (or its rule's forward error raised)."""
    return Rewriter([_custom_rule]).run(program)


def inline_remat(program: Program) -> Program:
    """``program`` with every ``remat`` replaced by its body.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> from pyaccad.frontend import trace
    >>> prog = trace(ad.checkpoint(acc.sin), np.ones(3)).program
    >>> [s.prim.name for s in inline_remat(prog).stmts]
    ['sin']
    """
    return Rewriter([_remat]).run(program)


def inline_bodies(program: Program) -> Program:
    """``program`` with every ``custom_rule`` and ``remat`` replaced by its body (itself when it has none)."""
    if not _holds_rules(program):
        return program
    return Rewriter([_custom_rule, _remat]).run(program)


def _holds_rules(program: Program) -> bool:
    return any(
        s.prim.name in ("custom_rule", "remat") or any(_holds_rules(sub) for sub in s.subprograms())
        for s in program.stmts
    )
