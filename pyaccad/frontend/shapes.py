"""Shape operations: reshape, transpose, reverse, replicate, broadcast, concatenate, matmul.

Each lowers to one structural IR primitive (``reshape``, ``transpose``,
``reverse``, ``broadcast_in_dim``, ``concatenate``, ``matmul``), skipping
no-ops. ``matmul`` follows NumPy: 1-D operands are promoted to matrices and
the promoted axis is dropped afterwards; batch axes broadcast.

>>> import numpy as np, pyaccad as acc
>>> acc.run(lambda a: acc.transpose(acc.reshape(a, (2, 3))), np.arange(6))
array([[0, 3],
       [1, 4],
       [2, 5]])
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod
from typing import Any

import numpy as np

from pyaccad.errors import ShapeError
from pyaccad.frontend.arrayops import array_op, normalize_axes, normalize_axis, normalize_shape
from pyaccad.frontend.operators import broadcast_value, converted, promoted
from pyaccad.frontend.tracing import Value, check_live, emit, fail, to_value, wrap

__all__ = ["broadcast_to", "concatenate", "matmul", "replicate", "reshape", "reverse", "transpose"]


@array_op
def reshape(a: Any, shape: Any) -> Value:
    """The elements of ``a`` in row-major order, in a new ``shape`` (one extent may be -1).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.reshape(a, (-1, 2)), np.arange(4))
    array([[0, 1],
           [2, 3]])
    """
    x = to_value(a, "reshape")
    dims = [int(d) for d in ((shape,) if isinstance(shape, (int, np.integer)) else shape)]
    if dims.count(-1) > 1 or any(d < -1 for d in dims):
        fail(ShapeError, f"reshape: bad shape {tuple(dims)} (at most one -1, other extents non-negative)")
    if -1 in dims:
        known = prod(d for d in dims if d != -1)
        if known == 0 or x.size % known:
            fail(ShapeError, f"reshape: cannot reshape an array of shape {x.shape} (size {x.size}) to {tuple(dims)}")
        dims[dims.index(-1)] = x.size // known
    if prod(dims) != x.size:
        fail(ShapeError, f"reshape: cannot reshape an array of shape {x.shape} (size {x.size}) to {tuple(dims)}")
    if tuple(dims) == x.shape:
        return x
    (var,) = emit("reshape", (check_live(x),), {"shape": tuple(dims)})
    return wrap(var)


@array_op
def transpose(a: Any, axes: Sequence[int] | None = None) -> Value:
    """Permute the axes: output axis ``i`` is input axis ``axes[i]`` (default: reversed).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.transpose(a, (1, 0, 2)), np.zeros((2, 3, 4))).shape
    (3, 2, 4)
    """
    x = to_value(a, "transpose")
    perm = tuple(reversed(range(x.ndim))) if axes is None else normalize_axes(axes, x.ndim, "transpose")
    if len(perm) != x.ndim:
        fail(ShapeError, f"transpose: axes {tuple(axes)} do not permute the {x.ndim} axes of shape {x.shape}")
    if perm == tuple(range(x.ndim)):
        return x
    (var,) = emit("transpose", (check_live(x),), {"perm": perm})
    return wrap(var)


@array_op
def reverse(a: Any, axis: int | Sequence[int] = -1) -> Value:
    """Reverse the order of elements along ``axis`` (an int or several).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.reverse(a), np.arange(3))
    array([2, 1, 0])
    """
    x = to_value(a, "reverse")
    axes = normalize_axes(axis, x.ndim, "reverse")
    if not axes:
        return x
    (var,) = emit("reverse", (check_live(x),), {"axes": axes})
    return wrap(var)


@array_op
def replicate(a: Any, n: int, axis: int = 0) -> Value:
    """``n`` copies of ``a`` along a new axis at position ``axis`` of the result.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.replicate(a, 2, axis=1), np.array([1, 2]))
    array([[1, 1],
           [2, 2]])
    """
    x = to_value(a, "replicate")
    if not isinstance(n, (int, np.integer)) or n < 0:
        fail(ShapeError, f"replicate: the count must be a non-negative int, got {n!r}")
    if not isinstance(axis, (int, np.integer)) or not -x.ndim - 1 <= axis <= x.ndim:
        fail(ShapeError, f"replicate: axis {axis!r} is out of range for a new axis of an array of rank {x.ndim}")
    pos = int(axis) % (x.ndim + 1)
    shape = (*x.shape[:pos], int(n), *x.shape[pos:])
    dims = tuple(i if i < pos else i + 1 for i in range(x.ndim))
    (var,) = emit("broadcast_in_dim", (check_live(x),), {"shape": shape, "dims": dims})
    return wrap(var)


@array_op
def broadcast_to(a: Any, shape: Any) -> Value:
    """``a`` broadcast to ``shape`` by NumPy's rules.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.broadcast_to(a, (2, 2)), np.array([1, 2]))
    array([[1, 2],
           [1, 2]])
    """
    return broadcast_value(to_value(a, "broadcast_to"), normalize_shape(shape, "broadcast_to"), "broadcast_to")


@array_op
def concatenate(arrays: Sequence[Any], axis: int = -1) -> Value:
    """Join arrays of one dtype along ``axis`` (accelerate's ``++`` on the innermost axis).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a, b: acc.concatenate([a, b]), np.arange(2), np.arange(3))
    array([0, 1, 0, 1, 2])
    """
    values = [to_value(x, "concatenate") for x in arrays]
    if not values:
        fail(ShapeError, "concatenate: needs at least one array")
    if values[0].ndim == 0:
        fail(ShapeError, "concatenate: cannot join rank-0 arrays (they have no axis)")
    ax = normalize_axis(axis, values[0].ndim, "concatenate")
    if len(values) == 1:
        return values[0]
    (var,) = emit("concatenate", tuple(check_live(v) for v in values), {"axis": ax})
    return wrap(var)


@array_op
def matmul(a: Any, b: Any) -> Value:
    """Matrix product with NumPy's ``matmul`` semantics (vectors promoted, batch axes broadcast).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a, b: a @ b, np.eye(2), np.array([3.0, 4.0]))
    array([3., 4.])
    """
    x, y = to_value(a, "matmul"), to_value(b, "matmul")
    if x.ndim == 0 or y.ndim == 0:
        fail(ShapeError, f"matmul: operands must have rank >= 1, got shapes {x.shape} and {y.shape}; use * for scalars")
    if x.dtype != y.dtype:  # promoted as element-wise operands are (float32 @ float64 is float64)
        dtype, _ = promoted((x, y))
        x, y = converted(x, dtype, "matmul"), converted(y, dtype, "matmul")
    xm = reshape(x, (1, x.shape[0])) if x.ndim == 1 else x
    ym = reshape(y, (y.shape[0], 1)) if y.ndim == 1 else y
    if xm.shape[-1] != ym.shape[-2]:
        fail(ShapeError, f"matmul: shapes {x.shape} and {y.shape} do not fit (inner extents differ)")
    try:
        batch = tuple(np.broadcast_shapes(xm.shape[:-2], ym.shape[:-2]))
    except ValueError:
        fail(ShapeError, f"matmul: batch axes of shapes {x.shape} and {y.shape} cannot be broadcast together")
    xm = broadcast_value(xm, (*batch, *xm.shape[-2:]), "matmul")
    ym = broadcast_value(ym, (*batch, *ym.shape[-2:]), "matmul")
    (var,) = emit("matmul", (check_live(xm), check_live(ym)))
    out = wrap(var)
    shape = batch + xm.shape[-2:-1] * (x.ndim > 1) + ym.shape[-1:] * (y.ndim > 1)
    return reshape(out, shape)
