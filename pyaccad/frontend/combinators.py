"""The collective operations of ``accelerate``: map, fold, scan, generate, permutations, stencils, loops.

Each combinator traces its scalar function once (:func:`~pyaccad.frontend.lambdas.trace_lambda`)
and emits one IR statement holding it. Arrays passed in may be tracers or NumPy arrays
(embedded as constants); Python numbers take the dtype of the array they meet. Axis
arguments default to the innermost axis, as in ``accelerate``; negative axes count from the
end. ``fold`` and the scans accept a tuple of arrays with a tuple of initial values, and then
hand the function two tuples, as ``accelerate`` does for arrays of tuples.

Called inside a lambda on arrays of an enclosing scope, a combinator is hoisted to that
scope (:func:`~pyaccad.frontend.tracing.array_scope`).

>>> import numpy as np, pyaccad as acc
>>> def dot(x, y):
...     return acc.fold(lambda a, b: a + b, 0.0, acc.zip_with(lambda a, b: a * b, x, y))
>>> acc.run(dot, np.arange(3.0), np.arange(3.0))
array(5.)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pyaccad.errors import DTypeError, Error, ShapeError
from pyaccad.frontend.arrayops import array_op, normalize_axis, normalize_shape
from pyaccad.frontend.lambdas import IGNORE, check_arity, checkpoint_params, cond, loop, trace_lambda, while_
from pyaccad.frontend.operators import cast
from pyaccad.frontend.permutations import backpermute, permute, stencil
from pyaccad.frontend.pytree import unflatten
from pyaccad.frontend.shapes import reshape
from pyaccad.frontend.tracing import (
    Exp,
    Value,
    check_live,
    current_builder,
    default_dtype,
    dtype_named,
    embed_constant,
    emit,
    fail,
    in_scalar_scope,
    is_scalar_literal,
    literal,
    to_value,
    wrap,
)
from pyaccad.frontend.values import is_weak, mark_weak
from pyaccad.ir import BOOL, INT64, Atom, scalar_type

__all__ = [
    "IGNORE",
    "acond",
    "awhile",
    "backpermute",
    "cond",
    "fill",
    "fold",
    "fold1",
    "fold_all",
    "generate",
    "map",
    "permute",
    "scanl",
    "scanl1",
    "scanr",
    "scanr1",
    "stencil",
    "the",
    "unit",
    "use",
    "while_",
    "zip_with",
]


def _arrays(xs: Any, op: str) -> tuple[list[Value], bool]:
    """The arrays of a single array or a tuple of arrays, and whether it was a tuple."""
    is_tuple = isinstance(xs, (tuple, list))
    values = [to_value(x, op) for x in (xs if is_tuple else (xs,))]
    shapes = [v.shape for v in values]
    if any(s != shapes[0] for s in shapes):
        fail(ShapeError, f"{op}: arrays must have one shape, got {', '.join(str(s) for s in shapes)}")
    return values, is_tuple


def _results(outs: tuple[Any, ...], is_tuple: bool) -> Any:
    values = [wrap(v) for v in outs]
    return tuple(values) if is_tuple else values[0]


@array_op
def use(x: Any) -> Value:
    """Embed a NumPy array in the program (NumPy arrays passed to operations are embedded anyway).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda: acc.use(np.arange(3)) * 2)
    array([0, 2, 4])
    """
    return to_value(x, "use") if isinstance(x, Value) else embed_constant(np.asarray(x))


@array_op
def unit(e: Any) -> Value:
    """A rank-0 array holding the scalar ``e``.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda: acc.unit(3.5))
    array(3.5)
    """
    value = to_value(e, "unit")
    if value.shape != ():
        fail(ShapeError, f"unit: expects a scalar, got an array of shape {value.shape}")
    return value


def the(a: Any) -> Value:
    """The element of a rank-0 array, as a scalar usable in lambdas and in array expressions.

    >>> import numpy as np, pyaccad as acc
    >>> f = lambda x: acc.map(lambda v: v - acc.the(x.max()), x)
    >>> acc.run(f, np.array([1.0, 3.0]))
    array([-2.,  0.])
    """
    if current_builder() is None:
        fail(Error, "the: called outside a traced function (use acc.jit or acc.run)")
    value = to_value(a, "the")
    if value.shape != ():
        fail(ShapeError, f"the: expects a rank-0 array, got shape {value.shape}")
    # Inside a lambda the result is an Exp, still owned by its array scope (so it may feed hoisted operations).
    return Exp(check_live(value, "the"), value.builder) if in_scalar_scope() else value


@array_op
def generate(shape: Any, f: Callable[..., Any]) -> Any:
    """The array of ``shape`` whose element at index ``(i, j, ..)`` is ``f(i, j, ..)`` (int64 indices).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda: acc.generate((2, 3), lambda i, j: 10 * i + j))
    array([[ 0,  1,  2],
           [10, 11, 12]])
    """
    dims = normalize_shape(shape, "generate")
    lam, tree = trace_lambda(f, [INT64] * len(dims), "generate")
    return unflatten(tree, [wrap(v) for v in emit("generate", (), {"shape": dims, "lam": lam})])


@array_op
def fill(shape: Any, value: Any, dtype: Any = None) -> Value:
    """An array of ``shape`` filled with ``value`` (of ``dtype``, else the value's own dtype).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda: acc.fill((2,), 7, dtype="float32"))
    array([7., 7.], dtype=float32)
    """
    dims = normalize_shape(shape, "fill")
    if is_scalar_literal(value):
        lit = literal(value, dtype_named(dtype, "fill") if dtype is not None else default_dtype(value), "fill")
        (var,) = emit("broadcast_in_dim", (lit,), {"shape": dims, "dims": ()})
        # a fill of a Python number without a dtype is weak: it takes the dtype of the arrays it meets
        return mark_weak(wrap(var)) if dtype is None and is_weak(value) else wrap(var)
    scalar = to_value(value, "fill")
    if scalar.shape != ():
        fail(ShapeError, f"fill: the value must be a scalar, got shape {scalar.shape}")
    if dtype is not None:
        scalar = cast(scalar, dtype)
    (var,) = emit("broadcast_in_dim", (check_live(scalar),), {"shape": dims, "dims": ()})
    return wrap(var)


@array_op
def map(f: Callable[..., Any], *arrays: Any) -> Any:
    """Apply ``f`` element-wise to arrays of one shape; ``f`` returning a tuple gives a tuple of arrays.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.map(lambda x: (x + 1, x * 2), a), np.arange(3))
    (array([1, 2, 3]), array([0, 2, 4]))
    """
    if not arrays:
        fail(ShapeError, "map: needs at least one array")
    values, _ = _arrays(arrays, "map")
    lam, tree = trace_lambda(f, [v.dtype for v in values], "map")
    outs = emit("map", tuple(check_live(v) for v in values), {"lam": lam})
    return unflatten(tree, [wrap(v) for v in outs])


def zip_with(f: Callable[..., Any], *arrays: Any) -> Any:
    """``accelerate``'s ``zipWith``/``zipWith3``/...: :func:`map` over several arrays of one shape.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a, b: acc.zip_with(lambda x, y: x * y, a, b), np.arange(3), np.arange(3))
    array([0, 1, 4])
    """
    return map(f, *arrays)


def _fold_like(prim: str, op: str, f: Callable[..., Any], init: Any, xs: Any, axis: int, params: dict[str, Any]) -> Any:
    """Emit ``fold``/``scan`` over one array or a tuple of arrays, with optional initial values."""
    values, is_tuple = _arrays(xs, op)
    if values[0].ndim == 0:
        fail(ShapeError, f"{op}: cannot reduce a rank-0 array (shape ()); it has no axis")
    axis = normalize_axis(axis, values[0].ndim, op)
    dtypes = [v.dtype for v in values]
    inits: list[Atom] = []
    if init is not None:
        init_leaves = list(init) if is_tuple else [init]
        if len(init_leaves) != len(values):
            fail(ShapeError, f"{op}: {len(init_leaves)} initial values for {len(values)} arrays")
        inits = [_init_atom(z, d, op) for z, d in zip(init_leaves, dtypes, strict=True)]
    element = tuple(dtypes) if is_tuple else dtypes[0]
    lam, _ = trace_lambda(f, [element, element], op, out_dtypes=dtypes)
    args = tuple(check_live(v) for v in values) + tuple(inits)
    return _results(emit(prim, args, {"lam": lam, "axis": axis, **params}), is_tuple)


def _init_atom(z: Any, dtype: np.dtype, op: str) -> Atom:
    if is_scalar_literal(z):
        return literal(z, dtype, op)
    value = to_value(z, op)
    if value.var.type != scalar_type(dtype):
        fail(DTypeError, f"{op}: the initial value must be a {dtype} scalar, got {value.var.type}")
    return check_live(value)


@array_op
def fold(f: Callable[..., Any], init: Any, a: Any, axis: int = -1) -> Any:
    """Reduce ``axis`` with the associative ``f``, starting from ``init`` (accelerate's ``fold``).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.fold(lambda x, y: x + y, 0, a, axis=0), np.arange(6).reshape(2, 3))
    array([3, 5, 7])
    """
    return _fold_like("fold", "fold", f, init, a, axis, {})


@array_op
def fold1(f: Callable[..., Any], a: Any, axis: int = -1) -> Any:
    """Reduce a non-empty ``axis`` with the associative ``f`` and no initial value.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.fold1(acc.maximum, a), np.array([[1, 5], [7, 2]]))
    array([5, 7])
    """
    return _fold_like("fold", "fold1", f, None, a, axis, {})


@array_op
def fold_all(f: Callable[..., Any], init: Any, a: Any) -> Any:
    """Reduce every element to a rank-0 array (accelerate's ``foldAll``).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.fold_all(lambda x, y: x * y, 1.0, a), np.full((2, 2), 2.0))
    array(16.)
    """
    values, is_tuple = _arrays(a, "fold_all")
    flat = tuple(reshape(v, (v.size,)) for v in values)
    return fold(f, init, flat if is_tuple else flat[0], axis=0)


@array_op
def scanl(f: Callable[..., Any], init: Any, a: Any, axis: int = -1) -> Any:
    """Left-to-right prefix results starting with ``init``; the output axis is one longer.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.scanl(lambda x, y: x + y, 0, a), np.array([1, 2, 3]))
    array([0, 1, 3, 6])
    """
    return _fold_like("scan", "scanl", f, init, a, axis, {"reverse": False})


@array_op
def scanl1(f: Callable[..., Any], a: Any, axis: int = -1) -> Any:
    """Inclusive left-to-right scan (``[x0, f(x0, x1), ...]``).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.scanl1(lambda x, y: x + y, a), np.array([1, 2, 3]))
    array([1, 3, 6])
    """
    return _fold_like("scan", "scanl1", f, None, a, axis, {"reverse": False})


@array_op
def scanr(f: Callable[..., Any], init: Any, a: Any, axis: int = -1) -> Any:
    """Right-to-left prefix results ending with ``init``; the output axis is one longer.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.scanr(lambda x, y: x + y, 0, a), np.array([1, 2, 3]))
    array([6, 5, 3, 0])
    """
    return _fold_like("scan", "scanr", f, init, a, axis, {"reverse": True})


@array_op
def scanr1(f: Callable[..., Any], a: Any, axis: int = -1) -> Any:
    """Inclusive right-to-left scan (``[..., f(x_{n-2}, x_{n-1}), x_{n-1}]``).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.scanr1(lambda x, y: x + y, a), np.array([1, 2, 3]))
    array([6, 5, 3])
    """
    return _fold_like("scan", "scanr1", f, None, a, axis, {"reverse": True})


@array_op
def awhile(
    cond_fn: Callable[[Any], Any], body_fn: Callable[[Any], Any], init: Any, checkpoint: int | str | None = None
) -> Any:
    """Array-level loop: ``while cond_fn(s): s = body_fn(s)`` on a pytree of arrays.

    ``cond_fn`` returns a rank-0 bool array; both functions take the state as one argument.

    ``checkpoint`` says how reverse mode (``ad.grad``, ``ad.vjp``) gets the loop's states back:

    * ``None`` (the default) or ``1``: the forward pass stores, trip by trip, what the transposed trips read
      (a tape; O(n) for n trips). A tape takes at most ``PYACCAD_LOOP_TAPE_MB`` MiB (default 64, read when the
      gradient is traced) and 1024 states; a loop that runs more trips than fit is reversed by bisection;
    * an int ``k > 1``: the tape stores every k-th state, and each trip's state is recomputed from the one
      stored before it (about ``n·k/2`` more body runs, ``1/k`` of the memory);
    * ``"bisect"``: no tape; states recomputed by recursive bisection over at most 32 checkpoints (about
      ``n/2·log2 n`` more body runs, memory independent of ``n``).

    All three give the same gradient (up to rounding).

    >>> import numpy as np, pyaccad as acc
    >>> f = lambda x: acc.awhile(lambda s: s.sum() < 100.0, lambda s: s * 2.0, x)
    >>> acc.run(f, np.array([1.0, 2.0]))
    array([ 64., 128.])
    >>> from pyaccad import ad
    >>> def f(x, checkpoint=None):
    ...     step = lambda s: (acc.sin(s[0]), s[1] + 1)
    ...     return acc.awhile(lambda s: s[1] < 3, step, (x, np.int64(0)), checkpoint)[0].sum()
    >>> x = np.array([0.5])
    >>> taped, bisected = acc.jit(ad.grad(f))(x), acc.jit(ad.grad(lambda x: f(x, "bisect")))(x)
    >>> bool(np.allclose(taped, bisected, rtol=1e-15))
    True
    """
    return loop("awhile", cond_fn, body_fn, init, checkpoint_params("awhile", checkpoint))


@array_op
def acond(p: Any, then_fn: Callable[..., Any], else_fn: Callable[..., Any], *args: Any) -> Any:
    """Array-level conditional: ``then_fn(*args)`` if the rank-0 bool ``p`` holds, else ``else_fn(*args)``.

    >>> import numpy as np, pyaccad as acc
    >>> f = lambda x: acc.acond(x.sum() > 0.0, lambda v: v * 2.0, lambda v: -v, x)
    >>> acc.run(f, np.array([1.0, -3.0]))
    array([-1.,  3.])
    """
    check_arity(then_fn, len(args), "acond (then)")
    check_arity(else_fn, len(args), "acond (else)")
    pred = to_value(p, "acond") if not isinstance(p, (bool, np.bool_)) else p
    if isinstance(pred, Value) and pred.var.type != scalar_type(BOOL):
        fail(DTypeError, f"acond: the predicate must be a rank-0 bool array, got {pred.var.type}")
    return cond(pred, lambda: then_fn(*args), lambda: else_fn(*args))
