"""JVP rules of ``fold`` (reductions) and ``scan``: special operators first, the general rule last.

fold, with ``y = f(z, F)``, ``F = fold1 f x`` along one axis:

* ``+``: linear — ``fold (+) z_tan x_tan``.
* ``*``: ``F_tan = Σ_i x_tan_i · Π_{j≠i} x_j``, the products of the others
  from an exclusive prefix and an exclusive suffix product (exact with
  zeros), and ``y_tan = z·F_tan + F·z_tan``.
* ``max``/``min``: the tangent of the winners, split equally among ties
  (``z`` included), as JAX's ``reduce_max`` does.
* any other associative ``f`` (tuples too): with ``L_i`` the fold of the
  elements before ``i`` and ``R_i`` of those after (inclusive scans,
  shifted), ``F = f(f(L_i, x_i), R_i)``, so ``∂F/∂x_i`` is a product of the
  lambda's scalar partials, computed by forward mode in one ``generate``;
  ``F_tan = Σ_i ∂F/∂x_i · x_tan_i`` is a ``fold (+)``. An operator that closes over differentiated
  values of an enclosing scope (outer scalars, arrays read at any index) adds their term, from the
  same ``L_i`` and ``R_i`` (:mod:`pyaccad.ad.lambdas.closures`).

scan: ``+`` is linear. Any other single-result operator gives the linear
recurrence ``y_tan_i = A_i·y_tan_{i-1} + B_i·x_tan_i`` (``A``, ``B`` the
lambda's partials at ``(y_{i-1}, x_i)``), solved by a scan over ``(A, b)``
pairs with :func:`recurrence_lambda` — linear in ``b``, and transposed to the
reverse recurrence by :mod:`pyaccad.ad.transpose_rules.linear`.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> product = lambda x: acc.fold_all(lambda a, b: a * b, 1.0, x)
>>> acc.jit(ad.grad(product))(np.array([2.0, 0.0, 5.0]))
array([ 0., 10.,  0.])
"""

from __future__ import annotations

from collections.abc import Sequence

from pyaccad.ad.emitters import along, axis_slice, fold_add, idx, lit, op, scan_with
from pyaccad.ad.jvp import Env, copy_stmt, jvp_atoms, linear_rule, register, renamed_params
from pyaccad.ad.lambdas.closures import Apply, closed_over, closure_tangents, hoist_reads
from pyaccad.ad.lambdas.partials import lambda_tangents
from pyaccad.ad.tangents import Tan, Zero, differentiable, instantiate, is_zero, tadd, tscale, tsum
from pyaccad.frontend.tracing import emit, trace_program, value_of
from pyaccad.ir import INDEX_DTYPE, Atom, Lit, Program, Stmt, scalar_type
from pyaccad.ir.monoids import monoid, monoids


@register("fold")
def _fold_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    stmt = hoist_reads(stmt, env)
    lam, axis = stmt.params["lam"], stmt.params["axis"]
    found = monoids(lam)
    k = len(stmt.outs)
    if found is not None and all(m == "add" for m in found):
        if len(args) == 2 * k and all(is_zero(t) for t in args_tan[k:]) and args[0].shape[axis]:
            # z has no tangent: fold the tangents without it (no zero arrays to build and transpose)
            outs = copy_stmt(stmt, env, args)
            return outs, list(emit("fold", tuple(instantiate(t) for t in args_tan[:k]), renamed_params(stmt, env)))
        return linear_rule(stmt, env, args, args_tan)
    outs = list(copy_stmt(stmt, env, args))
    xs, inits = args[:k], args[k:]
    xs_tan, inits_tan = args_tan[:k], args_tan[k:]
    if xs[0].shape[axis] == 0:  # y = z
        return outs, [
            Zero(o.type) if is_zero(t) else op("broadcast_in_dim", t, shape=o.shape, dims=())
            for o, t in zip(outs, inits_tan, strict=False)
        ]
    kind = monoid(lam)
    if kind in ("maximum", "minimum") and differentiable(outs[0].type):
        return outs, [_chooser_tangent(xs[0], xs_tan[0], inits, inits_tan, outs[0], axis)]
    if kind == "mul":
        f_tan = _product_tangent(xs[0], xs_tan[0], axis)
    else:
        around = _Around(lam, env, xs, axis)
        f_tan = _general_fold_tangent(lam, env, xs, xs_tan, around)
        if closed_over(lam, env):
            f_tan = [tadd(t, c) for t, c in zip(f_tan, _closure_fold_tangent(lam, env, around), strict=True)]
    if not inits:
        return outs, f_tan
    return outs, _with_init(lam, env, xs, axis, inits, inits_tan, f_tan, outs[0].shape)


def _product_tangent(x: Atom, x_tan: Tan, axis: int) -> list[Tan]:
    if is_zero(x_tan):
        return [Zero(x.type.with_shape(tuple(n for d, n in enumerate(x.shape) if d != axis)))]
    n = x.shape[axis]
    before = axis_slice(scan_with("mul", x, axis, False, 1), axis, 0, n)
    after = axis_slice(scan_with("mul", x, axis, True, 1), axis, 1, n + 1)
    return [fold_add(op("mul", x_tan, op("mul", before, after)), axis)]


def _chooser_tangent(x: Atom, x_tan: Tan, inits: Sequence[Atom], inits_tan: Sequence[Tan], y: Atom, axis: int) -> Tan:
    wins = op("eq", x, along(y, x.shape, axis))
    counts = fold_add(op("select", wins, lit(1, x.type), lit(0, x.type)), axis)
    total: Tan = Zero(y.type) if is_zero(x_tan) else fold_add(op("select", wins, x_tan, lit(0, x.type)), axis)
    if inits:
        z = op("broadcast_in_dim", inits[0], shape=y.shape, dims=())
        z_wins = op("eq", z, y)
        counts = op("add", counts, op("select", z_wins, lit(1, y.type), lit(0, y.type)))
        if not is_zero(inits_tan[0]):
            z_tan = op("broadcast_in_dim", inits_tan[0], shape=y.shape, dims=())
            total = tadd(total, op("select", z_wins, z_tan, lit(0, y.type)))
    return total if is_zero(total) else op("div", total, counts)


class _Around:
    """The prefix and suffix folds of ``xs`` along ``axis`` (inclusive scans), read around one position."""

    def __init__(self, lam: Program, env: Env, xs: Sequence[Atom], axis: int) -> None:
        self.xs, self.axis, self.n = xs, axis, xs[0].shape[axis]
        self.prefix = emit("scan", tuple(xs), {"lam": env.rename(lam), "axis": axis, "reverse": False})
        self.suffix = emit("scan", tuple(xs), {"lam": env.rename(lam), "axis": axis, "reverse": True})

    def at(self, ix: list[Atom]) -> tuple[list[Atom], list[Atom], list[Atom], Atom, Atom]:
        """``L_i`` (the fold before ``i``), ``x_i``, ``R_i`` (after ``i``), whether ``L_i`` and ``R_i`` exist.

        Where one does not exist its position is clamped: the caller selects it away.
        """
        axis, i, n = self.axis, ix[self.axis], self.n

        def read(arrays: Sequence[Atom], pos: Atom) -> list[Atom]:
            return [op("index", a, *ix[:axis], pos, *ix[axis + 1 :]) for a in arrays]

        left = read(self.prefix, op("maximum", op("sub", i, idx(1)), idx(0)))
        right = read(self.suffix, op("minimum", op("add", i, idx(1)), idx(n - 1)))
        return left, read(self.xs, i), right, op("gt", i, idx(0)), op("lt", i, idx(n - 1))


def _general_fold_tangent(lam: Program, env: Env, xs: list[Atom], xs_tan: list[Tan], around: _Around) -> list[Tan]:
    """``Σ_i ∂F/∂x_i · x_tan_i`` with ``F = f(f(L_i, x_i), R_i)`` (see the module doc)."""
    k = len(xs)
    axis = around.axis
    shape = xs[0].shape
    seeded = [c for c in range(k) if differentiable(xs[c].type) and not is_zero(xs_tan[c])]
    floats = [j for j in range(k) if differentiable(xs[j].type)]
    if not seeded:
        return [Zero(o.type.with_shape(shape[:axis] + shape[axis + 1 :])) for o in xs]

    def body(*ix_values: object) -> list[object]:
        left, x_i, right, has_left, has_right = around.at([v.var for v in ix_values])  # type: ignore[attr-defined]
        partials: list[Atom] = []
        for c in seeded:
            seed: list[Tan] = [Zero(a.type) for a in x_i]
            seed[c] = Lit(x_i[c].dtype.type(1).item(), x_i[c].dtype)
            u_f, du_f = jvp_atoms(lam, left + x_i, [Zero(a.type) for a in left] + seed, env, boundary=True)
            u = [op("select", has_left, a, b) for a, b in zip(u_f, x_i, strict=False)]
            du = [_pick(has_left, a, b) for a, b in zip(du_f, seed, strict=False)]
            _, dy_f = jvp_atoms(lam, u + right, du + [Zero(a.type) for a in right], env, boundary=True)
            partials.extend(instantiate(_pick(has_right, dy_f[j], du[j])) for j in floats)
        return [value_of(p) for p in partials]

    lam_d, _ = trace_program(body, [scalar_type(INDEX_DTYPE)] * len(shape), "scalar")
    d = emit("generate", (), {"shape": shape, "lam": lam_d})
    out_tans: list[Tan] = []
    for j in range(k):
        if j not in floats:
            out_tans.append(Zero(xs[j].type.with_shape(shape[:axis] + shape[axis + 1 :])))
            continue
        terms = [tscale(xs_tan[c], d[s * len(floats) + floats.index(j)]) for s, c in enumerate(seeded)]
        out_tans.append(fold_add(instantiate(tsum(terms, xs[j].type)), axis))
    return out_tans


def _closure_fold_tangent(lam: Program, env: Env, around: _Around) -> list[Tan]:
    """``Σ_k d/dε [(L_k ⊕_{w+ε·w_tan} x_k) ⊕_w R_k]`` over the values ``w`` the operator closes over.

    See :mod:`pyaccad.ad.lambdas.closures`; position 0 applies no operator (``x_0`` stands for the result).
    """

    def body(ix: list[Atom], live: Apply, held: Apply) -> list[Atom]:
        left, x_i, right, has_left, has_right = around.at(ix)
        u = live(left + x_i)
        y = held(u + right)
        return [op("select", has_left, op("select", has_right, a, b), x) for a, b, x in zip(y, u, x_i, strict=True)]

    tans = closure_tangents(lam, env, around.xs[0].shape, body)
    return [t if is_zero(t) else fold_add(t, around.axis) for t in tans]


def _pick(p: Atom, a: Tan, b: Tan) -> Tan:
    if is_zero(a) and is_zero(b):
        return a
    return op("select", p, instantiate(a), instantiate(b))


def _with_init(
    lam: Program,
    env: Env,
    xs: list[Atom],
    axis: int,
    inits: Sequence[Atom],
    inits_tan: Sequence[Tan],
    f_tan: list[Tan],
    shape: tuple[int, ...],
) -> list[Tan]:
    """Tangent of ``y = f(z, F)`` from ``F_tan`` and ``z_tan``, by the lambda's partials in a ``map`` over ``F``."""
    folded = emit("fold", tuple(xs), {"lam": env.rename(lam), "axis": axis})
    z_env = Env(env)
    for z, z_tan in zip(inits, inits_tan, strict=False):
        z_env.tangents[z] = z_tan  # type: ignore[index]
    for v in lam.free_vars:  # values the operator closes over (pyaccad.ad.lambdas.closures): g reads their new atoms
        z_env.tangents[env.primal(v)] = env.tangent(v)  # type: ignore[index]

    def g(*fs: object) -> list[object]:
        f_atoms = [f.var for f in fs]  # type: ignore[attr-defined]
        ys, _ = jvp_atoms(lam, [*inits, *f_atoms], [Zero(a.type) for a in [*inits, *f_atoms]], env, boundary=True)
        return [value_of(y) for y in ys]

    g_lam, _ = trace_program(g, [scalar_type(a.dtype) for a in folded], "scalar")
    _, tans = lambda_tangents(
        g_lam,
        z_env,
        f_tan,
        shape,
        run=lambda lam2: emit("map", tuple(folded), {"lam": lam2}),
        input_basis=lambda i, t: t,
    )
    return tans
