"""Where an early stage calls a later one: the calls the package wires, so no stage imports a later one.

Data flows one way (``frontend`` → ``ad`` → ``opt`` → a backend), but two calls go back:

- ``ad.grad(f)(np.ones(3))`` is called outside any trace, so ``grad(f)`` has to be compiled and run by
  the stages after ``ad`` (:func:`compile_function`, ``acc.jit``);
- ``np.sin(x)`` on a traced ``x`` reaches the front end (NumPy's ``__array_ufunc__``), whose answer is
  ``pyaccad.numpy``'s ``sin``, a layer built on the front end (:func:`numpy_function`).

``pyaccad/__init__.py``, above every stage, installs both (each loads its stage on first use). This
module imports nothing of pyaccad, so every stage may use it.

>>> import numpy as np, pyaccad as acc
>>> compile_function(lambda x: x + 1.0)(np.zeros(2))
array([1., 1.])
>>> numpy_function("sin") is acc.numpy.sin, numpy_function("no_such_function")
(True, None)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Compiler = Callable[..., Callable[..., Any]]
"""``compiler(fn, static_argnames=...) -> compiled``, as ``acc.jit``."""

NumpyFunctions = Callable[[], Mapping[str, Callable[..., Any]]]
"""``() -> {name: function}``, ``pyaccad.numpy.FUNCTIONS``."""

_installed: dict[str, Any] = {}


def install(compiler: Compiler, numpy_functions: NumpyFunctions) -> None:
    """Wire the later stages in (``pyaccad`` installs ``acc.jit`` and ``pyaccad.numpy.FUNCTIONS``)."""
    _installed.update(compiler=compiler, numpy_functions=numpy_functions)


def compile_function(fn: Callable[..., Any], static_argnames: Sequence[str] = ()) -> Callable[..., Any]:
    """``fn`` compiled by the installed compiler (``acc.jit``), cached per signature of its arguments."""
    return _installed["compiler"](fn, static_argnames=tuple(static_argnames))


def numpy_function(name: str) -> Callable[..., Any] | None:
    """``pyaccad.numpy``'s function ``name``, or None where it has none."""
    return _installed["numpy_functions"]().get(name)
