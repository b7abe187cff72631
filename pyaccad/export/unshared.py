"""Inside loops, values pyaccad recomputes in each reader are printed once per reader, so accelerate fuses them.

accelerate fuses a producer into its consumer only where the consumer is its one use: a value read by two
operations is written to memory and read back by both (accelerate's ``Trafo.Fusion``: "only do the substitution
on a single use of the bound array"). pyaccad's fusion plan (:mod:`pyaccad.opt.fusion`) keeps a value read by
several kernels *delayed* where recomputing it in each costs less than writing and reading it: in a loop body,
the pads, slices and sums of a stencil's transpose, each read at two or three offsets. :func:`unshared` gives
each further reader of such a value, in an ``awhile`` body or condition (and the ``acond`` branches inside one),
its own copy of the statements that compute it (and copies of what those read, where that is shared too), so
that each copy has one use and accelerate fuses it where pyaccad's plan does.

Only loops: there every trip pays for each kernel of accelerate's executor, tens of microseconds each, whatever
its size (the bench's heat gradient, whose reverse trip wrote three arrays of 4096 numbers that pyaccad's plan
fuses: 120–124 → 74–78 ms; BENCHMARKS.md, "Fewer kernels a trip"). Outside loops a value's arrays are large, and the
copies measured slower than accelerate's sharing (gmm: twice the time), so the program outside stays as it is.

The copies compute the same operations on the same values, so the results are the same bits. Nothing is copied
where copying would take more than :data:`COPY_LIMIT` statements per statement of the body (a chain of values
each read twice doubles at every step): the rest stay shared, and accelerate writes them as before.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad.frontend import trace
>>> def f(x):
...     body = lambda s: (s[0] + 1, acc.exp(s[1]) * 2.0 + acc.exp(s[1]).sum())
...     return acc.awhile(lambda s: s[0] < 3, body, (0, x))[1]
>>> (loop,) = [s for s in unshared(trace(f, np.ones(3)).program).stmts if s.prim.name == "while"]
>>> [s.prim.name for s in loop.params["body"].stmts].count("exp")  # one for each reader
2
"""

from __future__ import annotations

from pyaccad.ir import Atom, Program, Stmt, Var
from pyaccad.ir.rewrite import rebuild_program, rebuild_stmt
from pyaccad.opt.fusion import plan_program

COPY_LIMIT = 2
"""The most statements the copies may add to a body, per statement of the body."""


def unshared(program: Program, in_loop: bool = False) -> Program:
    """``program`` with the delayed values of several readers copied for each, inside loops (module doc)."""
    delayed: dict[Var, Stmt] = {}
    if in_loop:
        plan = plan_program(program, in_loop)
        delayed = {v: s for v, s in plan.delayed.items() if not s.prim.subprogram_params}
    budget = COPY_LIMIT * len(program.stmts)
    stmts: list[Stmt] = []
    read: set[Var] = set()  # delayed values read once already: a further reader needs a copy

    def use(atom: Atom) -> Atom:
        nonlocal budget
        if not isinstance(atom, Var) or atom not in delayed:
            return atom
        if atom not in read:
            read.add(atom)
            return atom
        if budget <= 0:
            return atom
        budget -= 1
        original = delayed[atom]
        args = tuple(use(a) for a in original.args)
        outs = tuple(Var(v.type, v.hint) for v in original.outs)
        copy = Stmt(original.prim, args, original.params, outs, original.source)
        stmts.append(copy)
        return copy.outs[original.outs.index(atom)]

    for stmt in program.stmts:
        args = tuple(use(a) for a in stmt.args)
        params = stmt.params
        if stmt.prim.family == "control" and not stmt.prim.scalar_bodies:  # acond/awhile: array-level bodies
            looping = in_loop or stmt.prim.name == "while"
            params = {**params, **{name: unshared(sub, looping) for name, sub in stmt.named_subprograms()}}
        stmts.append(rebuild_stmt(stmt, args, params))
    return rebuild_program(program, stmts, program.outputs)
