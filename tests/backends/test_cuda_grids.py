"""The cuda backend's 3-D grids (:mod:`pyaccad.backends.cuda.grids`): every kernel whose threads take an element
each of a shape of rank 2 or more (map, stencil, permute, folds and scans a thread per line).

Every rank from 0 to 5, with extents around a warp (1, 31, 33), empty axes, and an outer axis of 65537 (more
than a grid has blocks along ``y`` or ``z``), against NumPy or the interpreter; integer data, so results compare
exactly. On the emulator every grid is small (a few blocks of 32 threads), so the ``y`` and ``z`` loops wrap
whenever an extent passes it; a test shrinks the GPU's grids too (:data:`~pyaccad.backends.cuda.driver.MAX_BLOCKS`)
so that all three loops wrap there as well. Every module run here is compiled by NVRTC for ``sm_90`` (the
emulator compiles each for the GPU before running it on the CPU).
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
from helpers import assert_close

import pyaccad as acc
from pyaccad import ad
from pyaccad.backends.cuda import driver, emulator
from pyaccad.backends.cuda.grids import MAX_BLOCK_Z, MAX_GRID_YZ, extents, geometry
from pyaccad.backends.cuda.prelude import PRELUDE
from pyaccad.backends.cuda.program import Launch, generate
from pyaccad.frontend import trace
from pyaccad.opt import optimize

RNG = np.random.default_rng(12)

SHAPES = [
    (),
    (1,),
    (33,),
    (0,),
    (1, 1),
    (31, 33),
    (33, 1),
    (65537, 3),
    (0, 5),
    (5, 0),
    (1, 1, 1),
    (3, 31, 33),
    (65537, 1, 2),
    (2, 0, 3),
    (2, 3, 1, 33),
    (3, 2, 5, 31),
    (2, 1, 3, 5, 33),
    (1, 2, 3, 4, 5),
    (2, 3, 0, 1, 4),
]
"""Every rank, extents around a warp, empty axes, an outer axis longer than a grid's ``y`` or ``z`` side."""


def _positions(shape: tuple[int, ...]):
    """An element's row-major position, from its per-axis positions (what the grid's loops hand each thread)."""

    def position(*index):
        flat = 0
        for i, n in zip(index, shape, strict=True):
            flat = flat * n + i
        return flat

    return position


def _elementwise(a):
    """A map of the input, the positions, and a reversed, transposed read (each through the per-axis positions)."""
    flipped = acc.transpose(acc.reverse(a, axis=0)) if a.ndim else a
    return a * 3 - acc.generate(a.shape, _positions(a.shape)), flipped * 2


def _elementwise_reference(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    positions = np.arange(a.size, dtype=np.int64).reshape(a.shape)
    return a * 3 - positions, (a[::-1].T if a.ndim else a) * 2


def _per_thread(a):
    """The other kernels whose threads take an element each: a stencil, a scatter, a fold and a scan per line."""
    size = (1,) * (a.ndim - 2) + (3, 3) if a.ndim >= 2 else (3,) * a.ndim
    near = acc.stencil(lambda n: _flatten(n)[0] - 2 * _flatten(n)[-1], a, size, boundary="wrap") if a.ndim else a
    if a.ndim < 2:
        return (near,)
    totals = acc.permute(lambda p, q: p + q, acc.fill(a.shape[1:], 0, dtype="int64"), lambda *i: i[1:], a)
    folded = acc.fold(lambda p, q: p + q, 1, a, axis=0)
    scanned = acc.scanl(lambda p, q: p + q, 1, a, axis=0)
    return near, totals, folded, scanned


def _flatten(tree) -> list:
    return [leaf for part in tree for leaf in _flatten(part)] if isinstance(tree, tuple) else [tree]


def _ints(shape: tuple[int, ...]) -> np.ndarray:
    return RNG.integers(-50, 50, size=shape).astype(np.int64)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_maps_of_every_rank_against_numpy(shape: tuple[int, ...], cuda: str) -> None:
    a = _ints(shape)
    for got, want in zip(acc.run(_elementwise, a, backend=cuda), _elementwise_reference(a), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_stencils_scatters_folds_and_scans_of_every_rank_against_interp(shape: tuple[int, ...], cuda: str) -> None:
    a = _ints(shape)
    for got, want in zip(acc.run(_per_thread, a, backend=cuda), acc.run(_per_thread, a, backend="interp"), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape", [(7, 1000), (3, 5, 1000), (2, 3, 2, 801)], ids=str)
def test_every_grid_stride_loop_wraps_on_a_grid_of_three_blocks(
    shape: tuple[int, ...], cuda: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three blocks at most (GPU and emulator): the ``x`` loop steps past a row too long for them, ``y`` and ``z``
    (above rank 2) past the rows and planes they do not cover."""
    monkeypatch.setattr(driver, "MAX_BLOCKS", 3)
    monkeypatch.setattr(emulator, "MAX_BLOCKS", 3)
    grid = extents(shape)
    for threads in (driver.BLOCK, emulator.BLOCK):
        (gx, gy, gz), (bx, by, bz) = geometry(grid, threads, 3)
        assert gx * bx < grid[2] and gy * by < grid[1] and (gz * bz < grid[0] or len(shape) == 2)
    a = _ints(shape)
    for got, want in zip(acc.run(_elementwise, a, backend=cuda), _elementwise_reference(a), strict=True):
        np.testing.assert_array_equal(got, want)
    for got, want in zip(acc.run(_per_thread, a, backend=cuda), acc.run(_per_thread, a, backend="interp"), strict=True):
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape", [(65537, 256), (65537, 1, 256)], ids=str)
def test_an_outer_axis_longer_than_the_grid_allows(shape: tuple[int, ...], cuda: str) -> None:
    """65537 rows of a block's width: the GPU's grid stops at 65535 blocks along ``y`` (or ``z``), the loop wraps."""
    (_, gy, gz), _ = geometry(extents(shape), driver.BLOCK, driver.MAX_BLOCKS)
    assert (gy if len(shape) == 2 else gz) == MAX_GRID_YZ
    a = RNG.integers(0, 256, size=shape).astype(np.uint8)

    def f(x):
        return acc.reverse(x, axis=0) + np.uint8(1)

    np.testing.assert_array_equal(acc.run(f, a, backend=cuda), a[::-1] + np.uint8(1))


@pytest.mark.parametrize("shape", [(31, 33), (2, 3, 33), (2, 1, 3, 5, 33)], ids=str)
def test_gradients_on_grids_against_interp(shape: tuple[int, ...], cuda: str) -> None:
    x = RNG.normal(size=shape)

    def f(a):
        near = acc.stencil(lambda n: _flatten(n)[0] * _flatten(n)[-1], a, (1,) * (a.ndim - 2) + (3, 3), "mirror")
        return (acc.sin(a) * near).sum() + (acc.tanh(acc.transpose(a)) ** 2).sum()

    assert_close(acc.run(ad.grad(f), x, backend=cuda), acc.run(ad.grad(f), x, backend="interp"))


def test_geometry_stays_within_cudas_limits() -> None:
    """Any extents: at most the threads and blocks asked for, within CUDA's per-dimension limits, and no block that
    starts past the end of its axis (the grid-stride loops cover what the grid does not)."""
    cases = list(itertools.product((1, 2, 63, 65537, 1 << 31), (1, 3, 65537), (1, 31, 33, 257, 10**6)))
    for threads, max_blocks in ((driver.BLOCK, driver.MAX_BLOCKS), (emulator.BLOCK, emulator.MAX_BLOCKS), (256, 3)):
        for grid in cases:
            (gx, gy, gz), (bx, by, bz) = geometry(grid, threads, max_blocks)
            assert 1 <= bx * by * bz <= threads and bz <= MAX_BLOCK_Z, (grid, threads)
            assert 1 <= gx * gy * gz <= max_blocks and max(gy, gz) <= MAX_GRID_YZ, (grid, threads)
            assert (gx - 1) * bx < grid[2] and (gy - 1) * by < grid[1] and (gz - 1) * bz < grid[0], (grid, threads)


def _kernels(fn, *args) -> list[str]:
    """The ``__global__`` functions of ``fn``'s module on cuda (the prelude left out)."""
    source = generate(optimize(trace(fn, *args).program, "cuda")).source
    return source[len(PRELUDE) :].split('extern "C" __global__')[1:]


@pytest.mark.parametrize("shape", [(31, 33), (3, 31, 33), (2, 3, 1, 33), (2, 1, 3, 5, 33)], ids=str)
def test_no_division_per_element(shape: tuple[int, ...]) -> None:
    """A map of rank 2 or 3 divides nothing; of rank 4 or 5 it splits the outer position once per ``z`` step, outside
    the loops over the last two axes (NVRTC compiles what :func:`generate` prints: the emulator tests run it)."""
    a = _ints(shape)
    (kernel,) = _kernels(lambda x: acc.transpose(x) * 3 + 1, a)
    inner = kernel[kernel.index("for (uint32_t y = ") :]
    assert not re.search(r"[/%]", inner), inner
    assert bool(re.search(r"[/%]", kernel)) == (len(shape) > 3), kernel


def test_a_new_batch_size_makes_the_same_source_and_a_new_grid() -> None:
    """The geometry is the launch's, from the extents, never the source's: the module is compiled once."""

    def module(n: int):
        return generate(optimize(trace(lambda x: acc.sin(x) * 2.0, np.ones((n, 3, 33), np.float32)).program, "cuda"))

    small, large = module(4), module(4000)
    assert small.source == large.source
    assert [s.grid for s in small.steps if isinstance(s, Launch)] == [(4, 3, 33)]
    assert [s.grid for s in large.steps if isinstance(s, Launch)] == [(4000, 3, 33)]
