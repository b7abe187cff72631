"""Operators of ``fold``/``scan`` that read a differentiated value of an enclosing scope.

The general fold and scan rules differentiate the operator with respect to
its operands only (:mod:`pyaccad.ad.rules_fold`, :mod:`pyaccad.ad.rules_scan`).
When the operator ``f_s`` also uses a rank-0 value ``s`` of an enclosing
scope that has a tangent, every application of ``f_s`` depends on ``s``; its
contribution is ``∂y/∂s · s_tan``, where ``∂y/∂s`` (a primal residual, one
per output element) comes from the *dual* collective: the same fold or scan
over pairs ``(a, da)`` with the operator

    (a, da) ⊕ (b, db) = (f_s(a, b),  ∂f/∂a·da + ∂f/∂b·db + ∂f/∂s)

started from ``da = 0`` on every element (and on the initial value). The
dual operator is associative whenever ``f_s`` is for every ``s`` (it is the
derivative of the identity ``f_s(f_s(a, b), c) = f_s(a, f_s(b, c))`` along
``s``), so the dual collective is an ordinary fold or scan, and the tangent
term ``∂y/∂s · broadcast(s_tan)`` is linear in ``s_tan`` and transposes to a
sum.

A read ``a[i]`` of a differentiated array at an index ``i`` that does not
depend on the operator's operands (literals, values of enclosing scopes) is
the same value in every application: :func:`hoist_reads` moves it out of the
operator as a rank-0 value (tangent: ``backpermute(a_tan, i)``), which is then
such an ``s``. A read at an index computed from the operands (or nested in a ``cond`` or
``while_`` of the operator) is not supported (see :mod:`pyaccad.ad.gaps`).

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> f = lambda x: acc.fold1(lambda a, b: a * b * x[0], x)  # x0² x1
>>> acc.jit(ad.grad(f), backend="interp")(np.array([2.0, 3.0]))
array([12.,  4.])
"""

from __future__ import annotations

from collections.abc import Sequence

from pyaccad.ad.emitters import lit, op
from pyaccad.ad.jvp import Env, jvp_atoms
from pyaccad.ad.tangents import Tan, Zero, differentiable, instantiate, is_zero, tadd, tcast, tscale
from pyaccad.errors import NotDifferentiable
from pyaccad.frontend.tracing import emit, fail, trace_program, value_of
from pyaccad.ir import Atom, Lit, Program, Stmt, Var
from pyaccad.ir.rewrite import substitute


def hoist_reads(stmt: Stmt, env: Env) -> Stmt:
    """``stmt`` with its operator's operand-independent reads of differentiated arrays made free rank-0 values.

    Only reads in the operator's own statements move: one in a ``cond`` branch may be out of bounds
    when the branch is not taken.

    The hoisted values are bound (primal and tangent) in ``env`` under new variables of the old program.
    """
    lam = stmt.params["lam"]
    bound = set(lam.inputs) | {v for st in lam.stmts for v in st.outs}
    kept, hoisted = [], {}
    for st in lam.stmts:
        array = st.args[0] if st.prim.name == "index" else None
        if (
            isinstance(array, Var)
            and differentiable(array.type)
            and array.type.size > 0
            and not is_zero(env.tangent(array))
            and not any(a in bound for a in st.args[1:])
        ):
            value = Var(st.outs[0].type, st.outs[0].hint)
            env.bind(
                [value], [_gather(env.primal(array), st, env)], [_gather(instantiate(env.tangent(array)), st, env)]
            )
            hoisted[st.outs[0]] = value
        else:
            kept.append(st)
    if not hoisted:
        return stmt
    new_lam = substitute(Program(lam.inputs, tuple(kept), lam.outputs), hoisted)
    return Stmt(stmt.prim, stmt.args, {**stmt.params, "lam": new_lam}, stmt.outs, stmt.source)


def _gather(array: Atom, read: Stmt, env: Env) -> Atom:
    """``array[i]`` as a rank-0 array, ``i`` the read's (new) index atoms: linear in ``array``."""
    positions = [env.primal(a) for a in read.args[1:]]
    index, _ = trace_program(lambda: [value_of(p) for p in positions], [], "scalar")
    return op("backpermute", array, shape=(), index=index)


def _closure_sources(stmt: Stmt, env: Env) -> list[Var]:
    """The free rank-0 values of ``stmt``'s operator that carry a tangent (a free array of rank ≥ 1 raises)."""
    sources = []
    for v in stmt.params["lam"].free_vars:
        if is_zero(env.tangent(v)) or not differentiable(v.type) or v.type.size == 0:
            continue
        if v.shape != ():
            fail(
                NotDifferentiable,
                f"{stmt.prim.name}: the operator reads a differentiated array {v.type} of an enclosing scope "
                "at an index computed from its operands or inside a nested cond/while_; pass the values read as an "
                "operand instead "
                f"(at {stmt.source or 'unknown line'})",
            )
        sources.append(v)
    return sources


def closure_tangents(
    stmt: Stmt, env: Env, xs: Sequence[Atom], inits: Sequence[Atom], outs: Sequence[Atom], tans: list[Tan]
) -> list[Tan]:
    """``tans`` plus ``∂y/∂s · s_tan`` for every source ``s`` (see the module doc).

    ``outs`` are the results the terms add to: those of ``stmt`` itself, or of the ``fold1`` part
    of a fold with an initial value (``inits`` empty then).
    """
    lam = stmt.params["lam"]
    floats = [j for j, x in enumerate(xs) if differentiable(x.type)]
    for s in _closure_sources(stmt, env):
        params = {k: v for k, v in stmt.params.items() if k != "lam"}
        params["lam"] = _dual_lambda(lam, env, s, floats)
        zeros = [lit(0, xs[j].type) for j in floats]
        init_zeros = [Lit(0.0, inits[j].dtype) for j in floats] if inits else []
        dual = emit(stmt.prim.name, (*xs, *zeros, *inits, *init_zeros), params)
        s_tan = instantiate(env.tangent(s))
        for d, j in zip(dual[len(xs) :], floats, strict=True):
            spread = tcast(op("broadcast_in_dim", s_tan, shape=outs[j].shape, dims=()), outs[j].type)
            tans[j] = tadd(tans[j], tscale(spread, d))
    return tans


def _dual_lambda(lam: Program, env: Env, s: Var, floats: list[int]) -> Program:
    """``((a, da), (b, db)) ↦ (f(a, b), ∂f/∂a·da + ∂f/∂b·db + ∂f/∂s)`` over the float components."""
    k = len(lam.outputs)
    m = len(floats)
    types = lam.input_types

    def body(*values: object) -> list[object]:
        atoms = [v.var for v in values]  # type: ignore[attr-defined]
        a, da, b, db = atoms[:k], atoms[k : k + m], atoms[k + m : 2 * k + m], atoms[2 * k + m :]
        tans: list[Tan] = [Zero(t) for t in types]
        for p, j in enumerate(floats):
            tans[j], tans[k + j] = da[p], db[p]
        ys, ys_tan = jvp_atoms(lam, [*a, *b], tans, env, boundary=True, seeds=_seeds(lam, s))
        return [value_of(y) for y in ys] + [value_of(instantiate(ys_tan[j])) for j in floats]

    side = [*types[:k], *(types[j] for j in floats)]
    program, _ = trace_program(body, [*side, *side], "scalar")
    return program


def _seeds(lam: Program, s: Var) -> dict[Var, Atom]:
    """A unit tangent on ``s`` and on every ``index`` read of it (a rank-0 array read as ``s[()]``)."""
    one = Lit(1.0, s.dtype)
    seeds: dict[Var, Atom] = {s: one}

    def visit(program: Program) -> None:
        for stmt in program.stmts:
            if stmt.prim.name == "index" and stmt.args[0] is s:
                seeds[stmt.outs[0]] = one
            for sub in stmt.subprograms():
                visit(sub)

    visit(lam)
    return seeds
