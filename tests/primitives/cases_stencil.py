"""Test cases for ``stencil``, one per boundary condition.

The reference pads the array with ``np.pad`` — ``edge`` for clamp,
``reflect`` for mirror (accelerate's mirror does not repeat the edge
element: index -1 reads index 1), ``wrap``, and ``constant`` — and then sums
each window with weights that differ per neighbour, so a neighbourhood in the
wrong order is caught.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from helpers import lam, prim, program_of
from hypothesis import strategies as st
from strategies import NUMERIC, Case, Draw, Example, arrays, elements, shapes

NUMPY_PAD_MODE = {"clamp": "edge", "mirror": "reflect", "wrap": "wrap", "constant": "constant"}


def _stencil_case(boundary: str) -> Case:
    def case(draw: Draw) -> Example:
        dtype = np.dtype(draw(st.sampled_from(NUMERIC)))
        (x,) = inputs = [draw(arrays(dtype, draw(shapes)))]
        size = tuple(draw(st.sampled_from((1, 3, 5) if x.ndim < 3 else (1, 3))) for _ in x.shape)
        params: dict[str, Any] = {"size": size, "boundary": boundary}
        if boundary == "constant":
            params["value"] = draw(elements(dtype))
        n_neighbours = int(np.prod(size))

        def body(*neighbours: Any) -> Any:
            total = neighbours[0]
            for k, v in enumerate(neighbours[1:], start=2):
                total = total + v * k
            return total

        program = program_of(lambda a: prim("stencil", a, lam=lam(body, *[dtype] * n_neighbours), **params), inputs)
        expected = np.empty(x.shape, dtype=dtype)
        if x.size:
            radius = [s // 2 for s in size]
            extra = {"constant_values": params["value"]} if boundary == "constant" else {}
            padded = np.pad(x, [(r, r) for r in radius], mode=NUMPY_PAD_MODE[boundary], **extra) if x.ndim else x
            for ix in itertools.product(*map(range, x.shape)):
                window = [
                    padded[tuple(i + d for i, d in zip(ix, offset, strict=True))]
                    for offset in itertools.product(*(range(s) for s in size))
                ]
                expected[ix] = sum(v * k for k, v in enumerate(window, start=1))
        return Example(program, inputs, [expected])

    return case


CASES: dict[str, Case] = {f"stencil/{boundary}": _stencil_case(boundary) for boundary in NUMPY_PAD_MODE}
