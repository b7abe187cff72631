"""Running a lambda over many elements at once, and recognising monoid lambdas.

:func:`run_lambda` evaluates a scalar program once for ``n`` lanes: its
arguments are 1-D arrays (one entry per lane) or 0-d arrays (the same for
every lane), and it returns one fresh 1-D array per result. Free rank-0
values of enclosing scopes are uniform; free arrays are read with ``index``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pyaccad.backends.interp.evaluator import Context, Env, eval_program, to_lanes
from pyaccad.ir import Program


def run_lambda(lam: Program, args: Sequence[np.ndarray], env: Env, op: str, lanes: int) -> list[np.ndarray]:
    """Evaluate ``lam`` on ``lanes`` lanes; ``op`` names the calling operation in error messages.

    ``env`` is the array-level environment the lambda's free variables come from.

    >>> import pyaccad.frontend
    >>> from pyaccad.frontend.tracing import trace_program
    >>> from pyaccad.ir import scalar_type
    >>> f32 = scalar_type(np.dtype("float32"))
    >>> lam, _ = trace_program(lambda a, b: a * b + 1.0, [f32, f32], "scalar")
    >>> run_lambda(lam, [np.arange(3, dtype=np.float32), np.asarray(10, np.float32)], {}, "map", 3)
    [array([ 1., 11., 21.], dtype=float32)]
    """
    if lanes == 0:  # nothing to compute; and a lambda's uniform part must not run (it could read out of bounds)
        return [np.empty(0, dtype=t.dtype) for t in lam.output_types]
    outs = eval_program(lam, args, env, Context(op, lanes, env))
    return [to_lanes(value, lanes, t.dtype) for value, t in zip(outs, lam.output_types, strict=True)]


def index_lanes(shape: Sequence[int]) -> list[np.ndarray]:
    """One int64 lane array per axis: the multi-index of every element of ``shape``, row-major.

    >>> index_lanes((2, 2))
    [array([0, 0, 1, 1]), array([0, 1, 0, 1])]
    """
    return [axis.ravel() for axis in np.indices(tuple(shape), dtype=np.int64)]
