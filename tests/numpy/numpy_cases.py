"""Shared strategies for the ``pyaccad.numpy`` tests: shapes and arrays drawn by hypothesis, and tolerances.

Tolerances are error bounds, not observations: a libm function is within
``LIBM_ULPS`` ulp (``2u|y|`` each) in both implementations, and the
compositions here add at most a few roundings, so ``ELEMENT_RTOL`` ulps
bound the element-wise functions; derivatives are compared with JAX, whose
formulas differ from ours only in the order of a handful of roundings and libm
calls, well conditioned on the drawn domains (a wrong rule is off by O(1)).
"""

from __future__ import annotations

import jax
import numpy as np
from helpers import LIBM_ULPS, unit_roundoff
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

jax.config.update("jax_enable_x64", True)

B = "interp"  # the hypothesis tests run on the interpreter; test_backends.py runs one program per family everywhere


def element_rtol(dtype: np.dtype | str) -> float:
    """Both sides within ``LIBM_ULPS`` ulp of exact, plus up to 4 roundings of a composition (log2, sigmoid...)."""
    return (2 * 2 * LIBM_ULPS + 4) * unit_roundoff(dtype)


DERIVATIVE_RTOL = 1e-12
"""About 4500u of float64: the few roundings by which JAX's derivative formulas and ours may differ, with room."""

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
nonempty_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def floats(shape: tuple[int, ...], lo: float, hi: float, dtype: str = "float64") -> st.SearchStrategy[np.ndarray]:
    """Arrays of ``shape`` with values in ``[lo, hi]``, exactly representable in ``dtype``."""
    width = 32 if dtype == "float32" else 64
    bounds = np.array([lo, hi], dtype=dtype)  # the nearest representable bounds, inside the domain as drawn
    elements = st.floats(float(bounds[0]), float(bounds[1]), width=width, allow_nan=False, allow_subnormal=False)
    return hnp.arrays(dtype, shape, elements=elements)


def ints(shape: tuple[int, ...], lo: int = -9, hi: int = 9) -> st.SearchStrategy[np.ndarray]:
    return hnp.arrays("int64", shape, elements=st.integers(lo, hi))


@st.composite
def broadcast_pair(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """Two shapes that broadcast together (NumPy's rules: trailing axes aligned, extents equal or 1)."""
    full = draw(shapes)
    shrink = draw(st.lists(st.booleans(), min_size=len(full), max_size=len(full)))
    second = tuple(1 if s else d for d, s in zip(full, shrink, strict=True))
    drop = draw(st.integers(0, len(second)))
    return full, second[drop:]
