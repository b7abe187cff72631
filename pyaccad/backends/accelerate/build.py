"""Compiling a bridge library with GHC, and finding the Haskell packages it needs.

GHC finds ``accelerate`` (and ``accelerate-llvm-native`` for the native target)
through ``$PYACCAD_GHC_ENV``: a package database directory or a GHC environment
file, as the export's integration tests use; unset, through GHC's own default
environment. ``$PYACCAD_GHC`` names the compiler (default ``ghc`` on the PATH).
``$PYACCAD_ACCELERATE_TARGET`` picks accelerate's backend: ``native``
(``accelerate-llvm-native``, the default; it needs ``clang`` at run time) or
``interpreter`` (accelerate's reference interpreter, for checking).

The library is linked as GHC links a loadable one: ``-shared -dynamic -fPIC
-flink-rts`` (without ``-flink-rts``, ``dlopen`` fails on an undefined RTS
symbol), with the threaded runtime, which accelerate's workers need.

>>> link_flags()[:4]
['-shared', '-dynamic', '-fPIC', '-flink-rts']
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from pyaccad.backends.accelerate.entry import TARGET_MODULES
from pyaccad.backends.store import cache_root, write_atomically
from pyaccad.errors import BackendUnavailable, CompileError

GHC_TIMEOUT_S = 900  # a large exported program is slow to compile, but a hung GHC must not hang the caller


def ghc() -> str | None:
    """The GHC to use: ``$PYACCAD_GHC`` or ``ghc`` on the PATH (None when there is none)."""
    return shutil.which(os.environ.get("PYACCAD_GHC") or "ghc")


def target() -> str:
    """accelerate's backend to compile against (``$PYACCAD_ACCELERATE_TARGET``, default ``native``)."""
    chosen = os.environ.get("PYACCAD_ACCELERATE_TARGET") or "native"
    if chosen not in TARGET_MODULES:
        raise BackendUnavailable(
            f"accelerate: $PYACCAD_ACCELERATE_TARGET is {chosen!r}; choose one of {', '.join(TARGET_MODULES)}"
        )
    return chosen


def package_flags() -> list[str]:
    """GHC's flags for finding the packages: from ``$PYACCAD_GHC_ENV`` (a directory or an environment file)."""
    env = os.environ.get("PYACCAD_GHC_ENV")
    if not env:
        return []
    return ["-package-db", env] if Path(env).is_dir() else ["-package-env", env]


def link_flags() -> list[str]:
    """The flags that make a library Python can ``dlopen``."""
    return ["-shared", "-dynamic", "-fPIC", "-flink-rts", "-threaded", "-O1"]


@cache
def ghc_version(compiler: str) -> str:
    """GHC's version line (part of the cache key)."""
    return subprocess.run([compiler, "--version"], capture_output=True, text=True, check=False).stdout.strip()


def environment_fingerprint() -> str:
    """What identifies the package set: the environment file's text, or the database's package list."""
    env = os.environ.get("PYACCAD_GHC_ENV")
    if not env:
        return ""
    path = Path(env)
    listing = path / "package.cache" if path.is_dir() else path
    try:
        return hashlib.sha256(listing.read_bytes()).hexdigest() + env
    except OSError:
        return env


@cache
def _probe(compiler: str, flags: tuple[str, ...], module: str) -> str | None:
    """None when GHC with ``flags`` can import ``module``, else what it said. A success is remembered on disk,
    keyed by the compiler's file, the flags and the package set: GHC takes half a second to answer, which a
    new process's first call through a cached library should not pay."""
    binary = os.path.realpath(compiler)
    stat = os.stat(binary)
    facts = "\0".join([binary, str(stat.st_mtime_ns), str(stat.st_size), *flags, environment_fingerprint(), module])
    marker = cache_root() / "accelerate" / f"probe-{hashlib.sha256(facts.encode()).hexdigest()[:24]}.ok"
    if marker.exists():
        return None
    said = _ask_ghc(compiler, flags, module)
    if said is None:
        write_atomically(marker, b"")
    return said


def _ask_ghc(compiler: str, flags: tuple[str, ...], module: str) -> str | None:
    with tempfile.TemporaryDirectory(prefix="pyaccad-ghc-probe-") as folder:
        probe = Path(folder) / "Probe.hs"
        probe.write_text(f"import {module} ()\nmain :: IO ()\nmain = return ()\n")
        found = subprocess.run(
            [compiler, *flags, "-fno-code", str(probe)], capture_output=True, text=True, timeout=GHC_TIMEOUT_S
        )
    if found.returncode == 0:
        return None
    said = [line.strip() for line in found.stderr.splitlines() if "Could not" in line or "cannot" in line]
    return f"GHC cannot import {module}" + (f" ({said[0]})" if said else "")


def unavailable_reason() -> str | None:
    """None when GHC and accelerate's packages (and clang, for the native target) are here, else why not."""
    compiler = ghc()
    if compiler is None:
        return "GHC is not installed (apt-get install ghc), or $PYACCAD_GHC names no program"
    try:
        chosen = target()
    except BackendUnavailable as exc:
        return str(exc)
    if chosen == "native" and shutil.which("clang") is None:
        return "accelerate-llvm-native needs clang on the PATH at run time (apt-get install clang)"
    missing = _probe(compiler, tuple(package_flags()), TARGET_MODULES[chosen])
    if missing is not None:
        where = "$PYACCAD_GHC_ENV" if os.environ.get("PYACCAD_GHC_ENV") else "GHC's default environment"
        return (
            f"{missing}: build accelerate and accelerate-llvm-native, and name their package database or GHC "
            f"environment file in $PYACCAD_GHC_ENV (looked in {where})"
        )
    return None


def build_library(modules: dict[str, str], c_source: str, output: Path) -> None:
    """Compile the Haskell ``modules`` (name → source) and ``c_source`` into the shared library ``output``."""
    compiler = ghc()
    if compiler is None:
        raise CompileError("accelerate: GHC is not installed")
    with tempfile.TemporaryDirectory(prefix="pyaccad-ghc-") as folder:
        files = []
        for name, source in modules.items():
            path = Path(folder) / f"{name}.hs"
            path.write_text(source)
            files.append(str(path))
        start = Path(folder) / "start.c"
        start.write_text(c_source)
        command = [compiler, *link_flags(), *package_flags(), "-outputdir", folder, "-o", str(output), *files]
        try:
            built = subprocess.run([*command, str(start)], capture_output=True, text=True, timeout=GHC_TIMEOUT_S)
        except subprocess.TimeoutExpired as exc:
            raise CompileError(f"accelerate: GHC did not finish within {GHC_TIMEOUT_S} s") from exc
    if built.returncode != 0:
        raise CompileError(
            f"accelerate: GHC failed (exit {built.returncode}):\n{built.stdout[-4000:]}{built.stderr[-8000:]}"
        )
