"""Long float sums as the export prints them (``pyaccad.export.sums``): partial sums, against NumPy.

Everywhere: which sums print as ``sumLong`` (float rows longer than ``LONG_SUM`` or of a varying extent, along
any axis) and
which stay accelerate's ``sum``; what ``sumLong`` means (the exported module evaluated by ``hs_eval`` at
row lengths around the eight partial sums and the chunks). Where GHC finds accelerate: one shape-generic
library at several extents, and the accuracy the chunked order guarantees, which a sum kept in one
running accumulator does not meet.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_within, gamma, skip_without_bridge, sum_bound
from hs_eval import evaluate_module

import pyaccad as acc
from pyaccad.backends import accelerate as bridge
from pyaccad.export import export_haskell, export_program
from pyaccad.export.sums import CHUNK, LONG_SUM
from pyaccad.frontend import trace

RNG = np.random.default_rng(23)
# Row lengths: each side of LONG_SUM, of the eight partial sums, and of one and two chunks.
LENGTHS = [LONG_SUM, LONG_SUM + 1, 23, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 9]


def exported(fn, *args) -> str:
    return export_program(trace(fn, *args).program, module="M", name="f", partial_sums=True)


@pytest.mark.parametrize("n", [LONG_SUM, LONG_SUM + 1])
def test_float_rows_past_long_sum_print_as_partial_sums(n):
    x = np.ones((3, n), np.float32)
    source = exported(lambda x: x.sum(axis=1), x)
    if n <= LONG_SUM:
        assert "sum x" in source and "sumLong" not in source
    else:
        assert "sumLong x" in source and "sumLong ::" in source and "sumOver ::" in source


def test_integer_sums_and_other_folds_stay_accelerate_folds():
    n = 4 * LONG_SUM
    integers = exported(lambda x: x.sum(axis=0), np.ones(n, np.int64))
    assert "sum x" in integers and "sumLong" not in integers
    extremum = exported(lambda x: x.max(axis=0), np.ones(n, np.float32))
    assert "sumLong" not in extremum


def test_a_sum_along_an_outer_axis_moves_it_innermost_first():
    x = np.ones((4 * LONG_SUM, 3))
    source = exported(lambda x: x.sum(axis=0), x)
    assert "a = transpose x" in source and "sumLong a" in source


def test_partial_sums_are_asked_for_and_every_row_of_a_varying_length_takes_them():
    x = np.ones((2, 3), np.float32)  # the module serves every row length, long ones too
    assert "sumLong x" in export_haskell(lambda x: x.sum(axis=1), x, module="M", name="f", partial_sums=True)
    assert "sum x" in export_haskell(lambda x: x.sum(axis=1), x, module="M", name="f")  # accelerate's own, else


def test_the_bridge_asks_for_partial_sums_without_fast_math(monkeypatch):
    x = np.ones((2, 4 * LONG_SUM), np.float32)
    program = trace(lambda x: x.sum(axis=1), x).program
    for fast, partial in [("0", True), ("1", False)]:
        monkeypatch.setenv("PYACCAD_ACCELERATE_FAST_MATH", fast)
        monkeypatch.delenv("ACCELERATE_FLAGS", raising=False)
        _, modules = bridge.library(program, "native")
        assert any("sumLong x" in text for text in modules.values()) == partial
    _, modules = bridge.library(program, "interpreter")  # in order there anyway
    assert not any("sumLong" in text for text in modules.values())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", LENGTHS)
def test_exported_long_sums_mean_the_sum(n, dtype):
    for axis, shape in [(1, (2, n)), (0, (n,))]:
        x = RNG.standard_normal(shape).astype(dtype)
        (out,) = evaluate_module(exported(lambda x, axis=axis: x.sum(axis=axis), x), x)
        exact = x.astype(np.float64).sum(axis=axis)
        assert_within(out.values, exact, sum_bound(np.abs(x.astype(np.float64)).sum(axis=axis), n, dtype), dtype)


def test_one_bridge_library_sums_rows_of_every_length():
    skip_without_bridge()
    row_sums = acc.jit(lambda x: (acc.sin(x) * x).sum(axis=1), backend="accelerate")
    for n in [100, *LENGTHS[2:]]:
        x = RNG.uniform(-3, 3, (3, n)).astype(np.float32)
        terms = np.sin(x.astype(np.float64)) * x
        # each term rounded twice (sin within 4 ulps through vector math, the product) before the sum's roundings
        bound = sum_bound(np.abs(terms).sum(axis=1), n, np.float32) + gamma(6, np.float32) * np.abs(terms).sum(axis=1)
        assert_within(np.asarray(row_sums(x)), terms.sum(axis=1), bound, np.float32)


def test_a_long_float_sum_through_the_bridge_errs_by_its_chunks_not_its_length():
    """The chunked order bounds every term's roundings by ``CHUNK/8 + 12 + n/CHUNK`` (a chunk's partial sum, the
    three levels joining the eight partials and the remainder's at most seven, then the chunks' sums in
    order): at 2^20 float32 terms, 0.07% of the ``n - 1`` of one running sum. Equal terms make every rounding
    of a running sum go the same way: in order (NumPy's ``cumsum``), this sum errs by 1% of itself, 200 times
    this bound."""
    skip_without_bridge()
    n = 2**20
    x = np.full(n, 0.1, np.float32)
    total = acc.jit(lambda x: x.sum(), backend="accelerate")(x)
    exact = x.astype(np.float64).sum()
    roundings = CHUNK // 8 + 12 + -(-n // CHUNK)
    bound = (gamma(roundings, np.float32) + gamma(n, np.float64)) * np.abs(x.astype(np.float64)).sum()
    assert_within(np.asarray(total), exact, bound, np.float32)
