"""The accelerate bridge: programs run by GHC-compiled ``accelerate``, loaded back through cffi.

A program (and so any derivative) is traced, differentiated and optimised as for
every backend, exported as an ``accelerate`` module (:mod:`pyaccad.export`), given a
C entry point (:mod:`.entry`), compiled by GHC into a shared library (:mod:`.build`)
against ``accelerate-llvm-native`` (or accelerate's interpreter; float matrix
products through ``accelerate-blas`` where GHC finds it), cached on disk
under ``$PYACCAD_CACHE_DIR/accelerate/`` (key: both generated modules, GHC's
version, the package set, the target; written atomically with a checksum, as the
native libraries are), and called through cffi (:mod:`.runtime`). accelerate
compiles the program itself on the library's first call and keeps it.

What can run is what the export can print: :class:`pyaccad.export.ExportError`
names anything else. Extents are fixed at the traced shapes (a new shape is a new
trace, as for every backend). ``acc.lower(f, *args, backend="accelerate")``
prints both modules even where GHC or accelerate is missing.

>>> BACKEND.name
'accelerate'
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pyaccad.backends.accelerate import build
from pyaccad.backends.accelerate.entry import START_C, TARGET_MODULES, entry_source
from pyaccad.export import export_program, ghc
from pyaccad.ir import Program
from pyaccad.store import Store

STORE = Store("accelerate", ".so")
_LOADED: dict[str, Any] = {}  # key -> loaded library: a library is loaded once per process


_PLACEHOLDER = "PyaccadKey"  # the modules are printed once with this in their names, then named by their key


def library(program: Program, target: str) -> tuple[str, dict[str, str]]:
    """The cache key of ``program``'s library (a hash of its modules, GHC, the packages and the target) and its
    modules, named by the key."""
    modules = {
        f"PyaccadProgram{_PLACEHOLDER}": export_program(
            program,
            module=f"PyaccadProgram{_PLACEHOLDER}",
            name="f",
            blas=build.uses_blas(),
            ordered_folds=target != "interpreter",  # its bitcast is wrong (accelerate 1.4)
        ),
        f"PyaccadEntry{_PLACEHOLDER}": entry_source(program, _PLACEHOLDER, target),
    }
    compiler = ghc.ghc() or ""
    text = "\0".join([*modules.values(), START_C, ghc.ghc_version(compiler) if compiler else "", target])
    text += "\0".join(["", *build.link_flags(), ghc.environment_fingerprint()])
    key = "K" + hashlib.sha256(text.encode()).hexdigest()[:24]
    return key, {name.replace(_PLACEHOLDER, key): source.replace(_PLACEHOLDER, key) for name, source in modules.items()}


class AccelerateBackend:
    """``compile(program)`` → an executable running it through accelerate (NumPy in, NumPy out)."""

    name = "accelerate"

    def unavailable_reason(self) -> str | None:
        return build.unavailable_reason()

    def compile(self, program: Program) -> Any:
        from pyaccad.backends.accelerate import runtime

        target = build.target()
        key, modules = library(program, target)
        lib = _LOADED.get(key)
        if lib is None:
            path = STORE.find(key)
            if path is not None:
                lib = runtime.load(path)
            else:

                def make(tmp: Path, companions: dict[str, Path]) -> None:
                    nonlocal lib
                    build.build_library(modules, START_C, tmp)
                    lib = runtime.load(tmp)  # a library that does not load never reaches the store

                STORE.publish(key, make)
            _LOADED[key] = lib
        return runtime.Executable(lib, program.input_types, program.output_types)

    def describe(self, program: Program) -> str:
        """The two Haskell modules of the program's library."""
        target = build.target()
        _, modules = library(program, target)
        head = f"-- accelerate target: {target} ({TARGET_MODULES[target]}; $PYACCAD_ACCELERATE_TARGET chooses)\n"
        return head + "\n".join(modules.values())


BACKEND = AccelerateBackend()
