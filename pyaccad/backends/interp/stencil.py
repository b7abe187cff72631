"""``stencil``: every element's neighbourhood gathered at once, then the lambda over all elements.

For each offset ``d`` of an axis of length ``n`` the source index
``i + d`` is mapped back into ``[0, n)`` by the boundary:

========== ===========================================================
clamp      the nearest edge element
mirror     reflected about the edge *without* repeating it, as
           accelerate's implementation does: ``-1 → 1``, ``n → n - 2``;
           reflection repeats (period ``2n - 2``) when the stencil is
           wider than the array, and an axis of length 1 reads index 0
wrap       modulo ``n``
constant   out-of-range neighbours read ``params["value"]``
========== ===========================================================

The lambda receives the ``prod(size)`` neighbours in row-major order of
their offsets (first axis slowest), each as one lane array over all elements.

>>> import numpy as np
>>> _axis_indices(np.arange(-2, 5), 3, "mirror")
array([2, 1, 0, 1, 2, 1, 0])
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from pyaccad.backends.interp.evaluator import Context, Env, register
from pyaccad.backends.interp.lambdas import run_lambda
from pyaccad.ir import Stmt


def _axis_indices(i: np.ndarray, n: int, boundary: str) -> np.ndarray:
    """Indices ``i`` (any integers) brought into ``[0, n)`` by ``boundary`` (``constant`` clamps; see the mask)."""
    if boundary == "wrap":
        return i % n
    if boundary == "mirror":
        if n == 1:
            return np.zeros_like(i)
        period = 2 * (n - 1)
        folded = i % period
        return np.where(folded >= n, period - folded, folded)
    return np.clip(i, 0, n - 1)


@register("stencil")
def _stencil(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    (x,) = args
    size, boundary = tuple(stmt.params["size"]), stmt.params["boundary"]
    lam = stmt.params["lam"]
    if x.size == 0:
        return [out.reshape(x.shape) for out in run_lambda(lam, [], env, "stencil", 0)]
    offsets = [range(-(s // 2), s // 2 + 1) for s in size]
    positions = [np.arange(n) for n in x.shape]
    fill = np.asarray(stmt.params.get("value", 0), dtype=x.dtype)
    neighbours = []
    for offset in itertools.product(*offsets):
        shifted = [p + d for p, d in zip(positions, offset, strict=True)]
        gathered = x[np.ix_(*(_axis_indices(s, n, boundary) for s, n in zip(shifted, x.shape, strict=True)))]
        if boundary == "constant":
            # np.ix_ would turn boolean masks into indices: place each axis's mask on its own axis by hand.
            inside = [
                ((s >= 0) & (s < n)).reshape([-1 if k == axis else 1 for k in range(x.ndim)])
                for axis, (s, n) in enumerate(zip(shifted, x.shape, strict=True))
            ]
            mask = functools.reduce(np.logical_and, inside, np.ones((), dtype=bool))
            gathered = np.where(mask, gathered, fill)
        neighbours.append(gathered.reshape(-1))
    return [out.reshape(x.shape) for out in run_lambda(lam, neighbours, env, "stencil", x.size)]
