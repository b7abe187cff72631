"""Dead-code elimination: drop what no output needs, in nested programs too.

The IR has no side effects, so a statement none of whose results is used is
removed. Statements with several results are trimmed to the results used:

* ``map``, ``generate`` and ``stencil`` compute their results independently:
  unused ones leave the lambda (whose dead statements go too), and ``map``
  drops arrays its lambda no longer reads;
* a tuple ``fold``/``scan`` drops a component when no other component's
  combination reads it;
* ``cond`` drops the unused results of both branches, ``remat`` those of its body;
* a ``while`` keeps the loop state the condition reads, the used results, and
  — transitively — whatever the body needs to compute those (a counter that
  only the condition reads stays; an accumulator no one reads goes).

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> from pyaccad.opt.dce import dce
>>> def f(x):
...     unused = x * 3.0
...     return x + 1.0
>>> [s.prim.name for s in dce(trace(f, np.ones(2)).program).stmts]
['broadcast_in_dim', 'add']
"""

from __future__ import annotations

from collections.abc import Sequence

from pyaccad.ir import Atom, Program, Stmt, Var
from pyaccad.ir.rewrite import rebuild_program, rebuild_stmt


def _uses(stmts: Sequence[Stmt], outputs: Sequence[Atom]) -> set[Var]:
    """Every variable read by ``stmts`` (nested programs included) or named in ``outputs``."""
    return set(Program((), tuple(stmts), tuple(outputs)).free_vars)


def prune(program: Program, keep: Sequence[int] | None = None) -> Program:
    """``program`` computing only the outputs at positions ``keep`` (all by default), without dead statements."""
    outputs = program.outputs if keep is None else tuple(program.outputs[k] for k in keep)
    live = {a for a in outputs if isinstance(a, Var)}
    kept: list[Stmt] = []
    for stmt in reversed(program.stmts):
        used = [var in live for var in stmt.outs]
        if not any(used):
            continue
        stmt = _trim(stmt, used)
        live.update(_uses([stmt], ()))
        kept.append(stmt)
    return rebuild_program(program, kept[::-1], outputs)


def _positions(used: Sequence[bool]) -> list[int]:
    return [k for k, u in enumerate(used) if u]


def _with(stmt: Stmt, keep: Sequence[int], args: Sequence[Atom] | None = None, **params: Program) -> Stmt:
    outs = [stmt.outs[k] for k in keep]
    return rebuild_stmt(stmt, stmt.args if args is None else args, {**stmt.params, **params}, outs)


def _trim(stmt: Stmt, used: Sequence[bool]) -> Stmt:
    """``stmt`` computing only the results marked ``used``, its nested programs pruned."""
    name, keep = stmt.prim.name, _positions(used)
    if name in ("map", "generate", "stencil"):
        lam = prune(stmt.params["lam"], keep)
        if name != "map":
            return _with(stmt, keep, lam=lam)
        reads = _uses(lam.stmts, lam.outputs)
        args = [k for k, var in enumerate(lam.inputs) if var in reads] or [0]  # map needs one array for its shape
        lam = rebuild_program(lam, lam.stmts, lam.outputs, [lam.inputs[k] for k in args])
        return _with(stmt, keep, [stmt.args[k] for k in args], lam=lam)
    if name in ("fold", "scan"):
        return _trim_fold(stmt, keep)
    if name == "cond":
        return _with(stmt, keep, then_=prune(stmt.params["then_"], keep), else_=prune(stmt.params["else_"], keep))
    if name == "remat":
        return _with(stmt, keep, body=prune(stmt.params["body"], keep))
    if name == "while":
        return _trim_while(stmt, keep)
    subs = {n: prune(sub) for n, sub in stmt.named_subprograms()}
    return _with(stmt, range(len(stmt.outs)), **subs)


def _trim_fold(stmt: Stmt, keep: list[int]) -> Stmt:
    lam = stmt.params["lam"]
    n = len(lam.outputs)
    components = list(range(n))
    for k in range(n):
        if k in keep:
            continue
        trial = [c for c in components if c != k]
        reads = _uses(prune(lam, trial).stmts, [lam.outputs[c] for c in trial])
        if lam.inputs[k] not in reads and lam.inputs[n + k] not in reads:
            components = trial
    has_inits = len(stmt.args) == 2 * n
    inputs = [lam.inputs[c] for c in components] + [lam.inputs[n + c] for c in components]
    lam = prune(rebuild_program(lam, lam.stmts, lam.outputs, inputs), components)
    args = [stmt.args[c] for c in components] + ([stmt.args[n + c] for c in components] if has_inits else [])
    return _with(stmt, components, args, lam=lam)


def _trim_while(stmt: Stmt, keep: list[int]) -> Stmt:
    cond, body = stmt.params["cond"], stmt.params["body"]
    cond = prune(cond)
    needed = set(keep) | _read_inputs(cond)
    while True:
        grown = needed | _read_inputs(prune(body, sorted(needed)))
        if grown == needed:
            break
        needed = grown
    state = sorted(needed)
    body = prune(body, state)
    inputs = tuple(body.inputs[k] for k in state)
    cond_inputs = tuple(cond.inputs[k] for k in state)
    return _with(
        stmt,
        state,
        [stmt.args[k] for k in state],
        cond=rebuild_program(cond, cond.stmts, cond.outputs, cond_inputs),
        body=rebuild_program(body, body.stmts, body.outputs, inputs),
    )


def _read_inputs(program: Program) -> set[int]:
    reads = _uses(program.stmts, program.outputs)
    return {k for k, var in enumerate(program.inputs) if var in reads}


def dce(program: Program) -> Program:
    """``program`` without the statements (and results of statements) that no output needs."""
    return prune(program)
