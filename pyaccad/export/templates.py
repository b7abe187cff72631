"""Element-wise templates: the Haskell text of a scalar operation, and placing operands in it.

Templates come from the ``hs`` column of :data:`pyaccad.ir.ELEMENTWISE` (``"{0} + {1}"``,
``"sin {0}"``), overridden here where one template cannot fit every dtype. Operands are
bracketed only where Haskell's fixities need it, so ``sin v * v + 1.0`` reads as written.
``HELPERS`` are the few scalar functions accelerate lacks, printed into a module that uses them.

>>> fill_template("{0} * {1}", ["a + b", "sin c"])
'(a + b) * sin c'
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pyaccad.export.printer import Printer
from pyaccad.export.syntax import HS_SCALAR, literal_text, paren
from pyaccad.ir import BOOL, ELEMENTWISE, FLOAT16, FLOAT32, FLOAT_DTYPES, INT_DTYPES, Lit, Stmt

# Templates that differ by dtype, where the ELEMENTWISE row's single template fits only floats:
# accelerate's (**) is Floating-only, integers use (^); mod' is for fractional types, mod for integral ones.
_INT_TEMPLATES = {"pow": "{0} ^ {1}", "mod": "{0} `mod` {1}", "floordiv": "{0} `div` {1}"}
_OPERATOR_CHARS = set("+-*/<>=&|^!?.")


def template_of(stmt: Stmt) -> str:
    """The Haskell template of an element-wise statement (``{0}``, ``{1}``... for the operands).

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> import pyaccad as acc
    >>> lam = trace(lambda n: acc.map(lambda v: v**2, n), np.arange(3)).program.stmts[-1].params["lam"]
    >>> template_of(lam.stmts[0])
    '{0} ^ {1}'
    """
    name = stmt.prim.name
    if name == "select":
        return "{0} ? ({1}, {2})"
    if name == "cast":
        return _cast_template(stmt.args[0].dtype, stmt.params["dtype"])
    if stmt.args[0].dtype == FLOAT16:
        return _in_float(stmt, _template_of_row(stmt))
    return _template_of_row(stmt)


def _in_float(stmt: Stmt, template: str) -> str:
    """A ``Half`` operation computed in ``Float`` and rounded back, as the C backends and NumPy compute float16.

    accelerate-llvm (1.4, LLVM 14) also needs it: it has no ``Half`` constants ("Half floats unsupported by
    llvm-pretty") and no ``Half`` libm functions. A literal operand is written as a ``Float`` literal of its exact
    half value.

    >>> from pyaccad.ir import ArrayType, PRIMITIVES, Var
    >>> h = Var(ArrayType(FLOAT16, (2,)))
    >>> template_of(Stmt(PRIMITIVES["add"], (h, Lit(0.1, FLOAT16)), {}, (Var(h.type),)))
    'toFloating ((toFloating {0} :: Exp Float) + 0.099975586) :: Exp Half'
    """
    slots = [
        literal_text(float(np.float16(a.value)), FLOAT32)
        if isinstance(a, Lit)
        else f"(toFloating {{{i}}} :: Exp Float)"
        for i, a in enumerate(stmt.args)
    ]
    inner = template.format(*slots)
    return inner if ELEMENTWISE[stmt.prim.name].result == "bool" else f"toFloating ({inner}) :: Exp Half"


def _template_of_row(stmt: Stmt) -> str:
    name = stmt.prim.name
    if stmt.args[0].dtype in INT_DTYPES and name in _INT_TEMPLATES:
        template = _INT_TEMPLATES[name]
        divisor = stmt.args[1]
        if name in ("floordiv", "mod") and not (isinstance(divisor, Lit) and divisor.value != 0):
            # pyaccad defines integer division by zero as 0; Haskell's div and mod raise.
            return f"{{1}} == 0 ? (0, {template})"
        if name == "pow" and not (isinstance(divisor, Lit) and divisor.value >= 0):
            # A negative exponent gives the power truncated toward zero (pyaccad's choice); Haskell's ^ raises.
            return "{1} < 0 ? ({0} == 1 ? (1, {0} == -1 ? ({1} `mod` 2 == 0 ? (1, -1), 0)), {0} ^ {1})"
        return template
    if name == "mod" and not (isinstance(stmt.args[1], Lit) and stmt.args[1].value != 0):
        # a float remainder by zero is NaN (NumPy's, and pyaccad's, np.mod); accelerate's mod' gives 0
        return f"{{1}} == 0 ? (0/0, {ELEMENTWISE[name].hs})"
    return ELEMENTWISE[name].hs


def _cast_template(source, target) -> str:
    """The conversion, annotated with its result type: nothing else may fix it (a float16 sum converts to Float,
    sums, and converts back, and the Float in between appears in no signature)."""
    if source == target == BOOL:
        return "{0}"  # accelerate has no FromIntegral Int Bool: the general Bool rule below would not compile
    if target == BOOL:
        return "{0} /= 0"
    if source == BOOL:
        convert = "boolToInt {0}" if target.name == "int64" else "fromIntegral (boolToInt {0})"
    elif source in FLOAT_DTYPES:
        convert = "toFloating {0}" if target in FLOAT_DTYPES else "truncate {0}"
    else:
        convert = "fromIntegral {0}"
    return f"{convert} :: Exp {HS_SCALAR[target]}"


# Fixities of the operators templates use (Haskell's and accelerate's): (precedence, associativity).
# accelerate declares none for mod' (Data.Array.Accelerate.Classes.RealFrac), so it is Haskell's default, infixl 9.
FIXITY = {
    "!": (9, "l"),
    "`mod'`": (9, "l"),
    "^": (8, "r"),
    "**": (8, "r"),
    "*": (7, "l"),
    "/": (7, "l"),
    "`div`": (7, "l"),
    "Bits..&.": (7, "l"),
    "Bits..|.": (5, "l"),
    "`mod`": (7, "l"),
    "+": (6, "l"),
    "-": (6, "l"),
    "==": (4, "n"),
    "/=": (4, "n"),
    "<": (4, "n"),
    "<=": (4, "n"),
    ">": (4, "n"),
    ">=": (4, "n"),
    "&&": (3, "r"),
    "||": (2, "r"),
    "?": (0, "n"),
    "::": (-1, "n"),
}


def fill_template(template: str, operands: Sequence[str]) -> str:
    """``template`` with its placeholders replaced, bracketing operands only where Haskell's fixities need it.

    >>> fill_template("{0} + {1}", ["sin x * y", "y - z"])
    'sin x * y + (y - z)'
    """
    outer = top_operator(template)
    parts = template.split("{")
    out = [parts[0]]
    depth = parts[0].count("(") - parts[0].count(")")
    for part in parts[1:]:
        index, rest = part.split("}", 1)
        operand = operands[int(index)]
        side = "l" if index == "0" else "r"
        out.append(operand if depth == 0 and outer and _fits(top_operator(operand), outer, side) else paren(operand))
        out.append(rest)
        depth += rest.count("(") - rest.count(")")
    return "".join(out)


def _fits(inner: str | None, outer: str, side: str) -> bool:
    """Whether an operand whose lowest operator is ``inner`` may stand bare on ``side`` of ``outer``."""
    if inner is None:
        return True
    (p_in, assoc_in), (p_out, assoc_out) = FIXITY.get(inner, (9, "l")), FIXITY.get(outer, (9, "l"))
    return p_in > p_out or (p_in == p_out and assoc_in == assoc_out == side)


def top_operator(text: str) -> str | None:
    """The loosest-binding operator at bracket depth 0 of ``text`` (None for an application or atom).

    >>> top_operator("a * b + c"), top_operator("f (a + b)")
    ('+', None)
    """
    if text.startswith("\\"):
        return "::"
    depth, best = 0, None
    for token in text.replace("(", " ( ").replace(")", " ) ").split():
        depth += (token == "(") - (token == ")")
        if depth == 0 and (token.startswith("`") or set(token) <= _OPERATOR_CHARS) and token not in "()":
            if best is None or FIXITY.get(token, (9, "l"))[0] <= FIXITY.get(best, (9, "l"))[0]:
                best = token
    return best


def param_names(printer: Printer, n: int) -> list[str]:
    """Fresh names for the parameters of a printed helper lambda: ``v``, ``w``, ``u``, then ``v1``, ...

    >>> param_names(Printer(), 4)
    ['v', 'w', 'u', 'v1']
    """
    return [printer.fresh(base) for base in ["v", "w", "u", *(f"v{k}" for k in range(1, n))][:n]]


def function_of(template: str, printer: Printer, arity: int) -> str:
    """The template as a function: ``(+)``, ``sin``, ``atan2``, or a lambda when it is neither.

    >>> function_of("{0} + {1}", Printer(), 2), function_of("atan2 {0} {1}", Printer(), 2)
    ('(+)', 'atan2')
    >>> function_of("log (1 + {0})", Printer(), 1)
    '\\\\v -> log (1 + v)'
    """
    holes = " ".join(f"{{{i}}}" for i in range(arity))
    if arity == 2 and template.startswith("{0} ") and template.endswith(" {1}"):
        op = template[4:-4]
        if op.startswith("`") and op.endswith("`"):
            return op[1:-1]
        if set(op) <= _OPERATOR_CHARS:
            return f"({op})"
    if template.endswith(" " + holes) and _is_name(template[: -len(holes) - 1]):
        return template[: -len(holes) - 1]
    names = param_names(printer, arity)
    return f"\\{' '.join(names)} -> {fill_template(template, names)}"


def _is_name(text: str) -> bool:
    return text.replace("_", "a").replace("'", "a").isalnum() and text[:1].islower()


# Definitions printed into a module that uses them: scalar functions accelerate does not provide.
HELPERS = {
    "erf": [
        "-- | The error function, which accelerate lacks: Numerical Recipes' erfc approximation",
        "-- (fractional error below 1.2e-7, so exact to Float precision, approximate for Double).",
        "erf :: (Floating a, Ord a) => Exp a -> Exp a",
        "erf x =",
        "  let z = abs x",
        "      t = 1 / (1 + 0.5 * z)",
        "      p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418",
        "            + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587",
        "            + t * (-0.82215223 + t * 0.17087277))))))))",
        "      r = t * exp (p - z * z)",
        "  in  x >= 0 ? (1 - r, r - 1)",
    ],
}
HELPER_PRAGMA = "{-# LANGUAGE ConstraintKinds, FlexibleContexts #-}"  # their class contexts need it
