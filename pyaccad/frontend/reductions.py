"""NumPy-style reductions on traced arrays: ``.sum() .prod() .max() .min() .mean()``.

Each lowers to one ``fold`` with a canonical monoid lambda (traced
``lambda a, b: a + b``, ``a * b``, ``maximum``, ``minimum``) that later stages
recognise: ``sum``/``prod`` start from their identity, ``max``/``min`` use
``fold1``. Several axes are moved to the end (``transpose``), merged into one
(``reshape``) and folded once. ``sum``, ``prod`` and ``mean`` accumulate in the
dtype :func:`~pyaccad.frontend.promotion.accumulation` says (uint8 in uint64,
bool in int64, float16 in float32), and ``mean`` of integers is float64, as
in NumPy.

>>> import numpy as np, pyaccad as acc
>>> acc.run(lambda a: a.sum(axis=(0, 2), keepdims=True), np.ones((2, 3, 4))).ravel()
array([8., 8., 8.])
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from math import prod
from typing import Any

from pyaccad.errors import ShapeError
from pyaccad.frontend.combinators import array_op, fold, fold1
from pyaccad.frontend.literals import value_of
from pyaccad.frontend.operators import cast, elementwise
from pyaccad.frontend.promotion import accumulation
from pyaccad.frontend.shapes import normalize_axes, reshape, transpose
from pyaccad.frontend.tracing import Value, fail
from pyaccad.ir import BOOL, FLOAT64, Lit
from pyaccad.ir.types import is_float

_MONOIDS: dict[str, tuple[Callable[[Any, Any], Any], int | None]] = {
    "sum": (operator.add, 0),
    "prod": (operator.mul, 1),
    "max": (lambda a, b: elementwise("maximum", a, b), None),
    "min": (lambda a, b: elementwise("minimum", a, b), None),
    "any": (operator.or_, False),
    "all": (operator.and_, True),
}


def reduce(x: Value, op: str, axis: Any = None, keepdims: bool = False) -> Value:
    """Reduce ``axis`` (an int, a tuple, or None for all axes) of ``x`` with the monoid ``op``
    (``sum``, ``prod``, ``max``, ``min``, or ``any``/``all`` on truth values).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: reduce(a, "prod", axis=(0, 1)), np.full((2, 2), 3))
    array(81)
    """
    axes = normalize_axes(axis, x.ndim, op)
    if op in ("sum", "prod"):
        wide, result = accumulation(x.dtype)
        if wide != result:  # float16: accumulate in float32, round once
            return cast(reduce(cast(x, wide), op, axis, keepdims), result)
        x = cast(x, wide)
    if op in ("any", "all") and x.dtype != BOOL:
        x = x != 0  # numbers are true where non-zero, as in NumPy
    kept = [ax for ax in range(x.ndim) if ax not in axes]
    if not axes:
        return x
    n = prod(x.shape[ax] for ax in axes)
    combine, identity = _MONOIDS[op]
    if identity is None and n == 0:
        fail(ShapeError, f"{op}: cannot reduce an empty axis of shape {x.shape} (no identity)")
    moved = transpose(x, (*kept, *axes))
    merged = reshape(moved, (*moved.shape[: len(kept)], n))
    out = fold(combine, identity, merged) if identity is not None else fold1(combine, merged)
    if keepdims:
        out = reshape(out, tuple(1 if ax in axes else d for ax, d in enumerate(x.shape)))
    return out


def _method(op: str) -> Callable[..., Value]:
    """The array method ``x.<op>(axis, keepdims)``: an array-level operation, hoisted out of lambdas."""

    def method(x: Value, axis: Any = None, keepdims: bool = False) -> Value:
        if op != "mean":
            return reduce(x, op, axis, keepdims)
        result = x.dtype if is_float(x.dtype) else FLOAT64
        x = cast(x, accumulation(result)[0])
        axes = normalize_axes(axis, x.ndim, "mean")
        count = Lit(float(prod(x.shape[ax] for ax in axes)), x.dtype, from_extents=True)  # a batch size: never 1
        # 0 / 0 is nan for an empty axis, as NumPy
        return cast(reduce(x, "sum", axis, keepdims) / value_of(count), result)

    method.__name__ = method.__qualname__ = op
    return array_op(method)


METHODS: dict[str, Callable[..., Value]] = {op: _method(op) for op in ("sum", "prod", "max", "min", "mean")}
"""The reduction methods of traced arrays (``Value.sum`` and the others call these)."""
