"""JVP rules of ``map``, ``generate``, ``stencil``, ``backpermute``, ``permute`` and ``index``.

``map``/``generate``/``stencil`` differentiate their lambda at the scalar
level (:mod:`pyaccad.ad.lambdas.partials`): one primal collective returns the
results with their partial derivatives, and the tangent is a linear
combination of the operands' tangents. For ``stencil`` neighbour ``k`` of
offset ``d`` contributes ``∂f/∂n_k · shift_d(x_tan)``, the shift made of
slices of the tangent through the boundary (zero where a constant boundary
reads its value, which has no tangent), so that reverse mode gathers the
cotangent instead of scattering it (:mod:`pyaccad.ad.lambdas.shifts`).

``backpermute`` is linear in its source. ``permute`` with ``+`` (or with
the overwrite combine ``lambda new, old: new``) is linear in defaults and
source; with ``max``/``min`` the tangent flows from the winners, split
equally among ties as JAX does; with ``*`` each factor's tangent is scaled
by the product of the other factors at its target, zeros and collisions
included (JAX differentiates only unique targets); other combines are gaps
(:mod:`pyaccad.ad.gaps`).

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> f = lambda x: acc.stencil(lambda n: n[0] * n[2], x, 3, "wrap").sum()
>>> acc.jit(ad.grad(f))(np.array([1.0, 2.0, 3.0]))
array([5., 4., 3.])
"""

from __future__ import annotations

import itertools

from pyaccad.ad.emitters import at_targets, binary, lit, op
from pyaccad.ad.jvp import Env, copy_stmt, linear_rule, register, renamed_params
from pyaccad.ad.lambdas.partials import lambda_tangents
from pyaccad.ad.lambdas.shifts import shifter
from pyaccad.ad.tangents import Tan, Zero, is_zero, tadd
from pyaccad.errors import NotDifferentiable
from pyaccad.frontend.tracing import emit, fail
from pyaccad.ir import BOOL, INDEX_DTYPE, Atom, Lit, Program, Stmt
from pyaccad.ir.monoids import monoid

register("backpermute")(linear_rule)


@register("map")
def _map_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    return lambda_tangents(
        stmt.params["lam"],
        env,
        args_tan,
        args[0].shape,
        run=lambda lam: emit("map", tuple(args), {"lam": lam}),
        input_basis=lambda i, x_tan: x_tan,
    )


@register("generate")
def _generate_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    shape = tuple(stmt.params["shape"])
    return lambda_tangents(
        stmt.params["lam"],
        env,
        [],
        shape,
        run=lambda lam: emit("generate", (), {**stmt.params, "lam": lam}),
        input_basis=lambda i, x_tan: x_tan,
    )


@register("stencil")
def _stencil_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    (x,) = args
    (x_tan,) = args_tan
    size = tuple(stmt.params["size"])
    offsets = list(itertools.product(*(range(-(s // 2), s // 2 + 1) for s in size)))
    shift = shifter(x_tan, stmt.params["boundary"], tuple(s // 2 for s in size))
    return lambda_tangents(
        stmt.params["lam"],
        env,
        [x_tan] * len(offsets),
        x.shape,
        run=lambda lam: emit("stencil", (x,), {**stmt.params, "lam": lam}),
        input_basis=lambda k, t: shift(offsets[k]),
    )


@register("index")
def _index_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    (out,) = copy_stmt(stmt, env, args)
    lam_env = env.lambda_env()
    seed = lam_env.seeds.get(stmt.outs[0]) if lam_env is not None else None
    if seed is None and not is_zero(args_tan[0]):  # a seeded array (pyaccad.ad.lambdas.loop_tangent_lambda)
        return [out], [op("index", args_tan[0], *args[1:])]
    if seed is None:
        return [out], [Zero(out.type)]
    env.read_index = list(args[1:])
    return [out], [seed]


@register("permute")
def _permute_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    kind = monoid(stmt.params["combine"])
    if kind in ("add", "first"):
        return linear_rule(stmt, env, args, args_tan)
    if kind not in ("maximum", "minimum", "mul"):
        fail(
            NotDifferentiable,
            f"permute: no derivative for a scatter with this combine function "
            f"(only +, *, max, min and overwrite), at {stmt.source or 'unknown line'}",
        )
    (out,) = copy_stmt(stmt, env, args)
    if out.dtype.kind != "f":
        return [out], [Zero(out.type)]
    index = renamed_params(stmt, env)["index"]
    if kind == "mul":
        return [out], [_product_tangent(index, args, args_tan)]
    return [out], [_extremum_tangent(index, out, args, args_tan)]


def _extremum_tangent(index: Program, out: Atom, args: list[Atom], args_tan: list[Tan]) -> Tan:
    """max/min: the tangent of the winners (equal to the result), split equally among ties as JAX does."""
    defaults, x = args
    d_tan, x_tan = args_tan
    add = binary("add", out.dtype)
    winners = _source_wins(x, out, index)  # x[i] == out[target(i)], kept
    one, zero = lit(1, x.type), lit(0, x.type)
    d_wins = op("eq", defaults, out)
    counts = op(
        "permute",
        op("select", d_wins, lit(1, out.type), lit(0, out.type)),
        op("select", winners, one, zero),
        combine=add,
        index=index,
    )
    from_x: Tan = (
        Zero(out.type)
        if is_zero(x_tan)
        else op("permute", lit(0, out.type), op("select", winners, x_tan, zero), combine=add, index=index)
    )
    from_d: Tan = Zero(out.type) if is_zero(d_tan) else op("select", d_wins, d_tan, lit(0, out.type))
    total = tadd(from_d, from_x)
    return total if is_zero(total) else op("div", total, counts)


def _source_wins(x: Atom, out: Atom, index: Program) -> Atom:
    """Per source element: kept, and equal to the result at its target (it won the max/min)."""

    def won(source: list[Atom], target: list[Atom]) -> Atom:
        return op("eq", op("index", x, *source), op("index", out, *target))

    return at_targets(index, x.shape, won, Lit(False, BOOL))


def _product_tangent(index: Program, args: list[Atom], args_tan: list[Tan]) -> Tan:
    """``out[t] = d[t] · Π_{i→t} x_i``: each factor's tangent times the product of the other factors.

    Without dividing by zero: per target, ``px`` is the product of the non-zero sources and ``zeros``
    counts the zero sources. The default's partial is ``px`` where no source is zero, else 0. A non-zero
    source's partial is ``d · (px / x_i)`` where no source is zero (``x_i / x_i`` is exactly 1, so a lone
    source gets exactly ``d``), a zero source's is ``d · px`` where it is the only zero source, and every
    other partial is 0 (a zero default needs no case: it is a factor of each). The tangent,
    ``∂d · d_tan + permute(+, ∂x · x_tan)``, is linear in ``d_tan, x_tan``.
    """
    defaults, x = args
    d_tan, x_tan = args_tan
    if is_zero(d_tan) and is_zero(x_tan):
        return Zero(defaults.type)
    x_zero = op("eq", x, lit(0, x.type))
    one_if_zero = op("select", x_zero, lit(1, x.type.with_dtype(INDEX_DTYPE)), lit(0, x.type.with_dtype(INDEX_DTYPE)))
    counts = defaults.type.with_dtype(INDEX_DTYPE)
    zeros = op("permute", lit(0, counts), one_if_zero, combine=binary("add", INDEX_DTYPE), index=index)
    non_zero = op("select", x_zero, lit(1, x.type), x)
    px = op("permute", lit(1, defaults.type), non_zero, combine=binary("mul", x.dtype), index=index)
    none_zero = op("eq", zeros, lit(0, counts))
    zero = lit(0, defaults.type)
    from_d: Tan = Zero(defaults.type) if is_zero(d_tan) else op("mul", op("select", none_zero, px, zero), d_tan)
    if is_zero(x_tan):
        return from_d
    scale_non_zero = op("select", none_zero, defaults, zero)
    scale_zero = op("select", op("eq", zeros, lit(1, counts)), op("mul", defaults, px), zero)

    def partial(source: list[Atom], target: list[Atom]) -> Atom:
        x_i = op("index", x, *source)
        others = op("mul", op("index", scale_non_zero, *target), op("div", op("index", px, *target), x_i))
        return op("select", op("eq", x_i, lit(0, x_i.type)), op("index", scale_zero, *target), others)

    partials = at_targets(index, x.shape, partial, Lit(0.0, x.dtype))
    add = binary("add", x.dtype)
    return tadd(from_d, op("permute", zero, op("mul", partials, x_tan), combine=add, index=index))
