"""Derivatives of ``remat`` (``ad.checkpoint``): recompute in the reverse pass, never store.

``remat(*args; body)`` is ``body(*args)`` behind a barrier the optimiser does not see through
(:mod:`pyaccad.ir.primitives.custom`). Its rules keep every derivative behind such a barrier:

* JVP: ``remat(*args, *args_tan; body')`` where ``body'`` is the JVP of ``body``, returning the
  results and their tangents.
* Linearize (:mod:`pyaccad.ad.linearize`) splits it like a ``cond``: a copy computing only the
  results goes to the primal part; the whole statement goes to the linear part.
* Transpose: ``remat(*primal_args, *cts; body_t)`` where ``body_t`` recomputes the primal values of
  ``body'`` from the primal arguments and runs its transposed linear part. The reverse pass thus reads
  only ``f``'s arguments, and since the optimiser never merges the recomputation with the forward
  values, the values ``f`` computes are not kept between the passes.
* Batching: the batched body, still a ``remat``.

Cost: the forward part of ``f`` runs twice (once forward, once in the reverse pass).

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> from pyaccad.frontend import trace
>>> g = ad.grad(lambda x: ad.checkpoint(lambda v: acc.sin(acc.sin(v)))(x).sum())
>>> [s.prim.name for s in trace(g, np.ones(3)).program.stmts if s.prim.name == "remat"]
['remat', 'remat']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyaccad.ad.batching import BatchContext, BDim, batch_rule
from pyaccad.ad.batching_rules.control import batch_body
from pyaccad.ad.custom_rules import batched_args
from pyaccad.ad.jvp import Env, jvp_stmts
from pyaccad.ad.jvp import register as register_jvp
from pyaccad.ad.tangents import Tan, Zero, differentiable, instantiate, is_zero
from pyaccad.ad.transpose import Contributions, TransposeContext
from pyaccad.ad.transpose import register as register_transpose
from pyaccad.ad.transpose_rules.control import linear_free, transpose_body
from pyaccad.frontend.tracing import emit, trace_program, value_of
from pyaccad.ir import Atom, Stmt, Var


@register_jvp("remat")
def _remat_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]) -> tuple[Sequence[Atom], list[Tan]]:
    body = stmt.params["body"]
    moving = [j for j, t in enumerate(args_tan) if not is_zero(t) and differentiable(args[j].type)]
    n = len(args)
    nonzero: list[int] = []

    def step(*xs: Any) -> list[Any]:
        atoms = [x.var for x in xs]
        tans: list[Tan] = [Zero(a.type) for a in args]
        for k, j in enumerate(moving):
            tans[j] = atoms[n + k]
        inner = Env(env)
        inner.bind(body.inputs, atoms[:n], tans)
        outs, outs_tan = jvp_stmts(body, inner)
        nonzero.extend(j for j, t in enumerate(outs_tan) if not is_zero(t) and differentiable(outs[j].type))
        return [value_of(a) for a in outs] + [value_of(outs_tan[j]) for j in nonzero]

    types = [a.type for a in args] + [args[j].type for j in moving]
    program, _ = trace_program(step, types, "array")
    results = emit("remat", (*args, *(instantiate(args_tan[j]) for j in moving)), {"body": program})
    outs_tan: list[Tan] = [Zero(v.type) for v in stmt.outs]
    for k, j in enumerate(nonzero):
        outs_tan[j] = results[len(stmt.outs) + k]
    return list(results[: len(stmt.outs)]), outs_tan


@register_transpose("remat")
def _remat_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    linear = ctx.linear
    body = stmt.params["body"]
    lin = [j for j, a in enumerate(stmt.args) if isinstance(a, Var) and a in linear]
    primal = [j for j in range(len(stmt.args)) if j not in lin]
    given = [k for k, c in enumerate(cts) if not is_zero(c)]
    free = linear_free(stmt, linear)

    def step(*xs: Any) -> list[Any]:
        atoms = [x.var for x in xs]
        bound = {body.inputs[j]: a for j, a in zip(primal, atoms, strict=False)}
        outs_ct: list[Tan] = [Zero(a.type) for a in body.outputs]
        for k, a in zip(given, atoms[len(primal) :], strict=True):
            outs_ct[k] = a
        in_ct, free_ct = transpose_body(body, bound, [body.inputs[j] for j in lin], free, outs_ct)
        return [value_of(instantiate(c)) for c in [*in_ct, *free_ct]]

    types = [stmt.args[j].type for j in primal] + [cts[k].type for k in given]
    program, _ = trace_program(step, types, "array")
    results = emit("remat", (*(stmt.args[j] for j in primal), *(cts[k] for k in given)), {"body": program})
    return list(zip([stmt.args[j] for j in lin] + free, results, strict=True))


@batch_rule("remat")
def _remat_batch(
    stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]
) -> tuple[Sequence[Atom], Sequence[BDim]]:
    program, out_bdims = batch_body(ctx, stmt.params["body"], [None if b is None else 0 for b in bdims])
    return emit(stmt.prim, tuple(batched_args(args, bdims)), {"body": program}), out_bdims
