"""Changing shapes, with NumPy's names and defaults: ``expand_dims``, ``squeeze``, ``stack``, ``concatenate``...

Each is a ``reshape``, ``transpose``, ``reverse``, ``broadcast_in_dim`` or
``concatenate`` of ``pyaccad`` (structural primitives: no arithmetic, exact
derivatives). Note NumPy's defaults where ``pyaccad``'s differ:
``concatenate`` joins along axis 0, ``flip`` reverses every axis.

>>> import numpy as np, pyaccad as acc
>>> import pyaccad.numpy as jnp
>>> acc.run(lambda a: jnp.squeeze(jnp.stack([a, a], axis=1)[:, :1]), np.arange(3))
array([0, 1, 2])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from pyaccad.errors import ShapeError
from pyaccad.frontend import shapes
from pyaccad.frontend.arrayops import array_op, normalize_axes, normalize_axis
from pyaccad.frontend.tracing import Value, fail
from pyaccad.numpy.common import as_value

__all__ = [
    "atleast_1d",
    "atleast_2d",
    "broadcast_to",
    "concatenate",
    "expand_dims",
    "flip",
    "hstack",
    "moveaxis",
    "ndim",
    "ravel",
    "reshape",
    "shape",
    "size",
    "squeeze",
    "stack",
    "swapaxes",
    "transpose",
    "vstack",
]


def shape(a: Any) -> tuple[int, ...]:
    """The shape of ``a`` (a Python tuple: shapes are static).

    >>> import numpy as np
    >>> import pyaccad.numpy as jnp
    >>> jnp.shape(np.zeros((2, 3)))
    (2, 3)
    """
    return tuple(a.shape) if hasattr(a, "shape") else tuple(np.shape(a))


def ndim(a: Any) -> int:
    """The number of axes of ``a``.

    >>> import numpy as np
    >>> import pyaccad.numpy as jnp
    >>> jnp.ndim(np.zeros((2, 3)))
    2
    """
    return len(shape(a))


def size(a: Any) -> int:
    """The number of elements of ``a``.

    >>> import numpy as np
    >>> import pyaccad.numpy as jnp
    >>> jnp.size(np.zeros((2, 3)))
    6
    """
    count = 1
    for d in shape(a):
        count *= d
    return count


@array_op
def reshape(a: Any, newshape: Any) -> Value:
    """``a``'s elements in row-major order in ``newshape`` (one extent may be -1), as ``acc.reshape``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.reshape(a, (2, -1)), np.arange(4))
    array([[0, 1],
           [2, 3]])
    """
    return shapes.reshape(as_value(a, "reshape"), newshape)


@array_op
def ravel(a: Any) -> Value:
    """``a`` flattened to one axis (row-major).

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(jnp.ravel, np.arange(4).reshape(2, 2))
    array([0, 1, 2, 3])
    """
    x = as_value(a, "ravel")
    return shapes.reshape(x, (x.size,))


@array_op
def transpose(a: Any, axes: Sequence[int] | None = None) -> Value:
    """``a`` with its axes permuted (default: reversed), as ``acc.transpose``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.transpose(a), np.zeros((2, 3))).shape
    (3, 2)
    """
    return shapes.transpose(as_value(a, "transpose"), axes)


@array_op
def swapaxes(a: Any, axis1: int, axis2: int) -> Value:
    """``a`` with two axes exchanged.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.swapaxes(a, 0, 2), np.zeros((2, 3, 4))).shape
    (4, 3, 2)
    """
    x = as_value(a, "swapaxes")
    perm = list(range(x.ndim))
    i, j = normalize_axis(axis1, x.ndim, "swapaxes"), normalize_axis(axis2, x.ndim, "swapaxes")
    perm[i], perm[j] = j, i
    return shapes.transpose(x, perm)


@array_op
def moveaxis(a: Any, source: Any, destination: Any) -> Value:
    """``a`` with the axes ``source`` moved to the positions ``destination``, the others kept in order.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.moveaxis(a, 0, -1), np.zeros((2, 3, 4))).shape
    (3, 4, 2)
    """
    x = as_value(a, "moveaxis")
    src, dst = normalize_axes(source, x.ndim, "moveaxis"), normalize_axes(destination, x.ndim, "moveaxis")
    if len(src) != len(dst):
        fail(ShapeError, f"moveaxis: source {source!r} and destination {destination!r} differ in length")
    rest = iter(ax for ax in range(x.ndim) if ax not in src)
    placed = dict(zip(dst, src, strict=True))
    return shapes.transpose(x, [placed[i] if i in placed else next(rest) for i in range(x.ndim)])


@array_op
def expand_dims(a: Any, axis: Any) -> Value:
    """``a`` with new axes of extent 1 at the positions ``axis`` (an int or a tuple) of the result.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.expand_dims(a, (0, -1)), np.arange(2)).shape
    (1, 2, 1)
    """
    x = as_value(a, "expand_dims")
    new = normalize_axes(axis, x.ndim + len(axis if isinstance(axis, (tuple, list)) else (axis,)), "expand_dims")
    dims = iter(x.shape)
    return shapes.reshape(x, tuple(1 if i in new else next(dims) for i in range(x.ndim + len(new))))


@array_op
def squeeze(a: Any, axis: Any = None) -> Value:
    """``a`` without the axes of extent 1 (``axis``: only those, each of which must have extent 1).

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(jnp.squeeze, np.zeros((1, 2, 1))).shape
    (2,)
    """
    x = as_value(a, "squeeze")
    axes = (
        tuple(i for i, d in enumerate(x.shape) if d == 1) if axis is None else normalize_axes(axis, x.ndim, "squeeze")
    )
    for i in axes:
        if x.shape[i] != 1:
            fail(ShapeError, f"squeeze: cannot remove axis {i} of extent {x.shape[i]} (array of shape {x.shape})")
    return shapes.reshape(x, tuple(d for i, d in enumerate(x.shape) if i not in axes))


@array_op
def concatenate(arrays: Sequence[Any], axis: int = 0) -> Value:
    """Join arrays of one dtype along an existing ``axis`` (NumPy's default: 0).

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.concatenate([a, a]), np.ones((1, 2)))
    array([[1., 1.],
           [1., 1.]])
    """
    return shapes.concatenate([as_value(x, "concatenate") for x in arrays], axis=axis)


@array_op
def stack(arrays: Sequence[Any], axis: int = 0) -> Value:
    """Join arrays of one shape along a new ``axis``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a, b: jnp.stack([a, b], axis=-1), np.arange(2), np.arange(2, 4))
    array([[0, 2],
           [1, 3]])
    """
    values = [as_value(x, "stack") for x in arrays]
    if not values:
        fail(ShapeError, "stack: needs at least one array")
    if any(v.shape != values[0].shape for v in values):
        fail(ShapeError, f"stack: arrays must have one shape, got {', '.join(str(v.shape) for v in values)}")
    ax = normalize_axis(axis, values[0].ndim + 1, "stack")
    return shapes.concatenate([expand_dims(v, ax) for v in values], axis=ax)


@array_op
def atleast_1d(a: Any) -> Value:
    """``a`` with at least one axis.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda: jnp.atleast_1d(3.0))
    array([3.])
    """
    x = as_value(a, "atleast_1d")
    return x if x.ndim >= 1 else shapes.reshape(x, (1,))


@array_op
def atleast_2d(a: Any) -> Value:
    """``a`` with at least two axes (a vector becomes one row).

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(jnp.atleast_2d, np.arange(2))
    array([[0, 1]])
    """
    x = atleast_1d(a)
    return x if x.ndim >= 2 else shapes.reshape(x, (1, *x.shape))


@array_op
def vstack(arrays: Sequence[Any]) -> Value:
    """Join along the first axis, vectors taken as rows.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.vstack([a, a]), np.arange(2))
    array([[0, 1],
           [0, 1]])
    """
    return shapes.concatenate([atleast_2d(x) for x in arrays], axis=0)


@array_op
def hstack(arrays: Sequence[Any]) -> Value:
    """Join along the second axis (the only one for vectors).

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.hstack([a, a]), np.arange(2))
    array([0, 1, 0, 1])
    """
    values = [atleast_1d(x) for x in arrays]
    return shapes.concatenate(values, axis=0 if values and values[0].ndim == 1 else 1)


@array_op
def broadcast_to(a: Any, shape: Any) -> Value:
    """``a`` broadcast to ``shape`` by NumPy's rules (``acc.broadcast_to``).

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.broadcast_to(a, (2, 2)), np.arange(2))
    array([[0, 1],
           [0, 1]])
    """
    return shapes.broadcast_to(as_value(a, "broadcast_to"), shape)


@array_op
def flip(m: Any, axis: Any = None) -> Value:
    """``m`` with the order of elements reversed along ``axis`` (default: every axis), as ``numpy.flip``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(jnp.flip, np.arange(4).reshape(2, 2))
    array([[3, 2],
           [1, 0]])
    """
    x = as_value(m, "flip")
    return shapes.reverse(x, tuple(range(x.ndim)) if axis is None else axis)
