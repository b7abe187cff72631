"""Scalar (``Exp``) operations, with the semantics of accelerate's classes and the rounding bounds they add.

Semantics follow accelerate's sources: its ``Num``/``Floating``/``RealFrac``
instances evaluate the Prelude's operations at the element type (the reference
interpreter, ``Data.Array.Accelerate.Interpreter.evalPrim``); ``(^)`` is
accelerate's own repeated squaring, with ``x ^ n = 1`` for ``n <= 0``
(``Data.Array.Accelerate.Language``); ``mod'`` is ``n - toFloating (floor (n / d)) * d``
(``Classes.RealFrac``); ``max x y`` is ``if x <= y then y else x`` (the Haskell
report's default); ``&&``/``||`` short-circuit (``Classes.Eq``); ``round`` rounds
half to even; integer ``div``/``mod`` by zero is an error, as in Haskell.

Rounding bounds (see :mod:`.values`): with ``(m, k)`` the magnitude and rounding
count of each operand and ``r`` the result,

* ``a ± b``: ``m = ma + mb``, ``k = max(ka, kb) + 1`` — the sum's rounding is at most ``u·|r| <= u·m``;
* ``a * b``: ``m = ma·mb``, ``k = ka + kb + 1``;
* ``a / b``: ``m = (ma + |r|·mb) / |b|``, ``k = max(ka, kb) + 1``;
* a function ``f`` accurate to ``c`` ulps (one ulp is at most ``2u|r|``): ``m = |r| + Σ|∂f/∂x|·mx``,
  ``k = max(kx..., 2c)``; the C library and NumPy functions are taken to be within
  :data:`FUNCTION_ULPS` ulps, ``sqrt`` correctly rounded;
* ``abs``, ``negate``, ``min``, ``max`` and exact operations (``floor``, comparisons) add nothing:
  ``min``/``max`` move by at most the larger operand error, and a comparison is assumed not to
  flip (test data keep away from ties).
* ``bitcast`` of a float to an integer carries the float's ``(m, k)`` on the integer, through the bitwise
  operations, ``min``/``max`` and choices, back to the float it is reinterpreted as: the export's ordered folds
  (``orderedBits32``) pick one of their elements, which moves by at most the largest element error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import HsRuntimeError, HsTypeError
from .values import INT64, UNIT_ROUNDOFF, Num, exact, unify

FUNCTION_ULPS = 4  # glibc's libm and NumPy's float32 loops stay within a few ulps


def _as_num(x: object, what: str) -> Num:
    if isinstance(x, Num):
        return x
    if isinstance(x, bool):
        raise HsTypeError(f"{what}: the Prelude Bool {x} where an Exp value is due (write True_/False_)")
    raise HsTypeError(f"{what}: {type(x).__name__} {x!r} where a number is due")


def as_bool(x: object, what: str) -> np.bool_:
    """An ``Exp Bool``; the Prelude's ``True``/``False`` are not one (GHC rejects them here)."""
    if isinstance(x, np.bool_):
        return x
    if isinstance(x, bool):
        raise HsTypeError(f"{what}: the Prelude Bool {x} where an Exp Bool is due (write True_/False_)")
    raise HsTypeError(f"{what}: {x!r} where an Exp Bool is due")


def _finite(m: float) -> float:
    return m if math.isfinite(m) else math.inf


def _ieee(t, op, *xs) -> object:
    """``op`` at the operands' type: on NumPy scalars of type ``t``, or on doubles when untyped."""
    if t is None:
        return float(op(*(np.float64(x) for x in xs)))
    return op(*xs)


def _float_operands(a: Num, b: Num, what: str) -> tuple[Num, Num]:
    a, b = unify(a, b, what)
    if a.t is not None and a.t.kind != "f":
        raise HsTypeError(f"{what}: needs a Floating type, got an integral one")
    return a, b


# --- Num ---------------------------------------------------------------------------------------------------
def add(a: object, b: object, sign: int = 1) -> Num:
    what = "(+)" if sign > 0 else "(-)"
    a, b = unify(_as_num(a, what), _as_num(b, what), what)
    if not (a.is_float or b.is_float):
        return Num(a.v + sign * b.v, a.t)  # Int arithmetic wraps (NumPy's, as GHC's)
    r = _ieee(a.t, lambda x, y: x + sign * y, a.v, b.v)
    return Num(r, a.t, _finite(a.m + b.m), max(a.k, b.k) + 1)


def sub(a: object, b: object) -> Num:
    return add(a, b, -1)


def mul(a: object, b: object) -> Num:
    a, b = unify(_as_num(a, "(*)"), _as_num(b, "(*)"), "(*)")
    if not (a.is_float or b.is_float):
        return Num(a.v * b.v, a.t)
    r = _ieee(a.t, lambda x, y: x * y, a.v, b.v)
    return Num(r, a.t, _finite(a.m * b.m), a.k + b.k + 1)


def fdiv(a: object, b: object) -> Num:
    a, b = _float_operands(_as_num(a, "(/)"), _as_num(b, "(/)"), "(/)")
    r = _ieee(a.t, lambda x, y: x / y, a.v, b.v)
    m = (a.m + abs(float(r)) * b.m) / abs(float(b.v)) if b.v != 0 else math.inf
    return Num(r, a.t, _finite(max(m, abs(float(r)))), max(a.k, b.k) + 1)


def negate(a: object) -> Num:
    a = _as_num(a, "negate")
    return Num(-a.v, a.t, a.m, a.k)


def absolute(a: object) -> Num:
    a = _as_num(a, "abs")
    return Num(abs(a.v), a.t, a.m, a.k)


def signum(a: object) -> Num:
    a = _as_num(a, "signum")
    v = a.v
    r = v if a.is_float and (v == 0 or math.isnan(v)) else int(v > 0) - int(v < 0)  # signum (-0.0) is -0.0
    return Num(a.t.type(r) if a.t is not None else r, a.t, 1.0 if a.is_float else 0.0, 0.0)


def integral(a: object, b: object, name: str) -> Num:
    """``div``/``mod`` (floor division) and ``quot``/``rem`` (toward zero) of Integral values, as Haskell's; by zero
    is Haskell's DivideByZero."""
    what = f"`{name}`"
    a, b = unify(_as_num(a, what), _as_num(b, what), what)
    if a.is_float or b.is_float:
        raise HsTypeError(f"{what}: needs an Integral type, got a Floating one")
    if b.v == 0:
        raise HsRuntimeError(f"{what}: division by zero ({a.v} `{name}` 0)")
    if name in ("quot", "rem"):
        q = abs(int(a.v)) // abs(int(b.v)) * (1 if (a.v < 0) == (b.v < 0) else -1)
        r = q if name == "quot" else int(a.v) - q * int(b.v)
        return Num(r if a.t is None else a.t.type(r), a.t)
    return Num(a.v // b.v if name == "div" else a.v % b.v, a.t)  # Python's and NumPy's // and % floor too


def power_int(x: object, n: object) -> Num:
    """accelerate's ``(^)``: 1 for ``n <= 0``, otherwise its repeated squaring (same products, same order)."""
    x, n = _as_num(x, "(^)"), _as_num(n, "(^)")
    if n.is_float:
        raise HsTypeError("(^): the exponent must be Integral")
    y = int(n.v)
    if y <= 0:
        return exact(1, x.t)
    while y % 2 == 0:
        x, y = mul(x, x), y // 2
    if y == 1:
        return x
    u, v, w = mul(x, x), (y - 1) // 2, x
    while v != 1:
        u, v, w = (mul(u, u), v // 2, w) if v % 2 == 0 else (mul(u, u), (v - 1) // 2, mul(w, u))
    return mul(u, w)


def minmax(a: object, b: object, take_max: bool) -> Num:
    what = "max" if take_max else "min"
    a, b = unify(_as_num(a, what), _as_num(b, what), what)
    le = a.v <= b.v  # the Haskell report: max x y = if x <= y then y else x; min x y = if x <= y then x else y
    chosen = (b if le else a) if take_max else (a if le else b)
    return Num(chosen.v, a.t, max(a.m, b.m), max(a.k, b.k))


# --- comparisons and Bool ----------------------------------------------------------------------------------
_COMPARE = {
    "==": np.equal,
    "/=": np.not_equal,
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


def compare(op: str, a: object, b: object) -> np.bool_:
    if isinstance(a, np.bool_) or isinstance(b, np.bool_):
        if op not in ("==", "/="):
            raise HsTypeError(f"({op}) on Exp Bool")
        return np.bool_(_COMPARE[op](as_bool(a, op), as_bool(b, op)))
    a, b = unify(_as_num(a, f"({op})"), _as_num(b, f"({op})"), f"({op})")
    return np.bool_(_COMPARE[op](a.v, b.v))


def logical_not(a: object) -> np.bool_:
    return np.bool_(not as_bool(a, "not"))


def bool_to_int(a: object) -> Num:
    return exact(int(as_bool(a, "boolToInt")), INT64)


# --- Floating ----------------------------------------------------------------------------------------------
SMOOTH = {  # name: (function, derivative, ulps of the library function)
    "sin": (np.sin, np.cos, FUNCTION_ULPS),
    "cos": (np.cos, lambda x: -np.sin(x), FUNCTION_ULPS),
    "tan": (np.tan, lambda x: 1 + np.tan(x) ** 2, FUNCTION_ULPS),
    "asin": (np.arcsin, lambda x: 1 / np.sqrt(1 - x * x), FUNCTION_ULPS),
    "acos": (np.arccos, lambda x: -1 / np.sqrt(1 - x * x), FUNCTION_ULPS),
    "atan": (np.arctan, lambda x: 1 / (1 + x * x), FUNCTION_ULPS),
    "sinh": (np.sinh, np.cosh, FUNCTION_ULPS),
    "cosh": (np.cosh, np.sinh, FUNCTION_ULPS),
    "tanh": (np.tanh, lambda x: 1 - np.tanh(x) ** 2, FUNCTION_ULPS),
    "asinh": (np.arcsinh, lambda x: 1 / np.sqrt(x * x + 1), FUNCTION_ULPS),
    "acosh": (np.arccosh, lambda x: 1 / np.sqrt(x * x - 1), FUNCTION_ULPS),
    "atanh": (np.arctanh, lambda x: 1 / (1 - x * x), FUNCTION_ULPS),
    "exp": (np.exp, np.exp, FUNCTION_ULPS),
    "log": (np.log, lambda x: 1 / x, FUNCTION_ULPS),
    "sqrt": (np.sqrt, lambda x: 0.5 / np.sqrt(x), 0.5),  # correctly rounded: half an ulp
}


def _float_arg(a: object, what: str) -> Num:
    a = _as_num(a, what)
    if a.t is not None and a.t.kind != "f":
        raise HsTypeError(f"{what}: needs a Floating type, got {a.t}")
    return a


def _function_result(t, r, m: float, ks: list[float], ulps: float) -> Num:
    return Num(r, t, _finite(max(abs(float(r)), m)), max([*ks, 2 * ulps]))


def smooth(name: str, a: object) -> Num:
    fn, derivative, ulps = SMOOTH[name]
    a = _float_arg(a, name)
    r = _ieee(a.t, fn, a.v)
    slope = abs(float(derivative(np.float64(a.v))))
    return _function_result(a.t, r, abs(float(r)) + slope * a.m, [a.k], ulps)


def _c_pow(x: object, y: object) -> object:
    """Haskell's ``(**)`` on a float type, C's ``pow``: NumPy's power of scalars takes an exponent of 0.5 as
    ``sqrt``, which differs at -inf (nan, not inf) and -0.0 (-0.0, not 0.0); on one-element arrays it is ``pow``."""
    return np.power(np.array([x]), np.array([y]))[0]


def float_binary(name: str, a: object, b: object) -> Num:
    """``atan2`` and ``(**)``, with their partial derivatives for the bound."""
    a, b = _float_operands(_float_arg(a, name), _float_arg(b, name), name)
    r = _ieee(a.t, np.arctan2 if name == "atan2" else _c_pow, a.v, b.v)
    xf, yf, rf = float(a.v), float(b.v), float(r)  # x ** y, or atan2 x y (x the ordinate)
    if name == "atan2":  # atan2 y x: d/dy = x / (x² + y²), d/dx = -y / (x² + y²)
        d = xf * xf + yf * yf
        slopes = (abs(yf) / d, abs(xf) / d) if d else (math.inf, math.inf)
    else:
        slopes = (abs(yf * xf ** (yf - 1)) if xf else 0.0, abs(rf * math.log(abs(xf))) if xf else 0.0)
    m = abs(rf) + slopes[0] * a.m + slopes[1] * b.m
    return _function_result(a.t, r, m, [a.k, b.k], FUNCTION_ULPS)


def mod_fractional(n: object, d: object) -> Num:
    """accelerate's ``mod' n d = n - toFloating (floor (n / d) :: Exp Int64) * d``."""
    quotient = round_to_integer("floor", fdiv(n, d))
    return sub(n, mul(to_floating(quotient), d))


# --- RealFrac and conversions ------------------------------------------------------------------------------
def round_to_integer(name: str, a: object) -> Num:
    """``floor``/``ceiling``/``round``/``truncate``: an integer whose type the context fixes."""
    a = _float_arg(a, name)
    x = float(a.v)
    if not math.isfinite(x):
        raise HsRuntimeError(f"{name} of {x}: not an integer (undefined in Haskell)")
    r = {"floor": math.floor, "ceiling": math.ceil, "round": round, "truncate": math.trunc}[name](x)
    return Num(int(r))


def from_integral(a: object) -> Num:
    a = _as_num(a, "fromIntegral")
    if a.is_float:
        raise HsTypeError("fromIntegral: needs an Integral argument, got a Floating one")
    return Num(int(a.v))


def to_floating(a: object) -> Num:
    """``toFloating``/``realToFrac``: the value (exact as a double), its bound carried over in double units."""
    a = _as_num(a, "toFloating")
    v = float(a.v)
    if not a.is_float:
        return Num(v, None, abs(v), 0.0 if int(v) == int(a.v) else 1.0)
    return Num(v, None, a.m, a.k * UNIT_ROUNDOFF[a.t] / UNIT_ROUNDOFF[None])


def is_nan(a: object) -> np.bool_:
    return np.bool_(math.isnan(float(_float_arg(a, "isNaN").v)))


def is_infinite(a: object) -> np.bool_:
    return np.bool_(math.isinf(float(_float_arg(a, "isInfinite").v)))


def float_digits(a: object) -> Num:
    """``floatDigits``: the significand's bits of the argument's type (a constant), a Double's for an untyped one."""
    a = _float_arg(a, "floatDigits")
    return exact(np.finfo(a.t or np.float64).nmant + 1, INT64)


def _bits_operand(a: object, what: str) -> Num:
    a = _as_num(a, what)
    if a.is_float or a.t is None:
        raise HsTypeError(f"{what}: needs a typed Bits value (an integer or Bool), got {a.v!r}")
    return a


def bitwise(name: str, a: object, b: object) -> Num:
    """``.&.``, ``.|.``, ``xor`` of Data.Array.Accelerate.Data.Bits: NumPy's on the same integer (or Bool) type
    (a float's bound carried by ``bitcast`` stays with the result)."""
    what = f"Bits.{name}"
    a, b = unify(_as_num(a, what), _as_num(b, what), what)  # a literal takes the other operand's type
    a, b = _bits_operand(a, what), _bits_operand(b, what)
    op = {".&.": np.bitwise_and, ".|.": np.bitwise_or, "xor": np.bitwise_xor}[name]
    carrier = a if a.k >= b.k else b
    result = op(a.v, b.v)
    return Num(result, a.t, carrier.m, carrier.k) if carrier.k else exact(result, a.t)


@dataclass(frozen=True)
class Bitcast:
    """``bitcast x``, waiting for its annotation (``:: Exp Int32``) to name the type it reinterprets ``x`` as."""

    num: Num

    def to(self, t: np.dtype) -> Num:
        source = self.num
        if source.t is None or source.t.itemsize != t.itemsize or (source.t.kind == "f") == (t.kind == "f"):
            raise HsTypeError(f"bitcast: a {source.t} reinterpreted as {t} (floats and integers of one size only)")
        value = np.asarray(source.v, source.t).view(t)[()]
        if t.kind == "f" and not source.k:
            return exact(value, t)
        return Num(value, t, source.m, source.k)  # a float's bound, carried on its bits (see the module doc)


def bitcast(a: object) -> Bitcast:
    return Bitcast(_as_num(a, "bitcast"))


def complement(a: object) -> Num:
    a = _bits_operand(a, "Bits.complement")
    return exact(np.invert(a.v), a.t)


def shift(name: str, a: object, n: object) -> Num:
    """``shiftL``/``shiftR x n`` for ``0 <= n <`` the bit size (the export guards the rest): shifts in the type
    (left wraps; right is arithmetic on signed types, as Haskell's)."""
    what = f"Bits.{name}"
    a, n = _bits_operand(a, what), _as_num(n, what)
    count = int(n.v)
    if not 0 <= count < a.t.itemsize * 8:
        raise HsRuntimeError(f"{what}: shift by {count} outside the {a.t.itemsize * 8} bits of {a.t}")
    op = np.left_shift if name == "shiftL" else np.right_shift
    return exact(op(np.asarray(a.v, a.t), np.asarray(count, a.t)), a.t)


def finite_bit_size(a: object) -> Num:
    a = _bits_operand(a, "Bits.finiteBitSize")
    return exact(1 if a.t == np.dtype(bool) else a.t.itemsize * 8, INT64)
