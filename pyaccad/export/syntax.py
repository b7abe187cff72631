"""Haskell syntax for the ``accelerate`` printer: types, shapes, tuples, literals, layout.

Small text-building functions with no knowledge of the IR's statements;
:mod:`pyaccad.export.haskell` and the rule tables compose them.

>>> tuple_of(["a", "b"])
'T2 a b'
>>> literal_text(0.5, np.dtype("float32"))
'0.5'
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

import numpy as np

from pyaccad.errors import Error
from pyaccad.export.symbolic import SymFloat, SymInt
from pyaccad.ir import BOOL, FLOAT16, FLOAT32, FLOAT64, FLOAT_DTYPES, INT64, INT_DTYPES, ArrayType


class ExportError(Error, ValueError):
    """A program (or part of one) that this export target cannot express; the message says what and why.

    >>> import pyaccad as acc
    >>> issubclass(ExportError, acc.Error)
    True
    """


HS_SCALAR = {FLOAT16: "Half", FLOAT32: "Float", FLOAT64: "Double", INT64: "Int", BOOL: "Bool"} | {
    d: f"{'Word' if d.kind == 'u' else 'Int'}{8 * d.itemsize}" for d in INT_DTYPES if d != INT64
}
"""accelerate's element type of each dtype (int64 is accelerate's ``Int``, as indices are)."""
MAX_TUPLE = 9  # I1..I9, zipWith..zipWith9 and unzip..unzip9 are the widest accelerate provides


def hs_array_type(t: ArrayType) -> str:
    """The accelerate type of an array value, e.g. ``Matrix Float``.

    >>> from pyaccad.ir import ArrayType, FLOAT64
    >>> hs_array_type(ArrayType(FLOAT64, (2, 3, 4)))
    'Array DIM3 Double'
    """
    elt = HS_SCALAR[t.dtype]
    return {0: f"Scalar {elt}", 1: f"Vector {elt}", 2: f"Matrix {elt}"}.get(t.ndim, f"Array DIM{t.ndim} {elt}")


def shape_exp(shape: Sequence[int]) -> str:
    """A static shape as an ``Exp`` index: ``Z_`` or ``I2 3 4``.

    >>> shape_exp(()), shape_exp((3, 4))
    ('Z_', 'I2 3 4')
    """
    if len(shape) > MAX_TUPLE:
        raise ExportError(f"export: rank {len(shape)} is above accelerate's I1..I{MAX_TUPLE} index patterns")
    return "Z_" if not shape else f"I{len(shape)} " + " ".join(map(str, shape))


_NEST_WIDTH = 4


def tuple_of(items: Sequence[str], nested: bool = False) -> str:
    """One item as itself, several as ``T2 a b`` (accelerate's tuple pattern for both Acc and Exp). More than
    16 (accelerate's widest, ``T16``) are an error, or with ``nested`` a balanced tree of tuples of at most four
    (a loop's state: pattern and value nest alike; :meth:`.Printer.tuple`).

    >>> tuple_of(["a"]), tuple_of(["a", "the b"])
    ('a', 'T2 a (the b)')
    >>> print(tuple_of([f"x{k}" for k in range(18)], nested=True))
    T2 (T4 (T4 x0 x1 x2 x3) (T4 x4 x5 x6 x7) (T4 x8 x9 x10 x11) (T4 x12 x13 x14 x15)) (T2 x16 x17)
    """
    if len(items) > 16 and not nested:
        raise ExportError(f"export: a tuple of {len(items)} values is wider than accelerate's T16")
    return tuple_tree(items, accelerate_tuple)


def accelerate_tuple(items: list[str], module: str = "") -> str:
    """accelerate's tuple ``T2 a b`` of ``items`` (``module``: its qualifier, ``"A."`` where imported so), for
    :func:`tuple_tree`.

    >>> accelerate_tuple(["a", "f b"], "A.")
    'A.T2 a (f b)'
    """
    return f"{module}T{len(items)} " + " ".join(paren(i) for i in items)


def tuple_tree(items: Sequence[str], tuple_text: Callable[[list[str]], str]) -> str:
    """``items`` as one value: itself where there is one, else ``tuple_text`` of them, or of groups of them past 16,
    a balanced tree of tuples at most :data:`_NEST_WIDTH` wide (the fewest levels): accelerate's work on a tuple
    grows with the cube of its width (a scalar loop's state of 128 numbers took 26 s to convert, 64 took 2.8),
    with the depth of a tree only a little. Every wide tuple of an export nests this way (:func:`tuple_of`,
    :func:`signature_type`, the bridge's entry), so the patterns, values and types of one tuple agree.

    >>> print(tuple_tree([f"x{k}" for k in range(17)], haskell_tuple))
    (((x0, x1, x2, x3), (x4, x5, x6, x7), (x8, x9, x10, x11), (x12, x13, x14, x15)), x16)
    """
    if len(items) == 1:
        return items[0]
    if len(items) <= 16:
        return tuple_text(list(items))
    return _nest(items, tuple_text)


def _nest(items: Sequence[str], tuple_text: Callable[[list[str]], str]) -> str:
    if len(items) <= _NEST_WIDTH:
        return items[0] if len(items) == 1 else tuple_text(list(items))
    width = _NEST_WIDTH
    while width * _NEST_WIDTH < len(items):  # the fewest levels
        width *= _NEST_WIDTH
    return _nest([_nest(items[k : k + width], tuple_text) for k in range(0, len(items), width)], tuple_text)


def index_pattern(names: Sequence[str]) -> str:
    """The lambda pattern binding index components: ``(I2 i j)``, or ``_`` for rank 0.

    >>> index_pattern(["i", "j"]), index_pattern([])
    ('(I2 i j)', '_')
    """
    return f"(I{len(names)} {' '.join(names)})" if names else "_"


def is_atomic(text: str) -> bool:
    """True when ``text`` needs no brackets as a function argument.

    >>> is_atomic("x"), is_atomic("(a + b)"), is_atomic("(a) + (b)"), is_atomic("sin x")
    (True, True, False, False)
    """
    if re.fullmatch(r"[\w']+(\.[\w']+)*", text):
        return True
    if text[:1] in "([" and _closing(text, 0) == len(text) - 1:
        return True
    return False


def paren(text: str) -> str:
    """``text`` bracketed unless it is atomic.

    >>> paren("x"), paren("f x")
    ('x', '(f x)')
    """
    return text if is_atomic(text) else f"({text})"


def _closing(text: str, start: int) -> int:
    depth = 0
    for pos in range(start, len(text)):
        if text[pos] in "([":
            depth += 1
        elif text[pos] in ")]":
            depth -= 1
            if depth == 0:
                return pos
    return -1


def literal_text(value: object, dtype: np.dtype) -> str:
    """A scalar as a Haskell value (no type annotation): ``2.5``, ``(-3)``, ``True``, ``(1/0)``.

    >>> from pyaccad.ir import FLOAT32, INT64
    >>> literal_text(2.5, FLOAT32), literal_text(-3, INT64), literal_text(float("inf"), FLOAT32)
    ('2.5', '(-3)', '(1/0)')
    >>> literal_text(np.float32(1e-4), FLOAT32), literal_text(np.float32(3e38), FLOAT32)
    ('0.0001', '3e+38')
    """
    if dtype == BOOL:
        return "True" if value else "False"
    if isinstance(value, SymFloat):
        return str(value)
    if isinstance(value, SymInt):  # an Exp Int of the extents (the symbols are Ints)
        return str(value) if dtype == INT64 else f"(fromIntegral {value})"
    if dtype in FLOAT_DTYPES:
        v = float(value)  # type: ignore[arg-type]
        if math.isnan(v):
            return "(0/0)"
        if math.isinf(v):
            return "(1/0)" if v > 0 else "(-1/0)"
        # The shortest text that reads back to the same value of the literal's own type: a float32 1e-4 is
        # "0.0001", not its double expansion 9.999999747378752e-05 (GHC rounds it back to the same float).
        text = repr(v) if dtype == FLOAT64 else repr(float(str(dtype.type(v))))
    else:
        text = str(int(value))  # type: ignore[call-overload]
    return f"({text})" if text.startswith("-") else text


def lambda_text(patterns: Sequence[str], body: Sequence[str]) -> str:
    """A lambda over ``patterns`` whose body is the lines ``body``.

    >>> lambda_text(["x"], ["x * x"])
    '\\\\x -> x * x'
    """
    head = f"\\{' '.join(patterns)} ->" if patterns else "\\_ ->"
    if len(body) == 1:
        return f"{head} {body[0]}"
    return head + "\n" + "\n".join("  " + line for line in body)


def let_block(bindings: Sequence[str], body: Sequence[str]) -> list[str]:
    """``let`` ``bindings`` ``in`` ``body`` as lines (``body`` alone when there are no bindings).

    >>> let_block(["a = 1", "b = 2"], ["a + b"])
    ['let a = 1', '    b = 2', 'in  a + b']
    """
    if not bindings:
        return list(body)
    lines = ["let " + bindings[0], *("    " + b for b in bindings[1:])]
    return lines + ["in  " + body[0], *("    " + line for line in body[1:])]


def hang(prefix: str, text: str) -> list[str]:
    """``prefix`` + ``text``, with continuation lines indented past the prefix's start.

    A ``text`` starting with a line break starts under the prefix (a ``let`` block keeps its layout).

    >>> hang("a = ", "f x" + chr(10) + "  y")
    ['a = f x', '      y']
    >>> hang("a = ", chr(10) + "let b = 1" + chr(10) + "in  b")
    ['a =', '    let b = 1', '    in  b']
    """
    first, *rest = text.split("\n")
    return [(prefix + first).rstrip()] + ["    " + line for line in rest]


def signature_type(types: Sequence[ArrayType]) -> str:
    """``Acc (Vector Float)`` or ``Acc (Vector Float, Matrix Float)``.

    >>> from pyaccad.ir import ArrayType, FLOAT32, INT64
    >>> signature_type([ArrayType(FLOAT32, (3,)), ArrayType(INT64, (2, 2))])
    'Acc (Vector Float, Matrix Int)'
    """
    inner = [hs_array_type(t) for t in types]
    if len(inner) == 1:
        return f"Acc ({inner[0]})"
    return "Acc ()" if not inner else f"Acc {tuple_tree(inner, haskell_tuple)}"


def haskell_tuple(items: list[str]) -> str:
    """A Haskell tuple: ``(a, b)`` (for :func:`tuple_tree`, where types and runN's arguments nest)."""
    return f"({', '.join(items)})"
