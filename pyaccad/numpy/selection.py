"""Choosing elements by index: ``take``, ``take_along_axis``, ``sort``, ``argsort``.

``take`` and ``take_along_axis`` are one ``backpermute`` each (a gather, whose
derivative is a ``permute`` that adds), with NumPy's negative indices; an
index out of range is an ``IndexOutOfBounds`` at run time.

``sort`` and ``argsort`` have no sorting primitive to build on: the rank of
each element along the axis is counted from all pairwise comparisons (one
``generate`` and one ``fold``: O(n²) work per row of length n, in parallel),
``argsort`` scatters each position to its rank (``permute``) and ``sort`` gathers
the elements in that order (``backpermute``, so it differentiates: the
gradient goes back to the position each element came from). The order is
stable (equal elements keep their order, NumPy's ``kind="stable"``), and
NaNs sort last, as in NumPy. For rows of more than a few thousand elements
the O(n²) cost is real: sort outside the traced function, with ``numpy.sort``.

>>> import numpy as np, pyaccad as acc
>>> import pyaccad.numpy as jnp
>>> acc.run(lambda a: (jnp.sort(a), jnp.argsort(a)), np.array([3.0, 1.0, 2.0]))
(array([1., 2., 3.]), array([1, 2, 0]))
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pyaccad.errors import DTypeError, ShapeError
from pyaccad.frontend.arrayops import array_op, normalize_axis
from pyaccad.frontend.combinators import backpermute, fill, generate, permute, the
from pyaccad.frontend.operators import SCALAR_FUNCTIONS, cast, where
from pyaccad.frontend.shapes import reshape, transpose
from pyaccad.frontend.tracing import Value, fail
from pyaccad.ir import BOOL, INT32, INT64
from pyaccad.ir.types import is_float, is_int
from pyaccad.numpy.common import as_value

__all__ = ["argsort", "sort", "take", "take_along_axis"]


def _indices(indices: Any, op: str) -> Value:
    idx = as_value(indices, op)
    if not is_int(idx.dtype):
        fail(DTypeError, f"{op}: indices must be integers, got {idx.dtype}")
    return idx


def _wrap(k: Any, dim: int) -> Any:
    """A NumPy index (negative counts from the end) as a position."""
    k = cast(k, INT64)
    return where(k < 0, k + dim, k)


def _flat_or(x: Value, axis: Any, op: str) -> tuple[Value, int]:
    if axis is None:
        return reshape(x, (x.size,)), 0
    return x, normalize_axis(axis, x.ndim, op)


@array_op
def take(a: Any, indices: Any, axis: Any = None) -> Value:
    """The elements of ``a`` at ``indices`` along ``axis`` (of the flattened array for None), as ``numpy.take``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a, i: jnp.take(a, i, axis=1), np.arange(6).reshape(2, 3), np.array([[2], [-3]]))
    array([[[2],
            [0]],
    <BLANKLINE>
           [[5],
            [3]]])
    """
    x, ax = _flat_or(as_value(a, "take"), axis, "take")
    idx = _indices(indices, "take")
    k = idx.ndim
    shape = (*x.shape[:ax], *idx.shape, *x.shape[ax + 1 :])

    def source(*ix: Any) -> tuple[Any, ...]:
        picked = idx[ix[ax : ax + k]] if k else the(idx)
        return (*ix[:ax], _wrap(picked, x.shape[ax]), *ix[ax + k :])

    return backpermute(shape, source, x)


@array_op
def take_along_axis(arr: Any, indices: Any, axis: Any) -> Value:
    """``out[..., i, ...] = arr[..., indices[..., i, ...], ...]`` along ``axis``, as ``numpy.take_along_axis``.

    ``indices`` has ``arr``'s rank; its other axes broadcast with ``arr``'s.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> a = np.array([[10.0, 30.0, 20.0], [60.0, 40.0, 50.0]])
    >>> acc.run(lambda a: jnp.take_along_axis(a, jnp.argmax(a, axis=1, keepdims=True), axis=1), a)
    array([[30.],
           [60.]])
    """
    x, ax = _flat_or(as_value(arr, "take_along_axis"), axis, "take_along_axis")
    idx = _indices(indices, "take_along_axis")
    if idx.ndim != x.ndim:
        fail(ShapeError, f"take_along_axis: indices of shape {idx.shape} need the rank of the array {x.shape}")
    try:
        shape = tuple(
            d if i == ax else int(s)
            for i, (d, s) in enumerate(zip(idx.shape, _broadcast(x.shape, idx.shape, ax), strict=True))
        )
    except ValueError:
        fail(ShapeError, f"take_along_axis: indices of shape {idx.shape} do not broadcast with the array {x.shape}")

    def source(*ix: Any) -> tuple[Any, ...]:
        picked = idx[tuple(0 if d == 1 else i for i, d in zip(ix, idx.shape, strict=True))]
        return tuple(
            _wrap(picked, x.shape[ax]) if i == ax else (0 if x.shape[i] == 1 else ix[i]) for i in range(x.ndim)
        )

    return backpermute(shape, source, x)


def _broadcast(a: tuple[int, ...], b: tuple[int, ...], skip: int) -> tuple[int, ...]:
    return tuple(np.broadcast_shapes(tuple(1 if i == skip else d for i, d in enumerate(a)), b))


def _ranks(x: Value) -> Value:
    """The stable rank of each element along the last axis (NaNs after every number)."""
    n = x.shape[-1]
    nan = SCALAR_FUNCTIONS["isnan"]

    def before(*ix: Any) -> Any:
        *rest, i, j = ix  # does element j come before element i?
        xi, xj = x[(*rest, i)], x[(*rest, j)]
        earlier = j < i
        if not is_float(x.dtype):
            return (xj < xi) | ((xj == xi) & earlier)
        ni, nj = nan(xi), nan(xj)
        smaller = (xj < xi) | (ni & ~nj)
        tie = (xj == xi) | (ni & nj)
        return smaller | (tie & earlier)

    return cast(generate((*x.shape, n), before), INT64).sum(axis=-1)


def _last(x: Value, ax: int) -> Value:
    """``x`` with axis ``ax`` moved last (and back: the same permutation undoes it for a swap)."""
    perm = list(range(x.ndim))
    perm[ax], perm[-1] = perm[-1], perm[ax]
    return transpose(x, perm)


def _argsort_last(x: Value) -> Value:
    rank = _ranks(cast(x, INT32) if x.dtype == BOOL else x)  # False before True
    position = generate(x.shape, lambda *ix: ix[-1])
    return permute(lambda new, old: new, fill(x.shape, 0, dtype=INT64), lambda *ix: (*ix[:-1], rank[ix]), position)


@array_op
def argsort(a: Any, axis: Any = -1) -> Value:
    """The indices that sort ``a`` along ``axis`` (stable; NaNs last), int64, as ``numpy.argsort(kind="stable")``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(jnp.argsort, np.array([2, 1, 2, 0]))
    array([3, 1, 0, 2])
    """
    x, ax = _flat_or(as_value(a, "argsort"), axis, "argsort")
    if x.ndim == 0 or x.shape[ax] == 0:
        return fill(x.shape, 0, dtype=INT64)
    return _last(_argsort_last(_last(x, ax)), ax)


@array_op
def sort(a: Any, axis: Any = -1) -> Value:
    """``a`` sorted along ``axis`` (NaNs last), as ``numpy.sort``; differentiable (a gather).

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.sort(a, axis=0), np.array([[3, 1], [2, 4]]))
    array([[2, 1],
           [3, 4]])
    """
    x, ax = _flat_or(as_value(a, "sort"), axis, "sort")
    if x.ndim == 0 or x.shape[ax] == 0:
        return x
    moved = _last(x, ax)
    order = _argsort_last(moved)
    return _last(backpermute(moved.shape, lambda *ix: (*ix[:-1], order[ix]), moved), ax)
