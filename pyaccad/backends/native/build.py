"""Compiling generated C into a shared library with the system C compiler (gcc), invoked directly.

Flags: ``-O3 -march=native -fopenmp`` for speed; ``-fno-math-errno`` lets
libm calls vectorise (through glibc's libmvec) and ``-fwrapv`` gives signed
integer overflow NumPy's wrap-around instead of undefined behaviour;
``-mprefer-vector-width=512`` lets AVX-512 machines use their full vectors
(with libmvec's 16-wide ``expf``, ``sinf``, ...: measured 1.2–1.5× on the
element-wise and log-sum-exp workloads; a no-op elsewhere);
``-ffp-contract=off`` keeps ``a * b + c`` two roundings, never a fused
multiply-add: gcc's default (``fast``) fuses where the target has FMA and the
code around allows, so the bits of a result would depend on the CPU and on
how the kernels were cut (see "Reproducible bits" in
:mod:`pyaccad.backends.native`; no measurable cost on the benchmark
workloads, ``BENCHMARKS.md``). Extra flags can be appended with
``$PYACCAD_CFLAGS`` (they change the cache key).

>>> "-fopenmp" in compile_flags()
True
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from functools import cache

from pyaccad.errors import CompileError

BASE_FLAGS = (
    "-O3",
    "-march=native",
    "-mprefer-vector-width=512",
    "-fopenmp",
    "-fno-math-errno",
    "-fwrapv",
    "-ffp-contract=off",
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
    """Run the compiler once (tests count the runs by replacing this)."""
    return subprocess.run(command, capture_output=True, text=True, check=False)


UNIT_BREAK = "/* ---- pyaccad: next translation unit ---- */"
"""The line between the translation units of a large program's source (see :func:`build`)."""


def build(source: str, c_path: str, so_path: str, link: list[str]) -> None:
    """Write ``source`` to ``c_path`` and compile it into ``so_path``; :class:`CompileError` on failure.

    A source of several translation units (separated by :data:`UNIT_BREAK` lines: the generator splits
    large programs, :mod:`.program`) is compiled one unit per process, as many at once as there are cores,
    then linked: gcc's time grows with the size of the file, and one run uses one core.
    """
    cc = compiler()
    if cc is None:
        raise CompileError("native backend: no C compiler found (install gcc or set $CC)")
    with open(c_path, "w") as f:
        f.write(source)
    units = source.split(f"\n{UNIT_BREAK}\n")
    if len(units) == 1:
        _check(cc, c_path, run_compiler([cc, *compile_flags(), c_path, "-o", so_path, *link, *LIBS]))
        return
    stem = c_path[:-2]
    paths = [f"{stem}.{n}.c" for n in range(len(units))]
    objects = [f"{stem}.{n}.o" for n in range(len(units))]
    try:
        for path, unit in zip(paths, units, strict=True):
            with open(path, "w") as f:
                f.write(unit)
        commands = [[cc, *compile_flags(), "-c", p, "-o", o] for p, o in zip(paths, objects, strict=True)]
        with ThreadPoolExecutor(max_workers=min(len(units), os.cpu_count() or 1)) as pool:
            results = list(pool.map(run_compiler, commands))
        for path, result in zip(paths, results, strict=True):
            _check(cc, path, result)
        _check(cc, c_path, run_compiler([cc, *compile_flags(), *objects, "-o", so_path, *link, *LIBS]))
    finally:
        for leftover in (*paths, *objects):
            if os.path.exists(leftover):
                os.unlink(leftover)


def _check(cc: str, path: str, result: subprocess.CompletedProcess) -> None:
    if result.returncode != 0:
        raise CompileError(f"native backend: {os.path.basename(cc)} failed on {path}:\n{result.stderr.strip()}")
