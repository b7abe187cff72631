"""Monoids: the combine lambdas of ``fold``, ``scan`` and ``permute`` that every stage treats specially.

A lambda ``\\a b -> a ⊕ b`` whose body is one of the element-wise primitives of :data:`MONOIDS` (its
arguments in either order: each is commutative) is recognised once, here, by :func:`monoids`. The
stages then use what a :class:`Monoid` knows: its identity per dtype (a parallel reduction's starting
value), its NumPy ufunc (the interpreter's ``reduce``/``accumulate``/``at``) and its primitive (the
C template of the native backend, the AD rules' special cases, tried before the general rule as in
Futhark). ``first`` (``\\new old -> new``, a ``permute`` that overwrites) is recognised too, though it
is not a monoid of this table: it has no identity.

>>> import numpy as np
>>> from pyaccad.frontend.tracing import trace_program
>>> from pyaccad.ir import ArrayType, FLOAT64
>>> s = ArrayType(FLOAT64, ())
>>> monoids(trace_program(lambda a, b: b * a, [s, s], "scalar")[0])
['mul']
>>> MONOIDS["maximum"].identity(np.dtype("int32")), MONOIDS["and"].identity(np.dtype("bool"))
(-2147483648, True)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pyaccad.ir.core import Program
from pyaccad.ir.types import BOOL, is_float


@dataclass(frozen=True)
class Monoid:
    """An associative, commutative element-wise primitive with an identity for every dtype it takes."""

    name: str
    ufunc: np.ufunc
    neutral: str  # "0", "1", or "lowest"/"highest" (the dtype's -inf/+inf, or its integer extreme)

    def identity(self, dtype: np.dtype) -> bool | int | float:
        """The value ``e`` with ``e ⊕ x = x`` for every ``x`` of ``dtype`` (NaN aside, for max and min).

        >>> MONOIDS["minimum"].identity(np.dtype("float32")), MONOIDS["or"].identity(np.dtype("bool"))
        (inf, False)
        """
        if self.neutral in ("0", "1"):
            value = int(self.neutral)
            return bool(value) if dtype == BOOL else dtype.type(value).item()
        highest = self.neutral == "highest"
        if dtype == BOOL:
            return highest
        if is_float(dtype):
            return float("inf") if highest else float("-inf")
        info = np.iinfo(dtype)
        return int(info.max if highest else info.min)


MONOIDS: dict[str, Monoid] = {
    m.name: m
    for m in (
        Monoid("add", np.add, "0"),
        Monoid("mul", np.multiply, "1"),
        Monoid("maximum", np.maximum, "lowest"),
        Monoid("minimum", np.minimum, "highest"),
        Monoid("and", np.logical_and, "1"),
        Monoid("or", np.logical_or, "0"),
    )
}
"""Every monoid the stages recognise, by primitive name."""


def monoids(lam: Program) -> list[str] | None:
    """Per result, the monoid (or ``first``) of ``lam(a_1..a_k, b_1..b_k)``, or None when it is not one."""
    k = len(lam.outputs)
    if len(lam.inputs) != 2 * k:
        return None
    if not lam.stmts and k == 1 and lam.outputs[0] is lam.inputs[0]:
        return ["first"]
    if len(lam.stmts) != k:
        return None
    by_out = {s.outs[0]: s for s in lam.stmts if len(s.outs) == 1}
    found = []
    for j, out in enumerate(lam.outputs):
        stmt = by_out.get(out)  # type: ignore[arg-type]
        pair = {lam.inputs[j], lam.inputs[k + j]}
        if stmt is None or stmt.prim.name not in MONOIDS or len(stmt.args) != 2 or set(stmt.args) != pair:
            return None
        found.append(stmt.prim.name)
    return found


def monoid(lam: Program) -> str | None:
    """The monoid (or ``first``) of a single-result lambda, or None.

    >>> import numpy as np
    >>> from pyaccad.frontend.tracing import trace_program
    >>> from pyaccad.ir import ArrayType, INT32
    >>> s = ArrayType(INT32, ())
    >>> monoid(trace_program(lambda a, b: a - b, [s, s], "scalar")[0]) is None
    True
    """
    found = monoids(lam)
    return found[0] if found and len(found) == 1 else None


def monoid_of(lam: Program) -> Monoid | None:
    """The :class:`Monoid` of a single-result lambda (not ``first``), or None."""
    return MONOIDS.get(monoid(lam) or "")
