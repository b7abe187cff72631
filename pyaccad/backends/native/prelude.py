"""The C prelude every generated library starts with: headers and the element-wise helper macros.

The element-wise table's C templates (``ELEMENTWISE[name].c``) use
``<tgmath.h>`` names (so float32 stays ``float``) and the ``PYACCAD_*``
macros defined here from the shared helper table
(:mod:`pyaccad.backends.clike.helpers`, which says their conventions); the
vectorisable libm functions are redeclared, see :func:`_simd_declarations`. The libm functions
that glibc's libmvec provides in SIMD form are declared ``simd`` so that
loops calling them vectorise. ``PA_FAIL(id)`` sets the entry's error id;
``PA_FAIL_AT(id, position, i, j, ..)`` also records the index a bounds check met.

>>> "PYACCAD_FLOORDIV" in PRELUDE
True
"""

from __future__ import annotations

from pyaccad.backends.clike.helpers import HELPERS, body, defined

_SIMD_UNARY = "sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh exp expm1 log log1p erf".split()
_SIMD_BINARY = ("atan2", "pow")


def _simd_declarations() -> str:
    """libm functions redeclared under private names (asm labels to the real symbols) as ``simd``/``const``.

    The private names keep gcc from fusing ``sin(x)`` and ``cos(x)`` into a scalar ``sincos`` call, which
    would stop the loop from vectorising; the macros then replace the ``<tgmath.h>`` ones.
    """
    lines = []
    attrs = '__attribute__((simd("notinbranch"), const, nothrow))'
    for names, arity in ((_SIMD_UNARY, 1), (_SIMD_BINARY, 2)):
        for name in names:
            for suffix, ctype, symbol in (("f", "float", f"{name}f"), ("d", "double", name)):
                params = ", ".join([ctype] * arity)
                lines.append(f'{ctype} pm_{name}_{suffix}({params}) __asm__("{symbol}") {attrs};')
            args = "x" if arity == 1 else "x, y"
            lines.append(f"#undef {name}")
            lines.append(f"#define {name}({args}) _Generic((x), float: pm_{name}_f, default: pm_{name}_d)({args})")
    return "\n".join(lines)


_RECORD = """/* The error record R (runtime.Layout.record_size int64s): of the failed bounds checks, the one at the
   smallest position (the element being computed: the interpreter's first), as its error id, position and index.
   Called on failure only, never inside an `omp simd` loop (see cgen.Ctx.simd_block). */
static inline void pa_record(int64_t *R, int id, int64_t position, int rank, const int64_t *index) {
    #pragma omp critical(pa_record)
    if (R[0] == 0 || position < R[1]) {
        R[0] = id; R[1] = position;
        for (int k = 0; k < rank; k++) R[2 + k] = index[k];
    }
}
#define PA_FAIL_AT(id, position, ...) do { const int64_t pa_at[] = {__VA_ARGS__}; \\
    pa_record(R, (id), (position), (int)(sizeof pa_at / sizeof pa_at[0]), pa_at); PA_FAIL(id); } while (0)"""


def _typed(name: str) -> str:
    """One static inline function per C type, and a ``_Generic`` macro ``PYACCAD_<NAME>`` choosing it."""
    params, _ = HELPERS[name]
    out = []
    for suffix, ctype in defined(name).items():
        args = ", ".join(f"{ctype} {p}" for p in params.split(","))
        out.append(f"static inline {ctype} pa_{name}_{suffix}({args}) {{ {body(HELPERS[name], suffix)} }}")
    call_args = ", ".join(params.split(","))
    choices = ", ".join(f"{ctype}: pa_{name}_{suffix}" for suffix, ctype in defined(name).items())
    out.append(
        f"#define PYACCAD_{name.upper()}({call_args}) _Generic(({params.split(',')[0]}), {choices})({call_args})"
    )
    return "\n".join(out)


PRELUDE = "\n".join(
    [
        "#include <stdint.h>",
        "#include <stdio.h>",
        "#include <stdbool.h>",
        "#include <stdlib.h>",
        "#include <string.h>",
        "#include <math.h>",
        "#include <omp.h>",
        "#include <tgmath.h>",
        # float16 is gcc's _Float16 (x86-64 since gcc 12): IEEE half storage, and conversions to and from float
        # and double that round to nearest even, in software or with F16C. Arithmetic is done in float
        # (clike.element.apply_elementwise), so results never depend on whether the CPU has AVX512-FP16.
        "typedef _Float16 pa_half;",
        _simd_declarations(),
        "#define PA_MIN_I(a, b) ((a) < (b) ? (a) : (b))",
        "static inline double pa_f64_bits(int64_t b) { double d; memcpy(&d, &b, sizeof d); return d; }",
        "static inline int64_t PA_MIRROR(int64_t f, int64_t n) { f %= 2 * n - 2; return f >= n ? 2 * n - 2 - f : f; }",
        '#define PA_FAIL(id) do { _Pragma("omp atomic write") err = (id); } while (0)',
        _RECORD,
        *(_typed(name) for name in HELPERS),
    ]
)
