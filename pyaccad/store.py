"""The on-disk store of compiled artifacts that every compiling backend shares.

A backend's artifacts (native shared libraries, CUDA modules) live in
``$PYACCAD_CACHE_DIR/<backend>`` (default ``~/.cache/pyaccad/<backend>``), named by
a key the backend derives from everything that went into them (source, compiler
and version, flags). Next to each ``KEY<suffix>`` a ``KEY.sha256`` records the
SHA-256 of its bytes, checked before it is used: a truncated shared library must
never be mapped (touching its missing pages kills the process with SIGBUS). A
build writes to a unique temporary name in the same directory, the backend checks
it there (a library is loaded), then the artifact, its checksum and any companion
files are renamed into place with ``os.replace`` (atomic), so processes building the
same program at once never see half a file, and a failed build leaves nothing.

>>> import tempfile, os
>>> os.environ["PYACCAD_CACHE_DIR"] = tempfile.mkdtemp()
>>> store = Store("demo", ".bin")
>>> store.find("k1") is None
True
>>> path = store.publish("k1", lambda tmp, companions: tmp.write_bytes(b"compiled"))
>>> store.find("k1") == path, path.read_bytes()
(True, b'compiled')
"""

from __future__ import annotations

import atexit
import hashlib
import os
import platform
import shutil
import tempfile
import warnings
from collections.abc import Callable
from functools import cache
from pathlib import Path

_USABLE: dict[str, Path] = {}  # configured root -> the root used (itself, or a private fallback)


def cache_root() -> Path:
    """``$PYACCAD_CACHE_DIR``, else ``~/.cache/pyaccad``; where that cannot be a directory (it is a file, or it
    cannot be created), a warning and a private temporary directory for this process instead.

    >>> import tempfile, os, warnings
    >>> with tempfile.NamedTemporaryFile() as f, warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     os.environ["PYACCAD_CACHE_DIR"] = f.name
    ...     fallback = cache_root()
    >>> fallback.is_dir(), "is not a usable directory" in str(caught[0].message)
    (True, True)
    """
    configured = os.environ.get("PYACCAD_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "pyaccad")
    root = _USABLE.get(configured)
    if root is None:
        root = _USABLE[configured] = _usable(Path(configured))
    return root


def _usable(root: Path) -> Path:
    try:
        root.mkdir(parents=True, exist_ok=True)
        return root
    except OSError as exc:  # a file of that name, a file on the way to it, no permission
        problem = "it is a file" if root.is_file() else exc.strerror or type(exc).__name__
    fallback = Path(tempfile.mkdtemp(prefix="pyaccad-cache-"))  # mode 0700: private to this user
    atexit.register(shutil.rmtree, fallback, ignore_errors=True)
    warnings.warn(
        f"pyaccad: the compile cache $PYACCAD_CACHE_DIR={str(root)!r} is not a usable directory ({problem}); "
        f"using the private temporary cache {fallback} for this process (compiled programs are not kept)",
        RuntimeWarning,
        stacklevel=2,
    )
    return fallback


def digest(path: Path | str) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


_CPU_FIELDS = ("vendor_id", "cpu family", "model", "model name", "flags")  # x86-64
_CPU_FIELDS += ("CPU implementer", "CPU architecture", "CPU variant", "CPU part", "Features")  # arm64


@cache
def host_cpu() -> str:
    """A fingerprint of what code compiled for this CPU (``-march=native``) depends on: its vendor, family, model
    and instruction set extensions as Linux's ``/proc/cpuinfo`` lists them for its first processor (elsewhere,
    what :mod:`platform` says). Backends put it in the keys of what they compile for the CPU, so that a cache
    shared between machines (a home directory on a network drive) never hands one of them code with
    instructions it lacks, which would kill the process with SIGILL.

    >>> len(host_cpu())
    16
    """
    try:
        first = Path("/proc/cpuinfo").read_text().split("\n\n", 1)[0]
    except OSError:
        first = ""
    fields = [line for line in first.splitlines() if line.split(":", 1)[0].strip() in _CPU_FIELDS]
    text = "\n".join([platform.machine(), platform.processor(), *fields])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def write_atomically(path: Path, data: bytes, mode: int | None = None) -> None:
    """``path`` holds ``data`` afterwards (with permission bits ``mode``, where given), and no reader ever sees
    it half written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f"{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if mode is not None:
                os.fchmod(f.fileno(), mode)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


class Store:
    """The artifacts of one backend: ``name`` is its folder, ``suffix`` its artifacts' file suffix."""

    def __init__(self, name: str, suffix: str) -> None:
        self.name, self.suffix = name, suffix

    @property
    def directory(self) -> Path:
        return cache_root() / self.name

    def path(self, key: str) -> Path:
        """Where the artifact built under ``key`` lives (whether or not it is there)."""
        return self.directory / f"{key}{self.suffix}"

    def find(self, key: str) -> Path | None:
        """The artifact built under ``key`` if it is there with exactly the bytes its checksum records."""
        path = self.path(key)
        try:
            if (self.directory / f"{key}.sha256").read_text().strip() == digest(path):
                return path
        except OSError:
            pass
        return None

    def publish(
        self, key: str, make: Callable[[Path, dict[str, Path]], object], companions: tuple[str, ...] = ()
    ) -> Path:
        """Build the artifact with ``make(tmp, companion_paths)`` at a temporary path, move it into place; its path.

        ``make`` writes the artifact at ``tmp`` and checks it (raising if it is unusable); it may write the
        files named by ``companions`` (suffixes: the generated source, say) at the temporary paths it is given,
        and those move into place too. On any failure nothing of this build is left behind.
        """
        directory = self.directory
        directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f"{key}.", suffix=self.suffix, dir=directory)
        os.close(fd)
        tmp = Path(name)
        checksum = tmp.with_suffix(".sha256")
        extra = {suffix: tmp.with_suffix(suffix) for suffix in companions}
        try:
            make(tmp, extra)
            checksum.write_text(digest(tmp))
            os.replace(tmp, self.path(key))
            os.replace(checksum, directory / f"{key}.sha256")
            for suffix, path in extra.items():
                if path.exists():
                    os.replace(path, directory / f"{key}{suffix}")
        finally:
            for leftover in (tmp, checksum, *extra.values()):
                if leftover.exists():
                    leftover.unlink()
        return self.path(key)
