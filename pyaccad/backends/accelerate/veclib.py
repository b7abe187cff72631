"""Vector math in accelerate-llvm-native's kernels: its clang told to call glibc's ``libmvec``.

accelerate-llvm-native compiles each kernel's LLVM IR with ``clang -O3 -march=native``
(``$ACCELERATE_LLVM_CLANG_PATH`` names the clang) and links it with ``$LD`` (else
``$CC``, else ``cc``). Its loops call ``sinf``, ``expf``, ``logf``... one element at a
time, and clang vectorises such loops only when it knows a vector math library. So,
before the bridge's GHC runtime starts, :func:`configure` points accelerate at two
small wrappers written into the cache: clang with ``-fveclib=libmvec``, and the linker
with ``-lmvec`` (glibc's vector math, within 4 ulps of the scalar functions), which also
writes each kernel's shared object under a temporary name and renames it into place, so
that processes sharing accelerate's cache never load one half-written. Measured
through the bridge (2-core Xeon, 2^20 float32): ``Σ sin(x)·x`` 8.1–23.7 → 0.65 ms, its
gradient 9.6 → 1.5 ms, a row-wise log-sum-exp 3.3 → 0.63 ms.

The vector math is left out where the user chose (``$ACCELERATE_LLVM_CLANG_PATH``
or ``$LD`` set), where ``$PYACCAD_ACCELERATE_VECLIB`` is ``0``, off x86-64 Linux, without
``libmvec``, or when this clang does not take the flag; the renaming linker is still
installed then (without ``-lmvec``), unless the user set ``$LD``. A child process inherits the
wrappers its pyaccad parent set: ``$PYACCAD_ACCELERATE_TOOLCHAIN`` (:data:`MARK`) names them, so the child
does not take them for a toolchain of the user's.

>>> env = {"PYACCAD_ACCELERATE_VECLIB": "0", "LD": "/usr/bin/ld.gold"}
>>> configure(env), env
(False, {'PYACCAD_ACCELERATE_VECLIB': '0', 'LD': '/usr/bin/ld.gold'})
"""

from __future__ import annotations

import ctypes.util
import hashlib
import os
import platform
import shlex
import shutil
import subprocess
from collections.abc import MutableMapping
from pathlib import Path

from pyaccad.store import cache_root, write_atomically

FLAG = "-fveclib=libmvec"


MARK = "PYACCAD_ACCELERATE_TOOLCHAIN"
"""Names the wrappers :func:`configure` set, so that a child process (which inherits them) tells them from a
user's own ``$ACCELERATE_LLVM_CLANG_PATH`` and ``$LD``."""


def configure(environ: MutableMapping[str, str] = os.environ) -> bool:
    """Point accelerate-llvm-native at the wrappers (see the module doc); whether its kernels get vector math."""
    inherited = environ.get(MARK, "").split("\n")
    if inherited[0] and inherited[0] == environ.get("ACCELERATE_LLVM_CLANG_PATH"):  # a parent pyaccad's wrappers
        if environ.get("PYACCAD_ACCELERATE_VECLIB", "1") != "0":
            return True
        for name, ours in zip(("ACCELERATE_LLVM_CLANG_PATH", "LD"), inherited, strict=False):
            if environ.get(name) == ours:
                del environ[name]
    vector_math = _vector_math_clang(environ)
    if vector_math is not None:
        compiler = f'#!/bin/sh\nexec {shlex.join([vector_math, FLAG])} "$@"\n'
        environ["ACCELERATE_LLVM_CLANG_PATH"] = str(_wrapper("clang", compiler))
    linker = environ.get("CC") or shutil.which("cc", path=environ.get("PATH"))
    if "LD" not in environ and linker is not None:  # a user's own $LD is theirs
        libraries = " -lmvec" if vector_math is not None else ""
        environ["LD"] = str(_wrapper("ld", _LINK.format(linker=shlex.quote(linker), libraries=libraries)))
    if vector_math is not None:
        environ[MARK] = f"{environ['ACCELERATE_LLVM_CLANG_PATH']}\n{environ.get('LD', '')}"
    return vector_math is not None


def _vector_math_clang(environ: MutableMapping[str, str]) -> str | None:
    """The clang to give ``-fveclib=libmvec``, where vector math is wanted and possible (see the module doc)."""
    if environ.get("PYACCAD_ACCELERATE_VECLIB", "1") == "0":
        return None
    if "ACCELERATE_LLVM_CLANG_PATH" in environ or "LD" in environ:  # the user's own toolchain (-lmvec is ours)
        return None
    if platform.system() != "Linux" or platform.machine() != "x86_64" or ctypes.util.find_library("mvec") is None:
        return None
    clang = shutil.which("clang", path=environ.get("PATH"))
    return clang if clang is not None and _takes_the_flag(clang) else None


# accelerate-llvm-native links each kernel in place (`ld --shared -o FILE`) once it finds no FILE, so another process
# running the same kernel can find FILE half-written and fail to load it ("file too short"). The linker wrapper
# links to a temporary name beside FILE (the wrapper's process id in it) and renames it into place.
_LINK = """#!/bin/sh
out=
prev=
for arg do
  shift
  if [ "$prev" = -o ]; then out=$arg; arg=$arg.tmp$$; fi
  set -- "$@" "$arg"
  prev=$arg
done
{linker} "$@"{libraries} || {{ status=$?; rm -f "$out.tmp$$"; exit $status; }}
[ -z "$out" ] || mv -f "$out.tmp$$" "$out"
"""


def _wrapper(name: str, text: str) -> Path:
    """An executable script of ``text`` in the cache (named by its content)."""
    path = cache_root() / "accelerate" / "toolchain" / f"{name}-{hashlib.sha256(text.encode()).hexdigest()[:16]}"
    if not path.exists():
        write_atomically(path, text.encode(), mode=0o755)
    return path


def _takes_the_flag(clang: str) -> bool:
    """Whether ``clang`` accepts ``-fveclib=libmvec`` (clang 14 does; an old one may not)."""
    try:
        ran = subprocess.run(
            [clang, FLAG, "-x", "c", "-fsyntax-only", "-"], input="int x;\n", capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return ran.returncode == 0
