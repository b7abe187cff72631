"""The IR stage: types, programs, the primitive registry, the printer and ``verify``.

>>> from pyaccad.ir import PRIMITIVES
>>> "map" in PRIMITIVES and "sin" in PRIMITIVES
True
"""

from pyaccad.ir import primitives
from pyaccad.ir.core import PRIMITIVES, Atom, Lit, Primitive, Program, Stmt, Var, declare
from pyaccad.ir.primitives.elementwise import ELEMENTWISE
from pyaccad.ir.printer import pprint
from pyaccad.ir.types import (
    BOOL,
    DTYPES,
    FLOAT16,
    FLOAT32,
    FLOAT64,
    FLOAT_DTYPES,
    INDEX_DTYPE,
    INT8,
    INT16,
    INT32,
    INT64,
    INT_DTYPES,
    NUMERIC_DTYPES,
    UINT8,
    UINT16,
    UINT32,
    UINT64,
    ArrayType,
    dtype_of,
    scalar_type,
)
from pyaccad.ir.verify import VerifyError, verify

__all__ = [
    "BOOL",
    "DTYPES",
    "ELEMENTWISE",
    "FLOAT16",
    "FLOAT32",
    "FLOAT64",
    "FLOAT_DTYPES",
    "INDEX_DTYPE",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "INT_DTYPES",
    "NUMERIC_DTYPES",
    "PRIMITIVES",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "ArrayType",
    "Atom",
    "Lit",
    "Primitive",
    "Program",
    "Stmt",
    "Var",
    "VerifyError",
    "declare",
    "dtype_of",
    "pprint",
    "primitives",
    "scalar_type",
    "verify",
]
