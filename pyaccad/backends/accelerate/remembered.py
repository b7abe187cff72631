"""Remembered modules: a new process at a size the cache has seen fits no extents.

Writing a program for every size (:mod:`pyaccad.export.extents`) traces its function
again 2^k + k + 2 times for k symbols (13 traces of an mlp's gradient), most of a warm
start. So next to the libraries, ``KEY.module`` remembers the module printed for each
program already run, under a key made of the program itself
(:func:`pyaccad.opt.keys.program_key`: primitives, parameters, constants' bytes,
literals' bits, every type with its extents), the blas flag and the source of the
code that prints it (export, optimiser, this backend, and the IR's primitive tables, which hold the
element-wise operations' Haskell templates). A module remembered for a
program computes that program at its sizes, whichever function it was fitted from:
it is remembered only for programs its fit describes. Programs whose parameters hold
anything but plain data (numbers, strings, dtypes, arrays, programs) are not
remembered, nor found; a missing, corrupt or foreign entry means a fit.

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> len(key(trace(lambda x: x[1:] * 2.0, np.ones(5)).program, blas=False))
32
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from pyaccad.ir import Program
from pyaccad.opt.keys import program_key
from pyaccad.store import cache_root, write_atomically

# The code whose output a remembered module is: the element-wise primitives' Haskell templates are the IR table's.
_PRINTER = ("export", "opt", "backends/accelerate", "ir/primitives")


@cache
def _printer_digest() -> str:
    root = Path(__file__).resolve().parents[2]
    digest = hashlib.sha256()
    for part in _PRINTER:
        for file in sorted((root / part).glob("*.py")):
            digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def _plain(value: Any) -> bool:
    """Whether ``value`` (a parameter) is data that :func:`program_key` writes in full."""
    if isinstance(value, Program):
        return all(_plain(v) for stmt in value.stmts for v in stmt.params.values())
    if isinstance(value, tuple | list):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, bool | int | float | str | np.dtype | np.generic | np.ndarray)


def key(program: Program, blas: bool, ordered_folds: bool = True, partial_sums: bool = False) -> str | None:
    """The key of ``program``'s remembered module (printed with ``blas``, ``ordered_folds`` and ``partial_sums``,
    as :func:`pyaccad.export.export_program` takes them), or None when it cannot be remembered."""
    if not _plain(program):
        return None
    style = [str(blas), str(ordered_folds), str(partial_sums)]
    text = "\0".join([repr(program_key(program)), *style, _printer_digest()])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _path(entry: str) -> Path:
    return cache_root() / "accelerate" / f"{entry}.module"


def find(entry: str | None) -> str | None:
    """The module remembered under ``entry``, or None."""
    if entry is None:
        return None
    try:
        found = json.loads(_path(entry).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(found, dict) or found.get("key") != entry or not isinstance(found.get("module"), str):
        return None
    return found["module"]


def remember(entry: str | None, module: str) -> None:
    """Remember ``module`` under ``entry`` (atomically: write, then rename); nothing where ``entry`` is None or
    the module is remembered already."""
    if entry is not None and find(entry) != module:
        write_atomically(_path(entry), json.dumps({"key": entry, "module": module}).encode())
