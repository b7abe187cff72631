"""Structural primitives: ``const`` and ``matmul`` directly in NumPy, the index maps by one gather each.

The index maps (``broadcast_in_dim``, ``reshape``, ``transpose``, ``reverse``, ``slice``, ``pad``,
``concatenate``) are evaluated from their descriptions (:mod:`pyaccad.ir.index_maps`), the same ones the
compiled backends print, by :func:`gather`; the primitive tests hold both to NumPy references of their own.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

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

    >>> import pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> stmt = trace(lambda x: acc.reverse(x, axis=0), np.ones(3)).program.stmts[0]
    >>> gather(stmt, [np.array([1, 2, 3])])
    array([3, 2, 1])
    """
    out = stmt.outs[0]
    values = _Values(args, out.shape)
    result = np.zeros(out.shape, out.dtype)  # every element is some read's: the last read holds everywhere
    for read in reversed(reads_of(stmt)):
        x = args[read.arg]
        if x.size == 0:
            continue  # an empty operand holds no element of the result
        # where a read's conditions fail its index may lie outside the operand: clipped, that value is not taken
        index = tuple(np.clip(values.expr(e), 0, n - 1) for e, n in zip(read.index, x.shape, strict=True))
        element = np.broadcast_to(x[index], out.shape)
        if not read.valid:
            result = element
            continue
        mask = functools.reduce(np.logical_and, [values.cond(c) for c in read.valid])
        result = np.where(mask, element, result)
    return result


class _Values:
    """Index expressions evaluated at every element of the result at once (sparse index arrays that broadcast)."""

    def __init__(self, args: Sequence[np.ndarray], out_shape: tuple[int, ...]) -> None:
        self.args = args
        self.out_shape = out_shape
        self.out = np.indices(out_shape, sparse=True)
        self.memo: dict[int, np.ndarray] = {}

    def expr(self, e: Expr) -> np.ndarray:
        if id(e) not in self.memo:
            self.memo[id(e)] = self._expr(e)
        return self.memo[id(e)]

    def _expr(self, e: Expr) -> np.ndarray:
        if isinstance(e, Out):
            return self.out[e.axis]
        if isinstance(e, OutFlat):
            strides = np.cumprod((*self.out_shape[1:], 1)[::-1])[::-1]
            return sum((i * s for i, s in zip(self.out, strides, strict=True)), np.asarray(0))
        if isinstance(e, Const):
            return np.asarray(e.value)
        if isinstance(e, Extent):
            return np.asarray(self.args[e.arg].shape[e.axis])
        if isinstance(e, Let):
            return self.expr(e.expr)
        if isinstance(e, Unravel):
            return np.unravel_index(self.expr(e.flat), self.args[e.arg].shape)[e.axis]
        assert isinstance(e, Bin)
        return _BIN[e.op](self.expr(e.a), self.expr(e.b))

    def cond(self, c: Cond) -> np.ndarray:
        return _CMP[c.op](self.expr(c.a), self.expr(c.b))


_BIN = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.floor_divide, "%": np.mod}
_CMP = {">=": np.greater_equal, "<": np.less, "==": np.equal}


def _index_map(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    return [gather(stmt, args)]


register(*(prim.name for prim in INDEX_MAPS))(_index_map)
