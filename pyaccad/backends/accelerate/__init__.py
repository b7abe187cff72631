"""The accelerate bridge: programs run by GHC-compiled ``accelerate``, loaded back through cffi.

A program (and so any derivative) is traced, differentiated and optimised as for
every backend, exported as an ``accelerate`` module (:mod:`pyaccad.export`), given a
C entry point (:mod:`.entry`), compiled by GHC into a shared library (:mod:`.build`)
against ``accelerate-llvm-native`` (or accelerate's interpreter; float matrix
products through ``accelerate-blas`` where GHC finds it), cached on disk
under ``$PYACCAD_CACHE_DIR/accelerate/`` (key: both generated modules, GHC's
version, the package set, the target, and for a library compiled ahead of time
accelerate's flags, its kernels' math and the CPU; written atomically with a
checksum, as the native libraries are), and called through cffi (:mod:`.runtime`).
On accelerate-llvm-native, accelerate compiles the program while GHC builds the
library (``runQ``, :mod:`.entry`), so a process that finds the library runs the
program at once; a program calling accelerate-blas, and the other targets, are
compiled by accelerate on the library's first call in each process (``runN``).

What can run is what the export can print: :class:`pyaccad.export.ExportError`
names anything else. One library serves every size: ``acc.jit`` hands the backend
the function as well as its program (:class:`pyaccad.backends.Retrace`), the export
is written in terms of the inputs' extents (:mod:`pyaccad.export.extents`, which
traces the function again at other sizes), and the library takes the extents with
each call (:mod:`.entry`). A program traced at a new size whose structure and
numbers are those the fit wrote for (:meth:`~pyaccad.export.extents.Extents.describes`)
runs on the library already loaded, with no export and no GHC; a program that
cannot be written for every size (the export keeps its extents fixed and says why
in the module's header) gets a library per size, as does a program compiled
without its function (``BACKEND.compile(program)``). A new process at a size the
cache has seen finds the module there (:mod:`.remembered`), without a fit.
``acc.lower(f, *args, backend="accelerate")`` prints both modules even where GHC or
accelerate is missing.

accelerate does not check its reads (out of bounds, accelerate-llvm reads any memory), so the
library runs a checked export (:mod:`pyaccad.export.checked`): every read stays inside its array,
and the program returns one more value, whether all were in bounds. Where one was not, the
program runs once more on the interpreter, which raises the same ``IndexOutOfBounds`` as the
other backends, naming the read's line.

>>> BACKEND.name
'accelerate'
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pyaccad.backends import Retrace
from pyaccad.backends.accelerate import build, fastmath, remembered
from pyaccad.backends.accelerate.entry import START_C, TARGET_MODULES, entry_source
from pyaccad.errors import CompileError, IndexOutOfBounds
from pyaccad.export import ghc
from pyaccad.export.extents import Extents, numbers
from pyaccad.export.haskell import module_source, shape_generic_module_source
from pyaccad.ir import BOOL, Program, Var
from pyaccad.ir.types import ArrayType
from pyaccad.store import Store, host_cpu

STORE = Store("accelerate", ".so")
_LOADED: dict[str, Any] = {}  # key -> loaded library: a library is loaded once per process
# The shape-generic modules printed in this process, by the structure of the program they were fitted to (and
# the blas flag they were printed with): a program at a new size that one of them describes needs no new fit.
_WRITTEN: dict[tuple, list[tuple[Extents, str]]] = {}
BUILDS: list[str] = []
"""The keys of the libraries GHC built in this process, in order (what a new size is checked not to add to)."""

_PLACEHOLDER = "PyaccadKey"  # the modules are printed once with this in their names, then named by their key
_MODULE = f"PyaccadProgram{_PLACEHOLDER}"


def program_module(
    program: Program, retrace: Retrace | None = None, ordered_folds: bool = True, partial_sums: bool = False
) -> str:
    """The export of ``program`` that its library runs (its module named with the placeholder): written for
    every size where ``retrace`` says how ``program`` was traced, else at ``program``'s extents. The header
    line naming the example's arguments is left out: the module is the same at every size it serves.
    ``ordered_folds`` and ``partial_sums`` are :class:`pyaccad.export.printer.Printer`'s."""
    blas = build.uses_blas()
    style = {"ordered_folds": ordered_folds, "checked_reads": True, "partial_sums": partial_sums}
    if retrace is None:
        return _without_header(module_source(program, _MODULE, "f", blas, **style))
    entry = remembered.key(program, blas, ordered_folds, partial_sums)
    written = _WRITTEN.setdefault((tuple(numbers(program)[0]), blas, ordered_folds, partial_sums), [])
    source = next((text for extents, text in written if extents.describes(program)), None)
    if source is None:
        source = remembered.find(entry)
        if source is not None:
            return source
        printed, extents = shape_generic_module_source(
            retrace.fn, retrace.args, retrace.trace, _MODULE, "f", blas, **style
        )
        source = _without_header(printed)
        written.append((extents, source))
    remembered.remember(entry, source)
    return source


def _without_header(source: str) -> str:
    header, rest = source.split("\n", 1)
    assert header.startswith("-- | f, exported by pyaccad from a trace"), header
    return rest


def library(program: Program, target: str, retrace: Retrace | None = None) -> tuple[str, dict[str, str]]:
    """The cache key of ``program``'s library and its modules, named by the key (see :func:`program_module` for
    ``retrace``). The key hashes the modules, GHC, the packages, the target, and accelerate's flags, kernel math
    and this CPU, which a library compiled ahead of time holds kernels for."""
    compiled = target != "interpreter"  # the Interpreter's bitcast is wrong; it sums in order anyway
    program_text = program_module(program, retrace, compiled, compiled and not fastmath.reassociates())
    ahead = build.ahead_of_time(target, program_text)
    modules = {
        _MODULE: program_text,
        f"PyaccadEntry{_PLACEHOLDER}": entry_source(_with_flag(program), _PLACEHOLDER, target, ahead),
    }
    compiler = ghc.ghc() or ""
    text = "\0".join([*modules.values(), START_C, ghc.ghc_version(compiler) if compiler else "", target])
    text += "\0".join(["", *build.link_flags(), ghc.environment_fingerprint()])
    if ahead:  # the kernel cache's name says accelerate's flags and kernel math (.runtime)
        from pyaccad.backends.accelerate import runtime

        text += "\0".join(["", runtime.kernel_home(), host_cpu()])
    key = "K" + hashlib.sha256(text.encode()).hexdigest()[:24]
    return key, {name.replace(_PLACEHOLDER, key): source.replace(_PLACEHOLDER, key) for name, source in modules.items()}


def _with_flag(program: Program) -> Program:
    """``program``'s interface as its module has it: one more output, whether every read was in bounds."""
    return Program(program.inputs, program.stmts, (*program.outputs, Var(ArrayType(BOOL, ()), "ok")))


class _Checked:
    """A library's program that raises :class:`pyaccad.IndexOutOfBounds` where a read failed: its module says
    so (:mod:`pyaccad.export.checked`), and the interpreter, given the same inputs, says which read and where."""

    def __init__(self, executable: Any, program: Program) -> None:
        self.executable, self.program = executable, program

    def __call__(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        *outputs, ok = self.executable(inputs)
        if not ok:
            from pyaccad.backends.interp import BACKEND as INTERP

            INTERP.compile(self.program)(inputs)
            raise IndexOutOfBounds("accelerate: a read was out of bounds (the interpreter found none: a bug)")
        return outputs


class AccelerateBackend:
    """``compile(program)`` → an executable running it through accelerate (NumPy in, NumPy out)."""

    name = "accelerate"
    shape_generic = True  # acc.jit passes the function too: see pyaccad.backends.Retrace

    def unavailable_reason(self) -> str | None:
        return build.unavailable_reason()

    def compile(self, program: Program, retrace: Retrace | None = None) -> Any:
        from pyaccad.backends.accelerate import runtime

        target = build.target()
        key, modules = library(program, target, retrace)
        lib = _LOADED.get(key)
        if lib is None:
            path = STORE.find(key)
            if path is not None:
                lib = runtime.load(path)
            else:

                def make(tmp: Path, companions: dict[str, Path]) -> None:
                    nonlocal lib
                    environment = runtime.build_environment()
                    try:
                        build.build_library(modules, START_C, tmp, *environment)
                    except CompileError as failure:
                        if not build.declined_ahead_of_time(failure):
                            raise
                        entry = f"PyaccadEntry{key}"  # the same library, accelerate compiling it on its first call
                        later = {**modules, entry: entry_source(_with_flag(program), key, target)}
                        build.build_library(later, START_C, tmp, *environment)
                    BUILDS.append(key)
                    lib = runtime.load(tmp)  # a library that does not load never reaches the store

                STORE.publish(key, make)
            _LOADED[key] = lib
        return _Checked(runtime.Executable(lib, program.input_types, _with_flag(program).output_types), program)

    def describe(self, program: Program, retrace: Retrace | None = None) -> str:
        """The two Haskell modules of the program's library."""
        target = build.target()
        _, modules = library(program, target, retrace)
        head = f"-- accelerate target: {target} ({TARGET_MODULES[target]}; $PYACCAD_ACCELERATE_TARGET chooses)\n"
        return head + "\n".join(modules.values())


BACKEND = AccelerateBackend()
