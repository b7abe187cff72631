"""Native libraries in the backends' on-disk store (:mod:`pyaccad.store`), loaded with cffi (ABI mode).

Libraries are ``$PYACCAD_CACHE_DIR/native/KEY.so``, named by a hash of the
generated source, the compiler's version, the flags and the CPU (:func:`pyaccad.store.host_cpu`:
``-march=native`` code), each with its checksum (checked before ``dlopen``) and its C source beside it.
Each library also exports ``pyaccad_key()``, returning the key it was built for; a mismatch means rebuild.
A build is loaded from its temporary name before it is moved into place, so a
library that does not load never reaches the store. The ``KEY.layout`` files
beside them belong to :mod:`.layouts`.

>>> len(cache_key("int f(void);", ["-O3"]))
32
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pyaccad.backends.native import build, openmp
from pyaccad.backends.native.ffi import ffi
from pyaccad.errors import CompileError
from pyaccad.store import Store, host_cpu

_LOADED: dict[str, Any] = {}  # key -> loaded library (explicit in-process cache)
STORE = Store("native", ".so")


def cache_key(source: str, link: list[str]) -> str:
    cc = build.compiler() or "none"
    # -march=native: the library holds code for this CPU, which another machine sharing the cache may not run
    text = "\0".join([source, build.compiler_version(cc) if cc != "none" else "", *build.compile_flags(), *link])
    text += "\0" + host_cpu()
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _try_load(path: Path | str, key: str) -> Any:
    """The library at ``path`` if it loads and reports ``key``, else None."""
    try:
        lib = openmp.dlopen(str(path))
        if ffi.string(lib.pyaccad_key()).decode() == key:
            return lib
    except (OSError, AttributeError):
        pass
    return None


def cached(key: str) -> Any:
    """The library built under ``key``, from memory or from disk if it is there and intact, else None."""
    lib = _LOADED.get(key)
    if lib is None:
        path = STORE.find(key)
        lib = _try_load(path, key) if path is not None else None
        if lib is not None:
            _LOADED[key] = lib
    return lib


def load(source: str, link: list[str]) -> tuple[Any, str]:
    """The compiled library for ``source`` (from memory, from disk, or built now) and its key."""
    key = cache_key(source, link)
    lib = cached(key)
    if lib is not None:
        return lib, key
    full = source + f'const char *pyaccad_key(void) {{ return "{key}"; }}\n'

    def make(tmp: Path, companions: dict[str, Path]) -> None:
        nonlocal lib
        build.build(full, str(companions[".c"]), str(tmp), link)
        try:
            lib = openmp.dlopen(str(tmp))
        except OSError as exc:  # e.g. an undefined symbol: a bug in the generated code or the link flags
            raise CompileError(f"native backend: the library just built does not load: {exc}") from exc

    STORE.publish(key, make, companions=(".c",))
    _LOADED[key] = lib
    return lib, key
