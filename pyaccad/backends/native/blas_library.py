"""Which BLAS the native backend's ``matmul`` links: Intel MKL (sequential) when installed, else OpenBLAS.

Both are called the same way: one single-threaded GEMM per OpenMP thread's
block of the product (see :func:`.blas.matmul_kernel`), through their 64-bit
integer CBLAS interfaces. MKL is the default where its wheel is installed
(``pip install mkl``, a dependency of pyaccad on x86-64): its AVX-512 SGEMM
kernels ran the ``mlp`` workload's products 10–35 % faster than OpenBLAS's on
the 2-core Xeon of BENCHMARKS.md. ``$PYACCAD_BLAS=openblas`` or ``=mkl``
chooses explicitly; the choice is part of the generated source (the symbol
names), so cached libraries never mix them up.

The libraries are found without importing their packages (an import reads
package metadata, ~20 ms of a warm-cache start): MKL's wheel puts its shared
objects in ``<prefix>/lib``; ``scipy-openblas64`` in its package's ``lib`` folder.

>>> blas_library().name in ("mkl", "openblas")
True
"""

from __future__ import annotations

import glob
import importlib.util
import os
import sys
from dataclasses import dataclass
from functools import cache

from pyaccad.errors import BackendUnavailable, CompileError

_DECLARE = """
void {s}(int, int, int, int64_t, int64_t, int64_t, float, const float *, int64_t,
         const float *, int64_t, float, float *, int64_t);
void {d}(int, int, int, int64_t, int64_t, int64_t, double, const double *, int64_t,
         const double *, int64_t, double, double *, int64_t);
"""
_MKL_LIBS = ("libmkl_intel_ilp64.so", "libmkl_sequential.so", "libmkl_core.so")


@dataclass(frozen=True)
class BlasLibrary:
    """A BLAS to link: its CBLAS GEMM symbols, their C declarations, what to call once per entry, link flags."""

    name: str
    sgemm: str
    dgemm: str
    setup: str  # a C statement run at the start of every program that uses BLAS
    link: tuple[str, ...]

    @property
    def prelude(self) -> str:
        extra = "void scipy_openblas_set_num_threads64_(int);\n" if self.name == "openblas" else ""
        return _DECLARE.format(s=self.sgemm, d=self.dgemm) + extra


def _mkl() -> BlasLibrary | None:
    libdir = os.path.join(sys.prefix, "lib")
    files = []
    for stem in _MKL_LIBS:  # the wheel ships only versioned names (libmkl_core.so.3): link those exactly
        found = sorted(glob.glob(os.path.join(libdir, stem + ".*")))
        if not found:
            return None
        files.append(f"-l:{os.path.basename(found[0])}")
    # the sequential layer: OpenMP parallelism stays ours, MKL runs one thread per call
    return BlasLibrary("mkl", "cblas_sgemm", "cblas_dgemm", "", (f"-L{libdir}", *files, f"-Wl,-rpath,{libdir}"))


def _openblas() -> BlasLibrary | None:
    spec = importlib.util.find_spec("scipy_openblas64")
    libdir = os.path.join(os.path.dirname(spec.origin), "lib") if spec is not None and spec.origin else ""
    names = sorted(n for n in os.listdir(libdir) if n.startswith("libscipy_openblas")) if os.path.isdir(libdir) else []
    if not names:
        return None
    # OpenBLAS's own pool would spin after each call, starving the kernels that follow: one thread per call
    setup = "scipy_openblas_set_num_threads64_(1);"
    link = (f"-L{libdir}", f"-l{os.path.splitext(names[0])[0][3:]}", f"-Wl,-rpath,{libdir}")
    return BlasLibrary("openblas", "scipy_cblas_sgemm64_", "scipy_cblas_dgemm64_", setup, link)


@cache
def _find(choice: str) -> BlasLibrary:
    finders = {"mkl": [_mkl], "openblas": [_openblas], "": [_mkl, _openblas]}
    if choice not in finders:
        raise BackendUnavailable(f"native: PYACCAD_BLAS={choice!r} is not 'mkl' or 'openblas'")
    for finder in finders[choice]:
        found = finder()
        if found is not None:
            return found
    wanted = {"mkl": "the mkl package", "openblas": "the scipy-openblas64 package"}.get(choice, "mkl or openblas")
    raise CompileError(f"native backend: matmul needs {wanted} (pip install it)")


def blas_library() -> BlasLibrary:
    """The BLAS that programs with ``matmul`` use now (``$PYACCAD_BLAS``, else MKL if installed, else OpenBLAS)."""
    return _find(os.environ.get("PYACCAD_BLAS", "").strip().lower())
