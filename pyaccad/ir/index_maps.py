"""What each index map means, written once: for an element of the result, which operand element it is.

The seven primitives of the ``index_map`` family (``broadcast_in_dim``, ``reshape``, ``transpose``,
``reverse``, ``slice``, ``pad``, ``concatenate``) compute nothing: each element of the result is an
element of an operand. An :class:`IndexMap` says which, as index expressions over the result's index
``(Out(0), Out(1), ...)``: a list of :class:`Read` — the element is operand ``arg`` at ``index`` when
every condition of ``valid`` holds; the reads are tried in order and the last has no condition (``pad``
reads ``x`` inside, its padding value elsewhere; ``concatenate`` reads the part the index falls in).

Every stage that needs an index map's meaning derives it from here:

* the interpreter gathers with NumPy (:func:`pyaccad.backends.interp.structural.gather`);
* the C-like printer prints the expressions (:func:`pyaccad.backends.clike.element.produce`);
* the row analysis asks whether a read stays in the row being computed (:func:`follows_row`);
* the simplifier asks a map whether it is the identity and how two of it compose (:attr:`IndexMap.identity`,
  :attr:`IndexMap.compose`).

Integers known when the program is traced (slice bounds, pad widths) are :class:`Const`; a compiled
backend reads them at run time (its source must not depend on them), unless ``literal``.

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> stmt = trace(lambda x: x[1:, ::2], np.ones((4, 6))).program.stmts[0]
>>> (read,) = reads_of(stmt)
>>> read.index
((Const(1) + (Out(0) * Const(1, True))), (Const(0) + (Out(1) * Const(2))))
>>> follows_row(read, stmt)
False
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, TypeVar

from pyaccad.ir.core import Primitive, Stmt
from pyaccad.ir.primitives.structural import BROADCAST_IN_DIM, CONCATENATE, PAD, RESHAPE, REVERSE, SLICE, TRANSPOSE

Params = Mapping[str, Any]
Shape = tuple[int, ...]


class Expr:
    """An integer index expression (nodes compare by identity: a shared node is computed once)."""

    __slots__ = ()

    def __repr__(self) -> str:
        if isinstance(self, Bin):
            return f"({self.a!r} {self.op} {self.b!r})"
        values = [getattr(self, f.name) for f in fields(self)]  # type: ignore[arg-type]
        return f"{type(self).__name__}({', '.join(repr(v) for v in values if v is not False)})"


@dataclass(frozen=True, eq=False, repr=False)
class Out(Expr):
    """The result's index along ``axis``."""

    axis: int


@dataclass(frozen=True, eq=False, repr=False)
class OutFlat(Expr):
    """The result element's row-major position."""


@dataclass(frozen=True, eq=False, repr=False)
class Const(Expr):
    """An integer known at trace time; ``literal``: a compiled backend may write it into its source."""

    value: int
    literal: bool = False


@dataclass(frozen=True, eq=False, repr=False)
class Extent(Expr):
    """Operand ``arg``'s extent along ``axis``."""

    arg: int
    axis: int


@dataclass(frozen=True, eq=False, repr=False)
class Bin(Expr):
    """``a op b`` for ``op`` one of ``+ - * / %`` (``/`` and ``%`` only of non-negative operands where it counts)."""

    op: str
    a: Expr
    b: Expr


@dataclass(frozen=True, eq=False, repr=False)
class Let(Expr):
    """``expr``, used more than once: computed once (``hint`` names it in generated code)."""

    expr: Expr
    hint: str


@dataclass(frozen=True, eq=False, repr=False)
class Unravel(Expr):
    """The index along ``axis`` of row-major position ``flat`` in operand ``arg``'s shape."""

    flat: Expr
    arg: int
    axis: int


@dataclass(frozen=True, eq=False)
class Cond:
    """``a op b`` for ``op`` one of ``>= < ==``."""

    op: str
    a: Expr
    b: Expr


@dataclass(frozen=True)
class Read:
    """The element is operand ``arg`` at ``index`` where every condition of ``valid`` holds.

    ``flat``: the operand element's row-major position where it is that cheap (``OutFlat()`` when it is the
    result's: a reshape), else None.
    """

    arg: int
    index: tuple[Expr, ...]
    valid: tuple[Cond, ...] = ()
    flat: Expr | None = None


Reads = Callable[[Sequence[Shape], Shape, Params], list[Read]]


@dataclass(frozen=True)
class IndexMap:
    """One index-map primitive: its :data:`Reads`, when it is the identity, and how two of it compose.

    ``compose(outer, inner)``: the params of one statement of this primitive, applied to ``inner``'s operands,
    that computes ``outer`` applied to ``inner``'s result; None when the primitive does not compose.
    """

    reads: Reads
    identity: Callable[[Stmt], bool]
    compose: Callable[[Stmt, Stmt], dict[str, Any]] | None = None


_ZERO = Const(0, literal=True)
T = TypeVar("T")


def align_axes(src_shape: Shape, out_shape: Shape, out_idx: Sequence[T], zero: T) -> list[T]:
    """Indices into ``src_shape`` for a reshape to ``out_shape`` that only adds or drops size-1 axes.

    Axes of equal extent pair up in order (two size-1 axes included, so the result does not depend on
    whether a batch axis has extent 1); a source axis left over has extent 1 and reads ``zero``.

    >>> align_axes((5,), (5, 1), "ij", "0"), align_axes((1,), (1, 1), "ij", "0"), align_axes((1, 3), (3,), "k", "0")
    (['i'], ['i'], ['0', 'k'])
    """
    src, b = [], 0
    for n in src_shape:
        while b < len(out_shape) and out_shape[b] != n and out_shape[b] == 1:
            b += 1
        if b < len(out_shape) and out_shape[b] == n:
            src.append(out_idx[b])
            b += 1
        else:
            src.append(zero)
    return src


def _outs(rank: int) -> list[Expr]:
    return [Out(d) for d in range(rank)]


def _broadcast(shapes: Sequence[Shape], out: Shape, p: Params) -> list[Read]:
    # a stretched axis reads element 0; an axis of extent 1 on both sides reads the index (also 0), so that the
    # expressions do not depend on whether a batch axis happens to have extent 1
    (x,) = shapes
    return [Read(0, tuple(_ZERO if x[a] == 1 != out[d] else Out(d) for a, d in enumerate(p["dims"])))]


def _reshape(shapes: Sequence[Shape], out: Shape, p: Params) -> list[Read]:
    (x,) = shapes
    if [n for n in out if n != 1] == [n for n in x if n != 1]:  # only size-1 axes come or go: no division
        return [Read(0, tuple(align_axes(x, out, _outs(len(out)), _ZERO)), flat=OutFlat())]
    flat = Let(OutFlat(), "f")
    return [Read(0, tuple(Unravel(flat, 0, a) for a in range(len(x))), flat=flat)]


def _transpose(shapes: Sequence[Shape], out: Shape, p: Params) -> list[Read]:
    index: list[Expr] = [_ZERO] * len(out)
    for d, axis in enumerate(p["perm"]):
        index[axis] = Out(d)
    return [Read(0, tuple(index))]


def _reverse(shapes: Sequence[Shape], out: Shape, p: Params) -> list[Read]:
    last = [Bin("-", Extent(0, a), Const(1, literal=True)) for a in range(len(out))]
    return [Read(0, tuple(Bin("-", last[a], Out(a)) if a in p["axes"] else Out(a) for a in range(len(out))))]


def _slice(shapes: Sequence[Shape], out: Shape, p: Params) -> list[Read]:
    steps = zip(p["starts"], p["steps"], strict=True)
    # a unit step may stay in a compiled source (it is a parameter, not an extent): reads then look contiguous
    return [
        Read(0, tuple(Bin("+", Const(lo), Bin("*", Out(a), Const(st, st == 1))) for a, (lo, st) in enumerate(steps)))
    ]


def _pad(shapes: Sequence[Shape], out: Shape, p: Params) -> list[Read]:
    index: list[Expr] = []
    valid: list[Cond] = []
    for a, (lo, mid) in enumerate(zip(p["lo"], p["interior"], strict=True)):
        t = Let(Bin("-", Out(a), Const(lo)), "t")
        valid.append(Cond(">=", t, _ZERO))
        if mid == 0:  # no interior padding (what a slice transposes into): no division by a run-time step
            index.append(t)
            valid.append(Cond("<", t, Extent(0, a)))
            continue
        step = Const(mid + 1)
        index.append(Bin("/", t, step))
        valid += [Cond("==", Bin("%", t, step), _ZERO), Cond("<", index[-1], Extent(0, a))]
    return [Read(0, tuple(index), tuple(valid)), Read(1, ())]


def _concatenate(shapes: Sequence[Shape], out: Shape, p: Params) -> list[Read]:
    axis = p["axis"]
    reads = []
    offset: Expr = _ZERO
    for n in range(len(shapes)):
        index = tuple(Bin("-", Out(axis), offset) if a == axis else Out(a) for a in range(len(out)))
        end = Bin("+", offset, Extent(n, axis))
        reads.append(Read(n, index, (Cond("<", Out(axis), end),) if n < len(shapes) - 1 else ()))
        offset = end
    return reads


def _compose_slices(outer: Stmt, inner: Stmt) -> dict[str, Any]:
    starts, stops, steps = [], [], []
    for n, s1, st1, s2, st2 in zip(
        outer.outs[0].shape,
        inner.params["starts"],
        inner.params["steps"],
        outer.params["starts"],
        outer.params["steps"],
        strict=True,
    ):
        # an empty result starts where the inner slice does: the outer start may lie past the inner's last element
        start, step = s1 + s2 * st1 if n else s1, st1 * st2
        starts.append(start)
        stops.append(start + (n - 1) * step + 1 if n else start)
        steps.append(step)
    return {"starts": tuple(starts), "stops": tuple(stops), "steps": tuple(steps)}


def _same_type(stmt: Stmt) -> bool:
    return stmt.outs[0].type == stmt.args[0].type


INDEX_MAPS: dict[Primitive, IndexMap] = {
    BROADCAST_IN_DIM: IndexMap(
        _broadcast,
        _same_type,
        lambda outer, inner: {
            "shape": outer.outs[0].shape,
            "dims": tuple(outer.params["dims"][d] for d in inner.params["dims"]),
        },
    ),
    RESHAPE: IndexMap(_reshape, _same_type, lambda outer, inner: {"shape": outer.outs[0].shape}),
    TRANSPOSE: IndexMap(
        _transpose,
        lambda stmt: list(stmt.params["perm"]) == sorted(stmt.params["perm"]),
        lambda outer, inner: {"perm": tuple(inner.params["perm"][p] for p in outer.params["perm"])},
    ),
    REVERSE: IndexMap(
        _reverse,
        lambda stmt: not stmt.params["axes"],
        lambda outer, inner: {"axes": tuple(sorted(set(outer.params["axes"]) ^ set(inner.params["axes"])))},
    ),
    SLICE: IndexMap(_slice, _same_type, _compose_slices),
    PAD: IndexMap(_pad, lambda stmt: not any((*stmt.params["lo"], *stmt.params["hi"], *stmt.params["interior"]))),
    CONCATENATE: IndexMap(_concatenate, lambda stmt: len(stmt.args) == 1),
}
"""Every ``index_map`` primitive's description (a coverage test holds it to the family)."""


def reads_of(stmt: Stmt) -> list[Read]:
    """The reads of an index-map statement, at its operands' and result's shapes."""
    shapes = [a.type.shape for a in stmt.args]
    return INDEX_MAPS[stmt.prim].reads(shapes, stmt.outs[0].shape, stmt.params)


def _affine(expr: Expr, shapes: Sequence[Shape], out: Shape) -> tuple[int | None, int] | None:
    """``(axis, c)`` when ``expr`` is ``Out(axis) + c`` (``axis`` None: the constant ``c``), else None."""
    if isinstance(expr, Out):
        return expr.axis, 0
    if isinstance(expr, Const):
        return None, expr.value
    if isinstance(expr, Extent):
        return None, shapes[expr.arg][expr.axis]
    if isinstance(expr, Let):
        return _affine(expr.expr, shapes, out)
    if isinstance(expr, Unravel):
        # axis 0 of the result's own flat position, unravelled in an operand of as many rows: the row itself
        flat = expr.flat.expr if isinstance(expr.flat, Let) else expr.flat
        rows = isinstance(flat, OutFlat) and expr.axis == 0 and len(out) >= 1
        return (0, 0) if rows and shapes[expr.arg][0] == out[0] else None
    if not isinstance(expr, Bin):
        return None
    a, b = _affine(expr.a, shapes, out), _affine(expr.b, shapes, out)
    if a is None or b is None:
        return None
    if expr.op in "+-":
        sign = 1 if expr.op == "+" else -1
        if b[0] is None:
            return a[0], a[1] + sign * b[1]
        return (b[0], a[1]) if a[0] is None and sign == 1 else None
    if expr.op == "*":
        for u, v in ((a, b), (b, a)):
            if v == (None, 1):
                return u
        return (None, a[1] * b[1]) if a[0] is None and b[0] is None else None
    return a if expr.op == "/" and b == (None, 1) else None


def follows_row(read: Read, stmt: Stmt) -> bool:
    """Whether ``read`` reads its operand at the row (first-axis index) of the result element being computed."""
    shapes = [a.type.shape for a in stmt.args]
    return bool(read.index) and _affine(read.index[0], shapes, stmt.outs[0].shape) == (0, 0)
