"""Native map kernels over pads: the run of the last axis where each pad is known in or out, against the interpreter.

``pyaccad.backends.native.interior`` picks, from the affine index each fused ``pad`` sees along the last
axis, a run of that axis where the pads need no test; the map skeleton runs it as a plain loop and the rest
with the tests (or, where no run covers most of the axis, cuts the axis into runs, each with its pads
known). These programs are sums of pads of (reversed, strided) slices, shaped so that the run falls
everywhere it can: empty, one element, across blocks of the last axis, at either end. Every value is an
input element or the fill, added in the same order on both sides, so the results must be bit-identical.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import prim, program_of, run_program
from hypothesis import given, settings
from hypothesis import strategies as st

import pyaccad as acc
from pyaccad import ad
from pyaccad.backends import availability
from pyaccad.backends.native.program import generate
from pyaccad.frontend import trace
from pyaccad.ir import Lit, dtype_of
from pyaccad.opt import optimize

pytestmark = pytest.mark.skipif(availability()["native"] is not None, reason="native backend unavailable here")

INTERIOR_LOOP = "for (int64_t j = m0; j < m1; j++)"


def _term(x, n: int, start: int, step: int, length: int, lo: int, flip: bool, fill: float):
    """``x[..., start : start + step·length : step]`` (reversed if ``flip``), padded to ``n``, ``lo`` fills first."""
    outer = x.shape[:-1]
    stop = start + step * (length - 1) + 1
    zeros = (0,) * len(outer)
    (piece,) = prim("slice", x, starts=(*zeros, start), stops=(*outer, stop), steps=(*(1,) * len(outer), step))
    if flip:
        (piece,) = prim("reverse", piece, axes=(len(outer),))
    value = Lit(fill, dtype_of(np.dtype("float64")))
    (out,) = prim("pad", piece, value, lo=(*zeros, lo), hi=(*zeros, n - lo - length), interior=(*zeros, 0))
    return out


def _program(terms: list[tuple[int, int, int, int, bool]], n: int, x: np.ndarray, fill: float):
    def f(a):
        total = a if a.shape[-1] == n else None
        for start, step, length, lo, flip in terms:
            t = _term(a, n, start, step, length, lo, flip, fill)
            total = t if total is None else total + t
        return total

    return program_of(f, [x])


def _check(terms, n: int, x: np.ndarray, fill: float = 0.0) -> str:
    program = _program(terms, n, x, fill)
    (want,) = run_program(program, [x], "interp")
    (got,) = run_program(program, [x], "native")
    np.testing.assert_array_equal(got, want)
    return generate(program)[0]


@st.composite
def _terms(draw):
    m = draw(st.integers(1, 40))
    n = draw(st.integers(1, 40))
    terms = []
    for _ in range(draw(st.integers(1, 4))):
        step = draw(st.sampled_from([1, 1, 2]))
        length = draw(st.integers(1, min(n, (m - 1) // step + 1)))
        start = draw(st.integers(0, m - 1 - step * (length - 1)))
        lo = draw(st.integers(0, n - length))
        terms.append((start, step, length, lo, draw(st.booleans())))
    return m, n, terms


@given(_terms(), st.sampled_from([0.0, -1.5]), st.booleans())
@settings(max_examples=40, deadline=None)
def test_drawn_sums_of_pads(drawn, fill, rank2):
    m, n, terms = drawn
    rng = np.random.default_rng(m * 100 + n)
    x = rng.normal(size=(3, m) if rank2 else (m,))
    _check(terms, n, x, fill)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 1023, 1024, 1025, 2100])
def test_transposed_shifts_across_blocks(n):
    """x[j-1] + x[j+1] (zero outside) + the edges folded back: the shape of a clamped stencil's cotangent."""
    x = np.random.default_rng(n).normal(size=n)
    terms = [(0, 1, n - 1, 1, False), (1, 1, n - 1, 0, False), (n - 1, 1, 1, n - 1, False), (0, 1, 1, 0, True)]
    if n == 1:
        terms = [(0, 1, 1, 0, False)]
    source = _check(terms, n, x)
    # from 4 elements one run covers most of the axis and the rest keeps the tests (`nleft` of them); below, the
    # axis is too short for that and is cut into runs (interior.segments), each without tests
    assert INTERIOR_LOOP in source
    assert ("nleft" in source) == (n >= 4)


@pytest.mark.parametrize("n", [4, 9, 1500])
def test_reversed_and_strided_pieces(n):
    x = np.random.default_rng(n).normal(size=2 * n)
    terms = [(0, 2, n - 1, 1, True), (1, 2, n, 0, False), (2 * n - 1, 1, 1, 0, False)]
    assert INTERIOR_LOOP in _check(terms, n, x, -2.0)


def test_pads_along_an_outer_axis_keep_their_tests():
    x = np.random.default_rng(0).normal(size=(4, 6))

    def f(a):
        (down,) = prim("pad", a, Lit(0.0, dtype_of(np.dtype("float64"))), lo=(1, 0), hi=(0, 0), interior=(0, 0))
        (cut,) = prim("slice", down, starts=(0, 0), stops=(4, 6), steps=(1, 1))
        return cut + _term(a, 6, 1, 1, 5, 0, False, 0.0)

    program = program_of(f, [x])
    (want,) = run_program(program, [x], "interp")
    np.testing.assert_array_equal(run_program(program, [x], "native")[0], want)


def test_heat_cotangent_runs_a_plain_loop():
    """The gradient of a clamped 3-point stencil: its cotangent kernel gets the plain run (same bits as interp)."""

    def f(u):
        return (acc.stencil(lambda v: v[1] + 0.25 * (v[0] - 2.0 * v[1] + v[2]), u, 3, boundary="clamp") ** 2).sum()

    u = np.random.default_rng(3).normal(size=3000)
    program = optimize(trace(ad.grad(f), u).program, "native")
    assert INTERIOR_LOOP in generate(program)[0]
    (want,) = run_program(program, [u], "interp")
    np.testing.assert_array_equal(run_program(program, [u], "native")[0], want)
