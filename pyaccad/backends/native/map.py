"""The map skeleton: a parallel loop over every index of a shape, writing fused elements.

Manifest element-wise values, ``map``, ``generate``, ``backpermute`` and the
index maps all lower to this loop (their producers inlined by
:func:`pyaccad.backends.clike.element.elem`). The last axis is cut into
blocks so that even a rank-1 array spreads over the threads, and the inner
loop runs over contiguous memory (SIMD-friendly)::

    /* out: shape (n_0, .., n_{r-2}, last); nblk = ceil(last / 1024) */
    #pragma omp parallel for collapse(r) schedule(static) if (size > PARALLEL_MIN)
    for (i_0 = 0; i_0 < n_0; i_0++) .. for (i_{r-2} = 0; ..)
    for (int64_t b = 0; b < nblk; b++) {
        const int64_t j0 = b * 1024, j1 = min(j0 + 1024, last), base = (i_0 * n_1 + ..) * last;
        for (int64_t j = j0; j < j1; j++) {
            const int64_t f = base + j;
            out[f] = <element i_0, .., i_{r-2}, j of the fused producer>;
        }
    }

>>> from pyaccad.backends.clike.cgen import Ctx
>>> ctx = Ctx()
>>> index_loop(ctx, ["E[0]"], lambda idx: ctx.emit(f"out[{idx.flat}] = 0;"))
>>> any("omp parallel for" in line for line in ctx.lines)
True
"""

from __future__ import annotations

from collections.abc import Callable

from pyaccad.backends.clike.cgen import Ctx, Index, product
from pyaccad.backends.clike.element import produce
from pyaccad.backends.native.interior import split
from pyaccad.opt.kernels import Kernel

BLOCK = 1024
PARALLEL_MIN = 1 << 18
"""Elements below which a kernel runs on one thread: a parallel region costs microseconds when the cores are
idle but milliseconds when they are shared (a barrier waits for a descheduled thread)."""


def index_loop(
    ctx: Ctx,
    shape: list[str],
    body: Callable[[Index], None],
    parallel: bool = True,
    simd: bool = True,
    interior: tuple[str, str, Callable[[Index], None]] | None = None,
) -> None:
    """Emit a loop running ``body`` (which emits C) at every index of ``shape``.

    Nested loops over the outer axes and over blocks of the last one, collapsed into one OpenMP
    iteration space (so no index needs a division), then a contiguous inner loop. With ``interior``
    ``(lo, hi, inner)`` (C expressions and a body), each block runs ``inner`` on its part of ``[lo, hi)``
    and ``body`` on the rest, in one plain loop around it (:mod:`.interior`).
    """
    if not shape:
        with ctx.block():
            body(Index([], [], "0"))
        return
    outer = [ctx.fresh("i") for _ in shape[:-1]]
    with ctx.block():
        ctx.emit(f"const int64_t last = {shape[-1]}, nblk = (last + {BLOCK - 1}) / {BLOCK};")
        if parallel:
            ctx.emit(
                f"#pragma omp parallel for collapse({len(shape)}) schedule(static) "
                f"if ({product(shape)} > {PARALLEL_MIN})"
            )
        for i, n in zip(outer, shape[:-1], strict=True):
            ctx.emit(f"for (int64_t {i} = 0; {i} < {n}; {i}++)")
        header = "for (int64_t j = j0; j < j1; j++)"
        with ctx.block("for (int64_t b = 0; b < nblk; b++)"):
            row = Index(outer, shape[:-1]).linear() if outer else "0"
            ctx.emit(f"const int64_t j0 = b * {BLOCK}, j1 = PA_MIN_I(j0 + {BLOCK}, last), base = {row} * last;")
            if interior is not None:
                lo, hi, inner = interior
                ctx.emit(f"const int64_t m0 = PA_MIN_I({lo} > j0 ? {lo} : j0, j1);")
                ctx.emit(f"const int64_t m1 = PA_MIN_I({hi} > m0 ? {hi} : m0, j1), nleft = m0 - j0;")
                with ctx.block("for (int64_t t = 0; t < nleft + (j1 - m1); t++)"):
                    ctx.emit("const int64_t j = t < nleft ? j0 + t : m1 - nleft + t, f = base + j;")
                    body(Index([*outer, "j"], shape, "f"))
                body, header = inner, "for (int64_t j = m0; j < m1; j++)"
            # iterations are independent; the outlined OpenMP body loses `restrict`, `omp simd` restores it
            with ctx.simd_block(header) if simd else ctx.block(header):
                ctx.emit("const int64_t f = base + j;")
                body(Index([*outer, "j"], shape, "f"))


def write_elements(ctx: Ctx, kernel: Kernel, idx: Index) -> None:
    """Emit the writes of a map kernel's outputs at one index (the body of its loop)."""
    for stmt in kernel.roots:
        values = produce(ctx, stmt, idx)
        for var, value in zip(stmt.outs, values, strict=True):
            ctx.emit(f"{ctx.element(var, idx.linear())} = {value};")


def map_kernel(ctx: Ctx, kernel: Kernel) -> None:
    """Write every output of the kernel's statements (all of one shape) in one parallel loop.

    Where the kernel reads pads along its last axis, the run of that axis on which each is known to read
    inside or outside gets a copy of the loop without their tests (:mod:`.interior`).
    """
    found = split(ctx, kernel)
    if found is None:
        index_loop(ctx, ctx.shape(kernel.outs[0]), lambda idx: write_elements(ctx, kernel, idx))
        return
    known, lo, hi = found

    def inner(idx: Index) -> None:
        before, ctx.known_pads = ctx.known_pads, known
        try:
            write_elements(ctx, kernel, idx)
        finally:
            ctx.known_pads = before

    shape = ctx.shape(kernel.outs[0])
    index_loop(ctx, shape, lambda idx: write_elements(ctx, kernel, idx), interior=(ctx.ext(lo), ctx.ext(hi), inner))
