"""The on-disk cache of compiled libraries, and loading them with cffi (ABI mode, ``ffi.dlopen``).

Libraries live in ``$PYACCAD_CACHE_DIR/native`` (default
``~/.cache/pyaccad/native``), named by a hash of the generated source, the
compiler's version and the flags. Next to each ``KEY.so`` a ``KEY.sha256``
records the SHA-256 of the library's bytes, checked before ``dlopen`` (a
truncated library must never be mapped: touching its missing pages kills
the process with SIGBUS); each library also exports ``pyaccad_key()``,
returning the key it was built for. A mismatch on either means rebuild. A
build writes to a unique temporary name in the same directory, loads that,
then renames the library and its checksum into place with ``os.replace``
(atomic), so processes compiling the same program at once never see half a
file. The ``KEY.layout`` files beside them belong to :mod:`.layouts`.

>>> len(cache_key("int f(void);", ["-O3"]))
32
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from pyaccad.backends.native import build
from pyaccad.backends.native.ffi import ffi
from pyaccad.errors import CompileError

_LOADED: dict[str, Any] = {}  # key -> loaded library (explicit in-process cache)


def cache_dir() -> Path:
    root = os.environ.get("PYACCAD_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "pyaccad")
    return Path(root) / "native"


def cache_key(source: str, link: list[str]) -> str:
    cc = build.compiler() or "none"
    text = "\0".join([source, build.compiler_version(cc) if cc != "none" else "", *build.compile_flags(), *link])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _digest(path: Path | str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def _intact(path: Path) -> bool:
    """Whether ``path`` has exactly the bytes its ``.sha256`` file records."""
    try:
        return path.with_suffix(".sha256").read_text().strip() == _digest(path)
    except OSError:
        return False


def _try_load(path: Path | str, key: str) -> Any:
    """The library at ``path`` if it loads and reports ``key``, else None."""
    try:
        lib = ffi.dlopen(str(path))
        if ffi.string(lib.pyaccad_key()).decode() == key:
            return lib
    except (OSError, AttributeError):
        pass
    return None


def cached(key: str) -> Any:
    """The library built under ``key``, from memory or from disk if it is there and intact, else None."""
    lib = _LOADED.get(key)
    if lib is None:
        final = cache_dir() / f"{key}.so"
        lib = _try_load(final, key) if _intact(final) else None
        if lib is not None:
            _LOADED[key] = lib
    return lib


def load(source: str, link: list[str]) -> tuple[Any, str]:
    """The compiled library for ``source`` (from memory, from disk, or built now) and its key."""
    key = cache_key(source, link)
    lib = cached(key)
    if lib is not None:
        return lib, key
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    final = directory / f"{key}.so"
    full = source + f'const char *pyaccad_key(void) {{ return "{key}"; }}\n'
    fd, tmp = tempfile.mkstemp(prefix=f"{key}.", suffix=".so", dir=directory)
    os.close(fd)
    c_path = tmp[:-3] + ".c"
    try:
        build.build(full, c_path, tmp, link)
        try:
            lib = ffi.dlopen(tmp)
        except OSError as exc:  # e.g. an undefined symbol: a bug in the generated code or the link flags
            raise CompileError(f"native backend: the library just built does not load: {exc}") from exc
        digest_tmp = tmp[:-3] + ".sha256"
        with open(digest_tmp, "w") as f:
            f.write(_digest(tmp))
        os.replace(tmp, final)
        os.replace(digest_tmp, final.with_suffix(".sha256"))
        os.replace(c_path, directory / f"{key}.c")
    finally:
        for leftover in (tmp, c_path, tmp[:-3] + ".sha256"):
            if os.path.exists(leftover):
                os.unlink(leftover)
    _LOADED[key] = lib
    return lib, key
