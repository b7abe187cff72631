"""NumPy's element-wise functions (ufuncs) under their NumPy names, on traced arrays and inside lambdas.

Most are the scalar functions of ``pyaccad`` under NumPy's names (``arcsin`` is
``acc.asin``, ``subtract`` is ``-``); the rest are short compositions
(``log2 = log / log 2``, ``sigmoid = 1 / (1 + exp(-x))``). As in NumPy,
functions defined on floats only (``sin``, ``sqrt``, ``/``...) take integer
and boolean arrays as float64. Every one broadcasts and differentiates as
the operations it is made of.

>>> import numpy as np, pyaccad as acc
>>> import pyaccad.numpy as jnp
>>> acc.run(lambda a: jnp.exp2(a) + jnp.square(a), np.array([0.0, 1.0, 3.0]))
array([ 1.,  3., 17.])
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from pyaccad.errors import ShapeError
from pyaccad.frontend.operators import SCALAR_FUNCTIONS, elementwise
from pyaccad.frontend.operators import cast as _cast
from pyaccad.frontend.operators import where as _where
from pyaccad.frontend.tracing import Value, fail, is_scalar_literal
from pyaccad.ir import BOOL
from pyaccad.ir.types import is_float
from pyaccad.numpy.common import as_float, documented

__all__: list[str] = []  # filled below, one entry per defined name

_X = "np.array([0.25, 0.5])"
_XY = "np.array([0.25, 0.5]), np.array([2.0, 4.0])"


def _operand(x: Any) -> Any:
    """Lists become NumPy arrays (embedded); tracers, arrays and Python numbers pass as they are."""
    return np.asarray(x) if isinstance(x, (list, tuple)) else x


def _floating(x: Any, op: str) -> Any:
    """``x`` with integers as float64, Python numbers left to take the dtype they meet."""
    x = _operand(x)
    return x if is_scalar_literal(x) else as_float(x, op)


def _both_int(a: Any, b: Any) -> bool:
    dtypes = [np.asarray(x).dtype if not isinstance(x, Value) else x.dtype for x in (a, b)]
    return not any(is_float(d) for d in dtypes)


def _define(name: str, fn: Callable[..., Any], summary: str, example: str, output: str) -> None:
    globals()[name] = documented(fn, name, summary, example, output)
    __all__.append(name)


def _unary_float(name: str, scalar: str) -> None:
    op = SCALAR_FUNCTIONS[scalar]
    _define(
        name,
        lambda x: op(_floating(x, name)),
        f"``numpy.{name}`` element-wise (``acc.{scalar}``); integers are taken as float64.",
        f"x = {_X}; np.allclose(acc.run(lambda a: jnp.{name}(a), x), np.{name}(x))",
        "True",
    )


for _name, _scalar in {
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "arcsin": "asin",
    "arccos": "acos",
    "arctan": "atan",
    "sinh": "sinh",
    "cosh": "cosh",
    "tanh": "tanh",
    "arcsinh": "asinh",
    "arctanh": "atanh",
    "exp": "exp",
    "expm1": "expm1",
    "log": "log",
    "log1p": "log1p",
    "sqrt": "sqrt",
    "floor": "floor",
    "ceil": "ceil",
    "trunc": "trunc",
    "rint": "round",
}.items():
    _unary_float(_name, _scalar)
_define(
    "arccosh",
    lambda x: SCALAR_FUNCTIONS["acosh"](_floating(x, "arccosh")),
    "``numpy.arccosh`` element-wise (``acc.acosh``); integers are taken as float64.",
    "acc.run(lambda a: jnp.arccosh(a), np.array([1.0]))",
    "array([0.])",
)
_define(
    "round",
    lambda x, decimals=0: _round(_floating(x, "round"), decimals),
    "``numpy.round``: to ``decimals`` places, halves to even (``acc.round`` for 0 places).",
    "acc.run(lambda a: jnp.round(a, 1), np.array([0.25, 1.26]))",
    "array([0.2, 1.3])",
)


def _round(x: Any, decimals: int) -> Any:
    if decimals == 0:
        return SCALAR_FUNCTIONS["round"](x)
    scale = 10.0**decimals
    return SCALAR_FUNCTIONS["round"](x * scale) / scale


def _log_base(base: float) -> Callable[[Any], Any]:
    return lambda x: SCALAR_FUNCTIONS["log"](_floating(x, "log")) * (1.0 / math.log(base))


_define(
    "log2",
    _log_base(2.0),
    "Base-2 logarithm, ``log(x) / log(2)``.",
    "acc.run(jnp.log2, np.array([1.0, 8.0]))",
    "array([0., 3.])",
)
_define(
    "log10",
    _log_base(10.0),
    "Base-10 logarithm, ``log(x) / log(10)``.",
    "acc.run(jnp.log10, np.array([1.0, 100.0]))",
    "array([0., 2.])",
)
_define(
    "exp2",
    lambda x: SCALAR_FUNCTIONS["exp"](_floating(x, "exp2") * math.log(2.0)),
    "``2 ** x``, as ``exp(x log 2)``.",
    "acc.run(jnp.exp2, np.array([0.0, 3.0]))",
    "array([1., 8.])",
)
_define(
    "square",
    lambda x: _operand(x) * _operand(x),
    "``x * x``, keeping the dtype (integers stay integers).",
    "acc.run(jnp.square, np.array([3, -2]))",
    "array([9, 4])",
)
_define(
    "reciprocal",
    lambda x: 1.0 / _floating(x, "reciprocal"),
    "``1 / x``.",
    "acc.run(jnp.reciprocal, np.array([4.0, 0.5]))",
    "array([0.25, 2.  ])",
)
_define(
    "sigmoid",
    lambda x: 1.0 / (1.0 + SCALAR_FUNCTIONS["exp"](-_floating(x, "sigmoid"))),
    "The logistic function ``1 / (1 + exp(-x))`` (``jax.nn.sigmoid``, ``pyaccad.nn.sigmoid``).",
    "acc.run(jnp.sigmoid, np.array([0.0]))",
    "array([0.5])",
)
_define(
    "isfinite",
    lambda x: (
        ~(SCALAR_FUNCTIONS["isnan"](_floating(x, "isfinite")) | SCALAR_FUNCTIONS["isinf"](_floating(x, "isfinite")))
    ),
    "True where ``x`` is neither NaN nor infinite.",
    "acc.run(jnp.isfinite, np.array([1.0, np.inf, np.nan]))",
    "array([ True, False, False])",
)


def _isfinite(x: Any) -> Any:
    return ~(SCALAR_FUNCTIONS["isnan"](x) | SCALAR_FUNCTIONS["isinf"](x))


for _name in ("isnan", "isinf"):
    _define(
        _name,
        (lambda op: lambda x: SCALAR_FUNCTIONS[op](_floating(x, op)))(_name),
        f"``numpy.{_name}`` element-wise.",
        f"acc.run(jnp.{_name}, np.array([1.0, np.inf, np.nan]))",
        "array([False, False,  True])" if _name == "isnan" else "array([False,  True, False])",
    )


def _numeric_unary(name: str, scalar: str, summary: str, example: str, output: str) -> None:
    _define(name, lambda x: SCALAR_FUNCTIONS[scalar](_operand(x)), summary, example, output)


_numeric_unary("abs", "abs", "``|x|`` element-wise.", "acc.run(jnp.abs, np.array([-2, 3]))", "array([2, 3])")
_numeric_unary(
    "absolute", "abs", "``|x|`` element-wise (``abs``).", "acc.run(jnp.absolute, np.array([-2.5]))", "array([2.5])"
)
_numeric_unary(
    "sign", "sign", "-1, 0 or 1 by the sign of ``x``.", "acc.run(jnp.sign, np.array([-2, 0, 3]))", "array([-1,  0,  1])"
)
_numeric_unary("negative", "negative", "``-x``.", "acc.run(jnp.negative, np.array([1.5]))", "array([-1.5])")
_define(
    "positive",
    lambda x: _operand(x),
    "``+x`` (``x`` itself).",
    "acc.run(jnp.positive, np.array([1.5]))",
    "array([1.5])",
)
_define(
    "logical_not",
    lambda x: ~_bools(x, "logical_not"),
    "Element-wise not; numbers are true where non-zero.",
    "acc.run(jnp.logical_not, np.array([True, False]))",
    "array([False,  True])",
)


def _bools(x: Any, op: str) -> Any:
    x = _operand(x)
    if is_scalar_literal(x):
        return bool(x)
    dtype = x.dtype if isinstance(x, Value) else np.asarray(x).dtype
    return x if dtype == BOOL else x != 0


def _binary(name: str, fn: Callable[[Any, Any], Any], summary: str, out: str, xy: str = _XY) -> None:
    _define(name, lambda a, b: fn(_operand(a), _operand(b)), summary, f"acc.run(jnp.{name}, {xy})", out)


_binary("add", lambda a, b: a + b, "``a + b``, broadcast.", "array([2.25, 4.5 ])")
_binary("subtract", lambda a, b: a - b, "``a - b``, broadcast.", "array([-1.75, -3.5 ])")
_binary("multiply", lambda a, b: a * b, "``a * b``, broadcast.", "array([0.5, 2. ])")
_binary(
    "divide",
    lambda a, b: _true_divide(a, b),
    "``a / b``; integers divide as float64, as in NumPy.",
    "array([0.125, 0.125])",
)
_binary("true_divide", lambda a, b: _true_divide(a, b), "``a / b`` (``divide``).", "array([0.125, 0.125])")


def _true_divide(a: Any, b: Any) -> Any:
    if _both_int(a, b):
        return _floating(a, "divide") / _floating(b, "divide")
    return a / b


def _floor_divide(a: Any, b: Any) -> Any:
    if _both_int(a, b):
        return a // b
    return SCALAR_FUNCTIONS["floor"](a / b)


_binary(
    "floor_divide",
    _floor_divide,
    "``a // b``: integer floor division, or ``floor(a / b)`` for floats.",
    "array([-4,  3])",
    "np.array([-7, 7]), np.array([2, 2])",
)
_binary(
    "mod",
    lambda a, b: a % b,
    "``a % b`` with the sign of ``b``, as NumPy's ``mod``.",
    "array([1, 1])",
    "np.array([-7, 7]), 2",
)
_binary("remainder", lambda a, b: a % b, "``a % b`` (``mod``).", "array([1., 1.])", "np.array([-7.0, 7.0]), 2.0")
_binary("power", lambda a, b: a**b, "``a ** b``, broadcast.", "array([0.0625, 0.0625])")
_binary("minimum", SCALAR_FUNCTIONS["minimum"], "The smaller of ``a`` and ``b`` element-wise.", "array([0.25, 0.5 ])")
_binary("maximum", SCALAR_FUNCTIONS["maximum"], "The larger of ``a`` and ``b`` element-wise.", "array([2., 4.])")
_binary(
    "arctan2",
    lambda a, b: SCALAR_FUNCTIONS["atan2"](_floating(a, "arctan2"), _floating(b, "arctan2")),
    "``atan2(a, b)``: the angle of the point ``(b, a)``.",
    "array([0., 0.])",
    "np.array([0.0, 0.0]), np.array([1.0, 2.0])",
)
for _name, _op, _word in (
    ("equal", "eq", "=="),
    ("not_equal", "ne", "!="),
    ("less", "lt", "<"),
    ("less_equal", "le", "<="),
    ("greater", "gt", ">"),
    ("greater_equal", "ge", ">="),
):
    _binary(
        _name,
        (lambda op: lambda a, b: elementwise(op, a, b))(_op),
        f"``a {_word} b`` element-wise (booleans).",
        repr(getattr(np, _name)(np.array([1, 2]), 2)),
        "np.array([1, 2]), 2",
    )
for _name, _word in (("logical_and", "and"), ("logical_or", "or"), ("logical_xor", "xor")):
    _binary(
        _name,
        (lambda word: lambda a, b: _logical(word, _bools(a, word), _bools(b, word)))(_word),
        f"Element-wise ``{_word}``; numbers are true where non-zero.",
        repr(getattr(np, _name)(np.array([True, False]), True)),
        "np.array([True, False]), True",
    )


for _name in ("bitwise_and", "bitwise_or", "bitwise_xor", "left_shift", "right_shift"):
    _binary(
        _name,
        SCALAR_FUNCTIONS[_name],
        f"NumPy's ``{_name}`` element-wise, on integers and (the logical operation) bools.",
        repr(getattr(np, _name)(np.array([3, 5]), 2)),
        "np.array([3, 5]), 2",
    )
_define(
    "invert",
    lambda x: SCALAR_FUNCTIONS["invert"](_operand(x)),
    "``~x``: bits flipped for integers, ``not`` for bools.",
    "acc.run(jnp.invert, np.array([3, 5]))",
    repr(np.invert(np.array([3, 5]))),
)
globals()["bitwise_not"] = globals()["invert"]  # NumPy's alias
__all__.append("bitwise_not")


def _logical(word: str, a: Any, b: Any) -> Any:
    if word == "and":
        return elementwise("and", a, b)
    if word == "or":
        return elementwise("or", a, b)
    return elementwise("ne", a, b)


def _clip(a: Any, a_min: Any = None, a_max: Any = None) -> Any:
    x = _operand(a)
    if a_min is not None:
        x = SCALAR_FUNCTIONS["maximum"](x, _operand(a_min))
    if a_max is not None:
        x = SCALAR_FUNCTIONS["minimum"](x, _operand(a_max))
    return x


_define(
    "clip",
    _clip,
    "``a`` limited to ``[a_min, a_max]`` (either may be None), as ``minimum(maximum(a, a_min), a_max)``.",
    "acc.run(lambda a: jnp.clip(a, 0.0, 1.0), np.array([-1.0, 0.5, 2.0]))",
    "array([0. , 0.5, 1. ])",
)
_define(
    "where",
    lambda condition, x=None, y=None: _choose(condition, x, y),
    "``x`` where ``condition`` holds, else ``y`` (``acc.where``; the one-argument form is refused).",
    "acc.run(lambda a: jnp.where(a > 0.0, a, 0.0), np.array([-1.0, 2.0]))",
    "array([0., 2.])",
)


def _choose(condition: Any, x: Any, y: Any) -> Any:
    if x is None or y is None:
        fail(
            ShapeError,
            "where(condition) with one argument gives the indices where it holds, an array whose shape depends "
            "on the data; use where(condition, x, y), which keeps the shape",
        )
    return _where(_operand(condition), _operand(x), _operand(y))


_define(
    "astype",
    lambda x, dtype: _cast(_operand(x), dtype),
    "``x`` converted to ``dtype`` (``acc.cast``).",
    "acc.run(lambda a: jnp.astype(a, 'int32'), np.array([1.5, -2.5]))",
    "array([ 1, -2], dtype=int32)",
)
del _name, _scalar, _op, _word
__all__.sort()
