"""Turning user values into tracers: Python number literals, NumPy arrays (embedded constants), inputs.

Python numbers take the dtype of the value they meet (:func:`literal`; which
dtype that is, :mod:`pyaccad.frontend.promotion` decides); on their own they are
bool, int64 or float64, and weakly typed. NumPy arrays met while tracing are
embedded with ``const`` at the nearest array-level scope.
:mod:`pyaccad.frontend.tracing` re-exports all of it.

>>> from pyaccad.ir import FLOAT32
>>> literal(2, FLOAT32, "add")
Lit(2.0: float32)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pyaccad.errors import DTypeError, Error
from pyaccad.frontend.values import Exp, Value, check_live, current_builder, emit, fail, in_scalar_scope, wrap
from pyaccad.ir import BOOL, DTYPES, FLOAT64, INT64, Atom, Lit, dtype_of
from pyaccad.ir.types import is_float


def literal(value: int | float | bool | np.generic, dtype: np.dtype, op: str) -> Lit:
    """A Python number as a literal of ``dtype`` (literals take the dtype they meet)."""
    if isinstance(value, (bool, np.bool_)):
        if dtype != BOOL:
            return Lit(float(value) if is_float(dtype) else int(value), dtype)  # True is 1, as in NumPy
        return Lit(bool(value), dtype)
    if dtype == BOOL:
        fail(DTypeError, f"{op}: the number {value!r} met a bool value; use acc.cast")
    if is_float(dtype):
        return Lit(float(value), dtype)
    if isinstance(value, (float, np.floating)) and not float(value).is_integer():
        fail(DTypeError, f"{op}: the float literal {value!r} met an integer ({dtype}) value; use acc.cast")
    bounds = np.iinfo(dtype)
    if not bounds.min <= int(value) <= bounds.max:
        fail(DTypeError, f"{op}: the literal {value!r} does not fit the {dtype} value it meets")
    return Lit(int(value), dtype)


def dtype_named(spec: Any, op: str) -> np.dtype:
    """The dtype ``spec`` names (see :func:`~pyaccad.ir.dtype_of`), else a DTypeError naming ``op``.

    >>> dtype_named("int32", "cast")
    dtype('int32')
    """
    try:
        return dtype_of(spec)
    except DTypeError as exc:
        fail(DTypeError, f"{op}: {exc}")


def default_dtype(value: Any) -> np.dtype:
    """The dtype a Python/NumPy scalar has on its own: bool, int64 or float64 (NumPy scalars keep theirs)."""
    if isinstance(value, np.generic):
        return dtype_of(value.dtype)
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT64
    return FLOAT64


def is_scalar_literal(x: Any) -> bool:
    return isinstance(x, (bool, int, float, np.bool_, np.integer, np.floating)) and not isinstance(x, Value)


def as_numpy_input(x: Any, what: str) -> np.ndarray:
    """A user's NumPy/Python value as an array of a supported dtype (else a clear DTypeError).

    An array in non-native byte order (``>f4`` on x86) is converted to native order: every backend reads
    native numbers.

    >>> as_numpy_input(np.arange(2, dtype=">u2"), "run").dtype
    dtype('uint16')
    """
    if isinstance(x, Value):
        fail(Error, f"{what}: a traced value was passed where a NumPy array was expected")
    arr = np.asarray(x)
    if arr.dtype.newbyteorder("=") not in DTYPES:
        fail(DTypeError, f"{what}: dtype {arr.dtype} is not supported; use one of {', '.join(map(str, DTYPES))}")
    return arr if arr.dtype.isnative else arr.astype(arr.dtype.newbyteorder("="))


def embed_constant(value: np.ndarray) -> Value:
    """Embed a NumPy array met while tracing (``acc.use``), at the nearest array-level scope."""
    arr = as_numpy_input(value, "use")
    builder = current_builder()
    if builder is None:
        fail(Error, "acc.use: called outside a traced function")
    target = builder.nearest_array_builder()
    (var,) = emit("const", (), {"value": np.array(arr)}, builder=target)
    return wrap(var, target)


def to_value(x: Any, op: str) -> Value:
    """A tracer for ``x``: tracers pass through, NumPy arrays are embedded, scalars become rank-0 literals."""
    if isinstance(x, Value):
        check_live(x, op)
        return x
    if isinstance(x, np.ndarray):
        return embed_constant(x)
    if is_scalar_literal(x):
        dtype = default_dtype(x)
        lit = literal(x, dtype, op)
        if in_scalar_scope():
            # Lambdas work on rank-0 values: a literal is an atom and needs no statement of its own.
            return Exp(lit, current_builder())
        (var,) = emit("broadcast_in_dim", (lit,), {"shape": (), "dims": ()})
        return wrap(var)
    fail(DTypeError, f"{op}: cannot use a value of type {type(x).__name__} ({x!r}) in a traced program")


def value_of(atom: Atom) -> Value:
    """The tracer for an atom of the current scope (literals become rank-0 values)."""
    if isinstance(atom, Lit):
        if in_scalar_scope():
            return Exp(atom, current_builder())
        (var,) = emit("broadcast_in_dim", (atom,), {"shape": (), "dims": ()})
        return wrap(var)
    return wrap(atom)
