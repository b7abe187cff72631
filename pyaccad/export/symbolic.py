"""Numbers that know their Haskell expression: the extents of a shape-generic export.

A shape-generic export (:mod:`pyaccad.export.extents`) finds, for every integer of a traced
program (an extent, a slice bound, an index literal), a polynomial in the symbols that name the
inputs' extents. It then prints the program with those integers replaced by :class:`SymInt`: an
``int`` of the example's value (so that the IR and the printer compute with it as before) whose
``str`` is its expression, ``n - 1`` printed as ``(n - 1)`` so that it can stand anywhere an
atom can. Adding, subtracting or multiplying it with ints keeps the expression; anything else
(``//``, NumPy) gives a plain int, whose digits the export's final check then finds.

>>> n = SymInt.of(Poly.symbol(0), {0: 3}, ("n",))
>>> str(n - 1), int(n - 1), f"I1 {2 * n}"
('(n - 1)', 2, 'I1 (2 * n)')
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from fractions import Fraction

Monomial = tuple[int, ...]
"""The symbols of a product, sorted, with repetition: ``(0, 0, 1)`` is n² m."""


class Poly:
    """A polynomial in the symbols with rational coefficients (its values at the sizes are integers).

    >>> n, m = Poly.symbol(0), Poly.symbol(1)
    >>> (n * (n - Poly.const(1)) * Fraction(1, 2)).text(("n", "m")), (n * m + Poly.const(-2)).text(("n", "m"))
    ('(n * n - n) `div` 2', 'n * m - 2')
    """

    __slots__ = ("terms",)

    def __init__(self, terms: Mapping[Monomial, Fraction]) -> None:
        self.terms = {m: Fraction(c) for m, c in terms.items() if c != 0}

    @staticmethod
    def symbol(index: int) -> Poly:
        return Poly({(index,): Fraction(1)})

    @staticmethod
    def const(value: int | Fraction) -> Poly:
        return Poly({(): Fraction(value)})

    def is_constant(self) -> bool:
        return all(not m for m in self.terms)

    def __add__(self, other: Poly) -> Poly:
        terms = dict(self.terms)
        for m, c in other.terms.items():
            terms[m] = terms.get(m, Fraction(0)) + c
        return Poly(terms)

    def __neg__(self) -> Poly:
        return Poly({m: -c for m, c in self.terms.items()})

    def __sub__(self, other: Poly) -> Poly:
        return self + -other

    def __mul__(self, other: Poly | Fraction | int) -> Poly:
        if not isinstance(other, Poly):
            return Poly({m: c * other for m, c in self.terms.items()})
        terms: dict[Monomial, Fraction] = {}
        for m1, c1 in self.terms.items():
            for m2, c2 in other.terms.items():
                m = tuple(sorted(m1 + m2))
                terms[m] = terms.get(m, Fraction(0)) + c1 * c2
        return Poly(terms)

    def at(self, values: Mapping[int, int]) -> Fraction:
        """The value at the symbols' ``values``."""
        return sum((c * math.prod(values[s] for s in m) for m, c in self.terms.items()), Fraction(0))

    def text(self, names: Sequence[str]) -> str:
        """Haskell ``Exp Int`` arithmetic: ``n * d - 1``; one exact ``div`` when a coefficient is a fraction."""
        denominator = math.lcm(*(c.denominator for c in self.terms.values())) if self.terms else 1
        ordered = sorted(self.terms.items(), key=lambda t: (-len(t[0]), t[0]))
        positive = [(m, c * denominator) for m, c in ordered if c > 0]
        negative = [(m, -c * denominator) for m, c in ordered if c < 0]

        def term(m: Monomial, c: Fraction) -> str:
            factors = ([str(c)] if c != 1 or not m else []) + [names[s] for s in m]
            return " * ".join(factors)

        if positive:
            text = " + ".join(term(m, c) for m, c in positive)
            text += "".join(f" - {term(m, c)}" for m, c in negative)
        elif negative:
            text = f"negate ({' + '.join(term(m, c) for m, c in negative)})"
        else:
            text = "0"
        return text if denominator == 1 else f"({text}) `div` {denominator}"


def _atomic(text: str) -> str:
    return text if text.isidentifier() or text.isdigit() else f"({text})"


class SymInt(int):
    """An int that prints as its Haskell expression in the extents (see the module doc)."""

    poly: Poly
    values: Mapping[int, int]
    names: tuple[str, ...]

    @staticmethod
    def of(poly: Poly, values: Mapping[int, int], names: tuple[str, ...]) -> int:
        """``poly`` at ``values`` as a SymInt, or a plain int when ``poly`` is a constant."""
        value = poly.at(values)
        assert value.denominator == 1, "an extent's expression is an integer at the sizes it was fitted at"
        if poly.is_constant():
            return int(value)
        number = SymInt(int(value))
        number.poly, number.values, number.names = poly, values, names
        return number

    def text(self) -> str:
        return self.poly.text(self.names)

    def __str__(self) -> str:
        return _atomic(self.text())

    __repr__ = __str__

    def __format__(self, spec: str) -> str:
        return str(self)

    def _with(self, other: object, combine) -> int:
        if isinstance(other, SymInt):
            return SymInt.of(combine(self.poly, other.poly), self.values, self.names)
        if isinstance(other, int) and not isinstance(other, bool):
            return SymInt.of(combine(self.poly, Poly.const(other)), self.values, self.names)
        return NotImplemented

    def __add__(self, other):
        return self._with(other, lambda a, b: a + b)

    __radd__ = __add__

    def __sub__(self, other):
        return self._with(other, lambda a, b: a - b)

    def __rsub__(self, other):
        return self._with(other, lambda a, b: b - a)

    def __mul__(self, other):
        return self._with(other, lambda a, b: a * b)

    __rmul__ = __mul__

    def __neg__(self):
        return SymInt.of(-self.poly, self.values, self.names)


class SymFloat(float):
    """A float literal computed from extents: a mean's ``1/N`` as ``1 / fromIntegral n`` (``reciprocal``), or
    a count as ``fromIntegral n``.

    >>> SymFloat(0.25, Poly.symbol(0), True, ("n",)).haskell("Float")
    '(1 / fromIntegral n :: Exp Float)'
    >>> SymFloat(2.0, Poly.symbol(0) * Fraction(1, 2), True, ("n",)).text()
    '2 / fromIntegral n'
    """

    poly: Poly
    reciprocal: bool
    names: tuple[str, ...]

    def __new__(cls, value: float, poly: Poly, reciprocal: bool, names: tuple[str, ...]) -> SymFloat:
        number = super().__new__(cls, value)
        number.poly, number.reciprocal, number.names = poly, reciprocal, names
        return number

    def text(self) -> str:
        """The value (``poly``, or its reciprocal) with the polynomial's denominator moved out of the ``Int``."""
        denominator = math.lcm(*(c.denominator for c in self.poly.terms.values()))
        integral = f"fromIntegral {_atomic((self.poly * denominator).text(self.names))}"
        if self.reciprocal:
            return f"{denominator} / {integral}"
        return integral if denominator == 1 else f"{integral} / {denominator}"

    def haskell(self, scalar: str) -> str:
        return f"({self.text()} :: Exp {scalar})"

    def __str__(self) -> str:
        return f"({self.text()})"

    __repr__ = __str__
