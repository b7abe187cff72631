"""The native backend (the default): fused kernels as C99 + OpenMP, built with gcc, loaded with cffi.

Pipeline: :func:`pyaccad.opt.fusion.plan_program` groups the program into
kernels; :mod:`.program` writes one C file with one entry point (one module
per skeleton: :mod:`.map`, :mod:`.fold`, :mod:`.scan`, :mod:`.permute`,
:mod:`.stencil`, :mod:`.control`, :mod:`.blas`); :mod:`.cache` compiles it
(:mod:`.build`) or finds it on disk; :mod:`.runtime` calls it. On a warm
start :mod:`.layouts` finds the library and its layout from the program's
text, skipping fusion and code generation.

Reproducible bits. The same program on the same inputs gives the same bits
for every thread count: work is cut into pieces that do not depend on it
(rows; blocks of :data:`.map.BLOCK` elements of the last axis; the
:data:`.fold.SLICES` slices of a reduction to rank 0 or of a rank-1 scan; a
GEMM's columns at multiples of :data:`.blas.EPILOGUE_STEP`), each computed by
the same code wherever it runs. Two exceptions: a ``permute`` with float
``+`` or ``*`` (one chunk per thread, :mod:`.permute`), and the GEMM inside
``matmul``, whose bits are the BLAS's (MKL and OpenBLAS promise none across
block shapes); both stay within the error bound of their sums.

Beyond one machine: every IEEE 754 operation in the generated C (``+ - * /``,
``sqrt``, comparisons, ``min``/``max``, ``floor``/``rint``/..., casts) is
rounded once, as written, never fused into a multiply-add
(``-ffp-contract=off``, :mod:`.build`), and every reduction combines in an
order fixed by the code: 16 lanes, the lanes in order, then the remainder
(:mod:`.fold`; never ``omp simd reduction``, which leaves the order to the
vectoriser and so to the vector width). So a program made of those
operations gives the same bits on any x86-64 CPU, with or without AVX-512 or
FMA, whether kernels share a loop over rows or over elements (:mod:`.rows`) or not, and whether a loop
body's small loops run in tiles (:func:`.map.index_loop`).
libm's functions (``exp``, ``log``, ``sin``, ``tanh``, ``pow``, ``erf``, ...)
do not: a vectorised loop calls glibc's libmvec (within 4 ulp, not libm's
bits) and its remainder calls libm, so an element's bits depend on where the
loop that computes it starts and ends, and on the CPU (libmvec and libm pick
their code by CPU, as MKL does); results through them agree within those
functions' error bounds.

>>> import numpy as np, pyaccad as acc
>>> acc.run(lambda x: acc.fold(lambda a, b: a + b, 0.0, x), np.ones((2, 3)), backend="native")
array([3., 3.])
"""

from __future__ import annotations

import importlib.util
from typing import Any

from pyaccad.backends.native import build
from pyaccad.backends.native.blas_library import blas_library
from pyaccad.ir import Program


class NativeBackend:
    """``compile(program)`` → an executable mapping NumPy inputs to fresh NumPy outputs."""

    name = "native"

    def unavailable_reason(self) -> str | None:
        if build.compiler() is None:
            return "no C compiler found (install gcc, or set $CC to one)"
        if importlib.util.find_spec("cffi") is None:
            return "the cffi package is missing (pip install cffi)"
        return None

    def compile(self, program: Program) -> Any:
        """An executable (:class:`.runtime.Executable`) for ``program``: remembered, built, or found in the cache.

        Fusion and code generation are imported only when a program's layout is not remembered
        (:mod:`.layouts`).
        """
        from pyaccad.backends.native import cache, layouts
        from pyaccad.backends.native.runtime import Executable

        key = layouts.program_key(program)
        found = layouts.find(key) if key is not None else None
        if found is not None:
            return Executable(*found)
        from pyaccad.backends.native.program import generate

        source, layout = generate(program)
        lib, lib_key = cache.load(source, build_link(layout.uses_blas))
        if key is not None and not layout.consts:
            layouts.remember(key, lib_key, layout)
        return Executable(lib, layout)

    def describe(self, program: Program) -> str:
        """The optimised IR and the fused kernels it runs as."""
        from pyaccad.backends.native.rows import LIMITS
        from pyaccad.opt.fusion import plan_program
        from pyaccad.opt.kernels import describe_plan
        from pyaccad.opt.rows import group_rows

        return describe_plan(group_rows(plan_program(program), LIMITS))


def build_link(uses_blas: bool) -> list[str]:
    return list(blas_library().link) if uses_blas else []


BACKEND = NativeBackend()
