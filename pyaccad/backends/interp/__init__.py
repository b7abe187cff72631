"""The ``interp`` backend: NumPy evaluation of the IR, the oracle every other backend is tested against.

A program runs statement by statement; each primitive has one rule in
:data:`~pyaccad.backends.interp.evaluator.RULES`. Lambdas are evaluated
once over all the elements they are applied to (vectorised "lanes"), with
lazy ``cond`` and per-lane ``while``. Reads inside lambdas are bounds-checked
and raise :class:`pyaccad.IndexOutOfBounds` naming the operation, the shape,
the index and the user's line.

The rules are grouped by family, one module each: ``elementwise`` (and the
documented choices for integer division by zero, integer ``pow``, ``round``
and ``cast``), ``structural``, ``control`` (``cond``, ``while``, ``index``),
``linalg`` (``cholesky``, ``triangular_solve``, ``solve``),
``collective`` (``generate``, ``map``, ``fold``, ``scan``, ``backpermute``,
``permute``) and ``stencil`` (boundary conditions).

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> from pyaccad.backends.interp import BACKEND
>>> run = BACKEND.compile(trace(lambda x: x + x, np.zeros(2)).program)
>>> run([np.array([1.0, 2.0])])
[array([2., 4.])]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pyaccad.backends.interp import collective, control, elementwise, linalg, stencil, structural
from pyaccad.backends.interp.evaluator import ARRAY_LEVEL, RULES, eval_program
from pyaccad.ir import Program

__all__ = [
    "BACKEND",
    "RULES",
    "InterpBackend",
    "collective",
    "control",
    "elementwise",
    "linalg",
    "stencil",
    "structural",
]


class InterpBackend:
    """Runs programs with NumPy. Always available.

    >>> BACKEND.unavailable_reason() is None
    True
    """

    name = "interp"

    def unavailable_reason(self) -> str | None:
        """Always None: NumPy is all the interpreter needs."""
        return None

    def compile(self, program: Program) -> _Executable:
        """An executable for ``program``: a list of NumPy inputs → a list of fresh NumPy outputs.

        >>> import numpy as np
        >>> from pyaccad.frontend import trace
        >>> BACKEND.compile(trace(lambda x: x // 0, np.arange(3)).program)([np.arange(3)])
        [array([0, 0, 0])]
        """
        return _Executable(program)


class _Executable:
    """``program`` bound to the interpreter; calling it evaluates the program."""

    def __init__(self, program: Program) -> None:
        self.program = program

    def __call__(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        program = self.program
        if len(inputs) != len(program.inputs):
            raise ValueError(f"interp: {len(inputs)} inputs for a program of {len(program.inputs)}")
        arrays = [np.asarray(a) for a in inputs]
        for array, var in zip(arrays, program.inputs, strict=True):
            if array.dtype != var.dtype or array.shape != var.shape:
                raise ValueError(f"interp: input of type {array.dtype}{list(array.shape)} where {var.type} is expected")
        with np.errstate(all="ignore"):  # IEEE results like C: inf, nan, integer wrap-around
            outputs = eval_program(program, arrays, {}, ARRAY_LEVEL)
        return _fresh(outputs, program, arrays)


def _fresh(outputs: list[np.ndarray], program: Program, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The outputs as new arrays of their IR types, sharing memory with no input, constant or other output."""
    seen: set[int] = {id(a) for a in inputs}
    result = []
    for value, atom in zip(outputs, program.outputs, strict=True):
        array = np.asarray(value, dtype=atom.type.dtype)
        if id(array) in seen or not array.flags.owndata or not array.flags.writeable:
            array = array.copy()  # a view, a broadcast, a constant, an input, or an output already returned
        assert array.shape == atom.type.shape, f"interp: {atom} evaluated to shape {array.shape}"
        seen.add(id(array))
        result.append(array)
    return result


BACKEND = InterpBackend()
"""The backend object :mod:`pyaccad.backends` loads."""
