"""Element-wise primitives: one table row each, with the facts every stage needs.

An element-wise primitive applies a scalar operation to arrays of one shape
(no implicit broadcasting in the IR: the front end inserts
``broadcast_in_dim``). Inside lambdas the same primitives act on rank-0
values, so a lambda body is an ordinary program over these rows.

Each row gives: the name, the arity, which dtypes it accepts, the result
dtype rule, the NumPy function (the interpreter's semantics), a C99
expression template (``{0}``, ``{1}`` are the operands; ``<tgmath.h>``
resolves float/double, and a ``PYACCAD_`` helper has a body per kind of
element type, ``pyaccad.backends.clike.helpers``), and an ``accelerate``
Haskell template: one, or one per kind of element type
(:func:`~pyaccad.ir.types.kinds`) where Haskell's classes or accelerate's
semantics differ by kind, each with the :class:`Guard` s that give NumPy's
result where accelerate's would differ.

>>> from pyaccad.ir.primitives.elementwise import ELEMENTWISE
>>> from pyaccad.ir.types import FLOAT32, INT8
>>> ELEMENTWISE["sin"].c, ELEMENTWISE["mod"].hs_for(FLOAT32).template, ELEMENTWISE["mod"].hs_for(INT8).template
('sin({0})', 'modFloat {0} {1}', '{0} `mod` {1}')
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pyaccad.errors import DTypeError, ShapeError
from pyaccad.ir.core import Primitive, declare
from pyaccad.ir.types import BOOL, DTYPES, FLOAT_DTYPES, INT_DTYPES, NUMERIC_DTYPES, ArrayType, kinds

GUARD_TESTS: dict[str, Callable[[Any], bool]] = {
    "{} == 0": lambda v: v == 0,
    "{} == -1": lambda v: v == -1,
    "{} < 0": lambda v: v < 0,
    "isNaN {}": math.isnan,
    "isInfinite {}": math.isinf,
}
"""The Haskell tests a :class:`Guard` may make of an operand (``{}``), each with its value on a literal."""


@dataclass(frozen=True)
class Guard:
    """A case accelerate computes otherwise than NumPy: where ``test`` (a key of :data:`GUARD_TESTS`) holds of
    any of the ``operands``, the result is ``value`` (a template), not the template's.

    The export tests a literal operand while printing: one the test is false of drops out of the guard, and a
    guard with no operand left drops out of the template (``x `div` 2`` needs no guard against 0).
    """

    test: str
    operands: tuple[int, ...]
    value: str


@dataclass(frozen=True)
class HsTemplate:
    """An ``accelerate`` template (``{0}``, ``{1}``... the operands) and its guards, tried first in their order."""

    template: str
    guards: tuple[Guard, ...] = ()


@dataclass(frozen=True)
class ElementwiseOp:
    """The per-operation facts of an element-wise primitive."""

    name: str
    arity: int
    accepts: tuple[np.dtype, ...]
    result: str  # "same": the operands' dtype; "bool": a predicate
    numpy: Callable[..., np.ndarray]
    c: str
    hs: Mapping[str, HsTemplate]  # by kind of element type (a key of kinds(dtype))
    primitive: Primitive | None = None

    def hs_for(self, dtype: np.dtype) -> HsTemplate:
        """The Haskell template for operands of ``dtype``: its kind's, else ``all``'s.

        >>> from pyaccad.ir.types import FLOAT64, INT32
        >>> ELEMENTWISE["ne"].hs_for(FLOAT64).template, ELEMENTWISE["ne"].hs_for(INT32).template
        ('not ({0} == {1})', '{0} /= {1}')
        """
        return next(self.hs[kind] for kind in kinds(dtype) if kind in self.hs)


def _np_floordiv(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    # Integer floordiv and mod by zero are defined as 0 (NumPy's result), never a trap: backends must match.
    return np.floor_divide(a, b)


def _np_pow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind == "f":
        # C's pow at every element, as native, cuda, accelerate and JAX compute it. NumPy's loop takes a scalar or
        # repeated exponent of 0.5 as sqrt, which differs at -inf (nan, not inf) and -0.0 (-0.0, not 0.0): so
        # both operands go in as contiguous arrays (copied only where broadcast).
        shape = np.broadcast_shapes(a.shape, b.shape)
        operands = (np.ascontiguousarray(np.broadcast_to(v, shape)).reshape(-1) for v in (a, b))
        return np.power(*operands).reshape(shape)
    if a.dtype.kind != "i":
        return np.power(a, b)
    # Integers: overflow wraps; a negative exponent gives the exact power truncated toward zero, i.e.
    # 1 for base 1, +-1 for base -1, else 0 (base 0 included). NumPy itself refuses negative int exponents.
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


# pyaccad's integer division by zero is 0 where Haskell's div and mod raise; and minBound `div` -1 overflows,
# where accelerate-llvm's sdiv traps (SIGFPE, the whole process): pyaccad wraps, as C does.
_BY_ZERO = Guard("{} == 0", (1,), "0")
_INT_DIV = {
    "int": HsTemplate("{0} `div` {1}", (_BY_ZERO, Guard("{} == -1", (1,), "negate {0}"))),
    "uint": HsTemplate("{0} `div` {1}", (_BY_ZERO,)),
}
# modFloat (a helper of the export's, pyaccad.export.templates.HELPERS) is NumPy's float remainder of finite
# operands, exact where accelerate's mod' is not; mod is for integral types. NumPy's float remainder by zero, and
# of an infinity, is NaN; by an infinity it is the dividend where the signs agree (or it is 0), else the infinity;
# of a NaN it is NaN: the guards give these, so modFloat never sees an operand it would loop on.
_MOD = {
    "float": HsTemplate(
        "modFloat {0} {1}",
        (
            Guard("isNaN {}", (0, 1), "{0} + {1}"),
            Guard("{} == 0", (1,), "0/0"),
            Guard("isInfinite {}", (0,), "0/0"),
            Guard("isInfinite {}", (1,), "{0} == 0 || ({0} < 0) == ({1} < 0) ? ({0}, {1})"),
        ),
    ),
    "int": HsTemplate("{0} `mod` {1}", (_BY_ZERO, Guard("{} == -1", (1,), "0"))),
    "uint": HsTemplate("{0} `mod` {1}", (_BY_ZERO,)),
}
# accelerate's (**) is Floating-only; integers use (^), which raises on a negative exponent, where pyaccad's power
# is truncated toward zero.
_NEGATIVE_POWER = "{0} == 1 ? (1, {0} == -1 ? ({1} `mod` 2 == 0 ? (1, -1), 0))"
_POW = {"float": "{0} ** {1}", "int": HsTemplate("{0} ^ {1}", (Guard("{} < 0", (1,), _NEGATIVE_POWER),))}


def _nan_aware(template: str) -> dict[str, str | HsTemplate]:
    """A max or min by kind: NumPy's propagate a NaN, where accelerate-llvm's compare and select drops it."""
    return {"float": HsTemplate(template, (Guard("isNaN {}", (0, 1), "{0} + {1}"),)), "int": template}


_KEEP_NAN = HsTemplate("signum {0}", (Guard("isNaN {}", (0,), "{0}"),))
F, Z, N, A = FLOAT_DTYPES, INT_DTYPES, NUMERIC_DTYPES, DTYPES  # Z: the integers
_ROWS: list[tuple[str, int, tuple, str, Callable, str, str | dict[str, str | HsTemplate]]] = [
    # name, arity, accepts, result, numpy, C template, Haskell template (or one by kind of element type)
    ("neg", 1, N, "same", np.negative, "(-{0})", "negate {0}"),
    ("sin", 1, F, "same", np.sin, "sin({0})", "sin {0}"),
    ("cos", 1, F, "same", np.cos, "cos({0})", "cos {0}"),
    ("tan", 1, F, "same", np.tan, "tan({0})", "tan {0}"),
    ("asin", 1, F, "same", np.arcsin, "asin({0})", "asin {0}"),
    ("acos", 1, F, "same", np.arccos, "acos({0})", "acos {0}"),
    ("atan", 1, F, "same", np.arctan, "atan({0})", "atan {0}"),
    ("sinh", 1, F, "same", np.sinh, "sinh({0})", "sinh {0}"),
    ("cosh", 1, F, "same", np.cosh, "cosh({0})", "cosh {0}"),
    # tanh', a helper of the export's (pyaccad.export.templates.HELPERS): accelerate-llvm calls libm's tanh one
    # element at a time, where the helper's exp vectorises (clang's libmvec has exp but no tanh): the mlp's hidden
    # layers ran 1.4 ms of their 2.2 ms in tanh through the bridge, 0.1 ms as tanh'.
    ("tanh", 1, F, "same", np.tanh, "tanh({0})", "tanh' {0}"),
    ("asinh", 1, F, "same", np.arcsinh, "asinh({0})", "asinh {0}"),
    ("acosh", 1, F, "same", np.arccosh, "acosh({0})", "acosh {0}"),
    ("atanh", 1, F, "same", np.arctanh, "atanh({0})", "atanh {0}"),
    ("exp", 1, F, "same", np.exp, "exp({0})", "exp {0}"),
    ("expm1", 1, F, "same", np.expm1, "expm1({0})", "expm1 {0}"),
    ("log", 1, F, "same", np.log, "log({0})", "log {0}"),
    ("log1p", 1, F, "same", np.log1p, "log1p({0})", "log1p {0}"),
    ("sqrt", 1, F, "same", np.sqrt, "sqrt({0})", "sqrt {0}"),
    ("abs", 1, N, "same", np.abs, "PYACCAD_ABS({0})", "abs {0}"),
    # accelerate-llvm's float signum compares, and gives 0 for a NaN, where NumPy's sign keeps it
    ("sign", 1, N, "same", _np_sign, "PYACCAD_SIGN({0})", {"float": _KEEP_NAN, "all": "signum {0}"}),
    ("floor", 1, F, "same", np.floor, "floor({0})", "floorFloat {0}"),
    ("ceil", 1, F, "same", np.ceil, "ceil({0})", "ceilingFloat {0}"),
    ("round", 1, F, "same", np.rint, "rint({0})", "rint {0}"),
    ("trunc", 1, F, "same", np.trunc, "trunc({0})", "truncateFloat {0}"),
    ("erf", 1, F, "same", _np_erf, "erf({0})", "erf {0}"),
    ("isnan", 1, F, "bool", np.isnan, "isnan({0})", "isNaN {0}"),
    ("isinf", 1, F, "bool", np.isinf, "isinf({0})", "isInfinite {0}"),
    ("not", 1, (BOOL,), "bool", np.logical_not, "(!{0})", "not {0}"),
    ("add", 2, N, "same", np.add, "({0} + {1})", "{0} + {1}"),
    ("sub", 2, N, "same", np.subtract, "({0} - {1})", "{0} - {1}"),
    ("mul", 2, N, "same", np.multiply, "({0} * {1})", "{0} * {1}"),
    ("div", 2, F, "same", np.divide, "({0} / {1})", "{0} / {1}"),
    ("floordiv", 2, Z, "same", _np_floordiv, "PYACCAD_FLOORDIV({0}, {1})", _INT_DIV),
    ("mod", 2, N, "same", np.mod, "PYACCAD_MOD({0}, {1})", _MOD),
    ("pow", 2, N, "same", _np_pow, "PYACCAD_POW({0}, {1})", _POW),
    ("atan2", 2, F, "same", np.arctan2, "atan2({0}, {1})", "atan2 {0} {1}"),
    ("minimum", 2, N, "same", np.minimum, "PYACCAD_MIN({0}, {1})", _nan_aware("min {0} {1}")),
    ("maximum", 2, N, "same", np.maximum, "PYACCAD_MAX({0}, {1})", _nan_aware("max {0} {1}")),
    ("eq", 2, A, "bool", np.equal, "({0} == {1})", "{0} == {1}"),
    # accelerate-llvm's float /= is an ordered compare, false when a NaN is there
    ("ne", 2, A, "bool", np.not_equal, "({0} != {1})", {"float": "not ({0} == {1})", "all": "{0} /= {1}"}),
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
    _by_kind = {"all": _hs} if isinstance(_hs, str) else _hs
    _templates = {kind: t if isinstance(t, HsTemplate) else HsTemplate(t) for kind, t in _by_kind.items()}
    ELEMENTWISE[_name] = ElementwiseOp(_name, _arity, _accepts, _result, _np_fn, _c, _templates, _prim)


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
