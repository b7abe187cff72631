"""The element-wise helpers the C templates name (``PYACCAD_ABS``, ``PYACCAD_MOD``, ...), written once.

Each helper is a function body per kind of element type, in the C subset C99 and CUDA C++ share
(``{T}`` stands for the element type); each backend's prelude turns the table into its language's
overloading: ``static inline`` functions and a ``_Generic`` macro in C, overloaded ``__device__``
functions in CUDA. The conventions are the interpreter's (NumPy's): integer ``//`` and ``%`` by zero
give 0, ``%`` takes the divisor's sign, ``minimum``/``maximum`` propagate NaN, integer powers with a
negative exponent give ``1 // a**-e`` (0 unless ``|a| == 1``).

>>> sorted(HELPERS)
['abs', 'floordiv', 'max', 'min', 'mod', 'pow', 'sign']
>>> body(HELPERS["abs"], "f")
'return fabs(a);'
"""

from __future__ import annotations

CTYPES = {"f": "float", "d": "double", "i": "int32_t", "l": "int64_t"}
"""The element types a helper is defined for, by suffix."""

HELPERS: dict[str, tuple[str, dict[str, str]]] = {
    "abs": ("a", {"float": "return fabs(a);", "int": "return a < 0 ? -a : a;"}),
    "sign": ("a", {"all": "return a > 0 ? 1 : (a < 0 ? -1 : a);"}),
    "floordiv": (
        "a,b",
        {
            "int": "if (b == 0) return 0; if (b == -1) return -a; "
            "{T} q = a / b; return (q * b != a && ((a < 0) != (b < 0))) ? q - 1 : q;",
            "float": "return floor(a / b);",
        },
    ),
    "mod": (
        "a,b",
        {
            "int": "if (b == 0 || b == -1) return 0; {T} r = a % b; "
            "return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;",
            "float": "{T} r = fmod(a, b); "
            "return (r != 0 && ((r < 0) != (b < 0))) ? r + b : (r == 0 ? copysign(r, b) : r);",
        },
    ),
    "pow": (
        "a,b",
        {
            "int": "if (b < 0) return (a == 1) ? 1 : (a == -1 ? ((b & 1) ? -1 : 1) : 0); "
            "{T} r = 1; while (b) { if (b & 1) r *= a; a *= a; b >>= 1; } return r;",
            "float": "return pow(a, b);",
        },
    ),
    "min": ("a,b", {"float": "return (a < b || a != a) ? a : b;", "int": "return a < b ? a : b;"}),
    "max": ("a,b", {"float": "return (a > b || a != a) ? a : b;", "int": "return a > b ? a : b;"}),
}
"""name -> (parameters, body by kind: "float", "int" or "all"), each ``PYACCAD_<NAME>`` in the templates."""


def body(helper: tuple[str, dict[str, str]], suffix: str) -> str:
    """The helper's body for the element type of ``suffix`` (a key of :data:`CTYPES`)."""
    bodies = helper[1]
    code = bodies.get("int" if suffix in "il" else "float") or bodies["all"]
    return code.replace("{T}", CTYPES[suffix])
