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
>>> ctx.ints = [5000]
>>> index_loop(ctx, [0], lambda idx: ctx.emit(f"out[{idx.flat}] = 0;"))
>>> any("omp parallel for" in line for line in ctx.lines)
True
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext

from pyaccad.backends.clike.cgen import Ctx, Index
from pyaccad.backends.clike.element import elem, produce
from pyaccad.backends.native.interior import segments, split
from pyaccad.backends.native.region import Size, one_thread, parallel_for
from pyaccad.ir import Program
from pyaccad.opt.kernels import Kernel

BLOCK = 1024
PARALLEL_MIN = 1 << 18
"""Elements below which a kernel runs on one thread: a parallel region costs microseconds when the cores are
idle but milliseconds when they are shared (a barrier waits for a descheduled thread)."""


def index_loop(
    ctx: Ctx,
    extents: list[int],
    body: Callable[[Index], None],
    parallel: bool = True,
    simd: bool = True,
    interior: tuple[str, str, Callable[[Index], None]] | None = None,
    tile: int = 0,
    runs: list[tuple[str, str, int, Callable[[Index], None]]] | None = None,
) -> None:
    """Emit a loop running ``body`` (which emits C) at every index of the shape of ``extents`` (slots of ``E``:
    :meth:`.Ctx.extent_slots`), in parallel where ``parallel`` and there are more than :data:`PARALLEL_MIN` of them.

    Nested loops over the outer axes and over blocks of the last one, collapsed into one OpenMP
    iteration space (so no index needs a division), then a contiguous inner loop. With ``interior``
    ``(lo, hi, inner)`` (C expressions and a body), each block runs ``inner`` on its part of ``[lo, hi)``
    and ``body`` on the rest, in one plain loop around it (:mod:`.interior`). With ``runs``
    ``[(lo, hi, tile, inner), ..]`` (covering the last axis, in order), each block runs each ``inner`` on its
    part of ``[lo, hi)``, and never ``body``. A ``tile`` (a number of elements, else 0) runs a loop in tiles of
    that many (:func:`_tiles`; the caller checks with :func:`tiling` that each range holds that many).
    """
    shape = [ctx.extent(n) for n in extents]
    if not shape:
        with one_thread(ctx) if parallel else nullcontext(), ctx.block():
            body(Index([], [], "0"))
        return
    outer = [ctx.fresh("i") for _ in shape[:-1]]
    with ctx.block():
        ctx.emit(f"const int64_t last = {shape[-1]}, nblk = (last + {BLOCK - 1}) / {BLOCK};")
        size = Size(tuple(extents), PARALLEL_MIN)
        with parallel_for(ctx, f"collapse({len(shape)}) schedule(static)", size) if parallel else nullcontext():
            for i, n in zip(outer, shape[:-1], strict=True):
                ctx.emit(f"for (int64_t {i} = 0; {i} < {n}; {i}++)")
            with ctx.block("for (int64_t b = 0; b < nblk; b++)"):
                row = Index(outer, shape[:-1]).linear() if outer else "0"
                ctx.emit(f"const int64_t j0 = b * {BLOCK}, j1 = PA_MIN_I(j0 + {BLOCK}, last), base = {row} * last;")
                _block(ctx, Index([*outer, "j"], shape, "f"), body, simd, interior, tile, runs)


def _block(
    ctx: Ctx,
    at: Index,
    body: Callable[[Index], None],
    simd: bool,
    interior: tuple[str, str, Callable[[Index], None]] | None,
    tile: int,
    runs: list[tuple[str, str, int, Callable[[Index], None]]] | None,
) -> None:
    """One block ``[j0, j1)`` of :func:`index_loop`'s last axis, at ``at`` (its other arguments are the loop's)."""
    if runs is not None:
        for lo, hi, run_tile, inner in runs:
            with ctx.block():
                ctx.emit(f"const int64_t m0 = {lo} > j0 ? {lo} : j0, m1 = {hi} < j1 ? {hi} : j1;")
                _range(ctx, "m0", "m1", run_tile, lambda inner=inner: inner(at))
        return
    if interior is not None:
        start, stop, inner = interior
        ctx.emit(f"const int64_t m0 = PA_MIN_I({start} > j0 ? {start} : j0, j1);")
        ctx.emit(f"const int64_t m1 = PA_MIN_I({stop} > m0 ? {stop} : m0, j1), nleft = m0 - j0;")
        with ctx.block("for (int64_t t = 0; t < nleft + (j1 - m1); t++)"):
            ctx.emit("const int64_t j = t < nleft ? j0 + t : m1 - nleft + t, f = base + j;")
            body(at)
        _range(ctx, "m0", "m1", 0, lambda: inner(at))
        return
    if not simd:
        with ctx.block("for (int64_t j = j0; j < j1; j++)"):
            ctx.emit("const int64_t f = base + j;")
            body(at)
        return
    _range(ctx, "j0", "j1", tile, lambda: body(at))


def tiling(length: int, last: int, itemsize: int) -> int:
    """The tile (:func:`_tiles`) for a loop over ``length`` elements of a last axis of ``last`` (traced extents),
    of elements of ``itemsize`` bytes: one 64-byte vector's worth (8 float64), or 0 where the range is shorter or
    the axis spans several blocks (one may be short). The source then depends on these extents, as it does
    where :func:`.region.parallel_if` drops a parallel copy.

    >>> tiling(14, 14, 8), tiling(5, 14, 8), tiling(14, 14, 4), tiling(2000, 2000, 8)
    (8, 0, 0, 0)
    """
    tile = TILE_BYTES // itemsize
    return tile if tile <= length and last <= BLOCK else 0


TILE_BYTES = 64
"""A tile is this many bytes of elements: one AVX-512 vector, two AVX2 ones."""


def _range(ctx: Ctx, lo: str, hi: str, tile: int, body: Callable[[], None]) -> None:
    """``body`` at every ``j`` of ``[lo, hi)`` (C expressions; ``body`` sees ``j`` and ``f = base + j``): one
    ``omp simd`` loop, or tiles of ``tile`` elements (:func:`_tiles`)."""
    if tile:
        _tiles(ctx, lo, hi, tile, body)
        return
    # iterations are independent; the outlined OpenMP body loses `restrict`, `omp simd` restores it
    with ctx.simd_block(f"for (int64_t j = {lo}; j < {hi}; j++)"):
        ctx.emit("const int64_t f = base + j;")
        body()


def _tiles(ctx: Ctx, lo: str, hi: str, tile: int, body: Callable[[], None]) -> None:
    """``body`` at every ``j`` of ``[lo, hi)``, which holds at least ``tile`` elements, in vector loops of exactly
    ``tile`` iterations; the last tile starts at ``hi - tile``, computing again (and writing again, the same
    values) elements of the one before it. A plain loop has a vector body and, for the rest, a shorter vector
    loop and a scalar one: a loop body's 14 elements ran as 8 + 4 + 2, the last two through libm's scalar ``exp``
    and ``tanh`` (several times slower per element than libmvec's). Tiles run every element through the
    vector functions, and their loops have no remainder for gcc to compile.
    """
    with ctx.block(f"for (int64_t s = {lo}; s < {hi}; s += {tile})"):
        ctx.emit(f"const int64_t s0 = PA_MIN_I(s, {hi} - {tile});")
        with ctx.simd_block(f"for (int64_t l = 0; l < {tile}; l++)"):
            ctx.emit("const int64_t j = s0 + l, f = base + j;")
            body()


def write_elements(ctx: Ctx, kernel: Kernel, idx: Index) -> None:
    """Emit the writes of a map kernel's outputs at one index (the body of its loop); the values written are
    remembered as those outputs' elements there, for later kernels sharing the loop (:func:`.rows.emit_elements`)."""
    for stmt in kernel.roots:
        values = produce(ctx, stmt, idx)
        for var, value in zip(stmt.outs, values, strict=True):
            ctx.emit(f"{ctx.element(var, idx.linear())} = {value};")
            ctx.remember((var, idx.key()), value)


def load_scalars(ctx: Ctx, kernels: list[Kernel]) -> None:
    """Read, before the kernels' loop, each rank-0 array they read (a loop's step, a sum): one load, not one per
    element. gcc did not hoist such a load out of a long loop body (an element loop of the LSTM's trip), and an
    index computed from it (``seq[t, j]``) then left it no contiguous, vectorisable access."""
    stmts = tuple(s for k in kernels for s in (*k.fused, *k.roots))
    for var in Program((), stmts, ()).free_vars:
        if var.type.ndim == 0 and var not in ctx.delayed and var in ctx.buffers:
            elem(ctx, var, Index([], []))


def map_kernel(ctx: Ctx, kernel: Kernel) -> None:
    """Write every output of the kernel's statements (all of one shape) in one parallel loop.

    Where the kernel reads pads along its last axis, the run of that axis on which each is known to read
    inside or outside gets a copy of the loop without their tests (:mod:`.interior`).
    """
    if not kernel.outs[0].type.ndim:
        index_loop(ctx, [], lambda idx: write_elements(ctx, kernel, idx))
        return
    with ctx.block():  # the scalars' loads, and their names, stay inside
        load_scalars(ctx, [kernel])
        _map_loop(ctx, kernel)


def _map_loop(ctx: Ctx, kernel: Kernel) -> None:
    out = kernel.outs[0]
    slots = ctx.extent_slots(out)
    found = split(ctx, kernel)
    if found is not None:
        known, lo, hi = found
        inner = _knowing(ctx, kernel, known)
        index_loop(ctx, slots, lambda idx: write_elements(ctx, kernel, idx), interior=(ctx.ext(lo), ctx.ext(hi), inner))
        return
    last = out.shape[-1]

    def tile(length: int) -> int:  # loop bodies run their small loops in tiles
        return tiling(length, last, out.dtype.itemsize) if ctx.in_loop else 0

    runs = segments(ctx, kernel)
    index_loop(
        ctx,
        slots,
        lambda idx: write_elements(ctx, kernel, idx),
        tile=tile(last),
        runs=None
        if runs is None
        else [(ctx.ext(lo), ctx.ext(hi), tile(hi - lo), _knowing(ctx, kernel, known)) for lo, hi, known in runs],
    )


def _knowing(ctx: Ctx, kernel: Kernel, known: dict) -> Callable[[Index], None]:
    """The kernel's element, emitted with the pads in ``known`` read without their tests."""

    def inner(idx: Index) -> None:
        before, ctx.known_pads = ctx.known_pads, known
        try:
            write_elements(ctx, kernel, idx)
        finally:
            ctx.known_pads = before

    return inner
