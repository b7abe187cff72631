"""The cuda backend's own ``matmul`` (integers: float products run on cuBLAS, :mod:`.cublas`): shared-memory tiles.

A block of :data:`TILE` × :data:`TILE` threads computes a tile of the product, one element each: in steps of
``TILE`` along the inner axis, the block stages an ``A`` tile and a ``B`` tile in shared memory (each thread one
element of each, reads adjacent across a warp), waits, and each thread takes its row of one and its column of
the other. Every element is read from global memory ``n / TILE`` (``m / TILE``) times instead of ``n`` (``m``).
Integer sums are exact (wrapping), so the order along the inner axis is free.

>>> TILE
16
"""

from __future__ import annotations

import math

from pyaccad.backends.clike.cgen import CTYPE, Ctx, Index, c_literal, product, unravel
from pyaccad.backends.clike.element import elem
from pyaccad.backends.cuda.blocks import units_loop
from pyaccad.ir import INT64
from pyaccad.opt.kernels import Kernel

TILE = 16
THREADS = TILE * TILE


def tiles(kernel: Kernel) -> int:
    """The launch's work units: the product's tiles, over the batch."""
    shape = kernel.roots[0].outs[0].type.shape
    return math.prod(shape[:-2]) * -(-shape[-2] // TILE) * -(-shape[-1] // TILE)


def matmul_tiles(ctx: Ctx, kernel: Kernel) -> None:
    (stmt,) = kernel.roots
    a, b = stmt.args
    (out,) = stmt.outs
    sa, sb, so = ctx.shape(a), ctx.shape(b), ctx.shape(out)
    ctype, zero = CTYPE[out.dtype], c_literal(0, out.dtype)
    left, right = ctx.fresh("sha"), ctx.fresh("shb")
    for name in (left, right):  # a column of padding: a warp reading a column of the tile meets no bank twice
        ctx.prologue.append(f"    __shared__ {ctype} {name}[{TILE}][{TILE + 1}];")
    m, k, n = sa[-2], sa[-1], sb[-1]
    rows = ctx.declare(INT64, f"({m} + {TILE - 1}) / {TILE}", "rows")
    cols = ctx.declare(INT64, f"({n} + {TILE - 1}) / {TILE}", "cols")
    ctx.emit(f"const int ty = threadIdx.x / {TILE}, tx = threadIdx.x % {TILE};")

    def unit(u: str) -> None:
        q = ctx.declare(INT64, f"{u} / ({rows} * {cols})", "q")
        rest = ctx.declare(INT64, f"{u} % ({rows} * {cols})", "r")
        i = ctx.declare(INT64, f"({rest} / {cols}) * {TILE} + ty", "i")
        j = ctx.declare(INT64, f"({rest} % {cols}) * {TILE} + tx", "j")
        batch = unravel(ctx, q, so[:-2])
        ctx.emit(f"{ctype} acc = {zero};")
        with ctx.block(f"for (int64_t l0 = 0; l0 < {k}; l0 += {TILE})"):
            for name, row, col, rows_, cols_, x, shape in (
                (left, i, "(l0 + tx)", m, k, a, sa),
                (right, "(l0 + ty)", j, k, n, b, sb),
            ):
                value = ctx.fresh("v")
                ctx.emit(f"{ctype} {value} = {zero};")
                with ctx.block(f"if ({row} < {rows_} && {col} < {cols_})"):  # the edges of the matrices: zeros
                    ctx.emit(f"{value} = {elem(ctx, x, Index([*batch, row, col], shape))};")
                ctx.emit(f"{name}[ty][tx] = {value};")
            ctx.emit("__syncthreads();")
            ctx.emit(f"for (int p = 0; p < {TILE}; p++) acc += {left}[ty][p] * {right}[p][tx];")
            ctx.emit("__syncthreads();")
        with ctx.block(f"if ({i} < {m} && {j} < {n})"):
            ctx.emit(f"{ctx.element(out, f'({q} * {m} + {i}) * {n} + {j}')} = acc;")

    units_loop(ctx, f"{product(so[:-2])} * {rows} * {cols}", unit)
