"""Structural primitives: ``const`` and ``matmul`` directly in NumPy, the index maps by one gather each.

The index maps (``broadcast_in_dim``, ``reshape``, ``transpose``, ``reverse``, ``slice``, ``pad``,
``concatenate``) are evaluated from their descriptions (:mod:`pyaccad.ir.index_maps`), the same ones the
compiled backends print, by :func:`gather`; the primitive tests hold both to NumPy references of their own.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pyaccad.backends.interp.evaluator import Context, Env, register
from pyaccad.ir import Stmt
from pyaccad.ir.index_maps import (
    INDEX_MAPS,
    Bin,
    Cond,
    Const,
    Expr,
    Extent,
    Let,
    Out,
    OutFlat,
    Read,
    Unravel,
    reads_of,
)


@register("const")
def _const(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    # A read-only view: the embedded array must survive every run unchanged.
    value = stmt.params["value"].view()
    value.flags.writeable = False
    return [value]


@register("matmul")
def _matmul(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    return [np.matmul(*args)]


def gather(stmt: Stmt, args: Sequence[np.ndarray]) -> np.ndarray:
    """The result of an index-map statement: each element taken from its operands as
    :func:`pyaccad.ir.index_maps.reads_of` says (from the first read whose conditions hold).

    A read whose operand element has the result's own row-major position is a ``reshape`` of the operand.
    Every other read's expressions each depend on one axis of the result at most, so it gives its elements
    on a box (evenly stepping positions along each axis, for every index map) and each operand axis follows
    one result axis: the read is basic NumPy indexing (a view), then a transpose and a broadcast, as fast as
    NumPy's own ``transpose``, ``flip`` and slices. Each statement's plan (:class:`_Part`) is made once.

    >>> import pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> stmt = trace(lambda x: acc.reverse(x, axis=0), np.ones(3)).program.stmts[0]
    >>> gather(stmt, [np.array([1.0, 2.0, 3.0])])
    array([3., 2., 1.])
    """
    parts = _PLANS.get(stmt)
    if parts is None:
        parts = _PLANS[stmt] = _plan(stmt)
    out = stmt.outs[0]
    if len(parts) == 1 and parts[0].where is None:
        return parts[0].take(args)  # the whole result from one read: a view, as NumPy's own reshuffles give
    result = np.empty(out.shape, out.dtype)
    for part in reversed(parts):  # the first read that holds wins: written last
        result[part.where or ()] = part.take(args)
    return result


@dataclass(frozen=True)
class _Part:
    """One read's share of the result: operand ``arg`` indexed by ``selectors`` (slices and integers; None:
    reshaped to ``shape``),
    its kept axes put in the order ``order``, reshaped to ``placed`` and broadcast to ``shape``, written at
    ``where`` (None: the whole result)."""

    arg: int
    where: tuple[Any, ...] | None
    selectors: tuple[Any, ...] | None
    order: tuple[int, ...]
    placed: tuple[int, ...]
    shape: tuple[int, ...]

    def take(self, args: Sequence[np.ndarray]) -> np.ndarray:
        value = args[self.arg]
        if self.selectors is None:
            return np.reshape(value, self.shape)
        value = value[self.selectors]  # slices and integers: a view
        if self.order != tuple(sorted(self.order)):
            value = np.transpose(value, self.order)
        if value.shape != self.placed:
            value = np.reshape(value, self.placed)
        return value if self.placed == self.shape else np.broadcast_to(value, self.shape)


_PLANS: weakref.WeakKeyDictionary[Stmt, list[_Part]] = weakref.WeakKeyDictionary()


def _plan(stmt: Stmt) -> list[_Part]:
    out = stmt.outs[0]
    shapes = [a.type.shape for a in stmt.args]
    parts = []
    for read in reads_of(stmt):
        if read.flat is not None and _is_out_flat(read.flat) and not read.valid:
            parts.append(_Part(read.arg, None, None, (), (), out.shape))
            break
        box = _box(read, shapes, out.shape)
        if box is not None and 0 not in shapes[read.arg]:
            part = any(len(p) < n for p, n in zip(box, out.shape, strict=True))
            parts.append(_take(read, shapes, box, tuple(_selector(p) for p in box) if part else None))
        if not read.valid:
            break
    return parts


def _is_out_flat(e: Expr) -> bool:
    return isinstance(e, OutFlat) or (isinstance(e, Let) and _is_out_flat(e.expr))


def _axis(e: Expr | Cond) -> int | None:
    """The one result axis ``e`` depends on (None: a constant)."""
    if isinstance(e, Out):
        return e.axis
    found = {a for part in _parts(e) for a in [_axis(part)] if a is not None}
    assert len(found) <= 1 and not isinstance(e, (OutFlat, Unravel)), f"{e!r} is not separable by axes"
    return found.pop() if found else None


def _parts(e: Expr | Cond) -> list[Expr]:
    if isinstance(e, (Bin, Cond)):
        return [e.a, e.b]
    return [e.expr] if isinstance(e, Let) else []


def _value(e: Expr | Cond, positions: np.ndarray, shapes: Sequence[tuple[int, ...]]) -> np.ndarray:
    """``e`` at ``positions`` along its one result axis (a constant at any)."""
    if isinstance(e, Out):
        return positions
    if isinstance(e, Const):
        return np.asarray(e.value)
    if isinstance(e, Extent):
        return np.asarray(shapes[e.arg][e.axis])
    if isinstance(e, Let):
        return _value(e.expr, positions, shapes)
    assert isinstance(e, (Bin, Cond))
    return _OPS[e.op](_value(e.a, positions, shapes), _value(e.b, positions, shapes))


_OPS = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.floor_divide,  # of non-negative operands wherever the read holds, as C's truncation
    "%": np.mod,
    ">=": np.greater_equal,
    "<": np.less,
    "==": np.equal,
}


def _box(read: Read, shapes: Sequence[tuple[int, ...]], out_shape: tuple[int, ...]) -> list[np.ndarray] | None:
    """The positions along each result axis where ``read`` gives the element (None: nowhere): where all of its
    conditions hold ..."""
    # Positions stay `range`s until a condition filters them: a broadcast to a huge shape (a view) must not
    # cost an index array per axis to plan.
    box: list[Any] = [range(n) for n in out_shape]
    for cond in read.valid:
        axis = _axis(cond)
        if axis is None:
            if not _value(cond, np.arange(0), shapes):
                return None
            continue
        positions = np.asarray(box[axis])
        box[axis] = positions[_value(cond, positions, shapes)]
    # and only where its index lies inside the operand: a read without conditions (the last) gives the
    # elements no earlier read gave, and outside those its index may leave the operand (concatenate)
    for e, n in zip(read.index, shapes[read.arg], strict=True):
        axis = _axis(e)
        if axis is None or (isinstance(e, Out) and isinstance(box[axis], range) and box[axis].stop <= n):
            continue  # a constant index, or the result's own index into an operand axis at least as long
        positions = np.asarray(box[axis])
        index = _value(e, positions, shapes)
        box[axis] = positions[(index >= 0) & (index < n)]
    return box if all(len(p) for p in box) or 0 in out_shape else None


def _selector(positions: np.ndarray | range) -> slice:
    """The slice of evenly stepping positions (every index map's reads step evenly along each axis)."""
    if isinstance(positions, range):
        return slice(positions.start, positions.stop, positions.step)
    if len(positions) == 0:
        return slice(0, 0)
    step = int(positions[1] - positions[0]) if len(positions) > 1 else 1
    assert step != 0 and np.array_equal(positions, positions[0] + step * np.arange(len(positions))), positions
    stop = int(positions[-1]) + step
    return slice(int(positions[0]), None if stop < 0 else stop, step)


def _take(read: Read, shapes: Sequence[tuple[int, ...]], box: list[np.ndarray], where: tuple | None) -> _Part:
    """The part of ``read`` over ``box``: each operand axis indexed where its result axis's positions lead."""
    selectors: list[Any] = []
    follows: list[int] = []  # the result axis each kept operand axis follows
    for e in read.index:
        axis = _axis(e)
        if axis is None:
            selectors.append(int(_value(e, np.arange(0), shapes)))
            continue
        selectors.append(_selector(_value(e, box[axis], shapes)))
        follows.append(axis)
    order = tuple(sorted(range(len(follows)), key=follows.__getitem__))
    placed = tuple(len(p) if k in follows else 1 for k, p in enumerate(box))
    return _Part(read.arg, where, tuple(selectors), order, placed, tuple(len(p) for p in box))


def _index_map(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    return [gather(stmt, args)]


register(*(prim.name for prim in INDEX_MAPS))(_index_map)
