"""Element-wise templates: the Haskell text of a scalar operation, and placing operands in it.

Templates come from the ``hs`` column of :data:`pyaccad.ir.ELEMENTWISE` (``"{0} + {1}"``,
``"sin {0}"``), the one for the operands' kind of element type, printed inside the guards that its
literal operands leave (:class:`~pyaccad.ir.primitives.elementwise.Guard`). Operands are
bracketed only where Haskell's fixities need it, so ``sin v * v + 1.0`` reads as written.
``HELPERS`` are the few scalar functions accelerate lacks, printed into a module that uses them.

>>> fill_template("{0} * {1}", ["a + b", "sin c"])
'(a + b) * sin c'
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

from pyaccad.export.printer import Printer
from pyaccad.export.sums import SUM_LONG, SUM_OVER
from pyaccad.export.syntax import HS_SCALAR, literal_text, paren
from pyaccad.ir import BOOL, ELEMENTWISE, FLOAT16, FLOAT32, FLOAT_DTYPES, Lit, Stmt
from pyaccad.ir.primitives.elementwise import GUARD_TESTS

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
        return _in_float(stmt, _past_the_simplifier(stmt, _template_of_row(stmt)))
    return _past_the_simplifier(stmt, _template_of_row(stmt))


def _past_the_simplifier(stmt: Stmt, template: str) -> str:
    """``template``, guarded where accelerate's simplifier would change a float result
    (``Data.Array.Accelerate.Trafo.Algebra``): rule "x*0" gives ``0 * x`` the literal, where an infinite or NaN
    ``x`` gives NaN and a negative one flips the zero's sign; "x-x" gives 0 for an infinite or NaN ``x``. The
    guards' tests and values are no constants (``0 / x`` is a zero of x's sign), so the simplifier leaves them.
    (Its "x+0", ``x + 0`` to ``x``, is -0 for -0 where IEEE adds to +0; a guard for that was undone by LLVM
    while the bridge let accelerate-llvm give it the fast-math flag nsz: docs/TESTING.md.)

    >>> from pyaccad.ir import FLOAT64, PRIMITIVES, ArrayType, Var
    >>> x = Var(ArrayType(FLOAT64, ()))
    >>> _past_the_simplifier(Stmt(PRIMITIVES["mul"], (Lit(0.0, FLOAT64), x), {}, (Var(x.type),)), "{0} * {1}")
    'isNaN {1} || isInfinite {1} ? (0/0, {1} == 0 ? ({1}, {0} / {1}))'
    """
    args, name = stmt.args, stmt.prim.name
    varying = [k for k, a in enumerate(args) if not isinstance(a, Lit)]
    if args[0].dtype not in FLOAT_DTYPES or not varying:
        return template
    v = f"{{{varying[0]}}}"
    zeros = [(k, _zero_sign(a)) for k, a in enumerate(args) if _zero_sign(a)]
    if name == "mul" and zeros:
        k, sign = zeros[0]
        return f"isNaN {v} || isInfinite {v} ? (0/0, {v} == 0 ? ({'' if sign > 0 else 'negate '}{v}, {{{k}}} / {v}))"
    if name == "sub" and args[0] == args[1]:
        return f"isNaN {v} || isInfinite {v} ? (0/0, {template})"
    return template


def _zero_sign(arg: object) -> int:
    """1 for a literal +0, -1 for a literal -0, else 0 (a literal computed from extents is no constant here)."""
    if not isinstance(arg, Lit) or arg.from_extents or not isinstance(arg.value, int | float | np.number):
        return 0
    value = float(arg.value)
    return 0 if value != 0 else -1 if math.copysign(1.0, value) < 0 else 1


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
    """The row's template for the operands' kind inside its guards, less what the literal operands rule out.

    >>> from pyaccad.ir import INT64, PRIMITIVES, ArrayType, Var
    >>> i, out = Var(ArrayType(INT64, ())), Var(ArrayType(INT64, ()))
    >>> _template_of_row(Stmt(PRIMITIVES["floordiv"], (i, i), {}, (out,)))
    '{1} == 0 ? (0, {1} == -1 ? (negate {0}, {0} `div` {1}))'
    >>> _template_of_row(Stmt(PRIMITIVES["floordiv"], (i, Lit(2, INT64)), {}, (out,)))
    '{0} `div` {1}'
    """
    row = ELEMENTWISE[stmt.prim.name].hs_for(stmt.args[0].dtype)
    template = row.template
    for guard in reversed(row.guards):
        known = [_known_test(guard.test, stmt.args[k]) for k in guard.operands]
        if True in known:
            # a literal the test holds of: the guard's value, whatever the rest (`min NaN v` is `NaN + v`; printed
            # as a test, `isNaN (0/0)` would leave the literal of no type GHC can infer)
            template = guard.value
            continue
        tested = [k for k, value in zip(guard.operands, known, strict=True) if value is not False]
        if tested:
            condition = " || ".join(guard.test.format(f"{{{k}}}") for k in tested)
            template = f"{condition} ? ({guard.value}, {template})"
    return template


def _known_test(test: str, operand: object) -> bool | None:
    """The guard's ``test`` of ``operand`` where it is a literal whose value holds at every extent, else None (a
    literal computed from extents, ``Lit.from_extents``, may be 0 at another size of a shape-generic export: it
    keeps its guard)."""
    if not isinstance(operand, Lit) or operand.from_extents:
        return None
    return bool(GUARD_TESTS[test](operand.value))


def _cast_template(source, target) -> str:
    """The conversion, annotated with its result type: nothing else may fix it (a float16 sum converts to Float,
    sums, and converts back, and the Float in between appears in no signature)."""
    if source == target == BOOL:
        return "{0}"  # accelerate has no FromIntegral Int Bool: the general Bool rule below would not compile
    if target == BOOL:
        # accelerate-llvm prints a float /= as an ordered compare (fcmp one), false for NaN, which is truthy
        return "not ({0} == 0)" if source in FLOAT_DTYPES else "{0} /= 0"
    if source == BOOL:
        convert = "boolToInt {0}" if target.name == "int64" else "fromIntegral (boolToInt {0})"
    elif source in FLOAT_DTYPES:
        convert = "toFloating {0}" if target in FLOAT_DTYPES else "truncate {0}"
    else:
        convert = "fromIntegral {0}"
    return f"({convert} :: Exp {HS_SCALAR[target]})"  # bracketed: `::` reaches as far right as it can


# Fixities of the operators templates use (Haskell's and accelerate's): (precedence, associativity).
FIXITY = {
    "!": (9, "l"),
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
    >>> fill_template("isNaN {0} ? ({0}, signum {0})", ["v * 2.0"])  # an argument, though * binds tighter than ?
    'isNaN (v * 2.0) ? ((v * 2.0), signum (v * 2.0))'
    """
    outer = top_operator(template)
    parts = template.split("{")
    out = [parts[0]]
    depth = parts[0].count("(") - parts[0].count(")")
    for part in parts[1:]:
        index, rest = part.split("}", 1)
        operand = operands[int(index)]
        side = "l" if index == "0" else "r"
        bare = depth == 0 and outer and not _APPLIED.search(out[-1]) and _fits(top_operator(operand), outer, side)
        out.append(operand if bare else paren(operand))
        out.append(rest)
        depth += rest.count("(") - rest.count(")")
    return "".join(out)


_APPLIED = re.compile(r"[\w')]\s+$")  # text before a slot that makes it a function's argument (`isNaN {0}`)


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
        "-- | The error function, which accelerate lacks: W. J. Cody's rational Chebyshev approximations",
        "-- (Math. Comp. 23 (1969) 631-638, as in SPECFUN's CALERF), erf near 0 and erfc beyond, whose",
        "-- exp (-y*y) is split at y rounded to 1/16 so that it stays exact: a few ulps in Float and Double.",
        "erf :: (RealFrac a, Floating a, FromIntegral Int a) => Exp a -> Exp a",
        "erf x =",
        "  let y = abs x",
        "      z = y * y",
        "      near = x * ((((0.185777706184603153 * z + 3.16112374387056560) * z + 113.864154151050156) * z",
        "                    + 377.485237685302021) * z + 3209.37758913846947)",
        "               / ((((z + 23.6012909523441209) * z + 244.024637934444173) * z + 1282.61652607737228) * z",
        "                    + 2844.23683343917062)",
        "      middle = ((((((((2.15311535474403846e-8 * y + 0.564188496988670089) * y + 8.88314979438837594) * y",
        "                    + 66.1191906371416295) * y + 298.635138197400131) * y + 881.952221241769090) * y",
        "                    + 1712.04761263407058) * y + 2051.07837782607147) * y + 1230.33935479799725)",
        "               / ((((((((y + 15.7449261107098347) * y + 117.693950891312499) * y + 537.181101862009858) * y",
        "                    + 1621.38957456669019) * y + 3290.79923573345963) * y + 4362.61909014324716) * y",
        "                    + 3439.36767414372164) * y + 1230.33935480374942)",
        "      w = 1 / z",
        "      far = (0.564189583547756287 - w * (((((0.0163153871373020978 * w + 0.305326634961232344) * w",
        "                    + 0.360344899949804439) * w + 0.125781726111229246) * w + 0.0160837851487422766) * w",
        "                    + 6.58749161529837803e-4)",
        "               / (((((w + 2.56852019228982242) * w + 1.87295284992346047) * w + 0.527905102951428412) * w",
        "                    + 0.0605183413124413191) * w + 2.33520497626869185e-3)) / y",
        "      t = y < 26.6 ? (y, 0)",
        "      s = fromIntegral (truncate (16 * t) :: Exp Int) / 16",
        "      k = exp (negate (s * s)) * exp (negate ((y - s) * (y + s)))",
        "      e = 1 - (y <= 4 ? (k * middle, y < 26.6 ? (k * far, y == y ? (0, y))))",  # NaN stays NaN
        "  in  y <= 0.46875 ? (near, x < 0 ? (negate e, e))",
    ],
    "expm1": [
        "-- | exp x - 1, exact near 0 where that subtraction is not: Cephes' rational approximation for",
        "-- |x| <= 1/2 (a few ulps in Float and Double; no cancellation trick, which LLVM's fast-math would undo).",
        "expm1 :: (Floating a, Ord a) => Exp a -> Exp a",
        "expm1 x =",
        "  let z = x * x",
        "      r = x * ((1.2617719307481059087798e-4 * z + 3.0299440770744196129956e-2) * z",
        "                + 0.99999999999999999991025)",
        "      q = ((3.0019850513866445504159e-6 * z + 2.5244834034968410419224e-3) * z",
        "                + 0.22726554820815502876593) * z + 2.0000000000000000000897",
        "      s = r / (q - r)",
        "  in  abs x <= 0.5 ? (s + s, exp x - 1)",
    ],
    "log1p": [
        "-- | log (1 + x), exact near 0 where 1 + x is not: Cephes' x - x^2/2 + x^3 P(x)/Q(x) for 1 + x",
        "-- within [1/sqrt 2, sqrt 2] (a few ulps in Float and Double).",
        "log1p :: (Floating a, Ord a) => Exp a -> Exp a",
        "log1p x =",
        "  let u = 1 + x",
        "      z = x * x",
        "      p = (((((4.5270000862445199635215e-5 * x + 0.49854102823193375972212) * x",
        "            + 6.5787325942061044846969) * x + 29.911919328553073277375) * x",
        "            + 60.949667980987787057556) * x + 57.112963590585538103336) * x + 20.039553499201281259648",
        "      q = (((((x + 15.062909083469192043167) * x + 83.047565967967209469434) * x",
        "            + 221.76239823732856465394) * x + 309.09872225312059774938) * x",
        "            + 216.42788614495947685003) * x + 60.118660497603843919306",
        "  in  (u < 0.70710678118654752440 || u > 1.41421356237309504880) ? (log u, x + (x * (z * p / q) - 0.5 * z))",
    ],
    "floorFloat": [
        "-- | floor within the float type: accelerate's floor gives an integer, which overflows past 2^63 and",
        "-- is undefined for NaN and infinities; a float that large is already whole, and returned as it is.",
        "floorFloat :: (RealFrac a, FromIntegral Int a) => Exp a -> Exp a",
        "floorFloat x = abs x < 4.0e18 ? (fromIntegral (floor x :: Exp Int), x)",
    ],
    "ceilingFloat": [
        "-- | ceiling within the float type (see floorFloat).",
        "ceilingFloat :: (RealFrac a, FromIntegral Int a) => Exp a -> Exp a",
        "ceilingFloat x = abs x < 4.0e18 ? (fromIntegral (ceiling x :: Exp Int), x)",
    ],
    "truncateFloat": [
        "-- | truncation toward zero within the float type (see floorFloat).",
        "truncateFloat :: (RealFrac a, FromIntegral Int a) => Exp a -> Exp a",
        "truncateFloat x = abs x < 4.0e18 ? (fromIntegral (truncate x :: Exp Int), x)",
    ],
    "rint": [
        "-- | Rounding to the nearest whole float, ties to even (NumPy's rint): accelerate-llvm's round takes",
        "-- ties away from zero. x - floor x is exact below 2^52; larger floats are whole (see floorFloat).",
        "rint :: (RealFrac a, FromIntegral Int a) => Exp a -> Exp a",
        "rint x =",
        "  let f = floor x :: Exp Int",
        "      d = x - fromIntegral f",
        "      up = d > 0.5 || d == 0.5 && f `mod` 2 /= 0",
        "  in  abs x < 4.0e18 ? (fromIntegral (up ? (f + 1, f)), x)",
    ],
}


def _mod_float() -> list[str]:
    """The helper ``modFloat``: NumPy's float remainder (np.mod: C's fmod, exact, then moved to the divisor's sign by
    one rounded addition) of a finite x by a finite nonzero y; the guards of the mod row of
    :data:`pyaccad.ir.ELEMENTWISE` give the rest.

    accelerate's ``mod'`` (``x - toFloating (floor (x / y) :: Exp Int64) * y``) is wrong past 2^63, where floor
    overflows, and an ulp off below it wherever ``q * y`` rounds (float32 ``-97.798325 `mod'` 1.5045896`` gave
    -3.3e-6 for NumPy's 1.5045862). Every step here but the final addition is exact, so none of the fast-math flags
    accelerate-llvm gives LLVM (contract, reassoc, arcp, nsz, afn) can change the result: a contracted
    ``r - q * t`` is exact too, an estimate divided by a reciprocal is still within 1, and reassociation finds no
    chain of one-use sums to regroup.
    """
    # Float (and Half, computed in Float): ten cuts of 28 quotient bits each, largest first, cover any quotient
    # (below 2^277 = 2^128 / 2^-149); no loop, so LLVM can vectorise the element loop around it.
    cuts = [f"      r{j} = cut {float(2 ** (28 * j))!r} {'u' if j == 9 else f'r{j + 1}'}" for j in range(9, -1, -1)]
    return [
        "-- | NumPy's float remainder of a finite x by a finite y /= 0, exactly. u = |x| and v = |y| as Doubles (a",
        "-- Float's or Half's values are Doubles), f = fmod u v, exact, moved to x's sign and then, by one rounded",
        "-- addition of y where nonzero, to y's (NumPy's npy_divmod); a zero takes y's sign (abs and negate of it:",
        "-- accelerate's simplifier takes a choice between the literals 0 and -0, equal by ==, for no choice).",
        "-- Float: cut p r takes r < 2^28 t below t = v p (v times a power of two, exact), by the estimate q of",
        "-- r / t (within 1 of its floor however the division rounds, so below 2^28 + 1): q t (24 + 29 bits) is",
        "-- exact, and so are r - q t and its correction by t, each r - k t on the grid of r's or t's last bit and",
        "-- below r or 2t: 53 or 25 bits. Ten cuts, largest first, cover any Float quotient (below 2^277).",
        "-- Double: |x| = mu 2^(eu - 1075) and |y| = mv 2^(ev - 1075) with integer significands below 2^53 (a",
        "-- subnormal's exponent field 0 counts as 1, without the leading bit); for u >= v, eu >= ev and",
        "-- f = (mu 2^(eu - ev) `rem` mv) 2^(ev - 1075): the integer remainder is taken 9 bits at a time (r < mv,",
        "-- so r 2^9 < 2^62), each digit from a Double estimate within 1 (normal y: mv >= 2^52, so the quotient",
        "-- is below 2^10), then corrected; f, below v and a multiple of y's last bit, is a Double, and",
        "-- fromIntegral r (below 2^53) times the power of two is exact. At most 228 steps (largest x, smallest y).",
        "modFloat :: (RealFloat a, ToFloating a Double, ToFloating Double a) => Exp a -> Exp a -> Exp a",
        "modFloat x y =",
        "  let u = abs (toFloating x) :: Exp Double",
        "      v = abs (toFloating y) :: Exp Double",
        "      w = 1 / v",
        "      part p r = r - fromIntegral (truncate (r * w / p) :: Exp Int32) * (v * p)",
        "      fix t e = e < 0 ? (e + t, e >= t ? (e - t, e))",
        "      cut p r = fix (v * p) (part p r)",
        *cuts,
        "      bu = bitcast u :: Exp Int64",
        "      bv = bitcast v :: Exp Int64",
        "      eu = Bits.shiftR bu 52",
        "      ev = Bits.shiftR bv 52",
        "      mu = bu Bits..&. 4503599627370495 + (eu > 0 ? (4503599627370496, 0))",
        "      mv = bv Bits..&. 4503599627370495 + (ev > 0 ? (4503599627370496, 0))",
        "      wv = 1 / fromIntegral mv :: Exp Double",
        "      digit a = ev > 0 ? (fix mv (a - truncate (fromIntegral a * wv) * mv), a `rem` mv)",
        "      step (T2 q d) = T2 (digit (Bits.shiftL q (fromIntegral (min d 9)))) (d - min d 9)",
        "      T2 q1 d1 = step (T2 mu (max 0 (max 1 eu - max 1 ev)))",
        "      T2 q _ = d1 > 0 ? (while (\\(T2 _ d) -> d > 0) step (T2 q1 d1), T2 q1 d1)",
        "      one = 1 :: Exp Int64",
        "      scale = bitcast (ev > 52 ? (Bits.shiftL (ev - 52) 52, Bits.shiftL one (fromIntegral (max 1 ev - 1))))",
        "      f = u < v ? (u, floatDigits x < 53 ? (r0, (fromIntegral q :: Exp Double) * (scale :: Exp Double)))",
        "      s = toFloating (x < 0 ? (negate f, f))",
        "  in  s == 0 ? (y < 0 ? (negate (abs s), abs s), s < 0 && y > 0 || s > 0 && y < 0 ? (s + y, s))",
    ]


HELPERS["modFloat"] = _mod_float()
HELPERS["tanh'"] = [
    "-- | tanh from exp, which vectorises (accelerate's tanh calls libm one element at a time): Cephes' rational",
    "-- x + x^3 P(x^2)/Q(x^2) for |x| < 0.625, else 1 - 2/(exp (2|x|) + 1) (a few ulps in Float and Double).",
    "tanh' :: (Floating a, Ord a) => Exp a -> Exp a",
    "tanh' x =",
    "  let y = abs x",
    "      z = x * x",
    "      near = x + x * z * (((-0.964399179425052238628) * z - 99.2877231001918586564) * z",
    "                          - 1614.68768441708447952)",
    "               / (((z + 112.811678491632931402) * z + 2235.48839060100448583) * z + 4844.06305325125486048)",
    "      t = 1 - 2 / (exp (y + y) + 1)",
    "  in  y < 0.625 ? (near, x < 0 ? (negate t, t))",
]


def _ordered_bits(width: int, float_type: str, int_type: str) -> dict[str, list[str]]:
    """The two helpers of ordered folds of one float type (:func:`pyaccad.export.rules.ordered_fold`)."""
    flip = str(2 ** (width - 1) - 1)  # every bit but the sign's
    return {
        f"orderedBits{width}": [
            f"-- | A {float_type}'s bits as an {int_type} ordered as the {float_type}s are (-inf < ... < +inf;",
            "-- a NaN with its sign bit clear above all, set below all): an integer maximum or minimum of these",
            "-- vectorises, where accelerate-llvm's max and min of floats call libm's fmax and fmin one element at",
            "-- a time.",
            f"orderedBits{width} :: Exp {float_type} -> Exp {int_type}",
            f"orderedBits{width} x = let b = bitcast x :: Exp {int_type} in b < 0 ? (b `Bits.xor` {flip}, b)",
        ],
        f"fromOrderedBits{width}": [
            f"-- | The {float_type} whose orderedBits{width} is b.",
            f"fromOrderedBits{width} :: Exp {int_type} -> Exp {float_type}",
            f"fromOrderedBits{width} b = bitcast (b < 0 ? (b `Bits.xor` {flip}, b)) :: Exp {float_type}",
        ],
    }


def _read_checked(rank: int) -> list[str]:
    """The read of a checked export (:mod:`pyaccad.export.checked`) from an array of ``rank``."""
    i = [f"i{k}" for k in range(rank)]
    n = [f"n{k}" for k in range(rank)]
    inside = " && ".join(f"0 <= {a} && {a} < {b}" for a, b in zip(i, n, strict=True))
    return [
        "-- | a ! ix and True where ix is inside a, else undef and False: accelerate does not check its reads",
        "-- (out of bounds, accelerate-llvm reads any memory), so the bridge reads through this, and reports a False.",
        f"readChecked{rank} :: Elt e => Acc (Array DIM{rank} e) -> {' -> '.join(['Exp Int'] * rank)} -> Exp (e, Bool)",
        f"readChecked{rank} a {' '.join(i)} =",
        f"  let I{rank} {' '.join(n)} = shape a",
        f"      ok = {inside}",
        f"  in  T2 (ok ? (a ! I{rank} {' '.join(i)}, Unsafe.undef)) ok",
    ]


HELPERS.update({f"readChecked{rank}": _read_checked(rank) for rank in range(1, 10)})
HELPERS["sumOver"] = SUM_OVER
HELPERS["sumLong"] = SUM_LONG
HELPERS.update(_ordered_bits(32, "Float", "Int32"))
HELPERS.update(_ordered_bits(64, "Double", "Int64"))
HELPER_PRAGMA = "{-# LANGUAGE ConstraintKinds, FlexibleContexts, TypeOperators #-}"  # their class contexts need it


def helpers_in(template: str) -> set[str]:
    """The helpers of HELPERS that ``template`` calls (wrapped or not: a float16 one calls them inside a cast).

    >>> sorted(helpers_in("toFloating (tanh' (toFloating {0} :: Exp Float)) :: Exp Half")), helpers_in("tanh {0}")
    (["tanh'"], set())
    """
    return {name for name in re.findall(r"[a-z_][\w']*", template) if name in HELPERS}
