"""Moving elements: ``backpermute`` (gather), ``permute`` (scatter with a combining function), ``stencil``.

Index functions get int64 index scalars and return a tuple of indices (a
single index for rank 1) of any integer dtype: Python ints become int64
literals, int32 indices are widened with a ``cast``; a float or bool index is
a DTypeError, as in NumPy. A ``permute`` index function may drop an element by returning
:data:`~pyaccad.frontend.lambdas.IGNORE`, directly or as one branch of a ``cond``.

>>> import numpy as np, pyaccad as acc
>>> acc.run(lambda a: acc.backpermute((2, 2), lambda i, j: (j, i), a), np.arange(4).reshape(2, 2))
array([[0, 2],
       [1, 3]])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pyaccad.errors import DTypeError, ShapeError
from pyaccad.frontend.arrayops import array_op, normalize_shape
from pyaccad.frontend.lambdas import as_target, check_arity, index_atoms, trace_lambda
from pyaccad.frontend.operators import cast
from pyaccad.frontend.pytree import unflatten
from pyaccad.frontend.tracing import Value, check_live, emit, fail, is_scalar_literal, literal, to_value, wrap
from pyaccad.frontend.values import is_weak
from pyaccad.ir import BOOL, INT64

__all__ = ["backpermute", "permute", "stencil"]


@array_op
def backpermute(shape: Any, index_fn: Callable[..., Any], a: Any) -> Value:
    """Gather: the array of ``shape`` with ``out[ix] = a[index_fn(*ix)]``.

    >>> import numpy as np, pyaccad as acc
    >>> f = lambda a: acc.backpermute((3,), lambda i: 2 - i, a)
    >>> acc.run(f, np.array([1.0, 2.0, 3.0]))
    array([3., 2., 1.])
    """
    dims = normalize_shape(shape, "backpermute")
    x = to_value(a, "backpermute")
    check_arity(index_fn, len(dims), "backpermute")
    lam, _ = trace_lambda(
        lambda *ix: tuple(index_atoms(index_fn(*ix), x.ndim, "backpermute", f" (source of shape {x.shape})")),
        [INT64] * len(dims),
        "backpermute",
    )
    (var,) = emit("backpermute", (check_live(x),), {"shape": dims, "index": lam})
    return wrap(var)


@array_op
def permute(combine: Callable[[Any, Any], Any], defaults: Any, index_fn: Callable[..., Any], a: Any) -> Value:
    """Scatter: start from ``defaults``; each ``a[ix]`` goes to ``index_fn(*ix)``, combined with ``combine``.

    ``index_fn`` returns a tuple of indices into ``defaults``, :data:`IGNORE` to drop the
    element, or a ``cond`` choosing between the two.

    >>> import numpy as np, pyaccad as acc
    >>> hist = lambda a: acc.permute(lambda x, y: x + y, acc.fill(3, 0), lambda i: (a[i],), acc.fill(a.shape, 1))
    >>> acc.run(hist, np.array([0, 2, 2, 1, 2]))
    array([1, 1, 3])
    """
    base = to_value(defaults, "permute")
    x = to_value(a, "permute")
    if base.dtype != x.dtype and is_weak(base):  # acc.fill(shape, 0.0) takes the values' dtype
        base = cast(base, x.dtype)
    if base.dtype != x.dtype:
        fail(DTypeError, f"permute: defaults ({base.dtype}) and the source array ({x.dtype}) dtypes differ")
    n = base.ndim
    context = f" (defaults of shape {base.shape})"
    check_arity(index_fn, x.ndim, "permute")

    def target(*ix: Any) -> tuple[Any, ...]:
        return as_target(index_fn(*ix), n, "permute", context)

    index, _ = trace_lambda(target, [INT64] * x.ndim, "permute", out_dtypes=[BOOL] + [INT64] * n)
    comb, _ = trace_lambda(combine, [x.dtype, x.dtype], "permute", out_dtypes=[x.dtype])
    (var,) = emit("permute", (check_live(base), check_live(x)), {"combine": comb, "index": index})
    return wrap(var)


@array_op
def stencil(f: Callable[[Any], Any], a: Any, size: Any, boundary: Any = "clamp") -> Any:
    """Apply ``f`` to the neighbourhood of each element (nested tuples, row-major), as ``accelerate``.

    ``size`` gives an odd extent per axis; ``boundary`` is ``"clamp"``, ``"mirror"``,
    ``"wrap"`` or a number (a constant border).

    >>> import numpy as np, pyaccad as acc
    >>> blur = lambda a: acc.stencil(lambda n: (n[0] + n[1] + n[2]) / 3.0, a, 3, boundary="clamp")
    >>> acc.run(blur, np.array([3.0, 6.0, 9.0]))
    array([4., 6., 8.])
    """
    x = to_value(a, "stencil")
    dims = (size,) if isinstance(size, (int, np.integer)) else tuple(size)
    if len(dims) != x.ndim or any(not isinstance(s, (int, np.integer)) or s < 1 or s % 2 == 0 for s in dims):
        fail(ShapeError, f"stencil: size {size!r} must give one odd positive extent per axis of shape {x.shape}")
    check_arity(f, 1, "stencil")
    params: dict[str, Any] = {"size": tuple(int(s) for s in dims)}
    if isinstance(boundary, str):
        if boundary not in ("clamp", "mirror", "wrap"):
            fail(ShapeError, f"stencil: boundary {boundary!r} is not 'clamp', 'mirror', 'wrap' or a number")
        params["boundary"] = boundary
    elif is_scalar_literal(boundary):
        params.update(boundary="constant", value=literal(boundary, x.dtype, "stencil").value)
    else:
        fail(DTypeError, f"stencil: boundary must be 'clamp', 'mirror', 'wrap' or a number, got {boundary!r}")
    lam, tree = trace_lambda(
        lambda *leaves: f(_neighbourhood(list(leaves), params["size"])),
        [x.dtype] * int(np.prod(params["size"])),
        "stencil",
    )
    outs = emit("stencil", (check_live(x),), {**params, "lam": lam})
    return unflatten(tree, [wrap(v) for v in outs])


def _neighbourhood(leaves: list[Any], size: tuple[int, ...]) -> tuple[Any, ...]:
    """Row-major neighbours as nested tuples, one level per axis."""
    if len(size) == 1:
        return Neighbourhood(leaves)
    step = len(leaves) // size[0]
    return Neighbourhood(_neighbourhood(leaves[i * step : (i + 1) * step], size[1:]) for i in range(size[0]))


class Neighbourhood(tuple):
    """The tuple a stencil function gets: indexing past its extent names the stencil, not a bare IndexError.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.stencil(lambda n: n[3], a, 3), np.zeros(2))
    Traceback (most recent call last):
      ...
    pyaccad.errors.ShapeError: stencil: neighbour 3 is outside a neighbourhood of 3 (indices 0 to 2 along this axis)
    ...
    """

    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, (int, np.integer)) and not -len(self) <= key < len(self):
            fail(
                ShapeError,
                f"stencil: neighbour {key} is outside a neighbourhood of {len(self)} "
                f"(indices 0 to {len(self) - 1} along this axis)",
            )
        return super().__getitem__(key)
