"""Test cases for ``cholesky``, ``triangular_solve`` and ``solve``: NumPy in float64 is the reference.

The matrices are well conditioned by construction and each result is held
to its condition-number-based error bound (:mod:`linalg_reference`).
"""

from __future__ import annotations

import numpy as np
from helpers import prim, program_of
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from linalg_reference import (
    cholesky_bound,
    draw_dominant,
    draw_rhs,
    draw_spd,
    solve_bound,
    stored,
    triangular_bound,
)
from strategies import Draw, Example


def _dims(draw: Draw) -> tuple[np.dtype, tuple[int, ...], int, int]:
    dtype = np.dtype(draw(st.sampled_from(["float32", "float64"])))
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=3))
    return dtype, batch, draw(st.integers(1, 5)), draw(st.integers(1, 3))


def _example(program, inputs: list[np.ndarray], expected: np.ndarray, bound: np.ndarray, dtype) -> Example:
    """The float64 reference, its bound widened by the rounding of the result to ``dtype`` and by underflow."""
    return Example(program, inputs, [expected], [(stored(bound, expected, dtype), dtype)])


def _cholesky(draw: Draw) -> Example:
    dtype, batch, n, _ = _dims(draw)
    a = draw_spd(draw, (*batch, n, n)).astype(dtype)
    # Only the lower triangle is read: garbage above it must not matter.
    a = np.tril(a) + np.triu(np.full(a.shape, 7.0, dtype), 1)
    exact = np.tril(a.astype(np.float64))
    symmetric = exact + np.swapaxes(np.tril(exact, -1), -1, -2)
    expected = np.linalg.cholesky(symmetric)
    program = program_of(lambda x: prim("cholesky", x), [a])
    return _example(program, [a], expected, cholesky_bound(symmetric, expected, dtype), dtype)


def _triangular_solve(draw: Draw) -> Example:
    dtype, batch, n, k = _dims(draw)
    lower, transpose_a = draw(st.booleans()), draw(st.booleans())
    a = draw_dominant(draw, (*batch, n, n)).astype(dtype)
    b = draw_rhs(draw, (*batch, n, k)).astype(dtype)
    t = np.tril(a.astype(np.float64)) if lower else np.triu(a.astype(np.float64))
    t = np.swapaxes(t, -1, -2) if transpose_a else t
    expected = np.linalg.solve(t, b.astype(np.float64)) if t.size else np.zeros(b.shape)
    params = {"lower": lower, "transpose_a": transpose_a}
    program = program_of(lambda x, y: prim("triangular_solve", x, y, **params), [a, b])
    return _example(program, [a, b], expected, triangular_bound(t, expected, dtype), dtype)


def _solve(draw: Draw) -> Example:
    dtype, batch, n, k = _dims(draw)
    a = draw_dominant(draw, (*batch, n, n)).astype(dtype)
    b = draw_rhs(draw, (*batch, n, k)).astype(dtype)
    expected = np.linalg.solve(a.astype(np.float64), b.astype(np.float64)) if a.size else np.zeros(b.shape)
    program = program_of(lambda x, y: prim("solve", x, y), [a, b])
    return _example(program, [a, b], expected, solve_bound(a, expected, dtype), dtype)


CASES = {"cholesky": _cholesky, "triangular_solve": _triangular_solve, "solve": _solve}
