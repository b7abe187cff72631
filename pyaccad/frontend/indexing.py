"""``a[...]``: NumPy basic indexing on traced arrays, and element reads inside lambdas.

Keys with integer arrays (advanced indexing, a gather) go to :mod:`pyaccad.frontend.fancy`.

At array level an index of ints, slices (any step), ``None`` and ``...``
lowers to at most one ``reverse`` (for negative steps), one ``slice`` and one
``reshape`` (dropping integer-indexed axes, inserting ``None`` axes). Integer
indices held in rank-0 arrays select at run time with a ``backpermute``.

Inside a lambda, ``a[i, j]`` with one integer (or integer ``Exp``, of any
integer dtype: indices are widened to int64) per axis reads one element of
the free array ``a`` with the scalar ``index`` primitive; Python ints become
int64 literals, and a float or bool index is a DTypeError, as in NumPy. Static integers are bounds-checked when
traced; traced indices are checked by the interpreter at run time.

>>> import numpy as np, pyaccad as acc
>>> acc.run(lambda a: a[::-1, 1], np.arange(6).reshape(3, 2))
array([5, 3, 1])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pyaccad.errors import DTypeError, ShapeError
from pyaccad.frontend.combinators import backpermute
from pyaccad.frontend.fancy import gather, is_advanced
from pyaccad.frontend.lambdas import as_index
from pyaccad.frontend.operators import cast, where
from pyaccad.frontend.shapes import reshape, reverse
from pyaccad.frontend.tracing import Value, array_scope, check_live, emit, fail, in_scalar_scope, wrap
from pyaccad.ir import INT64, Lit
from pyaccad.ir.types import is_int


def _is_int_index(k: Any) -> bool:
    if isinstance(k, (bool, np.bool_)):
        return False
    return isinstance(k, (int, np.integer)) or (isinstance(k, Value) and k.shape == () and is_int(k.dtype))


def _static_index(k: int, shape: tuple[int, ...], axis: int) -> int:
    dim = shape[axis]
    if not -dim <= k < dim:
        fail(ShapeError, f"index: index {k} is out of bounds for axis {axis} with size {dim} (array of shape {shape})")
    return int(k) % dim


def getitem(a: Value, key: Any) -> Value:
    """``a[key]``: an element read inside lambdas, else NumPy basic indexing.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.generate((2,), lambda i: a[i, -1]), np.arange(6).reshape(2, 3))
    array([2, 5])
    """
    items = key if isinstance(key, tuple) else (key,)
    if in_scalar_scope():
        traced = [k for k in items if isinstance(k, Value) and k.builder.kind == "scalar"]
        if len(items) == a.ndim and (traced or all(_is_int_index(k) for k in items)):
            return _read_element(a, items)
        if traced:
            fail(
                ShapeError,
                f"index: inside a lambda, a[...] with traced indices needs one integer index per axis "
                f"(array of shape {a.shape}, got {len(items)} indices)",
            )
    with array_scope("index", (a, items)):
        if is_advanced(key):
            return gather(a, key)
        return _basic_index(a, items)


def _read_element(a: Value, items: tuple[Any, ...]) -> Value:
    """The ``index`` read ``a[items]``: static ints are checked now, the rest widened to int64 (or refused)."""
    idx = []
    for axis, k in enumerate(items):
        if _is_int_index(k) and not isinstance(k, Value):
            idx.append(Lit(_static_index(k, a.shape, axis), INT64))
        else:
            idx.append(check_live(as_index(k, "index", f"reading an array of shape {a.shape} with")))
    (var,) = emit("index", (check_live(a), *idx))
    return wrap(var)


def _basic_index(a: Value, items: tuple[Any, ...]) -> Value:
    for k in items:
        if not (k is None or k is Ellipsis or isinstance(k, slice) or _is_int_index(k)):
            fail(DTypeError, f"index: unsupported index {k!r}; use ints, slices, None, ... and integer arrays")
    if sum(k is Ellipsis for k in items) > 1:
        fail(ShapeError, "index: an index can only have a single ellipsis ('...')")
    used = sum(k is not None and k is not Ellipsis for k in items)
    if used > a.ndim:
        fail(ShapeError, f"index: too many indices ({used}) for an array of shape {a.shape}")
    if Ellipsis in items:
        at = next(i for i, k in enumerate(items) if k is Ellipsis)
        items = items[:at] + (slice(None),) * (a.ndim - used) + items[at + 1 :]
    else:
        items = items + (slice(None),) * (a.ndim - used)

    starts, stops, steps, flipped = [], [], [], []
    out_shape: list[int] = []
    dynamic: list[tuple[int, Value]] = []  # (axis of the sliced result, rank-0 index array)
    axis = 0
    for k in items:
        if k is None:
            out_shape.append(1)
            continue
        dim = a.shape[axis]
        if isinstance(k, slice):
            lo, hi, step = _forward_slice(k, dim)
            if k.step is not None and k.step < 0:
                flipped.append(axis)
            starts.append(lo)
            stops.append(hi)
            steps.append(step)
            out_shape.append(len(range(lo, hi, step)))
        elif isinstance(k, Value):
            starts.append(0)
            stops.append(dim)
            steps.append(1)
            dynamic.append((len(out_shape), k))
            out_shape.append(dim)
        else:
            i = _static_index(k, a.shape, axis)
            starts.append(i)
            stops.append(i + 1)
            steps.append(1)
        axis += 1

    x = reverse(a, tuple(flipped)) if flipped else a
    if (tuple(starts), tuple(stops), tuple(steps)) != ((0,) * a.ndim, a.shape, (1,) * a.ndim):
        params = {"starts": tuple(starts), "stops": tuple(stops), "steps": tuple(steps)}
        (var,) = emit("slice", (check_live(x),), params)
        x = wrap(var)
    x = reshape(x, tuple(out_shape))
    return _gather(x, dynamic) if dynamic else x


def _forward_slice(k: slice, dim: int) -> tuple[int, int, int]:
    """``k`` on an axis of ``dim`` as a positive-step slice of the axis (reversed first when ``k.step < 0``)."""
    if k.step == 0:
        fail(ShapeError, "index: slice step cannot be zero")
    start, stop, step = k.indices(dim)
    count = len(range(start, stop, step))
    if step > 0:
        return start, start + max(count - 1, 0) * step + (count > 0), step
    if count == 0:
        return 0, 0, 1
    first = dim - 1 - start  # position of `start` once the axis is reversed
    return first, first + (count - 1) * -step + 1, -step


def _gather(x: Value, dynamic: list[tuple[int, Value]]) -> Value:
    """Select run-time indices (rank-0 int arrays) on the given axes of ``x``, dropping those axes.

    Negative indices count from the end, as in NumPy.
    """
    picked = dict(dynamic)
    kept = [d for ax, d in enumerate(x.shape) if ax not in picked]

    def source(*ix: Any) -> tuple[Any, ...]:
        rest = iter(ix)
        return tuple(_wrap_negative(picked[ax], x.shape[ax]) if ax in picked else next(rest) for ax in range(x.ndim))

    return backpermute(tuple(kept), source, x)


def _wrap_negative(k: Value, dim: int) -> Value:
    k = cast(k, INT64)
    return where(k < 0, k + dim, k)
