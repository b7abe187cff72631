"""Shared plumbing of the array-level operations: the :func:`array_op` wrapper and axis/shape checks.

>>> normalize_axes((-1, 0), 3, "sum")
(2, 0)
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from pyaccad.errors import Error, ShapeError
from pyaccad.frontend.tracing import array_scope, current_builder, fail

F = TypeVar("F", bound=Callable[..., Any])


def array_op(fn: F) -> F:
    """Mark an array-level operation: outside traces it is an error, inside lambdas it is hoisted.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.map(lambda x: x - a.mean(), a), np.array([1.0, 3.0]))
    array([-1.,  1.])
    """

    @functools.wraps(fn)
    def op(*args: Any, **kwargs: Any) -> Any:
        if current_builder() is None:
            fail(Error, f"{op.__name__}: called outside a traced function (use acc.jit or acc.run)")
        with array_scope(op.__name__, (args, kwargs)):
            return fn(*args, **kwargs)

    return op  # type: ignore[return-value]


def normalize_axis(axis: Any, ndim: int, op: str) -> int:
    """``axis`` as a non-negative int below ``ndim``, else a ShapeError naming ``op``.

    >>> normalize_axis(-1, 3, "fold")
    2
    """
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, bool):
        fail(ShapeError, f"{op}: axis must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        fail(ShapeError, f"{op}: axis {axis} is out of range for an array of rank {ndim}")
    return int(axis) % ndim


def normalize_shape(shape: Any, op: str) -> tuple[int, ...]:
    """A shape given as an int or a sequence of non-negative ints.

    >>> normalize_shape(3, "fill"), normalize_shape([2, 0], "fill")
    ((3,), (2, 0))
    """
    dims = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if any(not isinstance(d, (int, np.integer)) or d < 0 for d in dims):
        fail(ShapeError, f"{op}: shape {shape!r} must be non-negative ints")
    return tuple(int(d) for d in dims)


def normalize_axes(axes: Any, ndim: int, op: str) -> tuple[int, ...]:
    """An int or a sequence of ints as distinct non-negative axes (None: all axes).

    >>> normalize_axes(None, 2, "sum"), normalize_axes(-2, 2, "sum")
    ((0, 1), (0,))
    """
    if axes is None:
        return tuple(range(ndim))
    items = (axes,) if isinstance(axes, (int, np.integer)) else tuple(axes)
    result = tuple(normalize_axis(a, ndim, op) for a in items)
    if len(set(result)) != len(result):
        fail(ShapeError, f"{op}: repeated axis in {axes!r}")
    return result
