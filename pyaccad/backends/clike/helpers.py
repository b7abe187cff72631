"""The element-wise helpers the C templates name (``PYACCAD_ABS``, ``PYACCAD_MOD``, ...), written once.

Each helper is a function body per kind of element type, in the C subset C99 and CUDA C++ share
(``{T}`` stands for the element type); each backend's prelude turns the table into its language's
overloading: ``static inline`` functions and a ``_Generic`` macro in C, overloaded ``__device__``
functions in CUDA. The conventions are the interpreter's (NumPy's): integer ``//`` and ``%`` by zero
give 0, ``%`` takes the divisor's sign, ``minimum``/``maximum`` propagate NaN, integer powers with a
negative exponent give ``1 // a**-e`` (0 unless ``|a| == 1``). Unsigned integers have bodies of their
own where the signed ones would compare with -1 (C converts -1 to the largest unsigned value).

>>> sorted(HELPERS)
['abs', 'floordiv', 'max', 'min', 'mod', 'pow', 'shl', 'shr', 'sign']
>>> body(HELPERS["abs"], "f32"), body(HELPERS["mod"], "u8")
('return fabs(a);', 'return b == 0 ? 0 : a % b;')
"""

from __future__ import annotations

from pyaccad.backends.clike.cgen import CTYPE
from pyaccad.ir.types import FLOAT16, NUMERIC_DTYPES, from_short_name, kinds, short_name

CTYPES = {short_name(d): CTYPE[d] for d in NUMERIC_DTYPES if d != FLOAT16}
"""The element types a helper is defined for, by suffix (float16 is computed in float, so needs none)."""

HELPERS: dict[str, tuple[str, dict[str, str]]] = {
    "abs": ("a", {"float": "return fabs(a);", "int": "return a < 0 ? -a : a;", "uint": "return a;"}),
    "sign": ("a", {"all": "return a > 0 ? 1 : (a < 0 ? -1 : a);", "uint": "return a > 0;"}),
    "floordiv": (
        "a,b",
        {
            "int": "if (b == 0) return 0; if (b == -1) return -a; "
            "{T} q = a / b; return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q;",
            "uint": "return b == 0 ? 0 : a / b;",
            "float": "return floor(a / b);",
        },
    ),
    "mod": (
        "a,b",
        {
            "int": "if (b == 0 || b == -1) return 0; {T} r = a % b; "
            "return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;",
            "uint": "return b == 0 ? 0 : a % b;",
            "float": "{T} r = fmod(a, b); "
            "return (r != 0 && ((r < 0) != (b < 0))) ? r + b : (r == 0 ? copysign(r, b) : r);",
        },
    ),
    "pow": (
        "a,b",
        {
            "int": "if (b < 0) return (a == 1) ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0); "
            "{T} r = 1; while (b) { if (b & 1) r *= a; a *= a; b >>= 1; } return r;",
            "uint": "{T} r = 1; while (b) { if (b & 1) r = ({T})((uint64_t)r * a); a = ({T})((uint64_t)a * a); "
            "b >>= 1; } return r;",
            "float": "return pow(a, b);",
        },
    ),
    "min": ("a,b", {"float": "return (a < b || a != a) ? a : b;", "int": "return a < b ? a : b;"}),
    "max": ("a,b", {"float": "return (a > b || a != a) ? a : b;", "int": "return a > b ? a : b;"}),
    # integers only: a shift count outside [0, bits) (compared unsigned, so a negative one is too) gives NumPy's
    # 0 or sign fill; the left shift is done unsigned, so it wraps instead of overflowing
    "shl": ("a,b", {"int": "return (uint64_t)b < 8 * sizeof(a) ? ({T})((uint64_t)a << b) : 0;"}),
    "shr": (
        "a,b",
        {
            "int": "return (uint64_t)b < 8 * sizeof(a) ? a >> b : (a < 0 ? -1 : 0);",
            "uint": "return (uint64_t)b < 8 * sizeof(a) ? a >> b : 0;",
        },
    ),
}
"""name -> (parameters, body by kind: "float", "int", "uint" (else "int"), or "all", as
:func:`pyaccad.ir.types.kinds` reads them), each ``PYACCAD_<NAME>``; a helper with no body for a kind is not
defined for it."""


def body(helper: tuple[str, dict[str, str]], suffix: str) -> str | None:
    """The helper's body for the element type of ``suffix`` (a key of :data:`CTYPES`), None where it has none."""
    bodies = helper[1]
    code = next((bodies[k] for k in kinds(from_short_name(suffix)) if k in bodies), None)
    return None if code is None else code.replace("{T}", CTYPES[suffix])


def defined(name: str) -> dict[str, str]:
    """The suffixes and C types the helper ``name`` is defined for.

    >>> list(defined("shl"))
    ['i8', 'i16', 'i32', 'i64', 'u8', 'u16', 'u32', 'u64']
    """
    return {suffix: ctype for suffix, ctype in CTYPES.items() if body(HELPERS[name], suffix) is not None}
