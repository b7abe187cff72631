"""Symbolic zero tangents and the tangent arithmetic that short-circuits them.

A tangent (``x_tan``) or cotangent (``x_ct``) is either an IR atom of the
primal's type or :class:`Zero`, a symbolic zero that costs nothing: adding
it is a no-op, scaling it gives ``Zero`` again, and only :func:`instantiate`
turns it into an array (``broadcast_in_dim`` of a literal 0) when a rule
needs its values.

:func:`tadd`, :func:`tscale`, :func:`tcast` and :func:`tsum` emit
statements (:mod:`pyaccad.ad.emitters`) only for tangents that are not zero.

>>> from pyaccad.frontend.tracing import trace_program, wrap
>>> from pyaccad.ir import ArrayType, FLOAT64
>>> t = ArrayType(FLOAT64, (3,))
>>> prog, _ = trace_program(lambda x: wrap(tadd(Zero(t), tscale(x.var, x.var))), [t])
>>> [s.prim.name for s in prog.stmts]
['mul']
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyaccad.ad.emitters import lit, op
from pyaccad.ir import ArrayType, Atom, Lit
from pyaccad.ir.types import is_float


@dataclass(frozen=True)
class Zero:
    """A symbolic zero (co)tangent of ``type``."""

    type: ArrayType

    @property
    def dtype(self):
        return self.type.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self.type.shape


Tan = Atom | Zero


def is_zero(t: object) -> bool:
    return isinstance(t, Zero)


def differentiable(type_: ArrayType) -> bool:
    """Only floating-point values carry (co)tangents; integers and bools have zero derivative."""
    return is_float(type_.dtype)


def instantiate(t: Tan) -> Atom:
    """``t`` as an atom: a symbolic zero becomes a zero-filled value."""
    return lit(0, t.type) if isinstance(t, Zero) else t


def tadd(a: Tan, b: Tan) -> Tan:
    """``a + b`` with symbolic zeros short-circuited."""
    if isinstance(a, Zero):
        return b
    if isinstance(b, Zero):
        return a
    return op("add", a, b)


def tsum(terms: Sequence[Tan], type_: ArrayType) -> Tan:
    """The sum of ``terms`` (``Zero(type_)`` for none)."""
    total: Tan = Zero(type_)
    for t in terms:
        total = tadd(total, t)
    return total


def tscale(t: Tan, coeff: Atom) -> Tan:
    """``t * coeff`` (``coeff`` a primal value of the same type), Zero when ``t`` is; a literal 1 is skipped."""
    if isinstance(t, Zero) or _is_one(coeff):
        return t
    return coeff if _is_one(t) else op("mul", t, coeff)


def _is_one(a: Tan) -> bool:
    return isinstance(a, Lit) and a.is_fixed(1)


def tcast(t: Tan, type_: ArrayType) -> Tan:
    """``t`` converted to the float dtype of ``type_`` (a linear float → float cast)."""
    if isinstance(t, Zero):
        return Zero(type_.with_shape(t.shape))
    return t if t.dtype == type_.dtype else op("cast", t, dtype=type_.dtype)
