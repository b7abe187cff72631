"""What the primitive cases share: the :class:`Example` they draw, dtype groups, hypothesis strategies, and
plain-Python reference helpers. Programs are built with the IR builders of ``tests/helpers.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pyaccad.ir import Program

FLOATS = ("float32", "float64")
INTS = ("int32", "int64")
NUMERIC = FLOATS + INTS
ALL = NUMERIC + ("bool",)


@dataclass
class Example:
    """One drawn test: a program, its inputs and the expected outputs (from an independent reference)."""

    program: Program
    inputs: list[np.ndarray]
    expected: list[np.ndarray]
    # Where the default tolerances do not fit: per output, a bound on each element's error against ``expected``
    # (then exact, in float64) and the dtype the output must have.
    bounds: list[tuple[np.ndarray, np.dtype]] | None = None


Draw = Callable[[st.SearchStrategy], Any]
Case = Callable[[Draw], Example]

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4)
nonempty_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)


def elements(dtype: str | np.dtype, lo: float = -4, hi: float = 4) -> st.SearchStrategy:
    """Values of ``dtype`` in ``[lo, hi]`` (floats exactly representable in the dtype, no NaN/inf).

    >>> elements("float32", -0.5, 0.5)
    floats(min_value=-0.5, max_value=0.5, allow_nan=False, allow_infinity=False, width=32)
    """
    dt = np.dtype(dtype)
    if dt.kind == "f":
        # Bounds must be representable in the dtype: round them inward.
        lo_, hi_ = dt.type(lo), dt.type(hi)
        lo_ = lo_ if float(lo_) >= lo else np.nextafter(lo_, dt.type(np.inf))
        hi_ = hi_ if float(hi_) <= hi else np.nextafter(hi_, dt.type(-np.inf))
        return st.floats(float(lo_), float(hi_), width=dt.itemsize * 8, allow_nan=False, allow_infinity=False)
    if dt.kind in "iu":
        low = int(np.ceil(lo)) if dt.kind == "i" else max(int(np.ceil(lo)), 0)
        return st.integers(low, int(np.floor(hi)))
    return st.booleans()


def arrays(dtype: str | np.dtype, shape: tuple[int, ...], lo: float = -4, hi: float = 4) -> st.SearchStrategy:
    """Arrays of ``dtype`` and ``shape`` with elements from :func:`elements`.

    >>> arrays("bool", (2, 0))
    arrays(dtype=dtype('bool'), shape=(2, 0), elements=booleans())
    """
    return hnp.arrays(np.dtype(dtype), shape, elements=elements(dtype, lo, hi))


def per_element(fn: Callable[..., Any], dtype: str | np.dtype, *arrays: np.ndarray) -> np.ndarray:
    """``fn`` applied to the Python values of same-shape ``arrays``, element by element (a slow, plain reference).

    >>> per_element(lambda a, b: a // b if b else 0, "int32", np.array([7, 7]), np.array([2, 0]))
    array([3, 0], dtype=int32)
    """
    shape = arrays[0].shape
    values = [fn(*vals) for vals in zip(*(a.ravel().tolist() for a in arrays), strict=True)]
    return np.array(values, dtype=np.dtype(dtype)).reshape(shape)


def wrap_int(value: int, dtype: str | np.dtype) -> int:
    """``value`` reduced modulo 2**bits into the range of the integer ``dtype`` (two's complement wrap-around).

    >>> wrap_int(2**31, "int32"), wrap_int(-1, "uint8")
    (-2147483648, 255)
    """
    bits = np.dtype(dtype).itemsize * 8
    offset = 0 if np.dtype(dtype).kind == "u" else 2 ** (bits - 1)
    return (value + offset) % 2**bits - offset
