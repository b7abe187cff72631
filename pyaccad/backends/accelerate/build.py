"""Compiling a bridge library with GHC, and finding the Haskell packages it needs.

GHC finds ``accelerate`` (and ``accelerate-llvm-native`` for the native target)
as :mod:`pyaccad.export.ghc` says (``$PYACCAD_GHC_ENV``, else ``stack`` with the
project's ``stack.yaml``, else GHC's default environment).
``$PYACCAD_ACCELERATE_TARGET`` picks accelerate's backend: ``native``
(``accelerate-llvm-native``, the default; it compiles its kernels with ``clang``, as GHC builds a library
(:func:`ahead_of_time`) or, for a program that calls accelerate-blas, at run time),
``ptx`` (``accelerate-llvm-ptx``, an NVIDIA GPU) or ``interpreter``
(accelerate's reference interpreter, for checking). Where
GHC finds ``accelerate-blas`` too, float matrix products run through its
BLAS ``gemm`` (:func:`uses_blas`) instead of accelerate's ``fold``.

The library is linked as GHC links a loadable one: ``-shared -dynamic -fPIC
-flink-rts`` (without ``-flink-rts``, ``dlopen`` fails on an undefined RTS
symbol), with the threaded runtime, which accelerate's workers need. GHC runs in the environment accelerate
runs in (:func:`.runtime.build_environment`): where it compiles the program ahead of time, the kernels it
links in are the ones a process would have compiled.

>>> link_flags()[:4]
['-shared', '-dynamic', '-fPIC', '-flink-rts']
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from pyaccad.backends.accelerate.entry import TARGET_MODULES
from pyaccad.errors import BackendUnavailable, CompileError
from pyaccad.export import ghc


def target() -> str:
    """accelerate's backend to compile against (``$PYACCAD_ACCELERATE_TARGET``, default ``native``)."""
    chosen = os.environ.get("PYACCAD_ACCELERATE_TARGET") or "native"
    if chosen not in TARGET_MODULES:
        raise BackendUnavailable(
            f"accelerate: $PYACCAD_ACCELERATE_TARGET is {chosen!r}; choose one of {', '.join(TARGET_MODULES)}"
        )
    return chosen


BLAS_MODULE = "Data.Array.Accelerate.Numeric.LinearAlgebra"


def uses_blas() -> bool:
    """Whether exports for the bridge print float matrix products as ``accelerate-blas``'s ``<>``: where GHC
    finds that package. The export's own product (scalar sums, :mod:`pyaccad.export.products`) runs at about
    1 GMAC/s, a BLAS ``gemm`` at tens (accelerate-blas calls it on the native target, and falls back to accelerate's
    product on the interpreter)."""
    return ghc.ghc() is not None and ghc.missing_module(BLAS_MODULE) is None


def link_flags() -> list[str]:
    """The flags that make a library Python can ``dlopen``, and how GHC compiles it: without its optimiser
    (``-O0``), and with ``MonoLocalBinds``.

    The Haskell only builds accelerate's program and wraps the call; accelerate compiles the kernels that
    run, through LLVM, whatever GHC was told. ``-O1`` cost GHC 30-60 % more CPU time on the bench workloads
    for no measurable gain per call, and its full-laziness pass is quadratic in a program's length (0.7 s
    of GHC's CPU time on a 500-step chain, 14 s on 2000 steps), where ``-O0``'s time grows about linearly.
    ``MonoLocalBinds`` spares the type checker generalising each ``let`` binding (the export's types are
    all fixed by the signature): a quarter less allocation on a long chain.
    """
    return ["-shared", "-dynamic", "-fPIC", "-flink-rts", "-threaded", "-O0", "-XMonoLocalBinds"]


def faster_linker() -> list[str]:
    """``-optl-fuse-ld=lld`` where LLVM's linker ``ld.lld`` is on the PATH (Debian's ``lld``), else nothing (GNU
    gold, GHC's choice).

    GHC links three times for a library compiled ahead of time (the program module for Template Haskell's
    interpreter, that again with the C start-up code, the library), each against the hundred-odd shared objects
    of accelerate and its dependencies: with lld, a first call that builds the library (the bench's gradients,
    quiet 2-core Xeon) took 2.2–3.2 s instead of 3.2–4.0 s, about a second less; 0.2–0.4 s less for a library
    that accelerate compiles at run time (one link). lld records only the shared objects the library calls (14
    instead of all 117 of the package environment: Debian's gcc passes ``--as-needed``, which GHC overrides for
    the linkers it recognises, and it does not recognise "Debian LLD": it warns that it could not figure out
    the linker, and links as asked). Not part of a library's key: the code is the same, only how it is linked.

    >>> faster_linker() == (["-optl-fuse-ld=lld"] if shutil.which("ld.lld") else [])
    True
    """
    return ["-optl-fuse-ld=lld"] if shutil.which("ld.lld") else []


def unavailable_reason() -> str | None:
    """None when GHC and accelerate's packages (and clang, for the native target) are here, else why not."""
    if ghc.ghc() is None:
        return ghc.no_ghc_reason()
    try:
        chosen = target()
    except BackendUnavailable as exc:
        return str(exc)
    if chosen == "native" and shutil.which("clang") is None:
        return "accelerate-llvm-native compiles its kernels with clang: none is on the PATH (apt-get install clang)"
    missing = ghc.missing_module(TARGET_MODULES[chosen])
    package = {"native": "accelerate-llvm-native", "ptx": "accelerate-llvm-ptx"}.get(chosen, "accelerate")
    return f"{missing}: build accelerate and {package}" if missing is not None else None


def ahead_of_time(target: str, program_module: str) -> bool:
    """Whether the library of ``program_module`` compiles it while GHC runs (``runQ``, :mod:`.entry`): on
    accelerate-llvm-native, unless the program calls accelerate-blas, whose foreign functions ``runQ`` cannot
    embed ("using foreign functions from template-haskell is not supported yet").

    >>> ahead_of_time("native", "module M where"), ahead_of_time("interpreter", "module M where")
    (True, False)
    """
    return target == "native" and f"import qualified {BLAS_MODULE}" not in program_module


def declined_ahead_of_time(failure: CompileError) -> bool:
    """Whether GHC failed on accelerate-llvm-native's ``runQ`` declaring a kernel's foreign import twice: it
    names each after a hash of a fresh unique, and two names can meet in one program (the reverse-over-reverse
    gradient of a loop: "Multiple declarations of ``__accelerate_llvm_native_4204a19c00``"). Such a library is
    built with ``runN`` instead.

    >>> declined_ahead_of_time(CompileError("Multiple declarations of '__accelerate_llvm_native_4204a19c00'"))
    True
    """
    text = str(failure)
    return "Multiple declarations of" in text and "__accelerate_llvm_native_" in text


def build_library(
    modules: dict[str, str],
    c_source: str,
    output: Path,
    environment: Mapping[str, str] | None = None,
    libraries: Sequence[str] = (),
) -> None:
    """Compile the Haskell ``modules`` (name → source) and ``c_source`` into the shared library ``output``, GHC
    running in ``environment`` (else this process's) and linking ``libraries`` too (``-lNAME``)."""
    with tempfile.TemporaryDirectory(prefix="pyaccad-ghc-") as folder:
        sources = {**modules, "start.c": c_source}
        flags = [*link_flags(), *faster_linker(), *libraries]
        ghc.compile_modules("accelerate", sources, Path(folder), flags, output, environment)
