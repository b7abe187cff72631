"""JVP rules of ``cond`` and ``while`` (both levels: ``acond``/``awhile`` and ``cond``/``while_`` in lambdas).

Forward mode through control flow carries the tangents along with the
primal values: ``cond`` becomes one ``cond`` whose branches return the
results and their tangents; ``while`` becomes one ``while`` whose state is
the primal state plus the tangents of the state components that can carry
one (found by a fixpoint: a component whose body result depends on a
differentiated component is differentiated too). The condition reads only
the primal state, so the trip count is unchanged.

The tangent halves of these statements are linear in the tangents but also
recompute primal values inside; :mod:`pyaccad.ad.linearize` splits off a
primal copy for the results the rest of the program needs, and
:mod:`pyaccad.ad.transpose_rules.control` (``cond``) and
:mod:`pyaccad.ad.transpose_rules.loop` (``while``) transpose them by recomputation
(see there for the cost). Inside lambdas, the index read by a seeded ``index``
in a branch is returned by the ``cond`` (0 from the other branch) so that
the lambda rules can hoist it.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> f = lambda x: acc.awhile(lambda s: s[1] < 3, lambda s: (s[0] * s[0], s[1] + 1), (x, np.int64(0)))[0]
>>> float(acc.jit(lambda x: ad.jvp(f, (x,), (1.0,))[1])(np.array(1.5)))  # 8 x**7
136.6875
"""

from __future__ import annotations

from collections.abc import Sequence

from pyaccad.ad.jvp import Env, jvp_stmts, register
from pyaccad.ad.tangents import Tan, Zero, differentiable, instantiate, is_zero
from pyaccad.frontend.tracing import emit, in_scalar_scope, trace_program, value_of
from pyaccad.ir import INDEX_DTYPE, PRIMITIVES, ArrayType, Atom, Lit, Program, Stmt, Var


def zero_atom(type_: ArrayType, stmts: list[Stmt], scalar: bool) -> Atom:
    """A zero of ``type_`` for a program being assembled by hand (a literal in lambdas, else a broadcast)."""
    value = Lit(type_.dtype.type(0).item(), type_.dtype)
    if scalar:
        return value
    out = Var(type_)
    stmts.append(Stmt(PRIMITIVES["broadcast_in_dim"], (value,), {"shape": type_.shape, "dims": ()}, (out,)))
    return out


def _traced_branch(branch: Program, env: Env, scalar: bool) -> tuple[Program, list[Tan], list[Atom] | None]:
    record: dict[str, object] = {}

    def body() -> list[object]:
        child = Env(env)
        outs, tans = jvp_stmts(branch, child)
        record["tans"], record["read"] = tans, child.read_index
        return [value_of(a) for a in [*outs, *(t for t in tans if not is_zero(t)), *(child.read_index or ())]]

    prog, _ = trace_program(body, [], "scalar" if scalar else "array")
    return prog, record["tans"], record["read"]  # type: ignore[return-value]


@register("cond")
def _cond_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    scalar = in_scalar_scope()
    n = len(stmt.outs)
    traced = [_traced_branch(stmt.params[name], env, scalar) for name in ("then_", "else_")]
    wanted = [
        j for j in range(n) if differentiable(stmt.outs[j].type) and any(not is_zero(tans[j]) for _, tans, _ in traced)
    ]
    n_read = max(len(read or ()) for _, _, read in traced)
    branches = []
    for prog, tans, read in traced:
        stmts = list(prog.stmts)
        outputs = list(prog.outputs[:n])
        present = iter(prog.outputs[n:])
        nonzero = [j for j in range(n) if not is_zero(tans[j])]
        by_pos = {j: next(present) for j in nonzero}
        outputs += [by_pos[j] if j in by_pos else zero_atom(stmt.outs[j].type, stmts, scalar) for j in wanted]
        outputs += list(present) if read else [Lit(0, INDEX_DTYPE)] * n_read
        branches.append(Program((), tuple(stmts), tuple(outputs)))
    results = emit("cond", tuple(args), {"then_": branches[0], "else_": branches[1]})
    outs_tan: list[Tan] = [Zero(v.type) for v in stmt.outs]
    for k, j in enumerate(wanted):
        outs_tan[j] = results[n + k]
    if n_read:
        env.read_index = list(results[n + len(wanted) :])
    return list(results[:n]), outs_tan


@register("while")
def _while_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    cond, body = stmt.params["cond"], stmt.params["body"]
    scalar = in_scalar_scope()
    kind = "scalar" if scalar else "array"
    state = list(stmt.outs)
    carried = {j for j, t in enumerate(args_tan) if not is_zero(t) and differentiable(state[j].type)}
    while True:  # fixpoint: which state components carry a tangent
        new_body, tans = _tangent_body(body, env, carried, kind)
        grown = carried | {j for j, t in enumerate(tans) if not is_zero(t) and differentiable(state[j].type)}
        if grown == carried:
            break
        carried = grown
    order = sorted(carried)
    n = len(state)
    tangent_types = [state[j].type for j in order]

    def new_cond(*values: object) -> object:
        inner = Env(env)
        inner.bind(cond.inputs, [v.var for v in values[:n]], [Zero(v.type) for v in cond.inputs])  # type: ignore
        (p,), _ = jvp_stmts(cond, inner)
        return value_of(p)

    cond_prog, _ = trace_program(new_cond, [v.type for v in state] + tangent_types, kind)
    init = list(args) + [instantiate(args_tan[j]) for j in order]
    results = emit("while", tuple(init), {**stmt.params, "cond": cond_prog, "body": new_body})
    outs_tan: list[Tan] = [Zero(v.type) for v in state]
    for k, j in enumerate(order):
        outs_tan[j] = results[n + k]
    return list(results[:n]), outs_tan


def _tangent_body(body: Program, env: Env, carried: set[int], kind: str) -> tuple[Program, list[Tan]]:
    order = sorted(carried)
    n = len(body.inputs)
    record: dict[str, list[Tan]] = {}

    def step(*values: object) -> list[object]:
        atoms = [v.var for v in values]  # type: ignore[attr-defined]
        tans: list[Tan] = [Zero(v.type) for v in body.inputs]
        for k, j in enumerate(order):
            tans[j] = atoms[n + k]
        inner = Env(env)
        inner.bind(body.inputs, atoms[:n], tans)
        outs, outs_tan = jvp_stmts(body, inner)
        record["tans"] = outs_tan
        return [value_of(a) for a in outs] + [value_of(instantiate(outs_tan[j])) for j in order]

    types: Sequence[ArrayType] = [v.type for v in body.inputs] + [body.inputs[j].type for j in order]
    prog, _ = trace_program(step, types, kind)
    return prog, record["tans"]
