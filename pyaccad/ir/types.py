"""Scalar dtypes and array types of the IR.

Every IR value is an array with a static dtype and shape; scalars (the values
inside lambdas) are rank-0 arrays. Only five dtypes exist, after `accelerate`'s
common element types.

>>> from pyaccad.ir.types import ArrayType, dtype_of
>>> str(ArrayType(dtype_of("float32"), (3, 4)))
'f32[3,4]'
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

FLOAT32 = np.dtype("float32")
FLOAT64 = np.dtype("float64")
INT32 = np.dtype("int32")
INT64 = np.dtype("int64")
BOOL = np.dtype("bool")

DTYPES: tuple[np.dtype, ...] = (FLOAT32, FLOAT64, INT32, INT64, BOOL)
FLOAT_DTYPES: tuple[np.dtype, ...] = (FLOAT32, FLOAT64)
INT_DTYPES: tuple[np.dtype, ...] = (INT32, INT64)
NUMERIC_DTYPES: tuple[np.dtype, ...] = FLOAT_DTYPES + INT_DTYPES
INDEX_DTYPE = INT64
"""Array indices (generate/backpermute/permute lambda arguments) are int64, like accelerate's Int."""

_SHORT = {FLOAT32: "f32", FLOAT64: "f64", INT32: "i32", INT64: "i64", BOOL: "bool"}


def dtype_of(spec: object) -> np.dtype:
    """The pyaccad dtype named by ``spec`` (a name, a NumPy dtype or type).

    >>> dtype_of(float)
    dtype('float64')
    """
    from pyaccad.errors import DTypeError

    if spec is float:
        return FLOAT64
    if spec is int:
        return INT64
    if spec is bool:
        return BOOL
    try:
        dt = np.dtype(spec)  # type: ignore[call-overload]
    except TypeError as exc:
        raise DTypeError(f"dtype: {spec!r} is not a dtype") from exc
    if dt not in DTYPES:
        raise DTypeError(f"dtype: {dt} is not supported; use one of float32, float64, int32, int64, bool")
    return dt


def short_name(dtype: np.dtype) -> str:
    """``f32``, ``i64``, ``bool``, ... as the printer writes them."""
    return _SHORT[dtype]


def is_float(dtype: np.dtype) -> bool:
    return dtype in FLOAT_DTYPES


def is_int(dtype: np.dtype) -> bool:
    return dtype in INT_DTYPES


@dataclass(frozen=True)
class ArrayType:
    """The static type of an IR value: element dtype and shape (rank 0 = scalar)."""

    dtype: np.dtype
    shape: tuple[int, ...]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return prod(self.shape)

    def with_shape(self, shape: tuple[int, ...]) -> ArrayType:
        return ArrayType(self.dtype, tuple(shape))

    def with_dtype(self, dtype: np.dtype) -> ArrayType:
        return ArrayType(dtype, self.shape)

    def __str__(self) -> str:
        return f"{short_name(self.dtype)}[{','.join(map(str, self.shape))}]"


def scalar_type(dtype: np.dtype) -> ArrayType:
    """The rank-0 type of ``dtype``."""
    return ArrayType(dtype, ())
