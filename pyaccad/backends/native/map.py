"""The map skeleton: a parallel loop over every index of a shape, writing fused elements.

Manifest element-wise values, ``map``, ``generate``, ``backpermute`` and the
index maps all lower to this loop (their producers inlined by
:func:`pyaccad.backends.native.element.elem`). The last axis is cut into
blocks so that even a rank-1 array spreads over the threads, and the inner
loop runs over contiguous memory (SIMD-friendly)::

    /* out: shape (n_0, .., n_{r-1}); rows = n_0 * .. * n_{r-2}, last = n_{r-1} */
    #pragma omp parallel for schedule(static) if (rows * last > 32768)
    for (int64_t t = 0; t < rows * nblk; t++) {
        const int64_t r = t / nblk, j0 = (t % nblk) * 1024, j1 = min(j0 + 1024, last);
        /* i_0 .. i_{r-2} = unravel(r) */
        for (int64_t j = j0; j < j1; j++) {
            const int64_t f = r * last + j;
            out[f] = <element i_0, .., i_{r-2}, j of the fused producer>;
        }
    }

>>> from pyaccad.backends.native.cgen import Ctx
>>> ctx = Ctx()
>>> index_loop(ctx, ["E[0]"], lambda idx: ctx.emit(f"out[{idx.flat}] = 0;"))
>>> any("omp parallel for" in line for line in ctx.lines)
True
"""

from __future__ import annotations

from collections.abc import Callable

from pyaccad.backends.native.cgen import Ctx, Index, product, unravel
from pyaccad.backends.native.element import produce
from pyaccad.opt.kernels import Kernel

BLOCK = 1024
PARALLEL_MIN = 32768


def index_loop(ctx: Ctx, shape: list[str], body: Callable[[Index], None], parallel: bool = True) -> None:
    """Emit a loop running ``body`` (which emits C) at every index of ``shape``."""
    if not shape:
        with ctx.block():
            body(Index([], [], "0"))
        return
    rows, last = product(shape[:-1]), shape[-1]
    with ctx.block():
        ctx.emit(f"const int64_t rows = {rows}, last = {last}, nblk = (last + {BLOCK - 1}) / {BLOCK};")
        if parallel:
            ctx.emit(f"#pragma omp parallel for schedule(static) if (rows * last > {PARALLEL_MIN})")
        with ctx.block("for (int64_t t = 0; t < rows * nblk; t++)"):
            ctx.emit(f"const int64_t r = t / nblk, j0 = (t - r * nblk) * {BLOCK}, j1 = PA_MIN_I(j0 + {BLOCK}, last);")
            outer = unravel(ctx, "r", shape[:-1])
            with ctx.block("for (int64_t j = j0; j < j1; j++)"):
                ctx.emit("const int64_t f = r * last + j;")
                body(Index([*outer, "j"], shape, "f"))


def map_kernel(ctx: Ctx, kernel: Kernel) -> None:
    """Write every output of the kernel's statements (all of one shape) in one parallel loop."""
    shape = ctx.shape(kernel.outs[0])

    def body(idx: Index) -> None:
        for stmt in kernel.roots:
            values = produce(ctx, stmt, idx)
            for var, value in zip(stmt.outs, values):
                ctx.emit(f"{ctx.buffers[var]}[{idx.linear()}] = {value};")

    index_loop(ctx, shape, body)
