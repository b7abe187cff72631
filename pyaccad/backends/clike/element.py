"""Elements: scalar lambdas as C statements, and the elements of delayed (fused) arrays.

``elem(ctx, var, idx)`` returns a C expression for ``var[idx]``: a load for a
manifest array, or the inlined computation of its producer for a delayed
one (element-wise operations, ``map``, ``generate``, ``backpermute`` and the
index maps), recursively. Results are memoised per (value, index) in the
current C block, so a producer read twice at one index is computed once::

    /* y = map(\\x -> sin x * x, a) read at flat index f */
    const float v1 = a[f];
    const float v2 = sin(v1);
    const float v3 = (v2 * v1);

Scalar ``cond``/``while`` inside lambdas become C ``if``/``for (;;)``;
``index`` reads check their bounds and set the error flag instead of reading
out of range. Non-zero float literals are read from ``E`` at run time (:meth:`.Ctx.float_lit`):

>>> from pyaccad.backends.clike.cgen import Ctx
>>> from pyaccad.ir import Lit, FLOAT64, INT64
>>> ctx = Ctx()
>>> atom(ctx, Lit(2.0, FLOAT64)), atom(ctx, Lit(0.0, FLOAT64)), atom(ctx, Lit(3, INT64)), ctx.prologue
('L1', '((double)0.0)', '((int64_t)3LL)', ['    const double L1 = (double)pa_f64_bits(E[0]);'])
"""

from __future__ import annotations

from collections.abc import Callable

from pyaccad.backends.clike.cgen import CTYPE, ZERO, Ctx, Index, c_literal, unravel
from pyaccad.ir import ELEMENTWISE, FLOAT32, FLOAT64, INT64, PRIMITIVES, Atom, Lit, Primitive, Program, Stmt, Var
from pyaccad.opt.rows import align_axes


def atom(ctx: Ctx, a: Atom) -> str:
    """The C expression of a scalar atom: a literal, a lambda-bound scalar, or a rank-0 array's element."""
    if isinstance(a, Lit):
        # zeros stay in the source (AD's structural zeros simplify in C), unless an extent made them
        if a.dtype in (FLOAT32, FLOAT64) and (a.value != 0 or a.from_extents):
            return ctx.float_lit(a.value, a.dtype)
        return c_literal(a.value, a.dtype)
    bound = ctx.lookup(a)
    if bound is not None:
        return bound
    return elem(ctx, a, Index([], []))


def call_lambda(
    ctx: Ctx, lam: Program, args: list[str], op: str | None = None, position: str | None = None
) -> list[str]:
    """Emit ``lam`` applied to the C expressions ``args``; return its outputs' expressions.

    ``op`` and ``position`` (C: the flat position of the element the lambda computes) name a failing bounds check
    (:meth:`.Ctx.inside`); None for a ``cond`` branch or loop body, which keep the enclosing lambda's.
    """
    for var, expr in zip(lam.inputs, args, strict=True):
        ctx.bind(var, expr)
    with ctx.inside(op, position):
        for stmt in lam.stmts:
            scalar_stmt(ctx, stmt)
        return [atom(ctx, a) for a in lam.outputs]


def scalar_stmt(ctx: Ctx, stmt: Stmt) -> None:
    """Emit one statement of a lambda body, binding its outputs."""
    name = stmt.prim.name
    out = stmt.outs[0]
    if name == "index":
        ctx.bind(out, _index(ctx, stmt))
    elif name == "cond":
        _scalar_cond(ctx, stmt)
    elif name == "while":
        _scalar_while(ctx, stmt)
    else:
        ctx.bind(out, ctx.declare(out.dtype, apply_elementwise(stmt, [atom(ctx, a) for a in stmt.args])))


def apply_elementwise(stmt: Stmt, args: list[str]) -> str:
    """The C expression of an element-wise statement (``ELEMENTWISE`` row, ``select`` or ``cast``)."""
    name = stmt.prim.name
    if name == "select":
        return f"({args[0]} ? {args[1]} : {args[2]})"
    if name == "cast":
        return f"(({CTYPE[stmt.params['dtype']]}){args[0]})"
    return ELEMENTWISE[name].c.format(*args)


def _index(ctx: Ctx, stmt: Stmt) -> str:
    array, *indices = stmt.args
    assert isinstance(array, Var)
    idx = [atom(ctx, i) for i in indices]
    flag = ctx.check_bounds(f"index inside {ctx.op}", array, idx, stmt.source)
    # `index` reads are manifest (fusion forces them): a guarded load, never an unconditional one
    value = f"{ctx.buffers[array]}[{Index(idx, ctx.shape(array)).linear()}]"
    return ctx.declare(array.dtype, f"({flag} ? {value} : {c_literal(0, array.dtype)})")


def _declare_outs(ctx: Ctx, outs: tuple[Var, ...]) -> list[str]:
    names = []
    for var in outs:
        name = ctx.fresh("s")
        ctx.emit(f"{CTYPE[var.dtype]} {name};")
        names.append(name)
    return names


def _scalar_cond(ctx: Ctx, stmt: Stmt) -> None:
    names = _declare_outs(ctx, stmt.outs)
    pred = atom(ctx, stmt.args[0])
    for header, branch in ((f"if ({pred})", "then_"), ("else", "else_")):
        with ctx.block(header):
            results = call_lambda(ctx, stmt.params[branch], [])
            for name, value in zip(names, results, strict=True):
                ctx.emit(f"{name} = {value};")
    for var, name in zip(stmt.outs, names, strict=True):
        ctx.bind(var, name)


def _scalar_while(ctx: Ctx, stmt: Stmt) -> None:
    names = _declare_outs(ctx, stmt.outs)
    for name, init in zip(names, stmt.args, strict=True):
        ctx.emit(f"{name} = {atom(ctx, init)};")
    with ctx.block("for (;;)"):
        (going,) = call_lambda(ctx, stmt.params["cond"], names)
        ctx.emit(f"if (!{going}) break;")
        with ctx.block():
            results = call_lambda(ctx, stmt.params["body"], names)
            temps = [ctx.declare(v.dtype, r, "n") for v, r in zip(stmt.outs, results, strict=True)]
            for name, temp in zip(names, temps, strict=True):
                ctx.emit(f"{name} = {temp};")
    for var, name in zip(stmt.outs, names, strict=True):
        ctx.bind(var, name)


# -- delayed arrays ---------------------------------------------------------------------------------


def elem(ctx: Ctx, var: Var, idx: Index) -> str:
    """A C expression for ``var[idx]`` (a load, or the fused computation of a delayed producer)."""
    stmt = ctx.delayed.get(var)
    if stmt is None:
        # A load of its own (memoised), never inside a `?:`: conditional loads block vectorisation.
        key = (var, idx.key())
        name = ctx.lookup(key)
        if name is None:
            name = ctx.declare(var.dtype, ctx.element(var, idx.linear()), "x")
            ctx.remember(key, name)
        return name
    key = (stmt, idx.key())
    outs = ctx.lookup(key)
    if outs is None:
        outs = produce(ctx, stmt, idx)
        ctx.remember(key, outs)
    return outs[stmt.outs.index(var)]


def produce(ctx: Ctx, stmt: Stmt, idx: Index) -> list[str]:
    """C expressions for the elements at ``idx`` of a delayed statement's results (its rule in :data:`PRODUCERS`)."""
    return PRODUCERS[stmt.prim](ctx, stmt, idx)


def _elementwise(ctx: Ctx, stmt: Stmt, idx: Index) -> list[str]:
    args = [elem(ctx, a, idx) if isinstance(a, Var) else atom(ctx, a) for a in stmt.args]
    return [ctx.declare(stmt.outs[0].dtype, apply_elementwise(stmt, args))]


def _map(ctx: Ctx, stmt: Stmt, idx: Index) -> list[str]:
    args = [elem(ctx, a, idx) for a in stmt.args]
    results = call_lambda(ctx, stmt.params["lam"], args, "map", idx.linear())
    return [ctx.declare(v.dtype, r) for v, r in zip(stmt.outs, results, strict=True)]


def _generate(ctx: Ctx, stmt: Stmt, idx: Index) -> list[str]:
    results = call_lambda(ctx, stmt.params["lam"], idx.multi, "generate", idx.linear())
    return [ctx.declare(v.dtype, r) for v, r in zip(stmt.outs, results, strict=True)]


def _backpermute(ctx: Ctx, stmt: Stmt, idx: Index) -> list[str]:
    (x,) = stmt.args
    target = call_lambda(ctx, stmt.params["index"], idx.multi, "backpermute", idx.linear())
    with ctx.inside("backpermute", idx.linear()):
        return [_checked_read(ctx, x, target, stmt)]


def _checked_read(ctx: Ctx, x: Var, target: list[str], stmt: Stmt) -> str:
    flag = ctx.check_bounds("backpermute", x, target, stmt.source)
    result = ctx.fresh("g")
    ctx.emit(f"{CTYPE[x.dtype]} {result} = {c_literal(0, x.dtype)};")
    with ctx.block(f"if ({flag})"):
        ctx.emit(f"{result} = {elem(ctx, x, Index(target, ctx.shape(x)))};")
    return result


def _broadcast(ctx: Ctx, stmt: Stmt, idx: Index) -> list[str]:
    x = stmt.args[0]
    if isinstance(x, Lit):
        return [atom(ctx, x)]
    # a broadcast axis reads element 0; an axis of extent 1 on both sides reads idx (also 0) so that the
    # source does not depend on whether a batch axis happens to have extent 1
    out_shape = stmt.outs[0].shape
    src = [ZERO if x.shape[a] == 1 != out_shape[d] else idx.multi[d] for a, d in enumerate(stmt.params["dims"])]
    return [elem(ctx, x, Index(src, ctx.shape(x)))]


def _reshape(ctx: Ctx, stmt: Stmt, idx: Index) -> list[str]:
    x = stmt.args[0]
    shape = ctx.shape(x)
    if [n for n in stmt.outs[0].shape if n != 1] == [n for n in x.shape if n != 1]:
        # only size-1 axes come or go (the common case): map the other axes, no division
        src = align_axes(x.shape, stmt.outs[0].shape, idx.multi, ZERO)
        return [elem(ctx, x, Index(src, shape, idx.flat))]
    flat = ctx.declare(INT64, idx.linear(), "f")
    return [elem(ctx, x, Index(unravel(ctx, flat, shape), shape, flat))]


def _transpose(ctx: Ctx, stmt: Stmt, idx: Index) -> list[str]:
    perm = stmt.params["perm"]
    src = [""] * len(perm)
    for i, axis in enumerate(perm):
        src[axis] = idx.multi[i]
    return [elem(ctx, stmt.args[0], Index(src, ctx.shape(stmt.args[0])))]


def _reverse(ctx: Ctx, stmt: Stmt, idx: Index) -> list[str]:
    shape = ctx.shape(stmt.args[0])
    src = [f"({shape[a]}-1-{i})" if a in stmt.params["axes"] else i for a, i in enumerate(idx.multi)]
    return [elem(ctx, stmt.args[0], Index(src, shape))]


def _slice(ctx: Ctx, stmt: Stmt, idx: Index) -> list[str]:
    p = stmt.params
    # a unit step stays in the source (a parameter, not an extent): the reads are then contiguous to gcc
    steps = ["" if st == 1 else f"*{ctx.ext(st)}" for st in p["steps"]]
    src = [f"({ctx.ext(lo)}+{i}{st})" for i, lo, st in zip(idx.multi, p["starts"], steps, strict=True)]
    return [elem(ctx, stmt.args[0], Index(src, ctx.shape(stmt.args[0])))]


def _pad(ctx: Ctx, stmt: Stmt, idx: Index) -> list[str]:
    x, value = stmt.args
    known = ctx.known_pads.get(stmt)
    if known is False:
        return [atom(ctx, value)]
    shape = ctx.shape(x)
    src, conds = [], []
    for i, n, lo, mid in zip(idx.multi, shape, stmt.params["lo"], stmt.params["interior"], strict=True):
        t = ctx.declare(INT64, f"({i}-{ctx.ext(lo)})", "t")
        if mid == 0:  # no interior padding (what a slice transposes into): no division by a run-time step
            src.append(t)
            conds.append(f"{t} >= 0 && {t} < {n}")
            continue
        step = ctx.ext(mid + 1)
        src.append(f"({t}/{step})")
        conds.append(f"{t} >= 0 && {t} % {step} == 0 && {t}/{step} < {n}")
    if known:
        return [elem(ctx, x, Index(src, shape))]
    result = ctx.fresh("p")
    ctx.emit(f"{CTYPE[x.dtype]} {result};")
    with ctx.block(f"if ({' && '.join(conds) or '1'})"):
        ctx.emit(f"{result} = {elem(ctx, x, Index(src, shape))};")
    with ctx.block("else"):
        ctx.emit(f"{result} = {atom(ctx, value)};")
    return [result]


def _concatenate(ctx: Ctx, stmt: Stmt, idx: Index) -> list[str]:
    axis = stmt.params["axis"]
    result = ctx.fresh("c")
    ctx.emit(f"{CTYPE[stmt.outs[0].dtype]} {result};")
    offset = "0"
    for n, part in enumerate(stmt.args):
        shape = ctx.shape(part)
        local = f"({idx.multi[axis]}-{offset})"
        last = n == len(stmt.args) - 1
        header = "" if last else f"if ({idx.multi[axis]} < {offset}+{shape[axis]})"
        src = [local if a == axis else i for a, i in enumerate(idx.multi)]
        with ctx.block(f"else {header}" if n else header):
            ctx.emit(f"{result} = {elem(ctx, part, Index(src, shape))};")
        offset = f"({offset}+{shape[axis]})"
    return [result]


Producer = Callable[[Ctx, Stmt, Index], list[str]]
PRODUCERS: dict[Primitive, Producer] = {
    **{prim: _elementwise for prim in PRIMITIVES.values() if prim.family == "elementwise"},
    PRIMITIVES["map"]: _map,
    PRIMITIVES["generate"]: _generate,
    PRIMITIVES["backpermute"]: _backpermute,
    PRIMITIVES["broadcast_in_dim"]: _broadcast,
    PRIMITIVES["reshape"]: _reshape,
    PRIMITIVES["transpose"]: _transpose,
    PRIMITIVES["reverse"]: _reverse,
    PRIMITIVES["slice"]: _slice,
    PRIMITIVES["pad"]: _pad,
    PRIMITIVES["concatenate"]: _concatenate,
}
"""How each primitive fusion may delay (``opt.fusion.FUSIBLE``) computes an element inside its consumer."""
