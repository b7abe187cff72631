"""Finding GHC and the Haskell packages that run exported programs (the accelerate bridge, ``check_ad``).

GHC finds packages (``accelerate``, ``accelerate-llvm-native``, ``ad``), in this order:

1. ``$PYACCAD_GHC_ENV``: a package database directory or a GHC environment file, with the GHC that
   ``$PYACCAD_GHC`` names (default ``ghc`` on the PATH);
2. else ``stack``, where it is on the PATH and a ``stack.yaml`` is found (``$PYACCAD_STACK_YAML``, else the
   top-level ``stack.yaml`` of a pyaccad source checkout): the compiler and package databases that
   ``stack path`` names for that project (run ``stack build`` there first, so they hold accelerate);
3. else GHC's own default environment.

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
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pyaccad.errors import CompileError
from pyaccad.store import cache_root, write_atomically

GHC_TIMEOUT_S = 900  # a large exported program is slow to compile, but a hung GHC must not hang the caller
STACK_TIMEOUT_S = 120  # `stack path` may first read its snapshot index: slow, but bounded


@dataclass(frozen=True)
class Toolchain:
    """The GHC to run, the flags that show it the packages, and where both came from (for messages)."""

    compiler: str | None
    flags: tuple[str, ...]
    source: str


def toolchain() -> Toolchain:
    """The toolchain the environment names (see the module doc), found once per process and settings."""
    return _toolchain(
        os.environ.get("PYACCAD_GHC_ENV") or "",
        os.environ.get("PYACCAD_GHC") or "ghc",
        os.environ.get("PYACCAD_STACK_YAML") or "",
        os.environ.get("PATH", ""),
    )


@cache
def _toolchain(env: str, compiler: str, stack_yaml: str, path: str) -> Toolchain:
    if env:
        return Toolchain(shutil.which(compiler, path=path), tuple(package_flags(env)), "$PYACCAD_GHC_ENV")
    project = Path(stack_yaml) if stack_yaml else Path(__file__).resolve().parents[2] / "stack.yaml"
    stack = shutil.which("stack", path=path)
    if stack is not None and project.is_file():
        return _stack_toolchain(stack, project)
    return Toolchain(shutil.which(compiler, path=path), (), "GHC's default environment")


def _stack_toolchain(stack: str, project: Path) -> Toolchain:
    """The compiler and package databases ``stack path`` names for ``project`` (a stack.yaml)."""
    source = f"stack ({project})"

    def ask(key: str) -> str:
        try:
            ran = subprocess.run(
                [stack, "--stack-yaml", str(project), "path", key],
                capture_output=True,
                text=True,
                timeout=STACK_TIMEOUT_S,
            )
        except subprocess.TimeoutExpired:
            raise LookupError(f"`stack path {key}` did not answer within {STACK_TIMEOUT_S} s") from None
        if ran.returncode != 0 or not ran.stdout.strip():
            said = (ran.stderr.strip().splitlines() or ["no output"])[-1]
            raise LookupError(f"`stack path {key}` failed: {said}")
        return ran.stdout.strip()

    try:
        compiler = ask("--compiler-exe")
        databases = ask("--ghc-package-path").split(os.pathsep)
    except LookupError as exc:
        return Toolchain(None, (), f"{source}: {exc}")
    # GHC_PACKAGE_PATH lists the most local database first; with -package-db the last one given wins
    flags = ["-clear-package-db"] + [f for db in reversed(databases) for f in ("-package-db", db)]
    return Toolchain(compiler, tuple(flags), source)


def ghc() -> str | None:
    """The GHC to use (:func:`toolchain`; None when there is none)."""
    return toolchain().compiler


def no_ghc_reason() -> str:
    """Why :func:`ghc` found no compiler, in a line."""
    found = toolchain()
    if found.source.startswith("stack"):
        return f"no GHC from {found.source}"
    return "GHC is not installed (apt-get install ghc), or $PYACCAD_GHC names no program"


def package_flags(env: str | None = None) -> list[str]:
    """GHC's flags for finding the packages in ``env`` (a directory or an environment file); without ``env``,
    those of :func:`toolchain`."""
    if env is None:
        return list(toolchain().flags)
    if not env:
        return []
    return ["-package-db", env] if Path(env).is_dir() else ["-package-env", env]


@cache
def ghc_version(compiler: str) -> str:
    """GHC's version line (part of cache keys)."""
    return subprocess.run([compiler, "--version"], capture_output=True, text=True, check=False).stdout.strip()


def environment_fingerprint() -> str:
    """What identifies the package set: each database's package list and each environment file's text."""
    flags = package_flags()
    parts = []
    for flag, value in zip(flags, flags[1:], strict=False):
        if flag in ("-package-db", "-package-env"):
            path = Path(value)
            listing = path / "package.cache" if path.is_dir() else path
            try:
                parts.append(hashlib.sha256(listing.read_bytes()).hexdigest() + value)
            except OSError:
                parts.append(value)
    return "\0".join(parts)


def missing_module(module: str) -> str | None:
    """None when GHC (with :func:`package_flags`) can import ``module``, else why not, in a line."""
    compiler = ghc()
    if compiler is None:
        return no_ghc_reason()
    said = _probe(compiler, tuple(package_flags()), module)
    if said is None:
        return None
    return (
        f"{said} (looked in {toolchain().source}; name a package database or GHC environment file in "
        "$PYACCAD_GHC_ENV, or build the project's stack.yaml with stack)"
    )


@cache
def _probe(compiler: str, flags: tuple[str, ...], module: str) -> str | None:
    """None when GHC with ``flags`` can import ``module``, else what it said.

    GHC takes half a second to answer, which a new process's first call through a cached library should not
    pay, so the answer is remembered on disk, keyed by the compiler's file, the flags and the package set. A
    "no" is remembered only where the package set has a fingerprint (``$PYACCAD_GHC_ENV`` names it): GHC's
    default environment can gain the package without anything here noticing.
    """
    binary = os.path.realpath(compiler)
    stat = os.stat(binary)
    fingerprint = environment_fingerprint()
    facts = "\0".join([binary, str(stat.st_mtime_ns), str(stat.st_size), *flags, fingerprint, module])
    marker = cache_root() / "ghc-probes" / hashlib.sha256(facts.encode()).hexdigest()[:24]
    found, refused = marker.with_suffix(".ok"), marker.with_suffix(".no")
    if found.exists():
        return None
    if fingerprint and refused.exists():
        return refused.read_text() or f"GHC cannot import {module}"
    with tempfile.TemporaryDirectory(prefix="pyaccad-ghc-probe-") as folder:
        probe = Path(folder) / "Probe.hs"
        probe.write_text(f"import {module} ()\nmain :: IO ()\nmain = return ()\n")
        ran = subprocess.run(
            [compiler, *flags, "-fno-code", str(probe)], capture_output=True, text=True, timeout=GHC_TIMEOUT_S
        )
    if ran.returncode == 0:
        write_atomically(found, b"")
        return None
    said = [line.strip() for line in ran.stderr.splitlines() if "Could not" in line or "cannot" in line]
    answer = f"GHC cannot import {module}" + (f" ({said[0]})" if said else "")
    if fingerprint:
        write_atomically(refused, answer.encode())
    return answer


def compile_modules(
    what: str,
    modules: dict[str, str],
    folder: Path,
    flags: list[str],
    output: Path,
    environment: Mapping[str, str] | None = None,
) -> None:
    """Write ``modules`` (name → source; a ``.c`` suffix marks C) into ``folder`` and build ``output`` with GHC
    (in ``environment``, else this process's).

    A failure is a :class:`~pyaccad.errors.CompileError` naming ``what`` and carrying GHC's output.
    """
    compiler = ghc()
    if compiler is None:
        raise CompileError(f"{what}: {no_ghc_reason()}")
    files = []
    for name, source in modules.items():
        path = folder / (name if name.endswith(".c") else f"{name}.hs")
        path.write_text(source)
        files.append(str(path))
    command = [compiler, *flags, *package_flags(), "-outputdir", str(folder), "-o", str(output), *files]
    try:
        built = subprocess.run(command, capture_output=True, text=True, timeout=GHC_TIMEOUT_S, env=environment)
    except subprocess.TimeoutExpired as exc:
        raise CompileError(f"{what}: GHC did not finish within {GHC_TIMEOUT_S} s") from exc
    if built.returncode != 0:
        output_text = built.stdout[-4000:] + built.stderr[-8000:]
        raise CompileError(f"{what}: GHC failed (exit {built.returncode}):\n{output_text}")
