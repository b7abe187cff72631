"""Test cases for the element-wise primitives, ``select`` and ``cast``: one table row per operation.

Each row gives a plain-Python reference (applied element by element, in
float64 for floats; independent of NumPy's ufuncs) and the input domain on
which that reference is total. IEEE special values (inf, NaN) have their own
tests in ``tests/backends/test_interp_semantics.py``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any

import numpy as np
from helpers import prim, program_of
from hypothesis import strategies as st
from strategies import ALL, Case, Draw, Example, arrays, per_element, shapes, wrap_int

from pyaccad.ir import ELEMENTWISE

Domain = tuple[float, float]
ANY: Domain = (-4, 4)


def _sign(a: Any) -> Any:
    return type(a)((a > 0) - (a < 0))


def _round(a: float) -> float:
    return float(Decimal(a).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))  # ties to even, as NumPy


def _floordiv(a: int, b: int) -> int:
    return 0 if b == 0 else a // b


def _mod(a: Any, b: Any) -> Any:
    if b == 0:
        return 0 if isinstance(a, int) else math.nan
    return a % b  # Python's % takes the divisor's sign, like NumPy's mod and Haskell's mod'


def _pow(a: Any, b: Any) -> Any:
    if isinstance(a, float):
        return a**b
    if b >= 0:
        return a**b
    return 0 if a == 0 else int(Fraction(a) ** b)  # exact power, truncated toward zero


# name -> (reference on Python scalars, domain of each operand)
REFERENCES: dict[str, tuple[Callable[..., Any], tuple[Domain, ...]]] = {
    "neg": (lambda a: -a, (ANY,)),
    "sin": (math.sin, (ANY,)),
    "cos": (math.cos, (ANY,)),
    "tan": (math.tan, (ANY,)),
    "asin": (math.asin, ((-1, 1),)),
    "acos": (math.acos, ((-1, 1),)),
    "atan": (math.atan, (ANY,)),
    "sinh": (math.sinh, (ANY,)),
    "cosh": (math.cosh, (ANY,)),
    "tanh": (math.tanh, (ANY,)),
    "asinh": (math.asinh, (ANY,)),
    "acosh": (math.acosh, ((1, 4),)),
    "atanh": (math.atanh, ((-0.99, 0.99),)),
    "exp": (math.exp, (ANY,)),
    "expm1": (math.expm1, (ANY,)),
    "log": (math.log, ((0.01, 4),)),
    "log1p": (math.log1p, ((-0.99, 4),)),
    "sqrt": (math.sqrt, ((0, 4),)),
    "abs": (abs, (ANY,)),
    "sign": (_sign, (ANY,)),
    "floor": (lambda a: float(math.floor(a)), (ANY,)),
    "ceil": (lambda a: float(math.ceil(a)), (ANY,)),
    "round": (_round, (ANY,)),
    "trunc": (lambda a: float(math.trunc(a)), (ANY,)),
    "erf": (math.erf, (ANY,)),
    "isnan": (math.isnan, (ANY,)),
    "isinf": (math.isinf, (ANY,)),
    "not": (lambda a: not a, (ANY,)),
    "add": (lambda a, b: a + b, (ANY, ANY)),
    "sub": (lambda a, b: a - b, (ANY, ANY)),
    "mul": (lambda a, b: a * b, (ANY, ANY)),
    "div": (lambda a, b: a / b, (ANY, (0.25, 4))),
    "floordiv": (_floordiv, (ANY, ANY)),
    "mod": (_mod, (ANY, ANY)),
    "pow": (_pow, ((0.1, 4), (-3, 5))),
    "atan2": (math.atan2, (ANY, ANY)),
    "minimum": (min, (ANY, ANY)),
    "maximum": (max, (ANY, ANY)),
    "eq": (lambda a, b: a == b, (ANY, ANY)),
    "ne": (lambda a, b: a != b, (ANY, ANY)),
    "lt": (lambda a, b: a < b, (ANY, ANY)),
    "le": (lambda a, b: a <= b, (ANY, ANY)),
    "gt": (lambda a, b: a > b, (ANY, ANY)),
    "ge": (lambda a, b: a >= b, (ANY, ANY)),
    "and": (lambda a, b: a and b, (ANY, ANY)),
    "or": (lambda a, b: a or b, (ANY, ANY)),
    "bitwise_and": (lambda a, b: a & b, (ANY, ANY)),
    "bitwise_or": (lambda a, b: a | b, (ANY, ANY)),
    "bitwise_xor": (lambda a, b: a ^ b, (ANY, ANY)),
    "invert": (lambda a: ~a, (ANY,)),
    # NumPy: a negative count shifts everything out (0, or -1 for a negative number shifted right)
    "left_shift": (lambda a, b: 0 if b < 0 else a << b, (ANY, ANY)),
    "right_shift": (lambda a, b: (-1 if a < 0 else 0) if b < 0 else a >> b, (ANY, ANY)),
}
# Integer pow may take a negative base; its exponents include negatives (defined: truncated toward zero).
_INT_DOMAINS: dict[str, tuple[Domain, ...]] = {"pow": ((-5, 5), (-3, 6))}


def _elementwise_case(name: str) -> Case:
    reference, float_domains = REFERENCES[name]
    row = ELEMENTWISE[name]

    def case(draw: Draw) -> Example:
        dtype = np.dtype(draw(st.sampled_from([str(d) for d in row.accepts])))
        shape = draw(shapes)
        domains = _INT_DOMAINS.get(name, float_domains) if dtype.kind in "iu" else float_domains
        inputs = [draw(arrays(dtype, shape, *domain)) for domain in domains]
        out_dtype = np.dtype(bool) if row.result == "bool" else dtype
        if dtype.kind in "iu":
            expected = per_element(lambda *v: wrap_int(int(reference(*v)), dtype), out_dtype, *inputs)
        else:
            expected = per_element(reference, out_dtype, *inputs)
        program = program_of(lambda *xs: prim(name, *xs), inputs)
        return Example(program, inputs, [expected])

    return case


def _select_case(draw: Draw) -> Example:
    dtype, shape = draw(st.sampled_from(ALL)), draw(shapes)
    inputs = [draw(arrays("bool", shape)), draw(arrays(dtype, shape)), draw(arrays(dtype, shape))]
    expected = per_element(lambda p, x, y: x if p else y, dtype, *inputs)
    return Example(program_of(lambda p, x, y: prim("select", p, x, y), inputs), inputs, [expected])


def _convert(value: Any, target: np.dtype) -> Any:
    if target.kind == "b":
        return value != 0
    if target.kind == "i":
        return math.trunc(value)  # C conversion: toward zero
    return float(value)


def _cast_case(draw: Draw) -> Example:
    source, target = np.dtype(draw(st.sampled_from(ALL))), np.dtype(draw(st.sampled_from(ALL)))
    (x,) = inputs = [draw(arrays(source, draw(shapes), -100, 100))]
    expected = per_element(lambda v: _convert(v, target), target, x)
    return Example(program_of(lambda a: prim("cast", a, dtype=target), inputs), inputs, [expected])


CASES: dict[str, Case] = {name: _elementwise_case(name) for name in ELEMENTWISE}
CASES["select"] = _select_case
CASES["cast"] = _cast_case
