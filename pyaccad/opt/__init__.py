"""The optimiser stage: IR → IR passes run before a backend sees a program.

``optimize(program, backend)`` is the pipeline a backend gets; every pass
keeps :func:`pyaccad.ir.verify` green and results identical to the input
program under ``interp``.

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> from pyaccad.opt import optimize
>>> len(optimize(trace(lambda x: x * 1.0, np.ones(3)).program, "interp").stmts) >= 1
True
"""

from __future__ import annotations

from pyaccad.ir import Program


def optimize(program: Program, backend: str) -> Program:
    """The program as the backend ``backend`` should run it."""
    return program
