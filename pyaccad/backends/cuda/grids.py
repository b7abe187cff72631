"""2-D and 3-D launches: a thread per element of a shape of rank 2 or more, positions by multiply-add.

A kernel whose threads take one element each of a shape (a map's or stencil's output, a fold's or scan's
lines a thread each, a permute's sources) runs, when the shape has two axes or more, over a 3-D grid: ``x``
over the last axis, ``y`` over the one before, ``z`` over the others flattened, each a grid-stride loop of
its own (a grid has at most 65535 blocks along ``y`` and ``z``). Only ``z`` is unravelled into the outer
axes' positions, once per ``z`` step (no division at all below rank 4); the flat position is a multiply-add,
where a 1-D loop over flat positions divides by every extent per element (a 64-bit division is dozens of
instructions on a GPU, which emulates it). The extents are read from ``E`` and the launch's geometry is
computed from them on the host (:func:`geometry`), so a new batch size compiles nothing. With 32-bit
index arithmetic (every array under ``2**31`` elements, :attr:`~pyaccad.backends.clike.cgen.Ctx.index_bits`)
the counters are 32-bit::

    const uint32_t nz = (uint32_t)(E[0]*E[1]), ny = (uint32_t)E[2], nx = (uint32_t)E[3];
    for (uint32_t z = blockIdx.z * blockDim.z + threadIdx.z; z < nz; z += gridDim.z * blockDim.z) {
        <z unravelled into the outer positions q1, q2>
        for (uint32_t y = blockIdx.y * blockDim.y + threadIdx.y; y < ny; y += gridDim.y * blockDim.y) {
            const uint32_t row = (z * ny + y) * nx;
            for (uint32_t x = blockIdx.x * blockDim.x + threadIdx.x; x < nx; x += gridDim.x * blockDim.x) {
                const int64_t w = row + x;
                <the element at flat position w, positions (q1, q2, y, x)>
            }
        }
    }

A shape of rank 0 or 1 keeps the 1-D grid-stride loop (:func:`~pyaccad.backends.cuda.blocks.grid_loop`).

>>> geometry((1, 3, 5), threads=256, max_blocks=1 << 16)
((1, 1, 1), (5, 3, 1))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from pyaccad.backends.clike.cgen import Ctx, product, unravel
from pyaccad.backends.cuda.blocks import grid_loop
from pyaccad.ir import INT64

MAX_GRID_YZ = 65535
"""Blocks at most along a grid's ``y`` and ``z`` (CUDA's limit; ``x`` allows ``2**31 - 1``)."""
MAX_BLOCK_Z = 64
"""Threads at most along a block's ``z`` (CUDA's limit; ``x`` and ``y`` allow 1024)."""


def extents(shape: Sequence[int]) -> tuple[int, ...]:
    """``(nz, ny, nx)`` of a 3-D launch over the elements of ``shape``, or ``()`` below rank 2 (a 1-D launch).

    >>> extents((4, 2, 3, 5)), extents((7,))
    ((8, 3, 5), ())
    """
    if len(shape) < 2:
        return ()
    return math.prod(shape[:-2]), shape[-2], shape[-1]


def geometry(grid: tuple[int, ...], threads: int, max_blocks: int) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The grid's and the block's dimensions, ``(x, y, z)`` each, of a launch over ``grid = (nz, ny, nx)``
    (every extent at least 1): at most ``threads`` per block and ``max_blocks`` in all.

    A block covers whole rows where they are short (``nx`` threads along ``x``, then rows along ``y`` and
    ``z``), so that a warp's threads read adjacent elements and none is idle; a long row is cut into
    blocks of equal width. The grid-stride loops cover what the grid does not.

    >>> geometry((1, 1000, 1000), threads=256, max_blocks=1 << 16)
    ((4, 1000, 1), (250, 1, 1))
    >>> geometry((100000, 2, 3), threads=256, max_blocks=1 << 16)
    ((1, 1, 2381), (3, 2, 42))
    """
    nz, ny, nx = grid
    bx = -(-nx // -(-nx // threads))  # equal widths, threads at most
    by = min(threads // bx, ny)
    bz = min(threads // (bx * by), nz, MAX_BLOCK_Z)
    gx = min(-(-nx // bx), max_blocks)
    gy = min(-(-ny // by), MAX_GRID_YZ, max_blocks // gx)
    gz = min(-(-nz // bz), MAX_GRID_YZ, max_blocks // (gx * gy))
    return (gx, gy, gz), (bx, by, bz)


def nest(ctx: Ctx, shape: list[str], body: Callable[[str, list[str]], None]) -> None:
    """Emit the loops giving each thread its elements of ``shape`` (C extents); ``body(w, positions)`` emits one
    element's code given the names of its flat position and its per-axis positions (signed 64-bit)."""
    if len(shape) < 2:
        grid_loop(ctx, product(shape), lambda w: body(w, [w] if shape else []))
        return
    kind, cast = ("uint32_t", "(uint32_t)") if ctx.index_bits == 32 else ("int64_t", "")
    outer = shape[:-2]
    ctx.emit(f"const {kind} nz = {cast}({product(outer)}), ny = {cast}{shape[-2]}, nx = {cast}{shape[-1]};")

    def wide(counter: str) -> str:
        """A position as the callers take it: signed 64-bit (a stencil subtracts from it)."""
        return ctx.declare(INT64, counter, "q") if cast else counter

    with ctx.block(f"for ({kind} z = {_first('z')}; z < nz; z += {_stride('z')})"):
        positions = unravel(ctx, "z", outer) if len(outer) > 1 else [wide("z") for _ in outer]
        with ctx.block(f"for ({kind} y = {_first('y')}; y < ny; y += {_stride('y')})"):
            ctx.emit(f"const {kind} row = (z * ny + y) * nx;")
            positions = [*positions, wide("y")]
            with ctx.block(f"for ({kind} x = {_first('x')}; x < nx; x += {_stride('x')})"):
                ctx.emit("const int64_t w = row + x;")
                body("w", [*positions, wide("x")])


def _first(axis: str) -> str:
    return f"blockIdx.{axis} * blockDim.{axis} + threadIdx.{axis}"


def _stride(axis: str) -> str:
    return f"gridDim.{axis} * blockDim.{axis}"
