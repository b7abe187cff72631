"""The generic target's printer: flat row-major ``Data.Vector`` values, Haskell's own tuples, no ``the``.

The generic target (:mod:`pyaccad.export.generic`) prints arrays as flat vectors whose shapes are
fixed at export, so every index is plain ``Int`` arithmetic: :func:`flat_index` and :func:`unflatten`
move between a multi-index and a position. Rank-0 arrays are plain scalars.

>>> from pyaccad.ir import Var, ArrayType, FLOAT64
>>> p = GenericPrinter({})
>>> x = Var(ArrayType(FLOAT64, (2, 3)), "x")
>>> _ = p.bind(x, array_level=True)
>>> p.read(x, ["i", "j"])
'x V.! (i * 3 + j)'
>>> print(p.tabulate((2, 3), lambda ix: p.read(x, ix) + " * 2"))
V.generate 6 (\\o -> x V.! ((o `div` 3) * 3 + o `mod` 3) * 2)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod

from pyaccad.export.printer import Printer
from pyaccad.export.syntax import ExportError, literal_text, paren
from pyaccad.ir import Atom, Lit


class GenericExportError(ExportError):
    """The program uses a primitive the generic (``ad``) target does not support.

    >>> import pyaccad as acc
    >>> issubclass(GenericExportError, acc.Error)
    True
    """


def _strides(shape: Sequence[int]) -> list[int]:
    return [prod(shape[d + 1 :]) for d in range(len(shape))]


def flat_index(indices: Sequence[str], shape: Sequence[int]) -> str:
    """``i * 4 + j`` for indices into an array of ``shape``.

    >>> flat_index(["i", "j"], (3, 4))
    'i * 4 + j'
    """
    terms = [i if s == 1 else f"{paren(i)} * {s}" for i, s in zip(indices, _strides(shape), strict=True)]
    return " + ".join(terms) if terms else "0"


def unflatten(flat: str, shape: Sequence[int]) -> list[str]:
    """The multi-index of element ``flat`` of an array of ``shape``.

    >>> unflatten("o", (3, 4))
    ['o `div` 4', 'o `mod` 4']
    """
    out = []
    for d, (n, s) in enumerate(zip(shape, _strides(shape), strict=True)):
        text = flat if s == 1 else f"{paren(flat)} `div` {s}"
        out.append(text if d == 0 else f"{paren(text)} `mod` {n}")
    return out


class GenericPrinter(Printer):
    """The printer with the generic target's rules (``rules``, by primitive name) and spellings."""

    @staticmethod
    def no_rule(name: str) -> GenericExportError:
        """The error for a primitive the generic target does not print."""
        return GenericExportError(f"export_generic: primitive {name!r} is not supported by the generic target")

    @staticmethod
    def tuple(items: Sequence[str]) -> str:
        """Several values as one: a Haskell tuple ``(a, b)``."""
        return items[0] if len(items) == 1 else f"({', '.join(items)})"

    def exp(self, atom: Atom, operand_with_var: bool = False) -> str:
        """A scalar: literals bare (types come from ``a``), rank-0 arrays are plain scalars here."""
        if isinstance(atom, Lit):
            return literal_text(atom.value, atom.dtype)
        return self.inlined.get(atom) or self.names[atom]

    def array(self, atom: Atom) -> str:
        """An array value: its name (a ``Vector``, or a scalar at rank 0)."""
        return self.exp(atom)

    def read(self, atom: Atom, indices: Sequence[str]) -> str:
        """Element ``indices`` of array ``atom`` (a scalar when rank 0)."""
        if not atom.shape:
            return self.exp(atom)
        return f"{self.names[atom]} V.! {paren(flat_index(indices, atom.shape))}"

    def tabulate(self, shape: Sequence[int], element: Callable[[list[str]], str]) -> str:
        """``V.generate n (\\o -> ...)`` with ``element(multi-index names)`` giving each element."""
        if not shape:
            return element([])
        o = self.fresh("o")
        return f"V.generate {prod(shape)} (\\{o} -> {element(unflatten(o, shape))})"
