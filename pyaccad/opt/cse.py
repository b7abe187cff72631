"""Common-subexpression elimination: compute each distinct statement once.

Two statements are the same when they apply the same primitive to the same
atoms with equal parameters, nested programs compared up to renaming of the
variables they bind (:mod:`pyaccad.opt.keys`). A ``while`` is also replaced by
an earlier one whose state its own follows (:mod:`pyaccad.opt.loops`: a loop
that repeats part of another's trips, such as the trip-counting copy of a
loop that reverse mode leaves behind).

Scopes nest: a statement inside a lambda or a loop body may reuse a result
computed in an enclosing scope (lexical scoping makes it visible there), but
never one computed in a sibling scope. The body of a ``remat`` reuses nothing
from outside: it is there to recompute (``ad.checkpoint``).

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> from pyaccad.opt.cse import cse
>>> prog = trace(lambda x: (x * x) + (x * x), np.ones(3)).program
>>> [s.prim.name for s in cse(prog).stmts]
['mul', 'add']
"""

from __future__ import annotations

from collections.abc import Hashable

from pyaccad.ir import Atom, Program, Stmt, Var
from pyaccad.ir.rewrite import rebuild_program, rebuild_stmt, rename_atom
from pyaccad.opt.keys import stmt_key
from pyaccad.opt.loops import Signature, absorb, closed, may_project, projected_results, signature


class _Eliminator:
    def __init__(self) -> None:
        self.env: dict[Var, Atom] = {}
        self.closed: dict[Var, Stmt] = {}  # the variables bound by closed statements (loops.closed), all scopes
        self.signatures: dict[Stmt, Signature] = {}  # loops.signature of each loop met

    def program(self, program: Program, seen: dict[Hashable, tuple[Var, ...]], visible: list[Stmt]) -> Program:
        """``program`` with its repeated statements replaced; ``seen`` holds the enclosing scopes' statements by
        key and ``visible`` their loops. Both grow while this scope is walked and are given back as they came
        (this scope's entries dropped, so no sibling sees them): copying them for every nested program would
        cost the enclosing program's size for every lambda in it."""
        outer_seen, outer_loops = len(seen), len(visible)
        try:
            return self._scope(program, seen, visible, outer_loops)
        finally:
            while len(seen) > outer_seen:  # only this scope added keys (a nested one drops its own), and last
                seen.popitem()
            del visible[outer_loops:]

    def _scope(self, program: Program, seen: dict[Hashable, tuple[Var, ...]], visible: list[Stmt], own: int) -> Program:
        stmts: list[Stmt] = []
        for stmt in program.stmts:
            params = dict(stmt.params)
            for name in stmt.prim.subprogram_params:
                if params.get(name) is not None:
                    outer = ({}, []) if stmt.prim.name == "remat" else (seen, visible)
                    params[name] = self.program(params[name], *outer)
            args = tuple(rename_atom(a, self.env) for a in stmt.args)
            new = rebuild_stmt(stmt, args, params)
            key = stmt_key(new)
            earlier = seen.get(key)
            if earlier is None and new.prim.name == "while":
                # Only loops that pass loops.may_project one way or the other can be merged: testing each pair
                # by signature first keeps many unrelated loops from costing a projection attempt per pair.
                mine = self.signatures[new] = signature(new)
                candidates = [v for v in visible if may_project(mine, self.signatures[v])]
                earlier = projected_results(new, candidates, self.closed) if candidates else None
                extends = any(may_project(self.signatures[v], mine) for v in visible[own:])
                if earlier is None and extends and (absorbed := absorb(new, stmts, self.closed)) is not None:
                    replaced, placed = absorbed  # an earlier loop of this scope is part of this one
                    self.env.update(
                        (old, var) for old, var in zip(stmt.outs, placed.outs, strict=True) if old is not var
                    )
                    visible[own:] = [placed if v is replaced else v for v in visible[own:]]
                    self.signatures[placed] = mine
                    seen[key] = placed.outs
                    continue
            if earlier is not None:
                self.env.update(zip(stmt.outs, earlier, strict=True))
                continue
            seen[key] = stmt.outs
            if new.prim.name == "while":
                visible.append(new)
            if closed(new):
                self.closed.update((var, new) for var in new.outs)
            stmts.append(new)
        return rebuild_program(program, stmts, [rename_atom(a, self.env) for a in program.outputs])


def cse(program: Program) -> Program:
    """``program`` with each repeated statement replaced by the first one computing the same value, and each loop
    that follows an earlier loop's state by that loop's results."""
    return _Eliminator().program(program, {}, [])
