"""Backends: where a program runs. Each is a module exposing the :class:`Backend` interface.

A backend turns an (optimised) IR program into an executable that maps
NumPy input arrays to NumPy output arrays.

>>> from pyaccad.backends import availability
>>> availability()["interp"] is None
True
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from pyaccad.errors import BackendUnavailable, with_location
from pyaccad.ir import Program

Executable = Callable[[Sequence[np.ndarray]], list[np.ndarray]]

BACKEND_NAMES = ("native", "cuda", "accelerate", "interp")
DEFAULT_BACKEND = "native"


class Backend(Protocol):
    """What every backend module provides."""

    name: str

    def unavailable_reason(self) -> str | None:
        """None when usable here, else why not (missing compiler, no GPU, ...)."""

    def compile(self, program: Program) -> Executable:
        """An executable for ``program`` (may compile and cache native code)."""


@dataclass(frozen=True)
class Retrace:
    """Where a program came from: ``fn`` traced at ``args`` (a tuple of pytrees of NumPy arrays), and
    ``trace(fn, other_args)``, the (optimised) program ``fn`` traces to at other arguments.

    A backend whose compiled code holds the extents as written in the program (the accelerate bridge, whose
    Haskell export is made shape-generic by tracing ``fn`` again at other sizes) says ``shape_generic = True``;
    ``acc.jit`` then calls its ``compile(program, retrace=...)`` (and ``acc.lower`` its ``describe``), so that
    one library serves every size, as the native backend's run-time extents do.
    """

    fn: Callable[..., Any]
    args: tuple
    trace: Callable[[Callable[..., Any], tuple], Program]


_MODULES = {
    "interp": "pyaccad.backends.interp",
    "native": "pyaccad.backends.native",
    "cuda": "pyaccad.backends.cuda",
    "accelerate": "pyaccad.backends.accelerate",
}


def _load(name: str) -> Backend | str:
    try:
        module = importlib.import_module(_MODULES[name])
    except ModuleNotFoundError as exc:
        if exc.name == _MODULES[name]:
            return f"the {name} backend is not part of this pyaccad release"
        return f"the {name} backend could not be loaded: {exc}"
    except ImportError as exc:
        return f"the {name} backend could not be loaded: {exc}"
    return module.BACKEND


def availability() -> dict[str, str | None]:
    """``{name: None or "why it is unavailable"}`` for every backend."""
    result: dict[str, str | None] = {}
    for name in BACKEND_NAMES:
        backend = _load(name)
        result[name] = backend if isinstance(backend, str) else backend.unavailable_reason()
    return result


def resolve_name(name: str | None) -> str:
    """The backend to use: the argument, else ``$PYACCAD_BACKEND``, else ``"native"``."""
    chosen = name or os.environ.get("PYACCAD_BACKEND") or DEFAULT_BACKEND
    if chosen not in _MODULES:
        raise BackendUnavailable(
            with_location(f"backend: unknown backend {chosen!r}; choose one of {', '.join(BACKEND_NAMES)}")
        )
    return chosen


def describer(name: str | None = None) -> Backend:
    """The backend object for ``name`` even where it cannot run (``acc.lower`` describes the code it would run)."""
    chosen = resolve_name(name)
    backend = _load(chosen)
    if isinstance(backend, str):
        raise BackendUnavailable(with_location(f"backend {chosen!r} is unavailable: {backend}"))
    return backend


def get_backend(name: str | None = None) -> Backend:
    """The backend object for ``name`` (see :func:`resolve_name`), or BackendUnavailable with the reason."""
    chosen = resolve_name(name)
    backend = _load(chosen)
    reason = backend if isinstance(backend, str) else backend.unavailable_reason()
    if reason is not None:
        raise BackendUnavailable(with_location(f"backend {chosen!r} is unavailable: {reason}"))
    assert not isinstance(backend, str)
    return backend
