"""IEEE arithmetic in accelerate's kernels, and a kernel cache of its own for each choice of accelerate's flags.

accelerate's ``fast_math`` flag is on by default: accelerate-llvm then gives LLVM the
fast-math flags ``reassoc``, ``contract``, ``arcp``, ``nsz`` and ``afn`` on every float
instruction, so ``x / 3.0`` becomes ``x * (1/3)`` (an ulp off for a third of ``x``),
``(x + 1e16) - 1e16`` becomes ``x`` (compensated sums and two-sums lose their error
term), ``-(a - b)`` becomes ``b - a`` (+0 where ``a == b``, for -0) and ``a * b + c`` an FMA. The bridge turns it
off, as the native backend keeps IEEE semantics: before its first library loads (accelerate
reads ``$ACCELERATE_FLAGS`` once, as its shared library loads), :func:`configure` puts
``-fno-fast-math`` first in ``$ACCELERATE_FLAGS``; ``$PYACCAD_ACCELERATE_FAST_MATH=1``
puts ``-ffast-math`` there instead. A user's own ``$ACCELERATE_FLAGS`` follow, so they
win: a ``-ffast-math`` or ``-fno-fast-math`` of theirs decides.

accelerate keys its on-disk kernel cache on its version, LLVM's, the target triple and the
CPU, not on the flags, so a kernel compiled with fast-math would be found and run by a
process without it. accelerate puts the cache under ``$XDG_CACHE_HOME/accelerate`` (else
``~/.cache/accelerate``), read at each kernel's lookup; the bridge gives accelerate a
``$XDG_CACHE_HOME`` of its own per choice of flags: ``kernels/ieee`` or
``kernels/fast-math`` under the cache's ``accelerate`` folder, or ``kernels/flags-HASH``
(a hash of the whole flag text) where the user gave flags. It is set in the process's C
environment only (``os.putenv``, by :mod:`.runtime`), which accelerate reads: Python's
``os.environ``, which other Python libraries read, keeps the user's value. Two things still
see the bridge's: a child process started without an environment of its own (it inherits
the C environment; a pyaccad child then takes ``$ACCELERATE_FLAGS`` starting with the same
choice as that choice, not as flags of the user's); and a program that sets
``os.environ["XDG_CACHE_HOME"]`` after the bridge loaded moves accelerate's cache there too
(``os.environ`` writes the C environment), where kernels of the other choice may be.

>>> env = {"ACCELERATE_FLAGS": "-fno-fusion"}
>>> home = configure(env, argv=())
>>> env["ACCELERATE_FLAGS"], home.parent.name, home.name.startswith("flags-")
('-fno-fast-math -fno-fusion', 'kernels', True)
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path

from pyaccad.store import cache_root


def configure(environ: MutableMapping[str, str] = os.environ, argv: Sequence[str] = sys.orig_argv) -> Path:
    """Put the bridge's fast-math choice before the user's flags in ``environ["ACCELERATE_FLAGS"]``; the folder
    to give accelerate as its ``$XDG_CACHE_HOME``, named by the flags in force (``argv``'s ``+ACC ... -ACC``
    options included: accelerate reads those too, after the variable's)."""
    fast = environ.get("PYACCAD_ACCELERATE_FAST_MATH", "0") == "1"
    ours = "-ffast-math" if fast else "-fno-fast-math"
    given = environ.get("ACCELERATE_FLAGS", "").strip()
    if given.split(" ", 1)[0] == ours:  # ours already (set by a parent process): the same flags without it
        given = given[len(ours) :].strip()
    environ["ACCELERATE_FLAGS"] = f"{ours} {given}".strip()
    users = " ".join([given, *_command_line_flags(argv)]).strip()
    if users:
        name = "flags-" + hashlib.sha256(f"{ours} {users}".encode()).hexdigest()[:16]
    else:
        name = "fast-math" if fast else "ieee"
    return cache_root() / "accelerate" / "kernels" / name


def reassociates(environ: Mapping[str, str] = os.environ, argv: Sequence[str] = sys.orig_argv) -> bool:
    """Whether the flags in force let LLVM reorder float arithmetic: the last of ``-ffast-math`` and
    ``-fno-fast-math`` among the bridge's choice, ``$ACCELERATE_FLAGS`` and the command line's, as accelerate
    reads them.

    >>> reassociates({}, ()), reassociates({"PYACCAD_ACCELERATE_FAST_MATH": "1"}, ())
    (False, True)
    >>> reassociates({"ACCELERATE_FLAGS": "-ffast-math"}, ("python", "+ACC", "-fno-fast-math", "-ACC"))
    False
    """
    ours = "-ffast-math" if environ.get("PYACCAD_ACCELERATE_FAST_MATH", "0") == "1" else "-fno-fast-math"
    flags = [ours, *environ.get("ACCELERATE_FLAGS", "").split(), *_command_line_flags(argv)]
    return [f for f in flags if f in ("-ffast-math", "-fno-fast-math")][-1] == "-ffast-math"


def _command_line_flags(argv: Sequence[str]) -> list[str]:
    """The options between ``+ACC`` and ``-ACC`` (or the end) on the command line, which accelerate reads as it
    loads (as the GHC runtime reads ``+RTS ... -RTS``)."""
    flags, inside = [], False
    for arg in argv:
        if arg.startswith("+ACC"):
            inside = True
        elif arg.startswith("-ACC"):
            inside = False
        elif inside:
            flags.append(arg)
    return flags
