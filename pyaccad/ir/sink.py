"""Sinking: a value computed only for one branch of a ``cond`` is computed inside that branch.

Why. In accelerate ``cond (i > j) (a ! ix) 0`` is lazy: the branch term is
evaluated only when the branch is taken. Python evaluates ``a[ix]`` before
``acc.cond`` is called, so the trace records the read *before* the ``cond``
and the branch merely returns its result: an eager read, which fails (out of
bounds) exactly where the branch is not taken, and work done for nothing
everywhere else. :func:`sink_into_branches` gives value branches accelerate's
meaning: a statement whose results are used only inside one branch of one
``cond`` — directly, or through other statements that move — moves into that
branch, as deep as its uses allow (into a ``cond`` nested in the branch, and
so on). :func:`pyaccad.frontend.tracing.trace_program` runs it on every
program it finishes, so every program, lambda, loop body and branch, and
every derivative (AD re-traces), sees the lazy form; backends and passes need
nothing new.

Why it is sound. Every primitive is pure, so running a statement only where
its result is needed never changes a result: it removes evaluations, hence
work and failures, nothing else. Statements stay where they are when a
program output, a predicate, the other branch or anything outside the
``cond`` uses them (evaluated, and able to fail, whichever branch is taken,
as in accelerate), when nothing uses them (dead: DCE's business), or when a
loop uses them (moving one into a ``while`` would run it once per trip). A
program's inputs are not statements and never move. A ``cond`` takes nothing
when its predicate is a literal (or a broadcast of one): there is nothing to
save. Bodies of ``custom_rule`` and ``remat`` are not branches: a value they
read stays outside (``checkpoint`` keeps its boundary where the user put it).

No later pass hoists a sunk statement back out: CSE lets a statement reuse an
equal one of an *enclosing* scope (evaluated there anyway) but never makes a
branch's statement visible outside the branch; simplification and constant
folding rewrite statements in place (a ``cond`` on a known predicate becomes
the taken branch); DCE only deletes.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad.frontend import trace
>>> f = lambda a: acc.generate((2,), lambda i: acc.cond(i < 1, a[i + 1], 0.0))
>>> lam = trace(f, np.ones(2)).program.stmts[0].params["lam"]
>>> [s.prim.name for s in lam.stmts], [s.prim.name for s in lam.stmts[-1].params["then_"].stmts]
(['lt', 'cond'], ['add', 'index'])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyaccad.ir.core import Atom, Lit, Program, Stmt, Var

Place = tuple[tuple[Stmt, str], ...]
"""Where a statement runs: the chain of ``(cond statement, branch name)`` from the program being sunk
inward; ``()`` is that program itself."""

_BRANCHES = ("then_", "else_")


def sink_into_branches(program: Program) -> Program:
    """``program`` with every statement used only inside one ``cond`` branch moved into it (see the module doc).

    Nested programs (lambdas, loop bodies, branches) are sunk too. Returns ``program`` itself when nothing moves.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> f = lambda x: acc.acond(x.sum() > 0.0, lambda: acc.exp(x), lambda: x)
    >>> sunk = sink_into_branches(trace(f, np.ones(2)).program)  # tracing has sunk it already: unchanged
    >>> [s.prim.name for s in sunk.stmts], [s.prim.name for s in sunk.stmts[-1].params["then_"].stmts]
    (['fold', 'broadcast_in_dim', 'gt', 'cond'], ['exp'])
    """
    stmts = tuple(_with_subprograms(s, sink_into_branches) for s in program.stmts)
    if any(new is not old for new, old in zip(stmts, program.stmts, strict=True)):
        program = Program(program.inputs, stmts, program.outputs)
    return _sink_here(program)


def _with_subprograms(stmt: Stmt, rewrite: Callable[[Program], Program]) -> Stmt:
    """``stmt`` with ``rewrite`` applied to its nested programs (``stmt`` itself when none changes)."""
    params = dict(stmt.params)
    changed = False
    for name in stmt.prim.subprogram_params:
        sub = params.get(name)
        if sub is not None:
            params[name] = rewrite(sub)
            changed = changed or params[name] is not sub
    return Stmt(stmt.prim, stmt.args, params, stmt.outs, stmt.source) if changed else stmt


def _sink_here(program: Program) -> Program:
    """Move the statements of ``program`` itself (not those of its nested programs) into branches."""
    targets = _targets(program)
    places = _places(program, targets)
    if not any(places.values()):
        return program
    moved: dict[tuple[Stmt, str], list[Stmt]] = {}
    kept: list[Stmt] = []
    for stmt in program.stmts:  # a statement comes after everything that moves into its branches
        new = _with_moved(stmt, moved) if stmt in targets else stmt
        place = places[stmt]
        (moved.setdefault(place[-1], []) if place else kept).append(new)
    return Program(program.inputs, tuple(kept), program.outputs)


def _targets(program: Program) -> set[Stmt]:
    """The ``cond`` statements of ``program`` that statements may move into (see the module doc)."""
    literal = {s.outs[0] for s in program.stmts if s.prim.name == "broadcast_in_dim" and isinstance(s.args[0], Lit)}
    return {
        s
        for s in program.stmts
        if s.prim.name == "cond" and not isinstance(s.args[0], Lit) and s.args[0] not in literal
    }


def _places(program: Program, targets: set[Stmt]) -> dict[Stmt, Place]:
    """Where each statement runs after sinking: the innermost place holding every use of its results.

    Statements are visited last to first, so a statement's users (which come after it) are placed first.
    """
    used_at: dict[Var, Place] = {}

    def use(atoms: Sequence[Atom], place: Place) -> None:
        for atom in atoms:
            if isinstance(atom, Var):
                used_at[atom] = _common(used_at[atom], place) if atom in used_at else place

    use(program.outputs, ())
    places: dict[Stmt, Place] = {}
    for stmt in reversed(program.stmts):
        uses = [used_at[v] for v in stmt.outs if v in used_at]
        place = uses[0] if uses else ()  # a dead statement stays (DCE removes it)
        for other in uses[1:]:
            place = _common(place, other)
        places[stmt] = place
        use(stmt.args, place)
        for name in stmt.prim.subprogram_params:
            sub = stmt.params.get(name)
            if sub is not None:
                inner = place + ((stmt, name),) if stmt in targets else place
                use(sub.free_vars, inner)
    return places


def _common(a: Place, b: Place) -> Place:
    """The innermost place enclosing both ``a`` and ``b`` (their common prefix)."""
    n = 0
    while n < min(len(a), len(b)) and a[n][0] is b[n][0] and a[n][1] == b[n][1]:
        n += 1
    return a[:n]


def _with_moved(cond: Stmt, moved: dict[tuple[Stmt, str], list[Stmt]]) -> Stmt:
    """``cond`` with the statements moved into each branch put first, then sunk further inside the branch."""

    def grow(name: str) -> Program:
        branch: Program = cond.params[name]
        incoming = moved.get((cond, name))
        if incoming is None:
            return branch
        return _sink_here(Program(branch.inputs, (*incoming, *branch.stmts), branch.outputs))

    if not any((cond, name) in moved for name in _BRANCHES):
        return cond
    params = {**cond.params, **{name: grow(name) for name in _BRANCHES}}
    return Stmt(cond.prim, cond.args, params, cond.outs, cond.source)
