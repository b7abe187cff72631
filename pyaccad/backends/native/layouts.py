"""Remembered layouts: a warm start skips fusion and code generation (and importing them).

A program's library is found by the hash of its C source, so finding it
means generating that source first: fusion, code generation and the import
of every skeleton module, most of a warm-cache start in a new process. So
next to the libraries, ``KEY.layout`` remembers, for each program already
built, its :class:`.runtime.Layout` and the key of its library, under a key
made of the program's text (:func:`pyaccad.ir.pprint`, which shows shapes
and literal values), the dtypes of its literals, the source lines its
run-time errors name, the code generator's own source, and the compiler,
flags, link flags and CPU (as the library's key). Programs holding arrays
(``acc.use`` constants, array parameters, which the text abbreviates) are not remembered. A missing,
corrupt or foreign entry, or a library that is gone, means the full path.

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> len(program_key(trace(lambda x: x + 1.0, np.ones(3)).program))
32
"""

from __future__ import annotations

import hashlib
import os
import pickle
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from pyaccad.backends.native import build
from pyaccad.backends.native.blas_library import blas_library
from pyaccad.backends.native.cache import STORE, cached
from pyaccad.errors import BackendUnavailable, CompileError
from pyaccad.ir import Lit, Program, pprint
from pyaccad.store import host_cpu, write_atomically

_GENERATOR = ("backends/native", "backends/clike", "opt")  # the code that plans and writes the C source


@cache
def _generator_digest() -> str:
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for part in _GENERATOR:
        path = root / part
        for file in sorted(path.glob("*.py")) if path.is_dir() else [path]:
            digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def _details(program: Program, out: list[str]) -> bool:
    """Append what the text leaves out (literal dtypes, source lines); False if the program holds arrays."""
    for stmt in program.stmts:
        if any(isinstance(v, np.ndarray) for v in stmt.params.values()):
            return False
        out.append(f"{stmt.source}|" + ",".join(str(a.dtype) for a in stmt.args if isinstance(a, Lit)))
        if not all(_details(sub, out) for sub in stmt.subprograms()):
            return False
    out.append(",".join(str(a.dtype) for a in program.outputs if isinstance(a, Lit)))
    return True


def program_key(program: Program) -> str | None:
    """The key of ``program``'s remembered layout, or None when it cannot be remembered."""
    parts = [pprint(program)]
    if not _details(program, parts):
        return None
    cc = build.compiler()
    if cc is None:
        return None
    try:
        blas = list(blas_library().link)
    except (CompileError, BackendUnavailable):
        blas = []
    parts += [_generator_digest(), build.compiler_version(cc), *build.compile_flags(), *blas, host_cpu()]
    parts.append(os.environ.get("PYACCAD_NATIVE_PROFILE", ""))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def find(key: str) -> tuple[Any, Any] | None:
    """``(library, layout)`` remembered under ``key``, or None."""
    try:
        with open(STORE.directory / f"{key}.layout", "rb") as f:
            entry = pickle.load(f)
        lib_key, layout = entry["library"], entry["layout"]
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, KeyError, TypeError, ValueError):
        return None
    if entry.get("key") != key:
        return None
    lib = cached(lib_key)
    return None if lib is None else (lib, layout)


def remember(key: str, lib_key: str, layout: Any) -> None:
    """Remember ``layout`` and its library's key under ``key`` (atomically: write, then rename)."""
    write_atomically(
        STORE.directory / f"{key}.layout", pickle.dumps({"key": key, "library": lib_key, "layout": layout})
    )
