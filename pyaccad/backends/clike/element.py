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
from typing import Any

import numpy as np

from pyaccad.backends.clike.cgen import CTYPE, Ctx, Index, c_literal, unravel
from pyaccad.ir import (
    ELEMENTWISE,
    FLOAT16,
    FLOAT64,
    INT64,
    PRIMITIVES,
    Atom,
    Lit,
    Primitive,
    Program,
    Stmt,
    Var,
)
from pyaccad.ir.index_maps import INDEX_MAPS, Bin, Cond, Const, Expr, Extent, Let, Out, OutFlat, Read, Unravel, reads_of
from pyaccad.ir.types import is_float, is_unsigned


def atom(ctx: Ctx, a: Atom) -> str:
    """The C expression of a scalar atom: a literal, a lambda-bound scalar, or a rank-0 array's element."""
    if isinstance(a, Lit):
        # zeros stay in the source (AD's structural zeros simplify in C), unless an extent made them
        if is_float(a.dtype) and (a.value != 0 or a.from_extents):
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
    """Emit one statement of a lambda body, binding its outputs (its rule in :data:`SCALAR_STATEMENTS`)."""
    SCALAR_STATEMENTS[stmt.prim](ctx, stmt)


def _scalar_elementwise(ctx: Ctx, stmt: Stmt) -> None:
    out = stmt.outs[0]
    ctx.bind(out, ctx.declare(out.dtype, apply_elementwise(stmt, [atom(ctx, a) for a in stmt.args])))


def apply_elementwise(stmt: Stmt, args: list[str]) -> str:
    """The C expression of an element-wise statement (its rule in :data:`ELEMENT_EXPRESSIONS`)."""
    return ELEMENT_EXPRESSIONS[stmt.prim](stmt, args)


def elementwise_c(name: str, dtype: np.dtype, args: list[str]) -> str:
    """The C expression of the ``ELEMENTWISE`` row ``name`` on operands (C expressions) of ``dtype``.

    float16 operands are converted to float and the operation computed in float; the result, stored
    as ``pa_half``, is rounded to half once. That is NumPy's float16 arithmetic (each ufunc converts to
    float32, computes, rounds), and for ``+ - * /`` and ``sqrt`` it is the correctly rounded half result
    (float's 24 bits are at least twice half's 11, plus 2: double rounding is innocuous). It also needs
    no half arithmetic from the CPU or the GPU, only conversions.

    uint8 and uint16 operands are computed in uint32: C would promote them to int, where a uint16 product can
    overflow (undefined behaviour, unlike unsigned arithmetic, which wraps); the result, stored in the narrow
    type, is the same modulo 2**bits.

    >>> from pyaccad.ir import FLOAT16, FLOAT32, UINT16
    >>> elementwise_c("add", FLOAT16, ["a", "b"]), elementwise_c("add", FLOAT32, ["a", "b"])
    ('(((float)a) + ((float)b))', '(a + b)')
    >>> elementwise_c("mul", UINT16, ["a", "b"])
    '(((uint32_t)a) * ((uint32_t)b))'
    """
    if dtype == FLOAT16:
        args = [f"((float){a})" for a in args]
    elif is_unsigned(dtype) and dtype.itemsize < 4:
        args = [f"((uint32_t){a})" for a in args]
    return ELEMENTWISE[name].c.format(*args)


ELEMENT_EXPRESSIONS: dict[Primitive, Callable[[Stmt, list[str]], str]] = {
    **{
        PRIMITIVES[name]: lambda stmt, args: elementwise_c(stmt.prim.name, stmt.args[0].dtype, args)
        for name in ELEMENTWISE
    },
    PRIMITIVES["select"]: lambda stmt, args: f"({args[0]} ? {args[1]} : {args[2]})",
    PRIMITIVES["cast"]: lambda stmt, args: cast_expr(args[0], stmt.args[0].dtype, stmt.params["dtype"]),
}
"""The C expression of each element-wise primitive (``ELEMENTWISE`` rows by their C template), of its operands'."""


def cast_expr(x: str, source: np.dtype, target: np.dtype) -> str:
    """C for ``x`` (of dtype ``source``) converted to ``target``, as NumPy's ``astype`` (C's conversions).

    A half goes through float (exact) and becomes a half from a double directly (one rounding, as NumPy's)
    and from anything else through float: an integer that float would round is beyond half's range anyway.

    >>> from pyaccad.ir import FLOAT16, FLOAT64, INT8
    >>> cast_expr("x", FLOAT16, INT8), cast_expr("y", FLOAT64, FLOAT16), cast_expr("z", INT8, FLOAT16)
    ('((int8_t)(float)x)', '((pa_half)y)', '((pa_half)(float)z)')
    """
    through = "(float)" if FLOAT16 in (source, target) and FLOAT64 not in (source, target) else ""
    return f"(({CTYPE[target]}){through}{x})"


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
    with ctx.block("for (;;)"), ctx.repeating():
        (going,) = call_lambda(ctx, stmt.params["cond"], names)
        ctx.emit(f"if (!{going}) break;")
        with ctx.block():
            results = call_lambda(ctx, stmt.params["body"], names)
            temps = [ctx.declare(v.dtype, r, "n") for v, r in zip(stmt.outs, results, strict=True)]
            for name, temp in zip(names, temps, strict=True):
                ctx.emit(f"{name} = {temp};")
    for var, name in zip(stmt.outs, names, strict=True):
        ctx.bind(var, name)


SCALAR_STATEMENTS: dict[Primitive, Callable[[Ctx, Stmt], None]] = {
    **{prim: _scalar_elementwise for prim in ELEMENT_EXPRESSIONS},
    PRIMITIVES["index"]: lambda ctx, stmt: ctx.bind(stmt.outs[0], _index(ctx, stmt)),
    PRIMITIVES["cond"]: _scalar_cond,
    PRIMITIVES["while"]: _scalar_while,
}
"""How each primitive that may stand in a lambda is emitted there (the coverage test holds it to their scopes)."""


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


def _index_map(ctx: Ctx, stmt: Stmt, idx: Index) -> list[str]:
    """An index map's element (:mod:`pyaccad.ir.index_maps`): its one read, or a chain of ``if``s over its reads.

    Every index and condition is printed before the chain (their temporaries must be visible in every
    branch); each branch then loads (or computes, when delayed) only its own operand's element.
    """
    printer = _IndexPrinter(ctx, stmt, idx)
    candidates = reads_of(stmt)
    known = ctx.known_pads.get(stmt)
    if known is not None:  # a run of a map loop where this pad is known inside (or outside) along its last axis
        inside, outside = candidates
        if not known:
            return [printer.load(outside, None)]
        if not any(stmt.params["lo"][:-1]) and not any(stmt.params["hi"][:-1]):
            return [printer.load(inside, printer.index(inside))]
        # padded along other axes too: their tests stay (two per axis, the last axis's last)
        candidates = [Read(inside.arg, inside.index, inside.valid[:-2], inside.flat), outside]
    reads = []
    for read in candidates:
        conds = [printer.cond(c) for c in read.valid]
        reads.append((read, printer.index(read), conds))
        if not conds:
            break  # it holds everywhere: no later read is reached
    if len(reads) == 1:
        return [printer.load(*reads[0][:2])]
    result = ctx.fresh("p")
    ctx.emit(f"{CTYPE[stmt.outs[0].dtype]} {result};")
    for n, (read, index, conds) in enumerate(reads):
        header = f"if ({' && '.join(conds)})" if conds else ""
        with ctx.block(f"else {header}".strip() if n else header):
            ctx.emit(f"{result} = {printer.load(read, index)};")
    return [result]


class _IndexPrinter:
    """The C of one index-map statement's expressions at the result's element ``idx``."""

    def __init__(self, ctx: Ctx, stmt: Stmt, idx: Index) -> None:
        self.ctx, self.stmt, self.idx = ctx, stmt, idx
        self.memo: dict[Any, Any] = {}  # shared nodes (a Let's name, a Const's run-time slot) are printed once

    def load(self, read: Read, index: Index | None) -> str:
        arg = self.stmt.args[read.arg]
        return atom(self.ctx, arg) if index is None else elem(self.ctx, arg, index)  # type: ignore[arg-type]

    def index(self, read: Read) -> Index | None:
        """The operand element's :class:`Index` (None for a literal operand: a splat)."""
        arg = self.stmt.args[read.arg]
        if isinstance(arg, Lit):
            return None
        multi = [f"((int64_t){e.value})" if isinstance(e, Const) and e.literal else self.expr(e) for e in read.index]
        flat = self.idx.flat if isinstance(read.flat, OutFlat) else None if read.flat is None else self.expr(read.flat)
        return Index(multi, self.ctx.shape(arg), flat)

    def cond(self, c: Cond) -> str:
        return f"{self.expr(c.a)} {c.op} {self.expr(c.b)}"

    def expr(self, e: Expr) -> str:
        if id(e) not in self.memo:
            self.memo[id(e)] = self._expr(e)
        value = self.memo[id(e)]
        return value[e.axis] if isinstance(e, Unravel) else value

    def _expr(self, e: Expr) -> Any:
        ctx = self.ctx
        if isinstance(e, Out):
            return self.idx.multi[e.axis]
        if isinstance(e, OutFlat):
            return self.idx.linear()
        if isinstance(e, Const):
            return str(e.value) if e.literal else ctx.ext(e.value)
        if isinstance(e, Extent):
            return ctx.shape(self.stmt.args[e.arg])[e.axis]  # type: ignore[arg-type]
        if isinstance(e, Let):
            return ctx.declare(INT64, self.expr(e.expr), e.hint)
        if isinstance(e, Unravel):  # every axis at once, memoised under the position's node
            key = ("unravel", id(e.flat), e.arg)
            if key not in self.memo:
                self.memo[key] = unravel(ctx, self.expr(e.flat), ctx.shape(self.stmt.args[e.arg]))  # type: ignore
            return self.memo[key]
        assert isinstance(e, Bin)
        return f"({self.expr(e.a)}{e.op}{self.expr(e.b)})"


Producer = Callable[[Ctx, Stmt, Index], list[str]]
PRODUCERS: dict[Primitive, Producer] = {
    **{prim: _elementwise for prim in PRIMITIVES.values() if prim.family == "elementwise"},
    PRIMITIVES["map"]: _map,
    PRIMITIVES["generate"]: _generate,
    PRIMITIVES["backpermute"]: _backpermute,
    **{prim: _index_map for prim in INDEX_MAPS},
}
"""How each primitive fusion may delay (``opt.fusion.FUSIBLE``) computes an element inside its consumer."""
