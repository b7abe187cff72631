"""Which BLAS the native backend's ``matmul`` links: Intel MKL (sequential) when installed, else OpenBLAS.

Both are called the same way: one single-threaded GEMM per OpenMP thread's
block of the product (see :func:`.blas.matmul_kernel`), through their 64-bit
integer CBLAS interfaces. The linear algebra primitives call the same
library's ``trsm`` and its LAPACKE ``potrf`` and ``gesv`` (:mod:`.lapack`).
MKL is the default where its wheel is installed (``pip install mkl``, a
dependency of pyaccad on x86-64): its AVX-512 SGEMM kernels ran the ``mlp``
workload's products 10–35 % faster than OpenBLAS's on the 2-core Xeon of
BENCHMARKS.md. ``$PYACCAD_BLAS=openblas`` or ``=mkl`` chooses explicitly;
the choice is part of the generated source (the symbol names), so cached
libraries never mix them up.

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
void {gemm}(int, int, int, int64_t, int64_t, int64_t, {t}, const {t} *, int64_t, const {t} *, int64_t, {t}, {t} *,
            int64_t);
void {trsm}(int, int, int, int, int, int64_t, int64_t, {t}, const {t} *, int64_t, {t} *, int64_t);
int64_t {potrf}(int, char, int64_t, {t} *, int64_t);
int64_t {gesv}(int, int64_t, int64_t, {t} *, int64_t, int64_t *, {t} *, int64_t);
"""
_ROUTINES = {"gemm": "cblas_{}gemm", "trsm": "cblas_{}trsm", "potrf": "LAPACKE_{}potrf", "gesv": "LAPACKE_{}gesv"}
_MKL_LIBS = ("libmkl_intel_ilp64.so", "libmkl_sequential.so", "libmkl_core.so")


@dataclass(frozen=True)
class BlasLibrary:
    """A BLAS to link: how its symbols are named, their C declarations, what to call once per entry, link flags."""

    name: str
    setup: str  # a C statement run at the start of every program that uses BLAS
    link: tuple[str, ...]

    def symbol(self, routine: str) -> str:
        """The 64-bit integer symbol of ``routine`` (``cblas_sgemm``, ``LAPACKE_dpotrf``, ...) in this library.

        >>> BlasLibrary("openblas", "", ()).symbol("LAPACKE_dgesv")
        'scipy_LAPACKE_dgesv64_'
        """
        return f"scipy_{routine}64_" if self.name == "openblas" else routine

    @property
    def prelude(self) -> str:
        extra = "void scipy_openblas_set_num_threads64_(int);\n" if self.name == "openblas" else ""
        declare = [
            _DECLARE.format(t=t, **{key: self.symbol(r.format(p)) for key, r in _ROUTINES.items()})
            for p, t in (("s", "float"), ("d", "double"))
        ]
        return "".join(declare) + extra


def _mkl() -> BlasLibrary | None:
    libdir = os.path.join(sys.prefix, "lib")
    files = []
    for stem in _MKL_LIBS:  # the wheel ships only versioned names (libmkl_core.so.3): link those exactly
        found = sorted(glob.glob(os.path.join(libdir, stem + ".*")))
        if not found:
            return None
        files.append(f"-l:{os.path.basename(found[0])}")
    # the sequential layer: OpenMP parallelism stays ours, MKL runs one thread per call
    return BlasLibrary("mkl", "", (f"-L{libdir}", *files, f"-Wl,-rpath,{libdir}"))


def _openblas() -> BlasLibrary | None:
    spec = importlib.util.find_spec("scipy_openblas64")
    libdir = os.path.join(os.path.dirname(spec.origin), "lib") if spec is not None and spec.origin else ""
    names = sorted(n for n in os.listdir(libdir) if n.startswith("libscipy_openblas")) if os.path.isdir(libdir) else []
    if not names:
        return None
    # OpenBLAS's own pool would spin after each call, starving the kernels that follow: one thread per call
    setup = "scipy_openblas_set_num_threads64_(1);"
    link = (f"-L{libdir}", f"-l{os.path.splitext(names[0])[0][3:]}", f"-Wl,-rpath,{libdir}")
    return BlasLibrary("openblas", setup, link)


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
