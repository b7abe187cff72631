"""Finding GHC and the Haskell packages that run exported programs (the accelerate bridge, ``check_ad``).

GHC finds packages (``accelerate``, ``accelerate-llvm-native``, ``ad``) through
``$PYACCAD_GHC_ENV``: a package database directory or a GHC environment file;
unset, through GHC's own default environment. ``$PYACCAD_GHC`` names the
compiler (default ``ghc`` on the PATH).

>>> import tempfile
>>> package_flags("/opt/hs/accelerate.env"), package_flags(tempfile.mkdtemp())[0]
(['-package-env', '/opt/hs/accelerate.env'], '-package-db')
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from pyaccad.errors import CompileError
from pyaccad.store import cache_root, write_atomically

GHC_TIMEOUT_S = 900  # a large exported program is slow to compile, but a hung GHC must not hang the caller


def ghc() -> str | None:
    """The GHC to use: ``$PYACCAD_GHC`` or ``ghc`` on the PATH (None when there is none)."""
    return shutil.which(os.environ.get("PYACCAD_GHC") or "ghc")


def package_flags(env: str | None = None) -> list[str]:
    """GHC's flags for finding the packages in ``env`` (default ``$PYACCAD_GHC_ENV``): a directory or an
    environment file."""
    env = env if env is not None else os.environ.get("PYACCAD_GHC_ENV")
    if not env:
        return []
    return ["-package-db", env] if Path(env).is_dir() else ["-package-env", env]


@cache
def ghc_version(compiler: str) -> str:
    """GHC's version line (part of cache keys)."""
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


def missing_module(module: str) -> str | None:
    """None when GHC (with :func:`package_flags`) can import ``module``, else why not, in a line."""
    compiler = ghc()
    if compiler is None:
        return "GHC is not installed (apt-get install ghc), or $PYACCAD_GHC names no program"
    said = _probe(compiler, tuple(package_flags()), module)
    if said is None:
        return None
    where = "$PYACCAD_GHC_ENV" if os.environ.get("PYACCAD_GHC_ENV") else "GHC's default environment"
    return f"{said} (looked in {where}; name a package database or GHC environment file in $PYACCAD_GHC_ENV)"


@cache
def _probe(compiler: str, flags: tuple[str, ...], module: str) -> str | None:
    """None when GHC with ``flags`` can import ``module``, else what it said. A success is remembered on disk,
    keyed by the compiler's file, the flags and the package set: GHC takes half a second to answer, which a
    new process's first call through a cached library should not pay."""
    binary = os.path.realpath(compiler)
    stat = os.stat(binary)
    facts = "\0".join([binary, str(stat.st_mtime_ns), str(stat.st_size), *flags, environment_fingerprint(), module])
    marker = cache_root() / "ghc-probes" / f"{hashlib.sha256(facts.encode()).hexdigest()[:24]}.ok"
    if marker.exists():
        return None
    with tempfile.TemporaryDirectory(prefix="pyaccad-ghc-probe-") as folder:
        probe = Path(folder) / "Probe.hs"
        probe.write_text(f"import {module} ()\nmain :: IO ()\nmain = return ()\n")
        found = subprocess.run(
            [compiler, *flags, "-fno-code", str(probe)], capture_output=True, text=True, timeout=GHC_TIMEOUT_S
        )
    if found.returncode == 0:
        write_atomically(marker, b"")
        return None
    said = [line.strip() for line in found.stderr.splitlines() if "Could not" in line or "cannot" in line]
    return f"GHC cannot import {module}" + (f" ({said[0]})" if said else "")


def compile_modules(what: str, modules: dict[str, str], folder: Path, flags: list[str], output: Path) -> None:
    """Write ``modules`` (name → source; a ``.c`` suffix marks C) into ``folder`` and build ``output`` with GHC.

    A failure is a :class:`~pyaccad.errors.CompileError` naming ``what`` and carrying GHC's output.
    """
    compiler = ghc()
    if compiler is None:
        raise CompileError(f"{what}: GHC is not installed (apt-get install ghc)")
    files = []
    for name, source in modules.items():
        path = folder / (name if name.endswith(".c") else f"{name}.hs")
        path.write_text(source)
        files.append(str(path))
    command = [compiler, *flags, *package_flags(), "-outputdir", str(folder), "-o", str(output), *files]
    try:
        built = subprocess.run(command, capture_output=True, text=True, timeout=GHC_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise CompileError(f"{what}: GHC did not finish within {GHC_TIMEOUT_S} s") from exc
    if built.returncode != 0:
        output_text = built.stdout[-4000:] + built.stderr[-8000:]
        raise CompileError(f"{what}: GHC failed (exit {built.returncode}):\n{output_text}")
