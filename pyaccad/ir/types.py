"""Scalar dtypes and array types of the IR.

Every IR value is an array with a static dtype and shape; scalars (the values
inside lambdas) are rank-0 arrays. The dtypes are `accelerate`'s element
types: ``Int8``-``Int64``, ``Word8``-``Word64``, ``Half``, ``Float``,
``Double`` and ``Bool``, as the NumPy dtypes of :data:`DTYPES` (the one list of
them; every other table — C types, Haskell types, promotion — is keyed by it).

>>> from pyaccad.ir.types import ArrayType, dtype_of
>>> str(ArrayType(dtype_of("float32"), (3, 4))), str(ArrayType(dtype_of("uint8"), (2,)))
('f32[3,4]', 'u8[2]')
"""

from __future__ import annotations

from dataclasses import dataclass
from math import prod

import numpy as np

_NAMES = {  # NumPy name: the printer's short name
    "float16": "f16",
    "float32": "f32",
    "float64": "f64",
    "int8": "i8",
    "int16": "i16",
    "int32": "i32",
    "int64": "i64",
    "uint8": "u8",
    "uint16": "u16",
    "uint32": "u32",
    "uint64": "u64",
    "bool": "bool",
}
DTYPES: tuple[np.dtype, ...] = tuple(np.dtype(name) for name in _NAMES)
"""Every dtype pyaccad has."""
FLOAT_DTYPES: tuple[np.dtype, ...] = tuple(d for d in DTYPES if d.kind == "f")
INT_DTYPES: tuple[np.dtype, ...] = tuple(d for d in DTYPES if d.kind in "iu")
"""The integers, signed and unsigned."""
NUMERIC_DTYPES: tuple[np.dtype, ...] = FLOAT_DTYPES + INT_DTYPES
FLOAT16, FLOAT32, FLOAT64 = FLOAT_DTYPES
INT8, INT16, INT32, INT64, UINT8, UINT16, UINT32, UINT64 = INT_DTYPES
BOOL = np.dtype("bool")
INDEX_DTYPE = INT64
"""Array indices (generate/backpermute/permute lambda arguments) are int64, like accelerate's Int."""

_SHORT = {np.dtype(name): short for name, short in _NAMES.items()}
PUBLIC_NAMES: dict[str, np.dtype] = {("bool_" if d == BOOL else d.name): d for d in DTYPES}
"""The dtypes as ``pyaccad`` and ``pyaccad.numpy`` name them (NumPy's names: ``acc.uint8``, ``acc.bool_``)."""


def dtype_of(spec: object) -> np.dtype:
    """The pyaccad dtype named by ``spec``: a name as NumPy reads it (``"uint8"``, ``"i8"`` is int64), a NumPy
    dtype or type. A dtype of non-native byte order (``">f4"``) is its native twin: arrays are converted on entry.

    >>> dtype_of(float), dtype_of("uint8"), dtype_of(np.dtype(">f2"))
    (dtype('float64'), dtype('uint8'), dtype('float16'))
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
    dt = dt.newbyteorder("=")
    if dt not in DTYPES:
        raise DTypeError(f"dtype: {dt} is not supported; use one of {', '.join(map(str, DTYPES))}")
    return dt


def short_name(dtype: np.dtype) -> str:
    """``f32``, ``u8``, ``bool``, ... as the printer writes them."""
    return _SHORT[dtype]


def from_short_name(short: str) -> np.dtype | None:
    """The dtype the printer writes as ``short`` (``u8`` is uint8, unlike NumPy's ``"u8"``, uint64), else None.

    >>> from_short_name("u8"), from_short_name("f16"), from_short_name("x")
    (dtype('uint8'), dtype('float16'), None)
    """
    return next((dt for dt, name in _SHORT.items() if name == short), None)


def is_float(dtype: np.dtype) -> bool:
    return dtype in FLOAT_DTYPES


def is_int(dtype: np.dtype) -> bool:
    """Signed or unsigned integer."""
    return dtype in INT_DTYPES


def is_unsigned(dtype: np.dtype) -> bool:
    return dtype.kind == "u"


def kinds(dtype: np.dtype) -> tuple[str, ...]:
    """The keys a table by kind of element type is read by for ``dtype``, most specific first: ``float``,
    ``int`` (signed), ``uint`` (else ``int``) or ``bool``, then ``all``.

    The C helpers' bodies and the Haskell templates of element-wise primitives are such tables.

    >>> kinds(FLOAT16), kinds(UINT8), kinds(BOOL)
    (('float', 'all'), ('uint', 'int', 'all'), ('bool', 'all'))
    """
    if dtype in FLOAT_DTYPES:
        return ("float", "all")
    if dtype in INT_DTYPES:
        return ("uint", "int", "all") if is_unsigned(dtype) else ("int", "all")
    return ("bool", "all")


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
