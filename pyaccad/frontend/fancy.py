"""Advanced indexing (``x[idx]`` with integer arrays, a gather) and JAX's ``x.at[idx]`` updates (a scatter).

An index key is turned into an *index map*: the shape of ``x[key]`` and a
function from a position of ``x[key]`` to the position of ``x`` it reads.
``x[key]`` is then one ``backpermute`` over that map, and
``x.at[key].add(v)`` one ``permute`` of ``v`` (broadcast to the shape of
``x[key]``) into ``x`` along the same map, with ``+`` (``set``: overwrite,
``min``, ``max``, ``multiply``) as the combining function: both
differentiate as those combinators do.

NumPy's rules hold: integer arrays (traced, NumPy, or lists) broadcast
together; where they sit next to each other their axes replace the indexed
ones in place, else they come first; a Python int next to an array counts as
one; negative indices count from the end; an index out of range is an
``IndexOutOfBounds`` at run time. A boolean NumPy mask stands for its
``nonzero()`` indices; a *traced* boolean mask would give an array whose
shape depends on the data, so it is refused (use ``acc.where``). With
duplicate indices, ``set`` keeps one of the values (which one is unspecified,
as in JAX); ``add``, ``min``, ``max`` and ``multiply`` combine them all.

>>> import numpy as np, pyaccad as acc
>>> acc.run(lambda a, i: (a[i], a.at[i].add(10.0)), np.arange(3.0), np.array([2, 2, 0]), backend="interp")
(array([2., 2., 0.]), array([10.,  1., 22.]))
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pyaccad.errors import DTypeError, ShapeError
from pyaccad.frontend.combinators import backpermute, fill, permute, the
from pyaccad.frontend.operators import SCALAR_FUNCTIONS, broadcast_value, cast, where
from pyaccad.frontend.tracing import Value, fail, is_scalar_literal, to_value
from pyaccad.ir import BOOL, INT64
from pyaccad.ir.types import is_int


def is_advanced(key: Any) -> bool:
    """True when ``key`` holds an integer or boolean array (traced, NumPy or a list): not basic indexing."""
    items = key if isinstance(key, tuple) else (key,)
    return any(isinstance(k, (list, np.ndarray)) or (isinstance(k, Value) and k.ndim > 0) for k in items)


@dataclass
class IndexMap:
    """The shape of ``x[key]`` and, for each of its positions, the position of ``x`` it reads."""

    shape: tuple[int, ...]
    source: Callable[..., tuple[Any, ...]]


def _arrays(k: Any, op: str) -> list[Any]:
    """One key item as index arrays: a boolean NumPy mask gives one per axis it covers."""
    if isinstance(k, list):
        k = np.asarray(k)
    if isinstance(k, np.ndarray):
        if k.dtype == np.bool_:
            return [to_value(ix, op) for ix in np.nonzero(k)]
        if k.dtype.kind not in "iu":
            fail(DTypeError, f"{op}: index arrays must hold integers, got {k.dtype}")
        return [to_value(k.astype(np.int64), op)]
    if k.dtype == BOOL:
        fail(
            ShapeError,
            f"{op}: a traced boolean mask would give an array whose shape depends on the data; "
            "use acc.where(mask, x, 0) or pyaccad.numpy.where to keep the shape",
        )
    if not is_int(k.dtype):
        fail(DTypeError, f"{op}: index arrays must hold integers, got {k.dtype}")
    return [k]


def index_map(shape: tuple[int, ...], key: Any, op: str) -> IndexMap:
    """The index map of ``x[key]`` for an ``x`` of ``shape`` (basic and advanced items alike)."""
    items = list(key) if isinstance(key, tuple) else [key]
    advanced_mode = is_advanced(key)
    expanded: list[Any] = []  # per item: ("slice", k), ("int", k), ("array", value), ("new", None)
    for k in items:
        if k is None:
            expanded.append(("new", None))
        elif k is Ellipsis:
            expanded.append(("...", None))
        elif isinstance(k, slice):
            expanded.append(("slice", k))
        elif isinstance(k, (list, np.ndarray)) or (isinstance(k, Value) and (k.ndim > 0 or advanced_mode)):
            expanded.extend(("array", v) for v in _arrays(k, op))
        elif isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)):
            expanded.append(("array" if advanced_mode else "int", int(k)))
        elif isinstance(k, Value) and is_int(k.dtype):
            expanded.append(("int", k))
        else:
            fail(DTypeError, f"{op}: unsupported index {k!r}; use ints, slices, None, ... and integer arrays")
    if sum(kind == "..." for kind, _ in expanded) > 1:
        fail(ShapeError, f"{op}: an index can only have a single ellipsis ('...')")
    used = sum(kind in ("slice", "int", "array") for kind, _ in expanded)
    if used > len(shape):
        fail(ShapeError, f"{op}: too many indices ({used}) for an array of shape {shape}")
    fill_in = [("slice", slice(None))] * (len(shape) - used)
    at = next((i for i, (kind, _) in enumerate(expanded) if kind == "..."), len(expanded))
    expanded = expanded[:at] + fill_in + expanded[at + 1 :]
    return _build(shape, expanded, op)


def _build(shape: tuple[int, ...], expanded: list[tuple[str, Any]], op: str) -> IndexMap:
    arrays = [v for kind, v in expanded if kind == "array"]
    try:
        broadcast = tuple(np.broadcast_shapes(*(np.shape(v) if not isinstance(v, Value) else v.shape for v in arrays)))
    except ValueError:
        fail(
            ShapeError, f"{op}: index arrays of shapes {[getattr(v, 'shape', ()) for v in arrays]} cannot be broadcast"
        )
    positions = [i for i, (kind, _) in enumerate(expanded) if kind == "array"]
    together = bool(positions) and positions == list(range(positions[0], positions[-1] + 1))
    # Output axes, in order: ("item", i, extent) for slices and None, ("adv", j, extent) for the broadcast index axes.
    out: list[tuple[str, int, int]] = []
    adv = [("adv", j, d) for j, d in enumerate(broadcast)]
    if positions and not together:
        out.extend(adv)
    axis = 0
    for i, (kind, k) in enumerate(expanded):
        if positions and together and i == positions[0]:
            out.extend(adv)
        if kind == "new":
            out.append(("item", i, 1))
            continue
        dim = shape[axis]
        if kind == "slice":
            if k.step == 0:
                fail(ShapeError, f"{op}: slice step cannot be zero")
            out.append(("item", i, len(range(*k.indices(dim)))))
        elif kind in ("int", "array") and isinstance(k, (int, np.integer)):
            if not -dim <= k < dim:
                fail(ShapeError, f"{op}: index {k} is out of bounds for axis {axis} with size {dim} (shape {shape})")
        axis += 1
    place = {(what, n): p for p, (what, n, _) in enumerate(out)}

    def source(*ix: Any) -> tuple[Any, ...]:
        adv_ix = [ix[place[("adv", j)]] for j in range(len(broadcast))]
        result = []
        axis = 0
        for i, (kind, k) in enumerate(expanded):
            if kind == "new":
                continue
            dim = shape[axis]
            if kind == "slice":
                start, _, step = k.indices(dim)
                result.append(start + ix[place[("item", i)]] * step)
            elif isinstance(k, (int, np.integer)):
                result.append(int(k) % dim)
            else:
                result.append(_wrap(_read(k, adv_ix), dim))
            axis += 1
        return tuple(result)

    return IndexMap(tuple(d for _, _, d in out), source)


def _read(index: Value, adv_ix: list[Any]) -> Any:
    """The element of a broadcast index array at the position ``adv_ix`` of the broadcast shape."""
    if index.ndim == 0:
        return the(index)
    aligned = adv_ix[len(adv_ix) - index.ndim :]
    return index[tuple(i if d != 1 else 0 for i, d in zip(aligned, index.shape, strict=True))]


def _wrap(k: Any, dim: int) -> Any:
    k = cast(k, INT64)
    return where(k < 0, k + dim, k)


def gather(x: Value, key: Any) -> Value:
    """``x[key]`` for a key with integer arrays: one ``backpermute``."""
    m = index_map(x.shape, key, "index")
    return backpermute(m.shape, m.source, x)


_COMBINE: dict[str, Callable[[Any, Any], Any]] = {
    "set": lambda new, old: new,
    "add": lambda new, old: new + old,
    "multiply": lambda new, old: new * old,
    "min": lambda new, old: SCALAR_FUNCTIONS["minimum"](new, old),
    "max": lambda new, old: SCALAR_FUNCTIONS["maximum"](new, old),
}


def scatter(x: Value, key: Any, values: Any, how: str) -> Value:
    """``x`` with ``values`` combined into ``x[key]`` by ``how`` (one ``permute`` into ``x``)."""
    op = f"at[...].{how}"
    m = index_map(x.shape, key, op)
    if is_scalar_literal(values):
        v = fill(m.shape, values, dtype=x.dtype)  # a Python number takes the array's dtype
    else:
        v = to_value(np.asarray(values) if isinstance(values, list) else values, op)
        if v.dtype != x.dtype:
            fail(DTypeError, f"{op}: the values have dtype {v.dtype}, the array {x.dtype}; use acc.cast")
        v = broadcast_value(v, m.shape, op)
    return permute(_COMBINE[how], x, m.source, v)


class IndexUpdateRef:
    """``x.at[key]``: the functional updates ``set``, ``add``, ``multiply``, ``min``, ``max`` and ``get``.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: a.at[1:].set(0.0), np.ones(3), backend="interp")
    array([1., 0., 0.])
    """

    def __init__(self, x: Value, key: Any) -> None:
        self.x = x
        self.key = key

    def get(self) -> Value:
        """``x[key]``.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.at[np.array([1, 0])].get(), np.arange(2), backend="interp")
        array([1, 0])
        """
        return gather(self.x, self.key) if is_advanced(self.key) else self.x[self.key]

    def set(self, values: Any) -> Value:
        """A copy of ``x`` with ``x[key] = values`` (``values`` broadcast to the shape of ``x[key]``).

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.at[np.array([0, 2])].set(np.array([5, 6])), np.zeros(3, "int64"), backend="interp")
        array([5, 0, 6])
        """
        return scatter(self.x, self.key, values, "set")

    def add(self, values: Any) -> Value:
        """A copy of ``x`` with ``values`` added at ``key`` (every duplicate index adds).

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.at[np.array([0, 0])].add(1.0), np.zeros(2), backend="interp")
        array([2., 0.])
        """
        return scatter(self.x, self.key, values, "add")

    def multiply(self, values: Any) -> Value:
        """A copy of ``x`` with ``x[key]`` multiplied by ``values``.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.at[1].multiply(3.0), np.ones(2), backend="interp")
        array([1., 3.])
        """
        return scatter(self.x, self.key, values, "multiply")

    def min(self, values: Any) -> Value:
        """A copy of ``x`` with ``x[key] = minimum(x[key], values)``.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.at[:].min(1.5), np.array([1.0, 2.0]), backend="interp")
        array([1. , 1.5])
        """
        return scatter(self.x, self.key, values, "min")

    def max(self, values: Any) -> Value:
        """A copy of ``x`` with ``x[key] = maximum(x[key], values)``.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.at[0].max(1.5), np.array([1.0, 2.0]), backend="interp")
        array([1.5, 2. ])
        """
        return scatter(self.x, self.key, values, "max")


class IndexUpdateHelper:
    """``x.at``: index it (``x.at[key]``) to get an :class:`IndexUpdateRef`.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: a.at[0].add(1), np.zeros(2, "int64"), backend="interp")
    array([1, 0])
    """

    def __init__(self, x: Value) -> None:
        self.x = x

    def __getitem__(self, key: Any) -> IndexUpdateRef:
        return IndexUpdateRef(self.x, key)
