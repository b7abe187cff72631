"""Making arrays, as NumPy does: ``zeros``, ``ones``, ``full``, ``eye``, ``arange``, ``linspace``, ``tril``...

Shapes and ranges are Python values (a traced shape cannot select a
program's size; pass sizes as ``static_argnums`` of ``acc.jit``). Dtypes
default as in NumPy: float64 for ``zeros``/``ones``/``eye``/``linspace``,
the fill value's for ``full``, int64 or float64 for ``arange``; ``*_like``
take the dtype and shape of their argument. ``tril``/``triu`` are an
element-wise choice, so they differentiate and fuse.

>>> import numpy as np, pyaccad as acc
>>> import pyaccad.numpy as jnp
>>> acc.run(lambda: jnp.arange(3) + jnp.ones(3, dtype="int64"))
array([1, 2, 3])
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pyaccad.errors import ShapeError
from pyaccad.frontend.arrayops import array_op, normalize_shape
from pyaccad.frontend.combinators import fill, generate
from pyaccad.frontend.operators import cast, where
from pyaccad.frontend.tracing import Value, dtype_named, fail, is_scalar_literal
from pyaccad.ir import FLOAT64, INT64
from pyaccad.numpy.common import as_value

__all__ = [
    "arange",
    "array",
    "asarray",
    "empty",
    "eye",
    "full",
    "full_like",
    "identity",
    "linspace",
    "ones",
    "ones_like",
    "tril",
    "triu",
    "zeros",
    "zeros_like",
]


def _dtype(dtype: Any, default: np.dtype, op: str) -> np.dtype:
    return default if dtype is None else dtype_named(dtype, op)


def _filled(shape: Any, value: int, dtype: np.dtype) -> Value:
    """``fill`` with a small Python number converted to ``dtype`` first (``0`` is ``False`` for bool)."""
    return fill(shape, np.array(value).astype(dtype).item(), dtype=dtype)


@array_op
def asarray(a: Any, dtype: Any = None) -> Value:
    """``a`` (a traced array, a NumPy array, a list or a number) as a traced array, of ``dtype`` if given.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda: jnp.asarray([1, 2], dtype="float32"))
    array([1., 2.], dtype=float32)
    """
    value = as_value(a, "asarray")
    return value if dtype is None else cast(value, dtype)


array = asarray


@array_op
def zeros(shape: Any, dtype: Any = None) -> Value:
    """An array of zeros (float64 unless ``dtype`` says otherwise).

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda: jnp.zeros((2,), dtype="int32"))
    array([0, 0], dtype=int32)
    """
    return _filled(shape, 0, _dtype(dtype, FLOAT64, "zeros"))


@array_op
def ones(shape: Any, dtype: Any = None) -> Value:
    """An array of ones (float64 unless ``dtype`` says otherwise).

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda: jnp.ones(2))
    array([1., 1.])
    """
    return _filled(shape, 1, _dtype(dtype, FLOAT64, "ones"))


empty = zeros  # an uninitialised array may hold anything: zeros are as good


@array_op
def full(shape: Any, fill_value: Any, dtype: Any = None) -> Value:
    """An array of ``shape`` filled with ``fill_value`` (its dtype unless ``dtype`` is given).

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda: jnp.full((2,), 7))
    array([7, 7])
    """
    return fill(shape, fill_value, dtype=dtype)


def _like(a: Any, value: Any, dtype: Any, op: str) -> Value:
    x = as_value(a, op)
    return _filled(x.shape, value, _dtype(dtype, x.dtype, op))


@array_op
def zeros_like(a: Any, dtype: Any = None) -> Value:
    """Zeros of ``a``'s shape and dtype.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(jnp.zeros_like, np.array([1.5, 2.5]))
    array([0., 0.])
    """
    return _like(a, 0, dtype, "zeros_like")


@array_op
def ones_like(a: Any, dtype: Any = None) -> Value:
    """Ones of ``a``'s shape and dtype.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(jnp.ones_like, np.array([3, 4]))
    array([1, 1])
    """
    return _like(a, 1, dtype, "ones_like")


@array_op
def full_like(a: Any, fill_value: Any, dtype: Any = None) -> Value:
    """``fill_value`` in an array of ``a``'s shape and dtype.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.full_like(a, 2), np.array([0.5, 0.5]))
    array([2., 2.])
    """
    return _like(a, fill_value, dtype, "full_like")


@array_op
def eye(N: int, M: int | None = None, k: int = 0, dtype: Any = None) -> Value:  # noqa: N803  (NumPy's names)
    """The ``N x M`` matrix with ones on diagonal ``k`` (0: the main one, positive: above it).

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda: jnp.eye(2, 3, k=1))
    array([[0., 1., 0.],
           [0., 0., 1.]])
    """
    shape = normalize_shape((N, N if M is None else M), "eye")
    target = _dtype(dtype, FLOAT64, "eye")
    return generate(shape, lambda i, j: cast(j - i == k, target))


@array_op
def identity(n: int, dtype: Any = None) -> Value:
    """The ``n x n`` identity matrix.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda: jnp.identity(2, dtype="int32"))
    array([[1, 0],
           [0, 1]], dtype=int32)
    """
    return eye(n, dtype=dtype)


def _triangle(m: Any, k: int, op: str, lower: bool) -> Value:
    x = as_value(m, op)
    if x.ndim < 2:
        fail(ShapeError, f"{op}: needs an array of rank >= 2, got shape {x.shape}")
    keep = generate(x.shape[-2:], (lambda i, j: j - i <= k) if lower else (lambda i, j: j - i >= k))
    return where(keep, x, _filled((), 0, x.dtype))


@array_op
def tril(m: Any, k: int = 0) -> Value:
    """``m`` with the elements above diagonal ``k`` of its last two axes set to zero.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(jnp.tril, np.ones((2, 2)))
    array([[1., 0.],
           [1., 1.]])
    """
    return _triangle(m, k, "tril", lower=True)


@array_op
def triu(m: Any, k: int = 0) -> Value:
    """``m`` with the elements below diagonal ``k`` of its last two axes set to zero.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.triu(a, k=1), np.ones((2, 2)))
    array([[0., 1.],
           [0., 0.]])
    """
    return _triangle(m, k, "triu", lower=False)


def _static_number(x: Any, what: str, op: str) -> float | int:
    if not is_scalar_literal(x) or isinstance(x, (bool, np.bool_)):
        fail(ShapeError, f"{op}: {what} must be a Python number (it sets the length), got {x!r}")
    return x.item() if isinstance(x, np.generic) else x


@array_op
def arange(start: Any, stop: Any = None, step: Any = None, dtype: Any = None) -> Value:
    """``start, start + step, ...`` up to ``stop`` (excluded), as ``numpy.arange``; ``arange(n)`` is ``0..n-1``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda: jnp.arange(1.0, 2.0, 0.25))
    array([1.  , 1.25, 1.5 , 1.75])
    """
    if stop is None:
        start, stop = 0, start
    step = 1 if step is None else step
    first, last, delta = (_static_number(v, w, "arange") for v, w in ((start, "start"), (stop, "stop"), (step, "step")))
    if delta == 0:
        fail(ShapeError, "arange: step must not be zero")
    count = max(math.ceil((last - first) / delta), 0)
    floats = any(isinstance(v, float) for v in (first, last, delta))
    target = _dtype(dtype, FLOAT64 if floats else INT64, "arange")
    if target.kind == "f":
        return generate((count,), lambda i: first + cast(i, target) * delta)
    return generate((count,), lambda i: cast(first + i * delta, target))


@array_op
def linspace(start: Any, stop: Any, num: int = 50, endpoint: bool = True, dtype: Any = None) -> Value:
    """``num`` evenly spaced numbers from ``start`` to ``stop`` (included unless ``endpoint=False``).

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda: jnp.linspace(0.0, 1.0, 5))
    array([0.  , 0.25, 0.5 , 0.75, 1.  ])
    """
    first, last = (float(_static_number(v, w, "linspace")) for v, w in ((start, "start"), (stop, "stop")))
    count = normalize_shape(num, "linspace")[0]
    div = count - 1 if endpoint else count
    delta = (last - first) / div if div > 0 else 0.0
    values = generate((count,), lambda i: first + cast(i, FLOAT64) * delta)
    if endpoint and count > 1:
        values = where(generate((count,), lambda i: i == count - 1), last, values)
    return values if dtype is None else cast(values, dtype)
