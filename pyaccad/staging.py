"""The compiler a transformed function called with NumPy arguments uses: a slot the package fills.

``ad.grad(f)(np.ones(3))`` is called outside any trace, so ``grad(f)`` has to be compiled and run.
Compiling belongs to the stages after ``ad`` (``opt``, then a backend), which ``ad`` does not import:
it asks :func:`compile_function`, and ``pyaccad/__init__.py`` installs ``acc.jit`` here. This module
imports nothing of pyaccad, so every stage may use it.

>>> import numpy as np, pyaccad as acc
>>> compile_function(lambda x: x + 1.0)(np.zeros(2))
array([1., 1.])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Compiler = Callable[..., Callable[..., Any]]
"""``compiler(fn, static_argnames=...) -> compiled``, as ``acc.jit``."""

_compilers: list[Compiler] = []


def install(compiler: Compiler) -> None:
    """Make ``compiler`` the one :func:`compile_function` uses (``pyaccad`` installs ``acc.jit``)."""
    _compilers[:] = [compiler]


def compile_function(fn: Callable[..., Any], static_argnames: Sequence[str] = ()) -> Callable[..., Any]:
    """``fn`` compiled by the installed compiler (``acc.jit``), cached per signature of its arguments."""
    (compiler,) = _compilers
    return compiler(fn, static_argnames=tuple(static_argnames))
