"""Scans on blocks: a line in tiles, scanned in one pass with decoupled look-back (Merrill & Garland, 2016).

A line of :data:`~.blocks.SHORT` elements or more is cut into tiles of ``threads × VALUES`` elements, each a block's
work. A thread folds its ``VALUES`` contiguous elements (kept in registers), the block scans the threads' results
(a shuffle scan in each warp, the warps' totals in shared memory), then each thread scans its elements again from
its prefix. A tile's prefix (the start value and every element before it, in order) comes from the tiles before
it in the same pass, through a status per tile in the workspace::

    tile = atomicAdd(&counter, 1)         /* tiles start in order: the ones looked back at are running */
    aggregate = the tile's elements folded; status[tile] = AGGREGATE (its value, a fence, then the flag)
    prefix = nothing; j = tile - 1
    while true:                           /* look back: the aggregates before, until an inclusive prefix */
        wait until status[j] != EMPTY     /* a spin that sleeps (__nanosleep) */
        prefix = f(value[j], prefix)      /* the earlier tile's value on the left: index order */
        if status[j] == PREFIX: break
        j -= 1
    status[tile] = PREFIX, its value f(prefix, aggregate)

Tile ids come from an atomic counter, not ``blockIdx``: a block only waits for tiles taken before its own, whose
blocks are running (a block scheduled later could not run while an earlier one spins), so the look-back cannot
deadlock. Values are published before their flag with a ``__threadfence()`` between, and read (volatile) after
it with a fence between. The counter and the flags are zeroed before each launch (:attr:`.program.Launch.clear`).

A combine need not commute: the look-back and the block's scan join neighbours in index order only. ``scanr``
is ``scanl`` over the reversed line with the combine's arguments swapped. The tiles' count, the line's length
and the block size are run-time values, so the kernel is the same for every extent; lines shorter than
:data:`~.blocks.SHORT` (and, along an inner axis, lines enough to fill the GPU) are a thread's serial loop, a
kernel the module always holds beside this one (:func:`plan_scan` picks at each shape).

>>> TILE_FLAGS
{'empty': 0, 'aggregate': 1, 'prefix': 2}
"""

from __future__ import annotations

from dataclasses import dataclass

from pyaccad.backends.clike.cgen import CTYPE, Ctx, Index, product, unravel
from pyaccad.backends.clike.element import atom, elem
from pyaccad.backends.cuda.blocks import (
    SHORT,
    THREADS,
    VALUES,
    WARP,
    WORK_TARGET,
    Blocks,
    accumulators,
    block_threads,
    combine,
    line_layout,
    shared_arrays,
)
from pyaccad.ir import INT64, Stmt, Var
from pyaccad.opt.kernels import Kernel

TILE_FLAGS = {"empty": 0, "aggregate": 1, "prefix": 2}
"""A tile's status in the workspace: nothing yet, its aggregate, or its inclusive prefix (the last word)."""


def plan_scan(kernel: Kernel) -> Blocks | None:
    """How ``kernel`` (a scan) runs on blocks at its traced shapes, or None for a thread per line (short lines, or
    along an inner axis lines enough to fill the GPU): tiles of ``threads × VALUES`` elements.

    >>> import numpy as np
    >>> import pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.opt.fusion import plan_program
    >>> scan = plan_program(trace(lambda x: acc.scanl1(lambda a, b: a + b, x), np.ones(5000)).program).kernels[0]
    >>> plan_scan(scan)
    Blocks(threads=256, group=1, count=3, length=2048, partials=(), prefixes=(), flags=None)
    """
    lines, length, inner = line_layout(kernel.roots[0])
    if length < SHORT or (inner >= WARP and lines >= WORK_TARGET):
        return None
    threads = block_threads(length)
    tile = threads * VALUES
    return Blocks(threads, 1, max(1, -(-length // tile)), tile)


@dataclass(frozen=True)
class _ScanLayout:
    """A scan's line ``line`` (0 .. lines-1) in logical order: position ``u`` is element ``t = u`` (``scanl``) or
    ``t = n - 1 - u`` (``scanr``), whose result goes to output position :meth:`out` of the line."""

    stmt: Stmt
    outer: list[str]
    n: str

    @property
    def reverse(self) -> bool:
        return bool(self.stmt.params["reverse"])

    @property
    def axis(self) -> int:
        return int(self.stmt.params["axis"])

    def element(self, u: str) -> str:
        return f"({self.n} - 1 - ({u}))" if self.reverse else f"({u})"

    def read(self, ctx: Ctx, u: str) -> list[str]:
        k = len(self.stmt.outs)
        shape = ctx.shape(self.stmt.args[0])
        at = Index([*self.outer[: self.axis], self.element(u), *self.outer[self.axis :]], shape)
        return [elem(ctx, x, at) for x in self.stmt.args[:k]]

    def out(self, ctx: Ctx, position: str) -> str:
        shape = ctx.shape(self.stmt.outs[0])
        return Index([*self.outer[: self.axis], position, *self.outer[self.axis :]], shape).linear()

    def result_at(self, u: str) -> str:
        """The output position of logical position ``u``'s result (after the start, for ``scanl`` with one)."""
        has_start = len(self.stmt.args) > len(self.stmt.outs)
        return f"({self.element(u)} + 1)" if has_start and not self.reverse else self.element(u)

    def start_at(self) -> str:
        return self.n if self.reverse else "((int64_t)0)"


def _scan_layout(ctx: Ctx, stmt: Stmt, line: str) -> _ScanLayout:
    axis = stmt.params["axis"]
    x_shape = ctx.shape(stmt.args[0])
    lines = [n for a, n in enumerate(x_shape) if a != axis]
    return _ScanLayout(stmt, unravel(ctx, line, lines), x_shape[axis])


def _scan_lines(ctx: Ctx, stmt: Stmt) -> str:
    axis = stmt.params["axis"]
    return ctx.declare(INT64, product([n for a, n in enumerate(ctx.shape(stmt.args[0])) if a != axis]), "lines")


def _load(ctx: Ctx, array: Var, position: str) -> str:
    """A volatile read of an element another block published (never a stale cached copy)."""
    return f"pa_load_volatile(&{ctx.element(array, position)})"


def _publish(ctx: Ctx, arrays: tuple[Var, ...], values: list[str], flags: Var, unit: str, flag: str) -> None:
    """``arrays[unit] = values``, a fence, then the unit's status ``flag``: a block that sees the flag sees them."""
    for array, value in zip(arrays, values, strict=True):
        ctx.emit(f"{ctx.element(array, unit)} = {value};")
    ctx.emit("__threadfence();")
    ctx.emit(f"*(volatile int64_t *)&{ctx.element(flags, unit)} = {TILE_FLAGS[flag]};")


def _look_back(ctx: Ctx, stmt: Stmt, blocks: Blocks, unit: str, prefix: list[str], swap: bool, line: str) -> None:
    """``prefix`` = the tiles before ``unit`` in its line, combined in order: their aggregates, walking back, until
    one's inclusive prefix (tile 0's is always published)."""
    flags = blocks.flags
    assert flags is not None
    with ctx.block(f"for (int64_t j = {unit} - 1;; j--)"):
        ctx.emit("int64_t flag;")
        ctx.emit(
            f"while ((flag = *(volatile int64_t *)&{ctx.element(flags, 'j')}) == {TILE_FLAGS['empty']}) pa_spin();"
        )
        ctx.emit("__threadfence();")
        inclusive = f"flag == {TILE_FLAGS['prefix']}"
        earlier = [
            ctx.declare(v.dtype, f"{inclusive} ? {_load(ctx, inc, 'j')} : {_load(ctx, agg, 'j')}", "e")
            for v, inc, agg in zip(stmt.outs, blocks.prefixes, blocks.partials[0], strict=True)
        ]
        with ctx.block(f"if (j == {unit} - 1)"):
            for pre, e in zip(prefix, earlier, strict=True):
                ctx.emit(f"{pre} = {e};")
        with ctx.block("else"):
            combine(ctx, stmt, prefix, earlier, prefix, swap, line)
        ctx.emit(f"if ({inclusive}) break;")


def scan_tiles(ctx: Ctx, kernel: Kernel, blocks: Blocks) -> None:
    """Each tile (taken in order from the counter) scanned by its block from its prefix, found by look-back."""
    (stmt,) = kernel.roots
    lines = _scan_lines(ctx, stmt)
    count = ctx.declare(INT64, ctx.ext(blocks.count), "count")
    size = ctx.declare(INT64, f"(int64_t)blockDim.x * {VALUES}", "size")
    units = ctx.declare(INT64, f"{lines} * {count}", "units")
    warps = THREADS // WARP
    totals = shared_arrays(ctx, stmt.outs, warps)
    offsets = shared_arrays(ctx, stmt.outs, warps)
    ctx.prologue.append(f"    __shared__ bool sh_has[{warps}];")
    ctx.prologue.append("    __shared__ int64_t sh_unit;")
    counter = ctx.element(blocks.flags, units)
    with ctx.block("for (;;)"):
        with ctx.block("if (threadIdx.x == 0)"):
            ctx.emit(f"sh_unit = (int64_t)atomicAdd((unsigned long long *)&{counter}, 1ull);")
        ctx.emit("__syncthreads();")
        u = ctx.declare(INT64, "sh_unit", "u")
        ctx.emit(f"if ({u} >= {units}) break;  /* every thread read sh_unit: the block leaves together */")
        line = ctx.declare(INT64, f"{u} / {count}", "line")
        tile = ctx.declare(INT64, f"{u} % {count}", "tile")
        layout = _scan_layout(ctx, stmt, line)
        lo = ctx.declare(INT64, f"{tile} * {size}", "lo")
        hi = ctx.declare(INT64, f"PA_MIN_I({lo} + {size}, {layout.n})", "hi")
        _scan_tile(ctx, _Tile(stmt, blocks, layout, u, line, tile, lo, hi, totals, offsets))
        ctx.emit("__syncthreads();  /* sh_unit and the shared arrays are read before the next tile writes them */")


@dataclass(frozen=True)
class _Tile:
    """The tile a block scans: unit ``unit`` (C) of the launch, tile ``tile`` of line ``line``, its elements
    ``lo <= u < hi`` in logical order; ``totals`` and ``offsets``: the shared arrays of the warps' totals and
    offsets, per component."""

    stmt: Stmt
    blocks: Blocks
    layout: _ScanLayout
    unit: str
    line: str
    tile: str
    lo: str
    hi: str
    totals: list[str]
    offsets: list[str]

    @property
    def swap(self) -> bool:
        return self.layout.reverse


def _scan_tile(ctx: Ctx, t: _Tile) -> None:
    """The block's scan of its tile: the threads' elements folded, scanned across the block, the tile's prefix
    found (:func:`_tile_prefix`), then each thread's elements scanned from its offset."""
    stmt, layout, swap, totals, offsets, line, lo, hi = (
        t.stmt,
        t.layout,
        t.swap,
        t.totals,
        t.offsets,
        t.line,
        t.lo,
        t.hi,
    )
    a = ctx.declare(INT64, f"{lo} + (int64_t)threadIdx.x * {VALUES}", "a")
    mine = ctx.declare(INT64, f"PA_MIN_I({a} + {VALUES}, {hi}) - {a}", "mine")  # <= 0: no elements
    vals = [ctx.fresh("vals") for _ in stmt.outs]
    for name, var in zip(vals, stmt.outs, strict=True):
        ctx.emit(f"{CTYPE[var.dtype]} {name}[{VALUES}];")
    accs = accumulators(ctx, stmt.outs)
    with ctx.inside("scan", line):
        with ctx.block(f"if ({mine} > 0)"):  # the thread's elements, in registers, and their fold
            ctx.emit("#pragma unroll")
            with ctx.block(f"for (int v = 0; v < {VALUES}; v++)"), ctx.block(f"if (v < {mine})"):
                for name, x in zip(vals, layout.read(ctx, f"{a} + v"), strict=True):
                    ctx.emit(f"{name}[v] = {x};")
            for acc, name in zip(accs, vals, strict=True):
                ctx.emit(f"{acc} = {name}[0];")
            with ctx.block(f"for (int v = 1; v < {VALUES} && v < {mine}; v++)"):
                combine(ctx, stmt, accs, accs, [f"{name}[v]" for name in vals], swap, line)
        # inclusive scan of the threads' results within the warp (the threads with elements come first)
        with ctx.block("for (int d = 1; d < 32; d *= 2)"):
            others = [
                ctx.declare(v.dtype, f"pa_shfl_up({acc}, d)", "o") for v, acc in zip(stmt.outs, accs, strict=True)
            ]
            with ctx.block(f"if ((threadIdx.x & 31) >= d && {mine} > 0)"):
                combine(ctx, stmt, accs, others, accs, swap, line)
        before = [ctx.declare(v.dtype, f"pa_shfl_up({acc}, 1)", "b") for v, acc in zip(stmt.outs, accs, strict=True)]
        last = f"{mine} > 0 && ((threadIdx.x & 31) == 31 || {a} + {VALUES} >= {hi})"
        with ctx.block(f"if ({last})"):
            for sh, acc in zip(totals, accs, strict=True):
                ctx.emit(f"{sh}[threadIdx.x / 32] = {acc};")
        ctx.emit("__syncthreads();")
        with ctx.block("if (threadIdx.x == 0)"):
            _tile_prefix(ctx, t)
        ctx.emit("__syncthreads();")
        with ctx.block(f"if ({mine} > 0)"):  # the thread's prefix, then its elements scanned from it
            warp = "threadIdx.x / 32"
            prefix = accumulators(ctx, stmt.outs, "pre")
            has = ctx.declare(INT64, f"(threadIdx.x & 31) > 0 || sh_has[{warp}]", "has")
            with ctx.block("if ((threadIdx.x & 31) == 0)"):
                for pre, off in zip(prefix, offsets, strict=True):
                    ctx.emit(f"{pre} = {off}[{warp}];")
            with ctx.block(f"else if (sh_has[{warp}])"):
                combine(ctx, stmt, prefix, [f"{off}[{warp}]" for off in offsets], before, swap, line)
            with ctx.block("else"):
                for pre, b in zip(prefix, before, strict=True):
                    ctx.emit(f"{pre} = {b};")
            ctx.emit("#pragma unroll")
            with ctx.block(f"for (int v = 0; v < {VALUES}; v++)"), ctx.block(f"if (v < {mine})"):
                with ctx.block(f"if ({has} || v > 0)"):
                    combine(ctx, stmt, prefix, prefix, [f"{name}[v]" for name in vals], swap, line)
                with ctx.block("else"):
                    for pre, name in zip(prefix, vals, strict=True):
                        ctx.emit(f"{pre} = {name}[0];")
                position = layout.out(ctx, layout.result_at(f"{a} + v"))
                for pre, var in zip(prefix, stmt.outs, strict=True):
                    ctx.emit(f"{ctx.element(var, position)} = {pre};")


def _tile_prefix(ctx: Ctx, t: _Tile) -> None:
    """Thread 0: the tile's aggregate published, its prefix found (the start value for tile 0), its inclusive
    prefix published, and each warp's offset (the prefix and the warps before it) into shared memory."""
    stmt, blocks, layout, swap, totals, offsets, line = t.stmt, t.blocks, t.layout, t.swap, t.totals, t.offsets, t.line
    u, tile, lo, hi = t.unit, t.tile, t.lo, t.hi
    k = len(stmt.outs)
    has_start = len(stmt.args) > k
    warps = f"({hi} - {lo} + {WARP * VALUES - 1}) / {WARP * VALUES}"  # the warps with elements
    aggregate = accumulators(ctx, stmt.outs, "agg")
    for g, sh in zip(aggregate, totals, strict=True):
        ctx.emit(f"{g} = {sh}[0];")
    with ctx.block(f"for (int64_t w = 1; w < {warps}; w++)"):
        combine(ctx, stmt, aggregate, aggregate, [f"{sh}[w]" for sh in totals], swap, line)
    carry = accumulators(ctx, stmt.outs, "carry")
    has = ctx.fresh("has")
    ctx.emit(f"bool {has} = {'true' if has_start else 'false'};")
    with ctx.block(f"if ({tile} == 0)"):
        if has_start:
            for c, z in zip(carry, stmt.args[k:], strict=True):
                ctx.emit(f"{c} = {atom(ctx, z)};")
            for c, var in zip(carry, stmt.outs, strict=True):
                ctx.emit(f"{ctx.element(var, layout.out(ctx, layout.start_at()))} = {c};")
    with ctx.block("else"):
        _publish(ctx, blocks.partials[0], aggregate, blocks.flags, u, "aggregate")
        _look_back(ctx, stmt, blocks, u, carry, swap, line)
        ctx.emit(f"{has} = true;")
    with ctx.block(f"if ({hi} < {layout.n})"):  # a later tile of the line looks back
        inclusive = accumulators(ctx, stmt.outs, "inc")
        with ctx.block(f"if ({has})"):
            combine(ctx, stmt, inclusive, carry, aggregate, swap, line)
        with ctx.block("else"):
            for i, g in zip(inclusive, aggregate, strict=True):
                ctx.emit(f"{i} = {g};")
        _publish(ctx, blocks.prefixes, inclusive, blocks.flags, u, "prefix")
    with ctx.block(f"for (int64_t w = 0; w < {warps}; w++)"):
        ctx.emit(f"sh_has[w] = {has};")
        for off, c in zip(offsets, carry, strict=True):
            ctx.emit(f"{off}[w] = {c};")
        totals_w = [f"{sh}[w]" for sh in totals]
        with ctx.block(f"if ({has})"):
            combine(ctx, stmt, carry, carry, totals_w, swap, line)
        with ctx.block("else"):
            for c, t in zip(carry, totals_w, strict=True):
                ctx.emit(f"{c} = {t};")
        ctx.emit(f"{has} = true;")
