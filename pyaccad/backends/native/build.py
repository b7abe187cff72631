"""Compiling generated C into a shared library with the system C compiler (gcc), invoked directly.

Flags: ``-O3 -march=native -fopenmp`` for speed; ``-fno-math-errno`` lets
libm calls vectorise (through glibc's libmvec) and ``-fwrapv`` gives signed
integer overflow NumPy's wrap-around instead of undefined behaviour;
``-mprefer-vector-width=512`` lets AVX-512 machines use their full vectors
(with libmvec's 16-wide ``expf``, ``sinf``, ...: measured 1.2–1.5× on the
element-wise and log-sum-exp workloads; a no-op elsewhere). Extra
flags can be appended with ``$PYACCAD_CFLAGS`` (they change the cache key).

>>> "-fopenmp" in compile_flags()
True
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from functools import cache

from pyaccad.errors import CompileError

BASE_FLAGS = (
    "-O3",
    "-march=native",
    "-mprefer-vector-width=512",
    "-fopenmp",
    "-fno-math-errno",
    "-fwrapv",
    "-std=gnu11",
    "-shared",
    "-fPIC",
)
LIBS = ("-lmvec", "-lm")


def compiler() -> str | None:
    """The C compiler to use: ``$CC`` if set, else ``gcc`` on the PATH (None when there is none)."""
    cc = os.environ.get("CC") or "gcc"
    return shutil.which(cc)


@cache
def compiler_version(cc: str) -> str:
    """The compiler's ``--version`` banner (part of the cache key)."""
    result = subprocess.run([cc, "--version"], capture_output=True, text=True, check=False)
    return result.stdout.strip()


def compile_flags() -> list[str]:
    return [*BASE_FLAGS, *shlex.split(os.environ.get("PYACCAD_CFLAGS", ""))]


def run_compiler(command: list[str]) -> subprocess.CompletedProcess:
    """Run the compiler (one call per library built; tests count calls by replacing this)."""
    return subprocess.run(command, capture_output=True, text=True, check=False)


def build(source: str, c_path: str, so_path: str, link: list[str]) -> None:
    """Write ``source`` to ``c_path`` and compile it into ``so_path``; :class:`CompileError` on failure."""
    cc = compiler()
    if cc is None:
        raise CompileError("native backend: no C compiler found (install gcc or set $CC)")
    with open(c_path, "w") as f:
        f.write(source)
    result = run_compiler([cc, *compile_flags(), c_path, "-o", so_path, *link, *LIBS])
    if result.returncode != 0:
        raise CompileError(f"native backend: {os.path.basename(cc)} failed on {c_path}:\n{result.stderr.strip()}")
