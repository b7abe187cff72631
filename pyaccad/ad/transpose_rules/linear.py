"""Transpose rules of the linear primitives (element-wise, structural, collective).

The pairs, as in the architecture: ``fold (+)`` ↔ broadcast, ``backpermute``
↔ ``permute (+)``, ``scan (+)`` ↔ the reversed ``scan (+)``, the linear
recurrence of :mod:`pyaccad.ad.jvp_rules.scan` ↔ the reversed recurrence,
``matmul`` ↔ ``matmul`` with the transposed residual, ``slice`` ↔ ``pad``,
``reshape``/``transpose``/``reverse`` ↔ themselves inverted,
``concatenate`` ↔ slices, ``select`` ↔ ``select`` with zeros. A product or
quotient is linear in the operand that is a linear variable; the other one
is a residual.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> acc.jit(ad.grad(lambda x: acc.scanl1(lambda a, b: a + b, x)[1]))(np.ones(3))
array([1., 1., 0.])
"""

from __future__ import annotations

from pyaccad.ad.emitters import along, at_targets, axis_slice, binary, lit, op, sum_all
from pyaccad.ad.jvp_rules.scan import linear_recurrence, recurrence_size
from pyaccad.ad.tangents import Tan, instantiate, is_zero, tcast
from pyaccad.ad.transpose import Contributions, TransposeContext, register
from pyaccad.errors import NotDifferentiable
from pyaccad.frontend.tracing import call_program, emit, fail, trace_program, value_of
from pyaccad.ir import BOOL, INDEX_DTYPE, Atom, Lit, Program, Stmt, scalar_type
from pyaccad.ir.monoids import monoids


def sum_to(ct: Atom, axes: list[int], shape: tuple[int, ...]) -> Atom:
    """``ct`` summed over ``axes`` (highest first), then reshaped to ``shape``."""
    for axis in sorted(axes, reverse=True):
        (ct,) = (
            emit("fold", (ct,), {"lam": binary("add", ct.dtype), "axis": axis})
            if ct.shape[axis]
            else (lit(0, ct.type.with_shape(ct.shape[:axis] + ct.shape[axis + 1 :])),)
        )
    return op("reshape", ct, shape=shape) if ct.shape != shape else ct


@register("add")
def _add_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    return [(args[0], cts[0]), (args[1], cts[0])]


@register("sub")
def _sub_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    a, b = args
    return [(a, cts[0])] + ([(b, op("neg", cts[0]))] if ctx.is_linear(b) else [])


@register("neg")
def _neg_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    return [(args[0], op("neg", cts[0]))]


@register("mul")
def _mul_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    a, b = args
    if ctx.is_linear(a) and ctx.is_linear(b):
        fail(NotDifferentiable, "mul: product of two tangents in a linear program (a JVP rule is not linear)")
    return [(a, op("mul", cts[0], b))] if ctx.is_linear(a) else [(b, op("mul", a, cts[0]))]


@register("div")
def _div_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    return [(args[0], op("div", cts[0], args[1]))]


@register("select")
def _select_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    p, a, b = args
    zero = lit(0, a.type)
    found: Contributions = []
    if ctx.is_linear(a):
        found.append((a, op("select", p, cts[0], zero)))
    if ctx.is_linear(b):
        found.append((b, op("select", p, zero, cts[0])))
    return found


@register("cast")
def _cast_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    return [(args[0], tcast(cts[0], args[0].type))]


@register("broadcast_in_dim")
def _broadcast_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    (x,) = args
    dims = stmt.params["dims"]
    shape = stmt.params["shape"]
    summed = [d for d in range(len(shape)) if d not in dims]
    summed += [dims[i] for i, n in enumerate(x.shape) if n == 1 and shape[dims[i]] != 1]
    return [(x, sum_to(cts[0], summed, x.shape))]


@register("reshape")
def _reshape_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    return [(args[0], op("reshape", cts[0], shape=args[0].shape))]


@register("transpose")
def _transpose_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    perm = stmt.params["perm"]
    inverse = tuple(sorted(range(len(perm)), key=lambda i: perm[i]))
    return [(args[0], op("transpose", cts[0], perm=inverse))]


@register("reverse")
def _reverse_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    return [(args[0], op("reverse", cts[0], axes=stmt.params["axes"]))]


@register("slice")
def _slice_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    (x,) = args
    out_shape = stmt.outs[0].shape
    lo = tuple(stmt.params["starts"])
    steps = stmt.params["steps"]
    hi = tuple(
        n - s - (m - 1) * st - 1 if m else n - s for n, s, m, st in zip(x.shape, lo, out_shape, steps, strict=False)
    )
    interior = tuple(st - 1 for st in steps)
    return [(x, op("pad", cts[0], lit(0, x.type.with_shape(())), lo=lo, hi=hi, interior=interior))]


@register("pad")
def _pad_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    x, value = args
    lo, interior = stmt.params["lo"], stmt.params["interior"]
    steps = tuple(i + 1 for i in interior)
    stops = tuple(s + (n - 1) * st + 1 if n else s for s, n, st in zip(lo, x.shape, steps, strict=False))
    x_ct = op("slice", cts[0], starts=tuple(lo), stops=stops, steps=steps)
    found: Contributions = [(x, x_ct)]
    if ctx.is_linear(value):
        found.append((value, op("sub", sum_all(cts[0]), sum_all(x_ct))))
    return found


@register("concatenate")
def _concatenate_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    axis = stmt.params["axis"]
    found: Contributions = []
    start = 0
    for x in args:
        n = x.shape[axis]
        if ctx.is_linear(x):
            found.append((x, axis_slice(cts[0], axis, start, start + n)))
        start += n
    return found


@register("matmul")
def _matmul_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    a, b = args

    def t(m: Atom) -> Atom:
        perm = (*range(m.type.ndim - 2), m.type.ndim - 1, m.type.ndim - 2)
        return op("transpose", m, perm=perm)

    if ctx.is_linear(a):
        return [(a, op("matmul", cts[0], t(b)))]
    return [(b, op("matmul", t(a), cts[0]))]


@register("fold")
def _fold_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    found = monoids(stmt.params["lam"])
    if found is None or any(m != "add" for m in found):
        fail(NotDifferentiable, "fold: only fold (+) is linear (a JVP rule emitted another one)")
    k, axis = len(stmt.outs), stmt.params["axis"]
    xs, inits = args[:k], args[k:]
    result: Contributions = []
    for j, ct in enumerate(cts):
        if is_zero(ct):
            continue
        result.append((xs[j], along(ct, xs[j].shape, axis)))
        if inits and ctx.is_linear(inits[j]):
            result.append((inits[j], sum_all(ct)))
    return result


@register("scan")
def _scan_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    lam, axis, reverse = stmt.params["lam"], stmt.params["axis"], stmt.params["reverse"]
    found = monoids(lam)
    if found is None or any(m != "add" for m in found):
        m = recurrence_size(lam)
        if m is None or ctx.is_linear(args[0]):
            fail(NotDifferentiable, "scan: only scan (+) and linear recurrences are linear")
        return _recurrence_t(args, m, cts, axis, reverse)
    k = len(stmt.outs)
    xs, inits = args[:k], args[k:]
    result: Contributions = []
    for j, ct in enumerate(cts):
        if is_zero(ct):
            continue
        n = xs[j].shape[axis]
        if inits:
            part = axis_slice(ct, axis, 0, n) if reverse else axis_slice(ct, axis, 1, n + 1)
            if ctx.is_linear(inits[j]):
                result.append((inits[j], sum_all(ct)))
        else:
            part = ct
        if n:
            (x_ct,) = emit("scan", (part,), {"lam": binary("add", ct.dtype), "axis": axis, "reverse": not reverse})
            result.append((xs[j], x_ct))
    return result


def _recurrence_t(args: list[Atom], m: int, cts: list[Tan], axis: int, reverse: bool) -> Contributions:
    """Transpose of ``y_i = A_i·y_{i∓1} + b_i`` in ``b``: ``c_i = ct_i + A_{i±1}ᵀ·c_{i±1}``, the other way."""
    a, b, b_cts = args[: m * m], args[m * m :], cts[m * m :]
    if all(is_zero(c) for c in b_cts):
        return []
    n = a[0].shape[axis]
    zero = lit(0, a[0].type.with_shape(()))
    edge = tuple(1 if d == axis else 0 for d in range(a[0].type.ndim))
    none = (0,) * a[0].type.ndim

    def shifted(entry: Atom) -> Atom:
        if reverse:  # c_i = ct_i + A_{i-1}ᵀ c_{i-1}
            return op("pad", axis_slice(entry, axis, 0, n - 1), zero, lo=edge, hi=none, interior=none)
        return op("pad", axis_slice(entry, axis, 1, n), zero, lo=none, hi=edge, interior=none)  # A_{i+1}ᵀ c_{i+1}

    a_t = [shifted(a[q * m + p]) for p in range(m) for q in range(m)]
    c = linear_recurrence(a_t, [instantiate(ct) for ct in b_cts], axis, not reverse)
    return list(zip(b, c, strict=True))


@register("backpermute")
def _backpermute_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    (x,) = args
    index = stmt.params["index"]

    def scatter_to(*ix: object) -> list[object]:
        return [value_of(Lit(True, BOOL)), *call_program(index, list(ix))]

    target, _ = trace_program(scatter_to, index.input_types, "scalar")
    add = binary("add", x.dtype)
    return [(x, op("permute", lit(0, x.type), cts[0], combine=add, index=target))]


@register("permute")
def _permute_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    defaults, x = args
    kind = (monoids(stmt.params["combine"]) or [None])[0]
    index = stmt.params["index"]
    (ct,) = cts
    if kind == "add":
        return [(defaults, ct)] + ([(x, gather_kept(ct, x, index))] if ctx.is_linear(x) else [])
    if kind != "first":
        fail(NotDifferentiable, f"permute: combine {kind} is not linear")
    # Overwrite: writes to one target land in source order, so the last source written there wins; the
    # cotangent goes to that source, or to the default where nothing was written.
    position = _source_positions(x.shape)
    winner = op(
        "permute",
        lit(-1, defaults.type.with_dtype(INDEX_DTYPE)),
        position,
        combine=binary("maximum", INDEX_DTYPE),
        index=index,
    )

    def won(source: list[Atom], target: list[Atom]) -> Atom:
        mine = op("eq", op("index", winner, *target), op("index", position, *source))
        return op("select", mine, op("index", ct, *target), Lit(0.0, ct.dtype))

    unwritten = op("eq", winner, lit(-1, winner.type))
    x_ct = at_targets(index, x.shape, won, Lit(0.0, ct.dtype))
    return [(defaults, op("select", unwritten, ct, lit(0, ct.type))), (x, x_ct)]


def _source_positions(shape: tuple[int, ...]) -> Atom:
    """The row-major position of each element, as an int64 array of ``shape``."""

    def position(*ix: object) -> object:
        flat: Atom = Lit(0, INDEX_DTYPE)
        for i, n in zip(ix, shape, strict=True):
            flat = op("add", op("mul", flat, Lit(n, INDEX_DTYPE)), i.var)  # type: ignore[attr-defined]
        return value_of(flat)

    lam, _ = trace_program(position, [scalar_type(INDEX_DTYPE)] * len(shape), "scalar")
    return op("generate", shape=shape, lam=lam)


def gather_kept(ct: Atom, x: Atom, index: Program) -> Atom:
    """Per source element of a scatter: the cotangent at its target, 0 for a dropped element."""
    return at_targets(index, x.shape, lambda source, target: op("index", ct, *target), Lit(0.0, ct.dtype))
