"""Transposing the forward-mode ``cond`` of a linear program: recompute, don't store.

``cond`` computes primal values alongside the tangents
(:mod:`pyaccad.ad.jvp_rules.control`). Its transpose recomputes those primal
values where needed rather than storing them: ``cond(p; then_, else_)``
becomes ``cond(p; then_ᵀ, else_ᵀ)``, each branch partially evaluated (its
primal part recomputed inside the branch) and its linear part transposed,
returning cotangents for the linear variables either branch reads. Cost:
each branch's primal part runs again.

The helpers here serve the ``while`` rule too (:mod:`pyaccad.ad.transpose_rules.loop`).

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> relu_sq = lambda x: acc.acond(x.sum() > 0.0, lambda: x * x, lambda: x * 0.0).sum()
>>> acc.jit(ad.grad(relu_sq))(np.array([1.0, 2.0]))
array([2., 4.])
"""

from __future__ import annotations

from collections.abc import Sequence

from pyaccad.ad.linearize import split
from pyaccad.ad.tangents import Tan, Zero, instantiate
from pyaccad.ad.transpose import Contributions, TransposeContext, linear_vars, register, transpose_stmts
from pyaccad.frontend.tracing import current_builder, emit, trace_program, value_of
from pyaccad.ir import Atom, Program, Stmt, Var
from pyaccad.ir.rewrite import substitute


def linear_free(stmt: Stmt, linear: set[Var], exclude: Sequence[Var] = ()) -> list[Var]:
    """The variables of ``linear`` that ``stmt``'s nested programs read free (bar ``exclude``), in order."""
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
def _cond_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    free = linear_free(stmt, ctx.linear)
    if not free:
        return []

    def branch_t(branch: Program) -> Program:
        def body() -> list[object]:
            _, free_ct = transpose_body(branch, {}, [], free, cts)
            return [value_of(instantiate(c)) for c in free_ct]

        prog, _ = trace_program(body, [], "array")
        return prog

    results = emit("cond", args, {"then_": branch_t(stmt.params["then_"]), "else_": branch_t(stmt.params["else_"])})
    return list(zip(free, results, strict=False))
