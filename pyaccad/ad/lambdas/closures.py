"""Operators of ``fold``/``scan`` that use differentiated values of an enclosing scope.

The general fold and scan rules differentiate the operator ``⊕`` with
respect to its operands (:mod:`pyaccad.ad.jvp_rules.fold`,
:mod:`pyaccad.ad.jvp_rules.scan`). When ``⊕ = ⊕_w`` also uses values ``w`` of an
enclosing scope that carry a tangent — rank-0 values, or arrays read at any
index (computed from the operands, inside a ``cond`` or ``while_`` of the
operator) — every application of ``⊕_w`` adds a term. Each term is the JVP,
with respect to ``w`` only, of an ordinary per-position scalar function, so
it is left to the ``map``/``generate`` rule (:mod:`pyaccad.ad.lambdas.partials`):
partials as extra outputs, reads turned into gathers of ``w_tan`` (whose
transpose is a ``permute (+)``), reads in a ``while_`` rerun with tangents
(transposed by :mod:`pyaccad.ad.lambdas.loop_reads`).

* A fold1 ``F = x_0 ⊕ … ⊕ x_{n-1}`` (``⊕_w`` associative for every ``w``, so
  ``F`` and its derivative do not depend on the bracketing) read left to
  right applies ``⊕_w`` at ``k = 1 … n-1`` to the prefix ``L_k`` before ``k``
  and ``x_k``; the rest of the fold is ``R_k``, the fold after ``k``:
  ``F = (L_k ⊕_w x_k) ⊕_w R_k``. So

      F_tan(w) = Σ_k  d/dε [(L_k ⊕_{w+ε·w_tan} x_k) ⊕_w R_k]

  the tangent of a ``generate`` over ``k`` whose function applies the
  operator twice, the outer application with ``w`` *held* (read through
  aliases that carry no tangent), summed by a ``fold (+)``.
* A scan ``y_j = y_{j-1} ⊕_w x_j`` adds ``C_j = ∂_w(y_{j-1} ⊕_w x_j)·w_tan``
  to the offset of the tangent's linear recurrence: one application per
  position.

A read ``w[i]`` at an index that does not depend on the operator's operands
(literals, values of enclosing scopes) is the same value in every
application: :func:`hoist_reads` first moves it out of the operator as a
rank-0 value (tangent: ``backpermute(w_tan, i)``), whose term transposes to
a sum rather than a scatter.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> f = lambda x: acc.fold1(lambda a, b: a * b * x[0], x)  # x0² x1
>>> acc.jit(ad.grad(f))(np.array([2.0, 3.0]))
array([12.,  4.])

Reads at the operands' indices: ``(v, i) ⊕ (u, j) = (v + u + w[i] + w[j] - w[k], k)``, ``k = (i + j) % 3``
(``+`` conjugated by ``(v, i) ↦ (v + w[i], i)``), folds to ``Σv + Σ w[i] - w[Σi % 3]``:

>>> def total(w, v, i):
...     op = lambda a, b: (a[0] + b[0] + w[a[1]] + w[b[1]] - w[(a[1] + b[1]) % 3], (a[1] + b[1]) % 3)
...     return acc.fold1(op, (v, i))[0]
>>> acc.jit(ad.grad(total))(np.ones(3), np.ones(4), np.array([0, 1, 1, 1]))
array([0., 3., 0.])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial

from pyaccad.ad.emitters import op
from pyaccad.ad.jvp import Env
from pyaccad.ad.lambdas.partials import lambda_tangents
from pyaccad.ad.tangents import Tan, differentiable, instantiate, is_zero
from pyaccad.frontend.tracing import call_program, emit, trace_program, value_of
from pyaccad.ir import INDEX_DTYPE, Atom, Program, Stmt, Var, scalar_type
from pyaccad.ir.rewrite import substitute

Apply = Callable[[Sequence[Atom]], list[Atom]]
"""Applies the operator to scalar operands inside the per-position function, returning its results."""


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


def closed_over(lam: Program, env: Env) -> list[Var]:
    """The free values of the operator ``lam`` that carry a tangent (its sources besides the operands)."""
    return [v for v in lam.free_vars if differentiable(v.type) and v.type.size > 0 and not is_zero(env.tangent(v))]


def closure_tangents(
    lam: Program,
    env: Env,
    shape: tuple[int, ...],
    body: Callable[[list[Atom], Apply, Apply], list[Atom]],
) -> list[Tan]:
    """The tangents, due to the values ``lam`` closes over only, of ``generate(shape, body)``.

    ``body(ix, live, held)`` computes one position's results from the index ``ix``: ``live(args)``
    applies ``lam`` differentiated with respect to those values, ``held(args)`` with them held
    constant. Needs :func:`closed_over` non-empty.
    """
    sources = closed_over(lam, env)
    live_lam = env.rename(lam)
    # The held copy reads aliases: new variables without a tangent, so the map rule sees no source there.
    aliases = {v: op("reshape", env.primal(v), shape=v.shape) for v in sources}
    held_lam = substitute(lam, {**{v: env.primal(v) for v in lam.free_vars}, **aliases})

    def per_position(*ix: object) -> list[object]:
        index = [i.var for i in ix]  # type: ignore[attr-defined]
        return [value_of(y) for y in body(index, partial(_apply, live_lam), partial(_apply, held_lam))]

    gen, _ = trace_program(per_position, [scalar_type(INDEX_DTYPE)] * len(shape), "scalar")
    seeded = Env(env)
    for v in sources:  # the generate's function reads the new atoms: give them the old variables' tangents
        seeded.tangents[env.primal(v)] = env.tangent(v)  # type: ignore[index]
    _, tans = lambda_tangents(
        gen,
        seeded,
        [],
        shape,
        run=lambda lam2: emit("generate", (), {"shape": shape, "lam": lam2}),
        input_basis=lambda i, t: t,  # never called: a generate has no operands
    )
    return tans


def _apply(program: Program, args: Sequence[Atom]) -> list[Atom]:
    return [v.var for v in call_program(program, [value_of(a) for a in args])]
