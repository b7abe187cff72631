"""Transposing the forward-mode ``cond`` and ``while`` of a linear program: recompute, don't store.

Both statements compute primal values alongside the tangents
(:mod:`pyaccad.ad.rules_control`). Their transposes recompute those primal
values where needed rather than storing them:

* ``cond(p; then_, else_)`` becomes ``cond(p; then_ᵀ, else_ᵀ)``: each branch
  is partially evaluated (its primal part recomputed inside the branch) and
  its linear part transposed, returning cotangents for the linear variables
  either branch reads. Cost: each branch's primal part runs again.

* ``while`` — static shapes rule out a tape of dynamic length, so the
  reverse loop *recomputes* each state from the initial one, as
  ``ad.checkpoint`` would: one forward pass counts the trips ``n``; then for
  ``k = n-1, ..., 0`` an inner loop rebuilds the primal state ``s_k`` from
  ``s_0`` (``k`` body evaluations) and the transposed linear part of the body
  at ``s_k`` maps the state cotangent one step back, accumulating cotangents
  of the linear values the body reads. Cost: ``O(n²)`` primal body
  evaluations and ``n`` transposed ones, extra memory ``O(1)`` states.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> cube = lambda x: acc.awhile(lambda s: s[1] < 3, lambda s: (s[0] * x, s[1] + 1), (np.float64(1.0), np.int64(0)))[0]
>>> acc.jit(ad.grad(cube), backend="interp")(np.array(2.0))
array(12.)
"""

from __future__ import annotations

from collections.abc import Sequence

from pyaccad.ad.emitters import op
from pyaccad.ad.linearize import primal_outputs, restrict, split
from pyaccad.ad.tangents import Tan, Zero, instantiate, is_zero
from pyaccad.ad.transpose import Contributions, linear_vars, register, transpose_stmts
from pyaccad.frontend.tracing import call_program, current_builder, emit, trace_program, value_of
from pyaccad.ir import INDEX_DTYPE, Atom, Lit, Program, Stmt, Var, scalar_type
from pyaccad.ir.rewrite import substitute


def _linear_free(stmt: Stmt, linear: set[Var], exclude: Sequence[Var] = ()) -> list[Var]:
    found: dict[Var, None] = {}
    for sub in stmt.subprograms():
        for v in sub.free_vars:
            if v in linear and v not in exclude:
                found.setdefault(v, None)
    return list(found)


def transpose_body(
    program: Program, bound: dict[Var, Atom], linear_in: Sequence[Var], free: Sequence[Var], outs_ct: Sequence[Tan]
) -> tuple[list[Tan], list[Tan]]:
    """Emit ``program``'s primal part (inputs bound by ``bound``) and its transposed linear part.

    ``linear_in`` are the inputs that are linear, ``free`` the linear free
    variables; returns their cotangents.
    """
    env: dict[Var, Atom] = dict(bound)
    stmts = split(program.stmts, set(linear_in) | set(free), env, current_builder().stmts)  # type: ignore
    linear = substitute(Program(tuple(linear_in), tuple(stmts), program.outputs), env)
    ct = transpose_stmts(linear, linear_vars(linear, free), outs_ct)
    return [ct.get(v, Zero(v.type)) for v in linear.inputs], [ct.get(v, Zero(v.type)) for v in free]


@register("cond")
def _cond_t(stmt: Stmt, linear: set[Var], cts: list[Tan]) -> Contributions:
    custom = stmt.params.get("custom")
    if custom is not None:
        return custom.transpose(stmt, linear, cts)
    free = _linear_free(stmt, linear)
    if not free:
        return []

    def branch_t(branch: Program) -> Program:
        def body() -> list[object]:
            _, free_ct = transpose_body(branch, {}, [], free, cts)
            return [value_of(instantiate(c)) for c in free_ct]

        prog, _ = trace_program(body, [], "array")
        return prog

    results = emit(
        "cond", stmt.args, {"then_": branch_t(stmt.params["then_"]), "else_": branch_t(stmt.params["else_"])}
    )
    return list(zip(free, results, strict=False))


@register("while")
def _while_t(stmt: Stmt, linear: set[Var], cts: list[Tan]) -> Contributions:
    cond, body = stmt.params["cond"], stmt.params["body"]
    primal = primal_outputs(stmt, linear)
    lin = [j for j in range(len(stmt.outs)) if j not in primal]
    free = _linear_free(stmt, linear, body.inputs)
    p_init = [stmt.args[j] for j in primal]
    dropped = linear | {v for j, v in enumerate(body.inputs) if j not in primal}
    dropped |= {v for j, v in enumerate(cond.inputs) if j not in primal}
    p_body = restrict(body, primal, dropped, [body.inputs[j] for j in primal])
    p_cond = restrict(cond, [0], dropped, [cond.inputs[j] for j in primal])
    trips = _trip_count(p_cond, p_body, p_init)
    idx_t = scalar_type(INDEX_DTYPE)
    lin_types = [stmt.outs[j].type for j in lin]
    free_types = [v.type for v in free]

    def back_cond(k: object, *rest: object) -> object:
        return value_of(k.var) >= 0  # type: ignore[attr-defined]

    def back_body(k: object, *rest: object) -> list[object]:
        k_atom = k.var  # type: ignore[attr-defined]
        atoms = [r.var for r in rest]  # type: ignore[attr-defined]
        ct_lin, acc = atoms[: len(lin)], atoms[len(lin) :]
        state = _recompute(p_cond, p_body, p_init, k_atom)
        bound = {body.inputs[j]: s for j, s in zip(primal, state, strict=False)}
        outs_ct: list[Tan] = [Zero(a.type) for a in body.outputs]
        for j, c in zip(lin, ct_lin, strict=False):
            outs_ct[j] = c
        in_ct, free_ct = transpose_body(body, bound, [body.inputs[j] for j in lin], free, outs_ct)
        new_acc = [a if is_zero(c) else op("add", a, c) for a, c in zip(acc, free_ct, strict=False)]
        return [
            value_of(op("sub", k_atom, Lit(1, INDEX_DTYPE))),
            *[value_of(instantiate(c)) for c in in_ct],
            *[value_of(a) for a in new_acc],
        ]

    b_cond, _ = trace_program(back_cond, [idx_t, *lin_types, *free_types], "array")
    b_body, _ = trace_program(back_body, [idx_t, *lin_types, *free_types], "array")
    start = value_of(trips) - 1
    init = [
        start.var,
        *[instantiate(c) for j, c in enumerate(cts) if j in lin],
        *[instantiate(Zero(t)) for t in free_types],
    ]
    results = emit("while", tuple(init), {"cond": b_cond, "body": b_body})
    ct_lin, ct_free = results[1 : 1 + len(lin)], results[1 + len(lin) :]
    return [(stmt.args[j], c) for j, c in zip(lin, ct_lin, strict=False)] + list(zip(free, ct_free, strict=False))


def _counted(p_cond: Program, p_body: Program, limit: Atom | None) -> tuple[Program, Program]:
    """Loop programs over ``(count, *state)``: the primal loop, stopping after ``limit`` trips if given."""
    idx_t = scalar_type(INDEX_DTYPE)
    types = [idx_t, *p_body.input_types]

    def c(k: object, *state: object) -> object:
        go = call_program(p_cond, list(state))[0]
        return go if limit is None else go & (k < value_of(limit))

    def b(k: object, *state: object) -> list[object]:
        return [k + 1, *call_program(p_body, list(state))]

    return trace_program(c, types, "array")[0], trace_program(b, types, "array")[0]


def _trip_count(p_cond: Program, p_body: Program, p_init: list[Atom]) -> Atom:
    cond, body = _counted(p_cond, p_body, None)
    zero = value_of(Lit(0, INDEX_DTYPE)).var
    return emit("while", (zero, *p_init), {"cond": cond, "body": body})[0]


def _recompute(p_cond: Program, p_body: Program, p_init: list[Atom], k: Atom) -> list[Atom]:
    """The primal state after ``k`` trips, recomputed from the initial state."""
    cond, body = _counted(p_cond, p_body, k)
    zero = value_of(Lit(0, INDEX_DTYPE)).var
    return list(emit("while", (zero, *p_init), {"cond": cond, "body": body})[1:])
