"""JVP rules of the element-wise primitives, ``select`` and ``cast``.

Each differentiable element-wise operation is one row of :data:`PARTIALS`:
per operand, a function of the operands and the result that emits the
partial derivative. The tangent is ``Σ_i partial_i · x_i_tan``, computed
only for operands whose tangent is not a symbolic zero, and linear in the
tangents (a product with a primal residual, then sums). The rows work in
both scopes: inside lambdas they act on scalars, at array level on arrays.

Points where an operation is not differentiable follow JAX, so results
compare with JAX directly: ``abs'(0) = sign(0) = 0``; ``maximum``/``minimum``
give each operand half the tangent on a tie; ``floor``, ``ceil``, ``round``,
``trunc``, ``sign``, comparisons and integer operations have derivative 0;
``pow``'s partial in the base is 0 where the exponent is 0, its partial in
the exponent is 0 where the base is 0.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> float(acc.jit(ad.grad(lambda x: acc.maximum(x, 1.0)))(np.array(1.0)))
0.5
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import pi, sqrt

from pyaccad.ad.emitters import lit, op
from pyaccad.ad.jvp import Env, copy_stmt, register, zero_rule
from pyaccad.ad.tangents import Tan, Zero, instantiate, is_zero, tcast, tscale, tsum
from pyaccad.ir import Atom, Stmt

Partial = Callable[[Sequence[Atom], Atom], Atom]


def _c(value: float, like: Atom) -> Atom:
    return lit(value, like.type)


def _recip_sqrt_of(expr: Callable[[Atom], Atom], sign: float = 1.0) -> Partial:
    """``sign / sqrt(expr(x))``: the shape of the inverse trigonometric derivatives."""
    return lambda a, y: op("div", _c(sign, a[0]), op("sqrt", expr(a[0])))


def _one_minus_sq(x: Atom) -> Atom:
    return op("sub", _c(1, x), op("mul", x, x))


def _chooser(mine: int) -> Partial:
    """JAX's balanced rule for max/min: 1 where this operand gives the result, 1/2 on a tie, else 0."""

    def partial(a: Sequence[Atom], y: Atom) -> Atom:
        other = a[1 - mine]
        mine_wins = op("eq", a[mine], y)
        tie = op("eq", other, y)
        half_or_one = op("select", tie, _c(0.5, y), _c(1, y))
        return op("select", mine_wins, half_or_one, _c(0, y))

    return partial


def _pow_base(a: Sequence[Atom], y: Atom) -> Atom:
    x, p = a
    safe = op("mul", p, op("pow", x, op("sub", p, _c(1, p))))
    return op("select", op("eq", p, _c(0, p)), _c(0, y), safe)


def _pow_exponent(a: Sequence[Atom], y: Atom) -> Atom:
    x = a[0]
    is_zero_base = op("eq", x, _c(0, x))
    return op("mul", op("log", op("select", is_zero_base, _c(1, x), x)), y)


def _atan2(which: int) -> Partial:
    def partial(a: Sequence[Atom], y: Atom) -> Atom:
        x, z = a  # atan2(x, z): d/dx = z / (x² + z²), d/dz = -x / (x² + z²)
        denom = op("add", op("mul", x, x), op("mul", z, z))
        return op("div", z, denom) if which == 0 else op("neg", op("div", x, denom))

    return partial


PARTIALS: dict[str, tuple[Partial, ...]] = {
    "neg": (lambda a, y: _c(-1, y),),
    "sin": (lambda a, y: op("cos", a[0]),),
    "cos": (lambda a, y: op("neg", op("sin", a[0])),),
    "tan": (lambda a, y: op("add", _c(1, y), op("mul", y, y)),),
    "asin": (_recip_sqrt_of(_one_minus_sq),),
    "acos": (_recip_sqrt_of(_one_minus_sq, -1.0),),
    "atan": (lambda a, y: op("div", _c(1, y), op("add", _c(1, y), op("mul", a[0], a[0]))),),
    "sinh": (lambda a, y: op("cosh", a[0]),),
    "cosh": (lambda a, y: op("sinh", a[0]),),
    "tanh": (lambda a, y: op("sub", _c(1, y), op("mul", y, y)),),
    "asinh": (_recip_sqrt_of(lambda x: op("add", op("mul", x, x), _c(1, x))),),
    "acosh": (_recip_sqrt_of(lambda x: op("sub", op("mul", x, x), _c(1, x))),),
    "atanh": (lambda a, y: op("div", _c(1, y), _one_minus_sq(a[0])),),
    "exp": (lambda a, y: y,),
    "expm1": (lambda a, y: op("add", y, _c(1, y)),),
    "log": (lambda a, y: op("div", _c(1, y), a[0]),),
    "log1p": (lambda a, y: op("div", _c(1, y), op("add", a[0], _c(1, y))),),
    "sqrt": (lambda a, y: op("div", _c(0.5, y), y),),
    "abs": (lambda a, y: op("sign", a[0]),),
    "erf": (lambda a, y: op("mul", _c(2 / sqrt(pi), y), op("exp", op("neg", op("mul", a[0], a[0])))),),
    "add": (lambda a, y: _c(1, y), lambda a, y: _c(1, y)),
    "sub": (lambda a, y: _c(1, y), lambda a, y: _c(-1, y)),
    "mul": (lambda a, y: a[1], lambda a, y: a[0]),
    "div": (lambda a, y: op("div", _c(1, y), a[1]), lambda a, y: op("neg", op("div", y, a[1]))),
    "mod": (lambda a, y: _c(1, y), lambda a, y: op("neg", op("floor", op("div", a[0], a[1])))),
    "pow": (_pow_base, _pow_exponent),
    "atan2": (_atan2(0), _atan2(1)),
    "maximum": (_chooser(0), _chooser(1)),
    "minimum": (_chooser(0), _chooser(1)),
}
"""Per differentiable element-wise primitive, one partial-derivative emitter per operand."""

# Exact shortcuts where the partial is ±1: the tangent needs no multiplication.
_UNIT = {("neg", 0): -1, ("add", 0): 1, ("add", 1): 1, ("sub", 0): 1, ("sub", 1): -1, ("mod", 0): 1}

ZERO_DERIVATIVE = (
    "sign",
    "floor",
    "ceil",
    "round",
    "trunc",
    "isnan",
    "isinf",
    "not",
    "floordiv",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "and",
    "or",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "invert",
    "left_shift",
    "right_shift",
)


def _elementwise_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    (out,) = copy_stmt(stmt, env, args)
    if not _float(out):  # integer arithmetic: zero derivative
        return [out], [Zero(out.type)]
    terms: list[Tan] = []
    for i, t in enumerate(args_tan):
        if is_zero(t):
            continue
        unit = _UNIT.get((stmt.prim.name, i))
        if unit == 1:
            terms.append(t)
        elif unit == -1:
            terms.append(op("neg", t))
        else:
            terms.append(tscale(t, PARTIALS[stmt.prim.name][i](args, out)))
    return [out], [tsum(terms, out.type)]


def _float(atom: Atom) -> bool:
    return atom.dtype.kind == "f"


for _name in PARTIALS:
    register(_name)(_elementwise_jvp)
register(*ZERO_DERIVATIVE)(zero_rule)


@register("select")
def _select_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    (out,) = copy_stmt(stmt, env, args)
    _, t_true, t_false = args_tan
    if is_zero(t_true) and is_zero(t_false):
        return [out], [Zero(out.type)]
    return [out], [op("select", args[0], instantiate(t_true), instantiate(t_false))]


@register("cast")
def _cast_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    (out,) = copy_stmt(stmt, env, args)
    if not (_float(out) and _float(args[0])):  # to or from integers: piecewise constant
        return [out], [Zero(out.type)]
    return [out], [tcast(args_tan[0], out.type)]
