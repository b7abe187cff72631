"""Reductions and scans with NumPy's names and arguments: ``sum``, ``mean``, ``argmax``, ``any``, ``cumsum``...

``sum``/``prod``/``max``/``min``/``mean`` are the array methods (one ``fold``
each); ``any``/``all`` fold truth values with ``||``/``&&``; ``argmax`` and
``argmin`` compare with the maximum (minimum) and take the smallest index
that holds it (the first NaN where there is one, as in NumPy), so they fuse
into two folds and have no derivative (integer results); ``cumsum`` and
``cumprod`` are inclusive scans (``scanl1``) and differentiate as scans do.
``axis=None`` reduces (or scans) the flattened array, as in NumPy.

>>> import numpy as np, pyaccad as acc
>>> import pyaccad.numpy as jnp
>>> acc.run(lambda a: (jnp.argmax(a, axis=1), jnp.cumsum(a, axis=1)), np.array([[1.0, 3.0, 2.0]]))
(array([1]), array([[1., 4., 6.]]))
"""

from __future__ import annotations

from math import prod as prod_of
from typing import Any

from pyaccad.errors import ShapeError
from pyaccad.frontend.arrayops import array_op, normalize_axes, normalize_axis
from pyaccad.frontend.combinators import generate, scanl1
from pyaccad.frontend.operators import SCALAR_FUNCTIONS, cast, where
from pyaccad.frontend.promotion import accumulation
from pyaccad.frontend.reductions import METHODS, reduce
from pyaccad.frontend.shapes import reshape
from pyaccad.frontend.tracing import Value, fail, value_of
from pyaccad.ir import Lit
from pyaccad.ir.types import is_float
from pyaccad.numpy.common import as_float, as_value

__all__ = [
    "all",
    "amax",
    "amin",
    "any",
    "argmax",
    "argmin",
    "cumprod",
    "cumsum",
    "max",
    "mean",
    "min",
    "prod",
    "std",
    "sum",
    "var",
]


def _typed(x: Value, dtype: Any) -> Value:
    return x if dtype is None else cast(x, dtype)


@array_op
def sum(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Value:  # noqa: A001
    """Sum over ``axis`` (default all), as ``numpy.sum``; booleans count as int64.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.sum(a, axis=0), np.array([[1, 2], [3, 4]]))
    array([4, 6])
    """
    return METHODS["sum"](_typed(as_value(a, "sum"), dtype), axis, keepdims)


@array_op
def prod(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Value:
    """Product over ``axis`` (default all), as ``numpy.prod``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.prod(a, axis=1), np.array([[1, 2], [3, 4]]))
    array([ 2, 12])
    """
    return METHODS["prod"](_typed(as_value(a, "prod"), dtype), axis, keepdims)


@array_op
def mean(a: Any, axis: Any = None, dtype: Any = None, keepdims: bool = False) -> Value:
    """Arithmetic mean over ``axis``; integers give float64, as in NumPy.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.mean(a), np.array([1, 2, 4, 5]))
    array(3.)
    """
    return METHODS["mean"](_typed(as_value(a, "mean"), dtype), axis, keepdims)


@array_op
def max(a: Any, axis: Any = None, keepdims: bool = False) -> Value:  # noqa: A001
    """Maximum over ``axis`` (default all), as ``numpy.max``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.max(a, axis=-1), np.array([[1, 5], [7, 2]]))
    array([5, 7])
    """
    return METHODS["max"](as_value(a, "max"), axis, keepdims)


@array_op
def min(a: Any, axis: Any = None, keepdims: bool = False) -> Value:  # noqa: A001
    """Minimum over ``axis`` (default all), as ``numpy.min``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.min(a, axis=0), np.array([[1, 5], [7, 2]]))
    array([1, 2])
    """
    return METHODS["min"](as_value(a, "min"), axis, keepdims)


amax, amin = max, min


@array_op
def var(a: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Value:
    """Variance ``sum((x - mean)**2) / (n - ddof)`` over ``axis``, as ``numpy.var``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.var(a), np.array([1.0, 3.0]))
    array(1.)
    """
    x = as_float(a, "var")
    centred = x - mean(x, axis=axis, keepdims=True)
    squares = sum(centred * centred, axis=axis, keepdims=keepdims)
    n = prod_of(x.shape[ax] for ax in normalize_axes(axis, x.ndim, "var"))
    # A divisor computed from extents: a new batch size reuses the compiled program (see frontend.reductions).
    return squares / value_of(Lit(float(n - ddof), squares.dtype, from_extents=True))


@array_op
def std(a: Any, axis: Any = None, ddof: int = 0, keepdims: bool = False) -> Value:
    """Standard deviation, ``sqrt(var(a, axis, ddof))``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.std(a), np.array([1.0, 3.0]))
    array(1.)
    """
    return SCALAR_FUNCTIONS["sqrt"](var(a, axis=axis, ddof=ddof, keepdims=keepdims))


@array_op
def any(a: Any, axis: Any = None, keepdims: bool = False) -> Value:  # noqa: A001
    """True where some element along ``axis`` is true (non-zero), as ``numpy.any``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.any(a > 2, axis=1), np.array([[1, 3], [0, 1]]))
    array([ True, False])
    """
    return reduce(as_value(a, "any"), "any", axis, keepdims)


@array_op
def all(a: Any, axis: Any = None, keepdims: bool = False) -> Value:  # noqa: A001
    """True where every element along ``axis`` is true (non-zero), as ``numpy.all``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.all(a, axis=0), np.array([[1, 3], [0, 1]]))
    array([False,  True])
    """
    return reduce(as_value(a, "all"), "all", axis, keepdims)


def _flat_or(x: Value, axis: Any, op: str) -> tuple[Value, int]:
    """``x`` and the axis to work on: the flattened array for ``axis=None``, as NumPy does."""
    if axis is None:
        return reshape(x, (x.size,)), 0
    return x, normalize_axis(axis, x.ndim, op)


def _arg_extreme(a: Any, axis: Any, keepdims: bool, op: str) -> Value:
    x, ax = _flat_or(as_value(a, op), axis, op)
    if x.shape[ax] == 0:
        fail(ShapeError, f"{op}: attempt to get {op} of an empty sequence (axis of shape {x.shape})")
    extreme = METHODS["max" if op == "argmax" else "min"](x, ax, True)
    hit = x == extreme
    if is_float(x.dtype):
        hit = hit | SCALAR_FUNCTIONS["isnan"](x)  # a NaN is the extreme wherever one is, as in NumPy
    n = x.shape[ax]
    position = generate(x.shape, lambda *ix: ix[ax])
    out = METHODS["min"](where(hit, position, n), ax, keepdims and axis is not None)
    if keepdims and axis is None:
        out = reshape(out, (1,) * as_value(a, op).ndim)
    return out


@array_op
def argmax(a: Any, axis: Any = None, keepdims: bool = False) -> Value:
    """The index of the first maximum along ``axis`` (of the flattened array for None), int64.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.argmax(a, axis=1), np.array([[1.0, 7.0, 7.0], [4.0, 0.0, 1.0]]))
    array([1, 0])
    """
    return _arg_extreme(a, axis, keepdims, "argmax")


@array_op
def argmin(a: Any, axis: Any = None, keepdims: bool = False) -> Value:
    """The index of the first minimum along ``axis`` (of the flattened array for None), int64.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.argmin(a), np.array([[3, 1], [1, 2]]))
    array(1)
    """
    return _arg_extreme(a, axis, keepdims, "argmin")


def _scan(a: Any, axis: Any, dtype: Any, op: str, combine: Any) -> Value:
    x, ax = _flat_or(_typed(as_value(a, op), dtype), axis, op)
    # uint8 in uint64 (NumPy's cumsum); float16 in float32, rounded once (NumPy rounds at every step)
    wide, result = accumulation(x.dtype)
    x = cast(x, wide)
    if x.shape[ax] == 0:
        return cast(x, result)
    return cast(scanl1(combine, x, axis=ax), result)


@array_op
def cumsum(a: Any, axis: Any = None, dtype: Any = None) -> Value:
    """Running sums along ``axis`` (of the flattened array for None), as ``numpy.cumsum``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.cumsum(a), np.array([[1, 2], [3, 4]]))
    array([ 1,  3,  6, 10])
    """
    return _scan(a, axis, dtype, "cumsum", lambda x, y: x + y)


@array_op
def cumprod(a: Any, axis: Any = None, dtype: Any = None) -> Value:
    """Running products along ``axis`` (of the flattened array for None), as ``numpy.cumprod``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.cumprod(a, axis=0), np.array([[1, 2], [3, 4]]))
    array([[1, 2],
           [3, 8]])
    """
    return _scan(a, axis, dtype, "cumprod", lambda x, y: x * y)
