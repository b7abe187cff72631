"""Matrix products as the export prints them (``pyaccad.export.products``), against NumPy.

Everywhere: which form each inner extent prints as (written out up to ``UNROLL_MAX``, ``sumOver``
beyond it and wherever the extent is a symbol, ``fill`` for none), what those mean (the exported
module evaluated by ``hs_eval`` at every remainder of the eight partial sums), and which product
operands get a ``compute``. Where GHC finds accelerate: one shape-generic library run at inner
extents across those remainders.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_within, dot_bound, skip_without_bridge
from hs_eval import evaluate_module

import pyaccad as acc
from pyaccad.backends import accelerate as bridge
from pyaccad.export import export_haskell, export_program
from pyaccad.export.products import UNROLL_MAX
from pyaccad.frontend import trace

RNG = np.random.default_rng(11)
# Inner extents: none, one, each side of the eight partial sums and of UNROLL_MAX, and a long one.
INNER = [0, 1, 7, 8, 9, UNROLL_MAX, UNROLL_MAX + 1, 33]
DTYPES = [np.float32, np.float64, np.int32, np.int64]


def operands(batch: tuple[int, ...], m: int, k: int, n: int, dtype) -> tuple[np.ndarray, np.ndarray]:
    if np.dtype(dtype).kind == "i":  # large enough that int32 products wrap, as accelerate's and NumPy's do
        a, b = RNG.integers(-(2**20), 2**20, (*batch, m, k)), RNG.integers(-(2**20), 2**20, (*batch, k, n))
        return a.astype(dtype), b.astype(dtype)
    return RNG.standard_normal((*batch, m, k)).astype(dtype), RNG.standard_normal((*batch, k, n)).astype(dtype)


def assert_product(got: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    if a.dtype.kind == "i":
        with np.errstate(over="ignore"):
            np.testing.assert_array_equal(got, np.matmul(a, b))
        assert got.dtype == a.dtype
        return
    exact = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert_within(got, exact, dot_bound(a, b), dtype=a.dtype)


@pytest.mark.parametrize("k", INNER)
def test_each_inner_extent_prints_its_form(k):
    a, b = operands((), 2, k, 3, np.float32)
    source = export_program(trace(lambda x, y: x @ y, a, b).program, module="M", name="f")
    body = source[source.index("f (T2") :]
    if k == 0:
        assert body.startswith("f (T2 x y) = fill (I2 2 3) (0.0 :: Exp Float)")
    elif k <= UNROLL_MAX:
        assert "let dot k = x ! I2 i k * y ! I2 k j" in body and f"dot {k - 1})" in body
        assert "sumOver" not in source and "fold" not in body
    else:
        assert f"sumOver {k} (\\k -> x ! I2 i k * y ! I2 k j)" in body and "sumOver ::" in source


def test_a_symbolic_inner_extent_is_a_loop():
    a, b = operands((), 2, 3, 4, np.float32)
    source = export_haskell(lambda x, y: x @ y, a, b, module="M", name="f")  # shape-generic: k is x's axis 1
    assert "sumOver m (\\k -> x ! I2 i k * y ! I2 k j)" in source and "dot" not in source


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("k", INNER)
def test_exported_products_mean_the_matrix_product(k, dtype):
    for batch in [(), (2,)]:
        a, b = operands(batch, 3, k, 2, dtype)
        source = export_program(trace(lambda x, y: acc.matmul(x, y), a, b).program, module="M", name="f")
        (out,) = evaluate_module(source, a, b)
        assert_product(out.values, a, b)


def test_a_long_sum_reads_the_transpose_the_program_holds():
    c, d = RNG.standard_normal((2, 20, 3)), RNG.standard_normal((2, 4, 20))

    def f(c, d):
        c_t = acc.transpose(c, (0, 2, 1))
        return c_t * 2.0, acc.matmul(d, c)

    source = export_program(trace(f, c, d).program, module="M", name="f")
    assert "a = backpermute (I3 2 3 20)" in source and "sumOver 20 (\\l -> d ! I3 i j l * a ! I3 i k l)" in source
    _, product = evaluate_module(source, c, d)
    assert_product(product.values, d, c)


def test_cheap_product_operands_are_left_to_accelerate_expensive_ones_computed():
    x, mu, w = (RNG.standard_normal(s).astype(np.float32) for s in [(6, 3), (6, 3), (3, 4)])
    centred = export_haskell(lambda x, mu, w: (x - mu) @ w, x, mu, w, module="M", name="f")
    assert "a = zipWith (-) x mu" in centred and "compute" not in centred
    squashed = export_haskell(lambda x, w: acc.tanh(x) @ w, x, w, module="M", name="f")
    assert "a = compute (map tanh' x)" in squashed
    # a BLAS gemm reads materialised operands either way: the plan's compute stays
    gemm = export_haskell(lambda x, mu, w: (x - mu) @ w, x, mu, w, module="M", name="f", blas=True)
    assert "a = compute (zipWith (-) x mu)" in gemm and "BLAS.<>" in gemm


@pytest.mark.parametrize("dtype", [np.float32, np.int32])
def test_one_bridge_library_computes_products_at_every_inner_extent(dtype):
    skip_without_bridge()
    product = acc.jit(lambda x, y: acc.matmul(x, y), backend="accelerate")
    builds = len(bridge.BUILDS)
    # traced first at 6 (apart from the other extents, so that the fit tells them apart): the inner extent is a
    # symbol of the library; an extent of 1 would be another program (a broadcast)
    for k in [6, 2, *(k for k in INNER if k > 1)]:
        a, b = operands((3,), 4, k, 5, dtype)
        assert_product(np.asarray(product(a, b)), a, b)
    assert len(bridge.BUILDS) <= builds + 1, "GHC ran again for another inner extent"
