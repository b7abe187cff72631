"""Element-wise operations with NumPy broadcasting, and the operators of traced values.

Every scalar operation of the API (``acc.sin``, ``acc.maximum``, ``+``,
``<``, ...) goes through :func:`elementwise`: it promotes the operands to the
dtype they compute in (:mod:`pyaccad.frontend.promotion`: JAX's rules, Python
numbers weak), broadcasts shapes NumPy-style with
``broadcast_in_dim`` and emits the element-wise primitive. Inside lambdas
the same call works on rank-0 :class:`Exp` values.

>>> import numpy as np, pyaccad as acc
>>> acc.run(lambda a, b: a + b, np.ones((2, 3)), np.arange(3.0))
array([[1., 2., 3.],
       [1., 2., 3.]])
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pyaccad.errors import Error, ShapeError
from pyaccad.frontend.promotion import result_dtype
from pyaccad.frontend.tracing import (
    Exp,
    Value,
    array_scope,
    check_live,
    current_builder,
    default_dtype,
    dtype_named,
    emit,
    fail,
    in_scalar_scope,
    is_scalar_literal,
    literal,
    to_value,
    wrap,
)
from pyaccad.frontend.values import is_weak, mark_weak
from pyaccad.ir import BOOL, DTYPES, ELEMENTWISE, FLOAT64, INT64, Atom, Lit, dtype_of
from pyaccad.ir.types import is_float


def holds_array(operands: tuple[Any, ...]) -> bool:
    """True inside a lambda when an operand is a whole array, so the operation belongs at array level."""
    return in_scalar_scope() and any(isinstance(x, (Value, np.ndarray)) and x.ndim > 0 for x in operands)


def broadcast_value(x: Value, shape: tuple[int, ...], op: str = "broadcast_to") -> Value:
    """``x`` broadcast to ``shape`` by NumPy's rules (trailing axes aligned)."""
    if x.shape == tuple(shape):
        return x
    if len(shape) < x.ndim or any(d not in (1, s) for d, s in zip(x.shape, shape[len(shape) - x.ndim :], strict=True)):
        fail(ShapeError, f"{op}: cannot broadcast shape {x.shape} to {tuple(shape)}")
    dims = tuple(range(len(shape) - x.ndim, len(shape)))
    (var,) = emit("broadcast_in_dim", (check_live(x),), {"shape": tuple(shape), "dims": dims})
    return wrap(var)


def promoted(operands: Sequence[Any]) -> tuple[np.dtype, bool]:
    """The dtype ``operands`` compute in (:mod:`pyaccad.frontend.promotion`), and whether all are weak."""
    strong: list[np.dtype] = []
    weak: list[np.dtype] = []
    for x in operands:
        if isinstance(x, Value):
            (weak if is_weak(x) else strong).append(x.dtype)
        elif isinstance(x, np.ndarray) or (isinstance(x, np.generic) and x.dtype in DTYPES):
            strong.append(dtype_of(x.dtype))
        elif isinstance(x, np.generic):  # a NumPy scalar of a dtype pyaccad lacks (np.longdouble) adapts like a number
            weak.append({"b": BOOL, "i": INT64, "u": INT64}.get(x.dtype.kind, FLOAT64))
        else:
            weak.append(default_dtype(x))
    return result_dtype(strong, weak), not strong


def converted(x: Any, dtype: np.dtype, op: str) -> Atom | Value:
    """Operand ``x`` in ``dtype``: a literal of it, or the value, cast where its dtype differs."""
    if is_scalar_literal(x):
        return literal(x, dtype, op)
    value = to_value(x, op)
    return value if value.dtype == dtype else cast(value, dtype)


def elementwise(op: str, *operands: Any) -> Value:
    """Apply the element-wise primitive ``op`` with broadcasting; literals take the operands' dtype."""
    if current_builder() is None:
        fail(Error, f"{op}: called outside a traced function (use acc.jit or acc.run)")
    if holds_array(operands):
        with array_scope(op, operands):
            return elementwise(op, *operands)
    dtype, weak = promoted(operands)
    if dtype == BOOL:
        op = _ON_BOOL.get(op, op)
    if op == "div" and not is_float(dtype):
        dtype = FLOAT64  # true division of integers gives a float, as in NumPy and JAX
    atoms = [converted(x, dtype, op) for x in operands]
    shapes = [a.shape for a in atoms if isinstance(a, Value)]
    try:
        shape = np.broadcast_shapes(*shapes) if shapes else ()
    except ValueError:
        fail(ShapeError, f"{op}: shapes {', '.join(map(str, shapes))} cannot be broadcast together")
    args: list[Atom] = []
    for a in atoms:
        if isinstance(a, Lit):
            args.append(_lit_array(a, shape))
        else:
            args.append(check_live(broadcast_value(a, shape, op)))
    (var,) = emit(op, tuple(args))
    return mark_weak(wrap(var)) if weak else wrap(var)


_ON_BOOL = {"bitwise_and": "and", "bitwise_or": "or", "bitwise_xor": "ne", "invert": "not"}
"""NumPy's bitwise operations on bool are the logical ones (``&``, ``|``, ``^``, ``~`` on masks)."""


def _lit_array(lit: Lit, shape: tuple[int, ...]) -> Atom:
    if in_scalar_scope():
        return lit
    (var,) = emit("broadcast_in_dim", (lit,), {"shape": shape, "dims": ()})
    return var


def where(pred: Any, on_true: Any, on_false: Any) -> Value:
    """Element-wise choice: ``on_true`` where ``pred`` holds, else ``on_false`` (both evaluated).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.where(a > 1.0, a, 0.0), np.arange(4.0))
    array([0., 0., 2., 3.])
    """
    if holds_array((pred, on_true, on_false)):
        with array_scope("where", (pred, on_true, on_false)):
            return where(pred, on_true, on_false)
    branch_dtype, _ = promoted((on_true, on_false))
    p = pred if isinstance(pred, Value) else to_value(pred, "where")
    values = [
        converted(x, branch_dtype, "where") if not is_scalar_literal(x) else _literal_like(x, branch_dtype)
        for x in (on_true, on_false)
    ]
    try:
        shape = np.broadcast_shapes(p.shape, values[0].shape, values[1].shape)
    except ValueError:
        fail(ShapeError, f"where: shapes {p.shape}, {values[0].shape}, {values[1].shape} cannot be broadcast together")
    args = [check_live(broadcast_value(v, shape, "where")) for v in (p, *values)]
    (var,) = emit("select", tuple(args))
    return wrap(var)


def _literal_like(x: Any, dtype: np.dtype) -> Value:
    lit = literal(x, dtype, "where")
    if in_scalar_scope():
        return Exp(lit, current_builder())
    (var,) = emit("broadcast_in_dim", (lit,), {"shape": (), "dims": ()})
    return wrap(var)


def cast(x: Any, dtype: Any) -> Value:
    """Convert element type (C conversion semantics: floats truncate toward zero).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.cast(a, "int32"), np.array([1.7, -1.7]))
    array([ 1, -1], dtype=int32)
    """
    if holds_array((x,)):
        with array_scope("cast", (x,)):
            return cast(x, dtype)
    target = dtype_named(dtype, "cast")
    value = to_value(x, "cast")
    if value.dtype == target:
        return value
    (var,) = emit("cast", (check_live(value),), {"dtype": target})
    return wrap(var)


def _make_function(op: str, arity: int, public: str) -> Callable[..., Value]:
    example_input = {"f": "np.array([0.5, 1.0])", "i": "np.array([3, 5])", "b": "np.array([True, False])"}[
        ELEMENTWISE[op].accepts[0].kind
    ]

    def fn(*xs: Any) -> Value:
        if len(xs) != arity:
            fail(ShapeError, f"{public}: takes {arity} argument(s), got {len(xs)}")
        return elementwise(op, *xs)

    fn.__name__ = fn.__qualname__ = public
    # The signature help() and docs/API.md show: one operand or two, as NumPy's functions take them.
    operands = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_ONLY) for n in ("x", "y")[:arity]]
    fn.__signature__ = inspect.Signature(operands)  # type: ignore[attr-defined]
    call = f"acc.{public}(a)" if arity == 1 else f"acc.{public}(a, a)"
    fn.__doc__ = (
        f"Element-wise ``{op}`` on traced arrays, or on scalars inside lambdas.\n\n"
        f"    >>> import numpy as np, pyaccad as acc\n"
        f"    >>> out = acc.run(lambda a: {call}, {example_input})\n"
        f"    >>> out.shape\n    (2,)\n"
    )
    return fn


# Public names of the scalar functions (acc.sin, ...), built from the element-wise table.
_PUBLIC_NAMES = {
    "not": None,
    "neg": "negative",
    "add": None,
    "sub": None,
    "mul": None,
    "div": None,
    "floordiv": None,
    "mod": None,
    "eq": None,
    "ne": None,
    "lt": None,
    "le": None,
    "gt": None,
    "ge": None,
    "and": "logical_and",
    "or": "logical_or",
    "pow": "power",
}
SCALAR_FUNCTIONS: dict[str, Callable[..., Value]] = {}
for _op, _row in ELEMENTWISE.items():
    _public = _PUBLIC_NAMES.get(_op, _op)
    if _public is not None:
        SCALAR_FUNCTIONS[_public] = _make_function(_op, _row.arity, _public)
