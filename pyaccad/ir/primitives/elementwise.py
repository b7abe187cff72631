"""Element-wise primitives: one table row each, with the facts every stage needs.

An element-wise primitive applies a scalar operation to arrays of one shape
(no implicit broadcasting in the IR: the front end inserts
``broadcast_in_dim``). Inside lambdas the same primitives act on rank-0
values, so a lambda body is an ordinary program over these rows.

Each row gives: the name, the arity, which dtypes it accepts, the result
dtype rule, the NumPy function (the interpreter's semantics), a C99
expression template (``{0}``, ``{1}`` are the operands; ``<tgmath.h>``
resolves float/double), and an ``accelerate`` Haskell template.

>>> from pyaccad.ir.primitives.elementwise import ELEMENTWISE
>>> ELEMENTWISE["sin"].c
'sin({0})'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pyaccad.errors import DTypeError, ShapeError
from pyaccad.ir.core import Primitive, declare
from pyaccad.ir.types import BOOL, DTYPES, FLOAT_DTYPES, INT_DTYPES, NUMERIC_DTYPES, ArrayType


@dataclass(frozen=True)
class ElementwiseOp:
    """The per-operation facts of an element-wise primitive."""

    name: str
    arity: int
    accepts: tuple[np.dtype, ...]
    result: str  # "same": the operands' dtype; "bool": a predicate
    numpy: Callable[..., np.ndarray]
    c: str
    hs: str
    primitive: Primitive | None = None


def _np_floordiv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Integer floordiv and mod by zero are defined as 0 (NumPy's result), never a trap: backends must match.
    return np.floor_divide(a, b)


def _np_pow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Integers: overflow wraps; a negative exponent gives the exact power truncated toward zero, i.e.
    # 1 for base 1, +-1 for base -1, else 0 (base 0 included). NumPy itself refuses negative int exponents.
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind != "i":
        return np.power(a, b)
    negative = b < 0
    odd = (b % 2) != 0
    small = np.where(a == 1, 1, np.where(a == -1, np.where(odd, -1, 1), 0))
    return np.where(negative, small, np.power(a, np.where(negative, 0, b))).astype(a.dtype)


def _np_sign(a: np.ndarray) -> np.ndarray:
    return np.sign(a).astype(a.dtype)


_ERF = np.frompyfunc(math.erf, 1, 1)


def _np_erf(a: np.ndarray) -> np.ndarray:
    # NumPy has no erf; math.erf per element is the reference (the interpreter is the oracle, not fast).
    return np.asarray(_ERF(a), dtype=np.asarray(a).dtype)


F, Z, N, A = FLOAT_DTYPES, INT_DTYPES, NUMERIC_DTYPES, DTYPES  # Z: the integers
_ROWS: list[tuple[str, int, tuple, str, Callable, str, str]] = [
    # name, arity, accepts, result, numpy, C template, Haskell template
    ("neg", 1, N, "same", np.negative, "(-{0})", "negate {0}"),
    ("sin", 1, F, "same", np.sin, "sin({0})", "sin {0}"),
    ("cos", 1, F, "same", np.cos, "cos({0})", "cos {0}"),
    ("tan", 1, F, "same", np.tan, "tan({0})", "tan {0}"),
    ("asin", 1, F, "same", np.arcsin, "asin({0})", "asin {0}"),
    ("acos", 1, F, "same", np.arccos, "acos({0})", "acos {0}"),
    ("atan", 1, F, "same", np.arctan, "atan({0})", "atan {0}"),
    ("sinh", 1, F, "same", np.sinh, "sinh({0})", "sinh {0}"),
    ("cosh", 1, F, "same", np.cosh, "cosh({0})", "cosh {0}"),
    ("tanh", 1, F, "same", np.tanh, "tanh({0})", "tanh {0}"),
    ("asinh", 1, F, "same", np.arcsinh, "asinh({0})", "asinh {0}"),
    ("acosh", 1, F, "same", np.arccosh, "acosh({0})", "acosh {0}"),
    ("atanh", 1, F, "same", np.arctanh, "atanh({0})", "atanh {0}"),
    ("exp", 1, F, "same", np.exp, "exp({0})", "exp {0}"),
    ("expm1", 1, F, "same", np.expm1, "expm1({0})", "expm1 {0}"),
    ("log", 1, F, "same", np.log, "log({0})", "log {0}"),
    ("log1p", 1, F, "same", np.log1p, "log1p({0})", "log1p {0}"),
    ("sqrt", 1, F, "same", np.sqrt, "sqrt({0})", "sqrt {0}"),
    ("abs", 1, N, "same", np.abs, "PYACCAD_ABS({0})", "abs {0}"),
    ("sign", 1, N, "same", _np_sign, "PYACCAD_SIGN({0})", "signum {0}"),
    ("floor", 1, F, "same", np.floor, "floor({0})", "floorFloat {0}"),
    ("ceil", 1, F, "same", np.ceil, "ceil({0})", "ceilingFloat {0}"),
    ("round", 1, F, "same", np.rint, "rint({0})", "rint {0}"),
    ("trunc", 1, F, "same", np.trunc, "trunc({0})", "fromIntegral (truncate {0} :: Exp Int)"),
    ("erf", 1, F, "same", _np_erf, "erf({0})", "erf {0}"),
    ("isnan", 1, F, "bool", np.isnan, "isnan({0})", "isNaN {0}"),
    ("isinf", 1, F, "bool", np.isinf, "isinf({0})", "isInfinite {0}"),
    ("not", 1, (BOOL,), "bool", np.logical_not, "(!{0})", "not {0}"),
    ("add", 2, N, "same", np.add, "({0} + {1})", "{0} + {1}"),
    ("sub", 2, N, "same", np.subtract, "({0} - {1})", "{0} - {1}"),
    ("mul", 2, N, "same", np.multiply, "({0} * {1})", "{0} * {1}"),
    ("div", 2, F, "same", np.divide, "({0} / {1})", "{0} / {1}"),
    ("floordiv", 2, Z, "same", _np_floordiv, "PYACCAD_FLOORDIV({0}, {1})", "{0} `div` {1}"),
    ("mod", 2, N, "same", np.mod, "PYACCAD_MOD({0}, {1})", "{0} `mod'` {1}"),
    ("pow", 2, N, "same", _np_pow, "PYACCAD_POW({0}, {1})", "{0} ** {1}"),
    ("atan2", 2, F, "same", np.arctan2, "atan2({0}, {1})", "atan2 {0} {1}"),
    ("minimum", 2, N, "same", np.minimum, "PYACCAD_MIN({0}, {1})", "min {0} {1}"),
    ("maximum", 2, N, "same", np.maximum, "PYACCAD_MAX({0}, {1})", "max {0} {1}"),
    ("eq", 2, A, "bool", np.equal, "({0} == {1})", "{0} == {1}"),
    ("ne", 2, A, "bool", np.not_equal, "({0} != {1})", "{0} /= {1}"),
    ("lt", 2, N, "bool", np.less, "({0} < {1})", "{0} < {1}"),
    ("le", 2, N, "bool", np.less_equal, "({0} <= {1})", "{0} <= {1}"),
    ("gt", 2, N, "bool", np.greater, "({0} > {1})", "{0} > {1}"),
    ("ge", 2, N, "bool", np.greater_equal, "({0} >= {1})", "{0} >= {1}"),
    ("and", 2, (BOOL,), "bool", np.logical_and, "({0} && {1})", "{0} && {1}"),
    ("or", 2, (BOOL,), "bool", np.logical_or, "({0} || {1})", "{0} || {1}"),
    # NumPy's bitwise operations on integers (on bool the front end uses and/or/ne/not, as NumPy does). Shifts by
    # a count outside [0, bits) give 0 (and -1 shifting a negative number right), NumPy's definition; C's <<
    # and >> leave those undefined, hence the helpers (the export guards accelerate's shifts the same way).
    ("bitwise_and", 2, Z, "same", np.bitwise_and, "({0} & {1})", "{0} Bits..&. {1}"),
    ("bitwise_or", 2, Z, "same", np.bitwise_or, "({0} | {1})", "{0} Bits..|. {1}"),
    ("bitwise_xor", 2, Z, "same", np.bitwise_xor, "({0} ^ {1})", "Bits.xor {0} {1}"),
    ("invert", 1, Z, "same", np.invert, "(~{0})", "Bits.complement {0}"),
    (
        "left_shift",
        2,
        Z,
        "same",
        np.left_shift,
        "PYACCAD_SHL({0}, {1})",
        "{1} >= 0 && {1} < fromIntegral (Bits.finiteBitSize {0}) ? (Bits.shiftL {0} (fromIntegral {1}), 0)",
    ),
    (
        "right_shift",
        2,
        Z,
        "same",
        np.right_shift,
        "PYACCAD_SHR({0}, {1})",
        "{1} >= 0 && {1} < fromIntegral (Bits.finiteBitSize {0}) ? (Bits.shiftR {0} (fromIntegral {1}), "
        "{0} < 0 ? (-1, 0))",
    ),
]


def _elementwise_type_rule(op_name: str, arity: int, accepts: tuple, result: str):
    def rule(args: Sequence[ArrayType], params: Mapping[str, Any]) -> list[ArrayType]:
        if len(args) != arity:
            raise ShapeError(f"{op_name}: expected {arity} operands, got {len(args)}")
        first = args[0]
        for other in args[1:]:
            if other.shape != first.shape:
                raise ShapeError(
                    f"{op_name}: operands must have one shape, got {', '.join(str(a.shape) for a in args)}"
                )
            if other.dtype != first.dtype:
                raise DTypeError(
                    f"{op_name}: operands must have one dtype, got {', '.join(str(a.dtype) for a in args)}; "
                    "use acc.cast / .astype to convert"
                )
        if first.dtype not in accepts:
            names = ", ".join(str(d) for d in accepts)
            raise DTypeError(f"{op_name}: dtype {first.dtype} not supported (accepts {names})")
        return [ArrayType(BOOL if result == "bool" else first.dtype, first.shape)]

    return rule


ELEMENTWISE: dict[str, ElementwiseOp] = {}
for _name, _arity, _accepts, _result, _np_fn, _c, _hs in _ROWS:
    _prim = declare(
        Primitive(
            _name,
            _elementwise_type_rule(_name, _arity, _accepts, _result),
            scope="both",
            linear_args=(0, 1) if _name in ("add", "sub") else (0,) if _name == "neg" else (),
            doc=f"element-wise {_name}",
            family="elementwise",
            # exactly commutative in IEEE arithmetic (minimum/maximum are not: signed zeros and nan)
            commutative=_name in ("add", "mul", "eq", "ne", "and", "or", "bitwise_and", "bitwise_or", "bitwise_xor"),
        )
    )
    ELEMENTWISE[_name] = ElementwiseOp(_name, _arity, _accepts, _result, _np_fn, _c, _hs, _prim)


def _select_rule(args: Sequence[ArrayType], params: Mapping[str, Any]) -> list[ArrayType]:
    pred, on_true, on_false = args
    if pred.dtype != BOOL:
        raise DTypeError(f"where: the predicate must be bool, got {pred.dtype}")
    if not (pred.shape == on_true.shape == on_false.shape):
        raise ShapeError(f"where: operands must have one shape, got {pred.shape}, {on_true.shape}, {on_false.shape}")
    if on_true.dtype != on_false.dtype:
        raise DTypeError(f"where: branches must have one dtype, got {on_true.dtype} and {on_false.dtype}")
    return [on_true]


SELECT = declare(
    Primitive(
        "select",
        _select_rule,
        scope="both",
        linear_args=(1, 2),
        doc="select(p, x, y): x where p else y",
        family="elementwise",
    )
)


def _cast_rule(args: Sequence[ArrayType], params: Mapping[str, Any]) -> list[ArrayType]:
    (x,) = args
    return [ArrayType(params["dtype"], x.shape)]


CAST = declare(
    Primitive(
        "cast", _cast_rule, scope="both", doc="cast(x; dtype): convert element type (C semantics)", family="elementwise"
    )
)
