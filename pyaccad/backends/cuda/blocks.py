"""Cooperative CUDA kernels: folds and scans whose lines are shared by the threads of a block.

A line of a fold or scan long enough (:data:`SHORT` elements or more) is not one thread's serial loop but a
block's work (:func:`plan_fold`, :func:`plan_scan`); a combine need not commute, so every combination keeps
index order: each thread folds a contiguous piece of the line, and the pieces' results are combined left to
right, in a tree that only ever joins neighbours (``((p0 p1)(p2 p3))...``): a warp shuffle tree
(``pa_shfl_down``, lane ``l`` joining lane ``l + d`` when ``l`` is a multiple of ``2d``), then the warps'
results through shared memory. A combine the fold recognises as a commutative monoid (``+``, ``*``, max,
min, and, or: :func:`pyaccad.ir.monoids.monoids`) lets the threads stride the line instead (thread ``p``
takes elements ``p, p + P, ...``), so a warp's reads are adjacent in memory.

* ``fold_block``: one block per line, or, along an inner axis (a line's elements ``inner`` apart), one block
  per :data:`WARP` adjacent lines, a lane each, so a warp reads adjacent elements; the block's warps cut the
  lines into pieces.
* ``fold_slices`` then ``fold_merge``: few long lines (a reduction to one value, a sum over rows of few
  columns): each line cut into ``count`` slices, each slice a block's work (``fold_slices`` writes each
  slice's result), then one block per line folds its slices' results in order and the start value.
* ``scan_block``: a line in tiles of ``threads × VALUES`` elements, one block per tile; a thread folds its
  ``VALUES`` contiguous elements (kept in registers), the block scans the threads' results (a shuffle scan in
  each warp, the warps' totals in shared memory), then each thread scans its elements again from its prefix.
  A line of one tile is one launch; of several, three (``scan_totals``: each tile's result,
  ``scan_offsets``: each line's tile results scanned in order by a warp, ``scan_block``: the tiles from
  those offsets). ``scanr`` is ``scanl`` over the reversed line with the combine's arguments swapped.

The start value of a fold or scan is combined in once, first (``scanl``, folds: ``f z (fold1 f xs)``) or last
(``scanr``), as the one-thread kernels do. Every thread of a block reaches every barrier: the loops over a
launch's work units (``u = blockIdx.x; u < units; u += gridDim.x``) have the same trips in every thread, and
threads without elements take part with placeholder values that are never combined.

>>> THREADS, WARP, VALUES, SHORT
(256, 32, 8, 32)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from pyaccad.backends.clike.cgen import CTYPE, Ctx, Index, product, unravel
from pyaccad.backends.clike.element import atom, call_lambda, elem
from pyaccad.ir import INT64, Stmt, Var
from pyaccad.ir.monoids import monoids
from pyaccad.opt.kernels import Kernel

THREADS = 256
"""Threads per block at most (a short line gets fewer, :func:`block_threads`)."""
WARP = 32
VALUES = 8
"""A scan's elements per thread per tile."""
SHORT = 32
"""A line shorter than this stays one thread's serial loop."""
WORK_TARGET = 1 << 16
"""Lines that fill the GPU one thread each (132 SMs × 512): a fold along an inner axis with this many keeps a
thread per line, whose reads are already adjacent across a warp."""
FILL = 512
"""Block work units a launch aims at: below it, long lines are cut into slices."""
SLICE_MIN = THREADS * VALUES
"""Elements a fold's slice holds at least: below it, the second pass would cost more than the first saves."""


@dataclass(frozen=True)
class Blocks:
    """How a fold or scan runs on blocks: ``threads`` per block, ``group`` adjacent lines per block (1, or
    :data:`WARP` for a fold along an inner axis), each line cut into ``count`` slices (tiles) of ``length``
    elements, the last shorter; ``partials``: per statement, per component, the slices' results."""

    threads: int
    group: int
    count: int
    length: int
    partials: tuple[tuple[Var, ...], ...] = ()


def block_threads(length: int) -> int:
    """A block's threads for lines of ``length``: about 8 elements each, a warp at least, :data:`THREADS` at most.

    >>> block_threads(33), block_threads(1000), block_threads(10**6)
    (32, 128, 256)
    """
    threads = WARP
    while threads < THREADS and threads * VALUES < length:
        threads *= 2
    return threads


def _line_layout(stmt: Stmt) -> tuple[int, int, int]:
    """``(lines, length, inner)`` of a fold or scan: its lines, their length, the distance of their elements."""
    axis, shape = stmt.params["axis"], stmt.args[0].shape
    lines = math.prod(n for a, n in enumerate(shape) if a != axis)
    inner = math.prod(shape[axis + 1 :])
    return lines, shape[axis], inner


def plan_fold(kernel: Kernel) -> Blocks | None:
    """How ``kernel`` (a fold) runs on blocks, or None for a thread per line (short lines, or along an inner axis
    lines enough to fill the GPU), at the traced shapes.

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.opt.fusion import plan_program
    >>> fold = plan_program(trace(lambda x: x.sum(), np.ones(1 << 20)).program).kernels[0]
    >>> plan_fold(fold)
    Blocks(threads=256, group=1, count=512, length=2048, partials=())
    """
    lines, length, inner = _line_layout(kernel.roots[0])
    group = WARP if inner >= WARP else 1
    if length < SHORT or (group > 1 and lines >= WORK_TARGET):
        return None
    units = -(-lines // group)
    count = 1
    if units < FILL and length >= 2 * SLICE_MIN:
        count = min(length // SLICE_MIN, max(2, FILL // units))
    slice_length = -(-length // count)
    count = -(-length // slice_length)  # every slice non-empty
    return Blocks(block_threads(slice_length) if group == 1 else THREADS, group, count, slice_length)


def plan_scan(kernel: Kernel) -> Blocks | None:
    """How ``kernel`` (a scan) runs on blocks, or None for a thread per line (short lines, or along an inner axis
    lines enough to fill the GPU): tiles of ``threads × VALUES`` elements.

    >>> import numpy as np
    >>> import pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.opt.fusion import plan_program
    >>> scan = plan_program(trace(lambda x: acc.scanl1(lambda a, b: a + b, x), np.ones(5000)).program).kernels[0]
    >>> plan_scan(scan)
    Blocks(threads=256, group=1, count=3, length=2048, partials=())
    """
    lines, length, inner = _line_layout(kernel.roots[0])
    if length < SHORT or (inner >= WARP and lines >= WORK_TARGET):
        return None
    threads = block_threads(length)
    tile = threads * VALUES
    return Blocks(threads, 1, max(1, -(-length // tile)), tile)


# -- emitting ------------------------------------------------------------------------------------------


def grid_loop(ctx: Ctx, count: str, body: Callable[[str], None]) -> None:
    """A grid-stride loop over work items ``0 .. count-1``; ``body`` emits one item's code given its name."""
    ctx.emit(f"const int64_t n = {count};")
    header = (
        "for (int64_t w = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; w < n; w += (int64_t)gridDim.x * blockDim.x)"
    )
    with ctx.block(header):
        body("w")


def _accumulators(ctx: Ctx, outs: tuple[Var, ...], prefix: str = "acc") -> list[str]:
    """Declared, value-initialised accumulators for ``outs`` (a placeholder's value is never combined)."""
    names = [ctx.fresh(prefix) for _ in outs]
    for name, var in zip(names, outs, strict=True):
        ctx.emit(f"{CTYPE[var.dtype]} {name}{{}};")
    return names


def assign(ctx: Ctx, names: list[str], values: list[str], outs: tuple[Var, ...]) -> None:
    """``names = values``, through temporaries (a value may read a name being assigned)."""
    temps = [ctx.declare(v.dtype, value, "n") for v, value in zip(outs, values, strict=True)]
    for name, temp in zip(names, temps, strict=True):
        ctx.emit(f"{name} = {temp};")


def _combine(ctx: Ctx, stmt: Stmt, into: list[str], left: list[str], right: list[str], swap: bool, at: str) -> None:
    """``into = f(left, right)`` (``f(right, left)`` when ``swap``: a ``scanr`` walks its line backwards)."""
    op = "scan" if stmt.prim.name == "scan" else "fold"
    with ctx.block():
        pair = right + left if swap else left + right
        assign(ctx, into, call_lambda(ctx, stmt.params["lam"], pair, op, at), stmt.outs)


def _fold_into(
    ctx: Ctx,
    stmt: Stmt,
    accs: list[str],
    values: list[str],
    started: str,
    swap: bool,
    at: str,
    values_first: bool = False,
) -> None:
    """``accs = started ? f(accs, values) : values`` (``f(values, accs)`` when ``values_first``): the first value of
    a run starts its accumulator."""
    with ctx.block(f"if ({started})"):
        left, right = (values, accs) if values_first else (accs, values)
        _combine(ctx, stmt, accs, left, right, swap, at)
    with ctx.block("else"):
        for acc, value in zip(accs, values, strict=True):
            ctx.emit(f"{acc} = {value};")


def _shared(ctx: Ctx, outs: tuple[Var, ...], size: int) -> list[str]:
    """Shared arrays of ``size`` elements, one per component."""
    names = [ctx.fresh("sh") for _ in outs]
    for name, var in zip(names, outs, strict=True):
        ctx.prologue.append(f"    __shared__ {CTYPE[var.dtype]} {name}[{size}];")
    return names


def units_loop(ctx: Ctx, count: str, body: Callable[[str], None]) -> None:
    """A loop of the block over work units ``0 .. count-1`` (the same trips in every thread of the block)."""
    ctx.emit(f"const int64_t units = {count};")
    with ctx.block("for (int64_t u = blockIdx.x; u < units; u += gridDim.x)"):
        body("u")
        ctx.emit("__syncthreads();  /* the shared arrays are read before the next unit writes them */")


def _commutes(stmt: Stmt) -> bool:
    found = monoids(stmt.params["lam"])
    return found is not None and "first" not in found


@dataclass(frozen=True)
class _Line:
    """What a block folds: per statement, ``read(stmt, t)`` its components at position ``t`` of the thread's line
    (``lo <= t < hi``, the same range for the block's lines), and ``live``: whether the thread has a line."""

    line: str
    live: str
    lo: str
    hi: str
    read: Callable[[Stmt, str], list[str]]


def _fold_line(
    ctx: Ctx, stmt: Stmt, spec: _Line, group: int, threads: int, swap: bool = False, warp: bool = False
) -> tuple[list, str]:
    """Fold ``spec``'s range of each line in index order across the block: returns the accumulators, valid in the
    first piece's thread of each line (``threadIdx.x < group``), and the C flag whether the range had elements.
    With ``warp`` (``threads`` 32, ``group`` 1), one warp of the block folds the line, its lane 0 holding the result
    (the other warps fold lines of their own: no shared memory, no barrier of the block)."""
    pieces = threads // group
    strided = _commutes(stmt) and not swap
    p = "(threadIdx.x & 31)" if warp else "threadIdx.x / 32" if group > 1 else "threadIdx.x"
    span = ctx.declare(INT64, f"{spec.hi} - {spec.lo}", "span")
    if strided:  # thread p: elements p, p + P, ...
        have = ctx.declare(INT64, f"PA_MIN_I({span}, (int64_t){pieces})", "have")
        start = ctx.declare(INT64, f"{spec.lo} + (int64_t)({p})", "start")
        stop, step = spec.hi, str(pieces)
    else:  # thread p: the p-th contiguous piece (the pieces that exist come first)
        chunk = ctx.declare(INT64, f"({span} + {pieces - 1}) / {pieces}", "chunk")
        have = ctx.declare(INT64, f"{chunk} ? ({span} + {chunk} - 1) / {chunk} : 0", "have")
        start = ctx.declare(INT64, f"{spec.lo} + (int64_t)({p}) * {chunk}", "start")
        stop, step = f"PA_MIN_I({start} + {chunk}, {spec.hi})", "1"
    accs = _accumulators(ctx, stmt.outs)
    with ctx.block(f"if ({spec.live} && (int64_t)({p}) < {have})"):
        with ctx.block():
            for acc, value in zip(accs, spec.read(stmt, start), strict=True):
                ctx.emit(f"{acc} = {value};")
        with ctx.block(f"for (int64_t t = {start} + {step}; t < {stop}; t += {step})"):
            values = [ctx.declare(v.dtype, x, "x") for v, x in zip(stmt.outs, spec.read(stmt, "t"), strict=True)]
            _combine(ctx, stmt, accs, accs, values, swap, spec.line)
    if group == 1:  # a warp's pieces joined in a neighbour tree: lane l takes lane l + d's, l a multiple of 2d
        with ctx.block("for (int d = 1; d < 32; d *= 2)"):
            others = [
                ctx.declare(v.dtype, f"pa_shfl_down({acc}, d)", "o") for v, acc in zip(stmt.outs, accs, strict=True)
            ]
            with ctx.block(f"if (({p} & (2 * d - 1)) == 0 && (int64_t){p} + d < {have})"):
                _combine(ctx, stmt, accs, accs, others, swap, spec.line)
        if warp:
            return accs, f"({have} > 0)"
        shared = _shared(ctx, stmt.outs, threads // WARP)  # each warp's result
        with ctx.block("if (threadIdx.x % 32 == 0)"):
            for sh, acc in zip(shared, accs, strict=True):
                ctx.emit(f"{sh}[threadIdx.x / 32] = {acc};")
        parts, stride = f"({have} + 31) / 32", 1
    else:
        shared = _shared(ctx, stmt.outs, threads)  # each lane's
        for sh, acc in zip(shared, accs, strict=True):
            ctx.emit(f"{sh}[threadIdx.x] = {acc};")
        parts, stride = have, group
    ctx.emit("__syncthreads();")
    with ctx.block(f"if (threadIdx.x < {group} && {spec.live} && {have} > 0)"):  # the parts, in order
        for sh, acc in zip(shared, accs, strict=True):
            ctx.emit(f"{acc} = {sh}[threadIdx.x];")
        with ctx.block(f"for (int64_t q = 1; q < {parts}; q++)"):
            values = [
                ctx.declare(v.dtype, f"{sh}[q * {stride} + threadIdx.x]", "x")
                for v, sh in zip(stmt.outs, shared, strict=True)
            ]
            _combine(ctx, stmt, accs, accs, values, swap, spec.line)
    return accs, f"({have} > 0)"


def _store_line(ctx: Ctx, stmt: Stmt, accs: list[str], nonempty: str, line: str) -> None:
    """The fold's result at output position ``line``: ``f(z, acc)`` for a fold with a start value (``z`` alone for
    an empty line), else ``acc``."""
    inits = stmt.args[len(stmt.outs) :]
    if inits:
        _fold_into(ctx, stmt, accs, [atom(ctx, z) for z in inits], nonempty, False, line, values_first=True)
    for acc, var in zip(accs, stmt.outs, strict=True):
        ctx.emit(f"{ctx.element(var, line)} = {acc};")


def _fold_reader(ctx: Ctx, axis: int, outer: list[str]) -> Callable[[Stmt, str], list[str]]:
    """Reads a fold statement's components at position ``t`` along ``axis`` of the line at ``outer``."""

    def read(s: Stmt, t: str) -> list[str]:
        k = len(s.outs)
        shape = ctx.shape(s.args[0])
        return [elem(ctx, x, Index([*outer[:axis], t, *outer[axis:]], shape)) for x in s.args[:k]]

    return read


def _fold_pass(ctx: Ctx, kernel: Kernel, blocks: Blocks, sliced: bool) -> None:
    """``fold_block`` (every line whole) or ``fold_slices`` (each slice's result into the partials)."""
    first = kernel.roots[0]
    axis = first.params["axis"]
    x_shape = ctx.shape(first.args[0])
    out_shape = [n for a, n in enumerate(x_shape) if a != axis]
    lines = ctx.declare(INT64, product(out_shape), "lines")
    group, count = blocks.group, ctx.ext(blocks.count) if sliced else "1"
    tiles = ctx.declare(INT64, f"({lines} + {group - 1}) / {group}", "tiles")

    def unit(u: str) -> None:
        tile, piece = (f"{u} / {count}", f"{u} % {count}") if sliced else (u, "0")
        lane = "threadIdx.x % 32" if group > 1 else "0"
        line = ctx.declare(INT64, f"({tile}) * {group} + {lane}", "line")
        live = ctx.declare(INT64, f"{line} < {lines}", "live")
        if sliced:
            size = ctx.ext(blocks.length)
            lo = ctx.declare(INT64, f"({piece}) * {size}", "lo")
            hi = ctx.declare(INT64, f"PA_MIN_I({lo} + {size}, {x_shape[axis]})", "hi")
        else:
            lo, hi = "((int64_t)0)", x_shape[axis]
        outer = unravel(ctx, line, out_shape)
        spec = _Line(line, live, lo, hi, _fold_reader(ctx, axis, outer))
        for n, stmt in enumerate(kernel.roots):
            with ctx.block(), ctx.inside("fold", line):
                accs, nonempty = _fold_line(ctx, stmt, spec, group, blocks.threads)
                with ctx.block(f"if (threadIdx.x < {group} && {live})"):
                    if sliced:
                        for acc, part in zip(accs, blocks.partials[n], strict=True):
                            ctx.emit(f"{ctx.element(part, f'{line} * {count} + ({piece})')} = {acc};")
                    else:
                        _store_line(ctx, stmt, accs, nonempty, line)

    units_loop(ctx, f"{tiles} * {count}", unit)


def fold_block(ctx: Ctx, kernel: Kernel, blocks: Blocks) -> None:
    _fold_pass(ctx, kernel, blocks, sliced=False)


def fold_slices(ctx: Ctx, kernel: Kernel, blocks: Blocks) -> None:
    _fold_pass(ctx, kernel, blocks, sliced=True)


def fold_line(ctx: Ctx, kernel: Kernel, line: str, outer: list[str], threads: int, warp: bool = False) -> None:
    """The block (with ``warp``, one warp of it: ``threads`` 32) folds line ``line`` (its output position;
    ``outer``, its indices) of each of ``kernel``'s folds in index order, and its first thread stores the results: a
    fold's row in a row group (:mod:`.rows`)."""
    axis = kernel.roots[0].params["axis"]
    length = ctx.shape(kernel.roots[0].args[0])[axis]
    spec = _Line(line, "1", "((int64_t)0)", length, _fold_reader(ctx, axis, outer))
    for stmt in kernel.roots:
        with ctx.block(), ctx.inside("fold", line):
            accs, nonempty = _fold_line(ctx, stmt, spec, 1, threads, warp=warp)
            with ctx.block(f"if ({'(threadIdx.x & 31)' if warp else 'threadIdx.x'} == 0)"):
                _store_line(ctx, stmt, accs, nonempty, line)


def fold_merge(ctx: Ctx, kernel: Kernel, blocks: Blocks) -> None:
    """One block per line: the line's slice results folded in order, then the start value."""
    count = ctx.ext(blocks.count)
    lines = ctx.declare(INT64, product(ctx.shape(kernel.roots[0].outs[0])), "lines")

    def unit(u: str) -> None:
        index = {stmt: n for n, stmt in enumerate(kernel.roots)}

        def read(stmt: Stmt, t: str) -> list[str]:
            return [ctx.element(part, f"{u} * {count} + {t}") for part in blocks.partials[index[stmt]]]

        spec = _Line(u, "1", "((int64_t)0)", count, read)
        for stmt in kernel.roots:
            with ctx.block():
                accs, nonempty = _fold_line(ctx, stmt, spec, 1, merge_threads(blocks))
                with ctx.block("if (threadIdx.x == 0)"):
                    _store_line(ctx, stmt, accs, nonempty, u)

    units_loop(ctx, lines, unit)


def merge_threads(blocks: Blocks) -> int:
    """The block size of a sliced fold's merge (its lines are ``count`` long)."""
    return block_threads(blocks.count)


# -- scans ---------------------------------------------------------------------------------------------


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


def scan_totals(ctx: Ctx, kernel: Kernel, blocks: Blocks) -> None:
    """Each tile's result (its elements folded in logical order) into the partials."""
    (stmt,) = kernel.roots
    count, size = ctx.ext(blocks.count), ctx.ext(blocks.length)
    lines = _scan_lines(ctx, stmt)

    def unit(u: str) -> None:
        line = ctx.declare(INT64, f"{u} / {count}", "line")
        layout = _scan_layout(ctx, stmt, line)
        lo = ctx.declare(INT64, f"({u} % {count}) * {size}", "lo")
        hi = ctx.declare(INT64, f"PA_MIN_I({lo} + {size}, {layout.n})", "hi")
        spec = _Line(line, "1", lo, hi, lambda s, t: layout.read(ctx, t))
        with ctx.inside("scan", line):
            accs, _ = _fold_line(ctx, stmt, spec, 1, blocks.threads, swap=layout.reverse)
        with ctx.block("if (threadIdx.x == 0)"):
            for acc, part in zip(accs, blocks.partials[0], strict=True):
                ctx.emit(f"{ctx.element(part, u)} = {acc};")

    units_loop(ctx, f"{lines} * {count}", unit)


def scan_offsets(ctx: Ctx, kernel: Kernel, blocks: Blocks) -> None:
    """A warp per line: its tile results replaced by the tiles' offsets (the start value and the results before
    each tile, combined in order; tile 0's is never read). Each lane walks a contiguous chunk of the tiles; the
    chunks' results are scanned by shuffles, and each lane walks its chunk again from its prefix."""
    (stmt,) = kernel.roots
    k = len(stmt.outs)
    count = ctx.ext(blocks.count)
    lines = _scan_lines(ctx, stmt)
    swap = bool(stmt.params["reverse"])
    chunk = ctx.declare(INT64, f"({count} + 31) / 32", "chunk")
    lo = ctx.declare(INT64, f"(int64_t)threadIdx.x * {chunk}", "lo")
    hi = ctx.declare(INT64, f"PA_MIN_I({lo} + {chunk}, {count})", "hi")

    def unit(u: str) -> None:
        slots = [ctx.element(part, f"{u} * {count} + c") for part in blocks.partials[0]]
        accs = _accumulators(ctx, stmt.outs)
        with ctx.block(f"for (int64_t c = {lo}; c < {hi}; c++)"):
            totals = [ctx.declare(v.dtype, slot, "x") for v, slot in zip(stmt.outs, slots, strict=True)]
            _fold_into(ctx, stmt, accs, totals, f"c > {lo}", swap, u)
        with ctx.block("for (int d = 1; d < 32; d *= 2)"):  # inclusive scan of the chunks (those with tiles first)
            others = [
                ctx.declare(v.dtype, f"pa_shfl_up({acc}, d)", "o") for v, acc in zip(stmt.outs, accs, strict=True)
            ]
            with ctx.block(f"if (threadIdx.x >= d && {lo} < {hi})"):
                _combine(ctx, stmt, accs, others, accs, swap, u)
        before = [ctx.declare(v.dtype, f"pa_shfl_up({acc}, 1)", "b") for v, acc in zip(stmt.outs, accs, strict=True)]
        prefix = _accumulators(ctx, stmt.outs, "pre")
        has = ctx.fresh("has")
        ctx.emit(f"bool {has} = threadIdx.x > 0;")
        for pre, b in zip(prefix, before, strict=True):
            ctx.emit(f"{pre} = {b};")
        if len(stmt.args) > k:  # the start value first
            starts = [atom(ctx, z) for z in stmt.args[k:]]
            _fold_into(ctx, stmt, prefix, starts, has, swap, u, values_first=True)
            ctx.emit(f"{has} = true;")
        with ctx.block(f"for (int64_t c = {lo}; c < {hi}; c++)"):
            totals = [ctx.declare(v.dtype, slot, "x") for v, slot in zip(stmt.outs, slots, strict=True)]
            for slot, pre in zip(slots, prefix, strict=True):
                ctx.emit(f"{slot} = {pre};")
            _fold_into(ctx, stmt, prefix, totals, has, swap, u)
            ctx.emit(f"{has} = true;")

    units_loop(ctx, lines, unit)


def scan_block(ctx: Ctx, kernel: Kernel, blocks: Blocks) -> None:
    """Each tile scanned by its block from its offset (tile 0: from the start value, if any)."""
    (stmt,) = kernel.roots
    k = len(stmt.outs)
    has_start = len(stmt.args) > k
    count, size = ctx.ext(blocks.count), ctx.ext(blocks.length)
    lines = _scan_lines(ctx, stmt)
    warps = blocks.threads // WARP
    swap = bool(stmt.params["reverse"])
    totals = _shared(ctx, stmt.outs, warps)
    offsets = _shared(ctx, stmt.outs, warps)
    ctx.prologue.append(f"    __shared__ bool sh_has[{warps}];")

    def unit(u: str) -> None:
        line = ctx.declare(INT64, f"{u} / {count}", "line")
        tile = ctx.declare(INT64, f"{u} % {count}", "tile")
        layout = _scan_layout(ctx, stmt, line)
        lo = ctx.declare(INT64, f"{tile} * {size}", "lo")
        hi = ctx.declare(INT64, f"PA_MIN_I({lo} + {size}, {layout.n})", "hi")
        a = ctx.declare(INT64, f"{lo} + (int64_t)threadIdx.x * {VALUES}", "a")
        mine = ctx.declare(INT64, f"PA_MIN_I({a} + {VALUES}, {hi}) - {a}", "mine")  # <= 0: no elements
        vals = [ctx.fresh("vals") for _ in stmt.outs]
        for name, var in zip(vals, stmt.outs, strict=True):
            ctx.emit(f"{CTYPE[var.dtype]} {name}[{VALUES}];")
        accs = _accumulators(ctx, stmt.outs)
        with ctx.inside("scan", line):
            with ctx.block(f"if ({mine} > 0)"):  # the thread's elements, in registers, and their fold
                ctx.emit("#pragma unroll")
                with ctx.block(f"for (int v = 0; v < {VALUES}; v++)"), ctx.block(f"if (v < {mine})"):
                    for name, x in zip(vals, layout.read(ctx, f"{a} + v"), strict=True):
                        ctx.emit(f"{name}[v] = {x};")
                for acc, name in zip(accs, vals, strict=True):
                    ctx.emit(f"{acc} = {name}[0];")
                with ctx.block(f"for (int v = 1; v < {VALUES} && v < {mine}; v++)"):
                    _combine(ctx, stmt, accs, accs, [f"{name}[v]" for name in vals], swap, line)
            # inclusive scan of the threads' results within the warp (the threads with elements come first)
            with ctx.block("for (int d = 1; d < 32; d *= 2)"):
                others = [
                    ctx.declare(v.dtype, f"pa_shfl_up({acc}, d)", "o") for v, acc in zip(stmt.outs, accs, strict=True)
                ]
                with ctx.block(f"if ((threadIdx.x & 31) >= d && {mine} > 0)"):
                    _combine(ctx, stmt, accs, others, accs, swap, line)
            before = [
                ctx.declare(v.dtype, f"pa_shfl_up({acc}, 1)", "b") for v, acc in zip(stmt.outs, accs, strict=True)
            ]
            last = f"{mine} > 0 && ((threadIdx.x & 31) == 31 || {a} + {VALUES} >= {hi})"
            with ctx.block(f"if ({last})"):
                for sh, acc in zip(totals, accs, strict=True):
                    ctx.emit(f"{sh}[threadIdx.x / 32] = {acc};")
            ctx.emit("__syncthreads();")
            with ctx.block("if (threadIdx.x == 0)"):  # each warp's offset: the carry and the warps before it
                carry = _accumulators(ctx, stmt.outs, "carry")
                has = ctx.fresh("has")
                ctx.emit(f"bool {has} = {'true' if has_start else f'{tile} > 0'};")
                if blocks.count > 1:  # the tile's offset (scan_offsets)
                    with ctx.block(f"if ({tile} > 0)"):
                        for c, part in zip(carry, blocks.partials[0], strict=True):
                            ctx.emit(f"{c} = {ctx.element(part, u)};")
                if has_start:
                    with ctx.block(f"if ({tile} == 0)"):
                        for c, z in zip(carry, stmt.args[k:], strict=True):
                            ctx.emit(f"{c} = {atom(ctx, z)};")
                        for c, var in zip(carry, stmt.outs, strict=True):
                            ctx.emit(f"{ctx.element(var, layout.out(ctx, layout.start_at()))} = {c};")
                with ctx.block(f"for (int w = 0; w < {warps} && {lo} + (int64_t)w * {WARP * VALUES} < {hi}; w++)"):
                    ctx.emit(f"sh_has[w] = {has};")
                    for off, c in zip(offsets, carry, strict=True):
                        ctx.emit(f"{off}[w] = {c};")
                    totals_w = [f"{sh}[w]" for sh in totals]
                    with ctx.block(f"if ({has})"):
                        _combine(ctx, stmt, carry, carry, totals_w, swap, line)
                    with ctx.block("else"):
                        for c, t in zip(carry, totals_w, strict=True):
                            ctx.emit(f"{c} = {t};")
                    ctx.emit(f"{has} = true;")
            ctx.emit("__syncthreads();")
            with ctx.block(f"if ({mine} > 0)"):  # the thread's prefix, then its elements scanned from it
                warp = "threadIdx.x / 32"
                prefix = _accumulators(ctx, stmt.outs, "pre")
                has = ctx.declare(INT64, f"(threadIdx.x & 31) > 0 || sh_has[{warp}]", "has")
                with ctx.block("if ((threadIdx.x & 31) == 0)"):
                    for pre, off in zip(prefix, offsets, strict=True):
                        ctx.emit(f"{pre} = {off}[{warp}];")
                with ctx.block(f"else if (sh_has[{warp}])"):
                    _combine(ctx, stmt, prefix, [f"{off}[{warp}]" for off in offsets], before, swap, line)
                with ctx.block("else"):
                    for pre, b in zip(prefix, before, strict=True):
                        ctx.emit(f"{pre} = {b};")
                ctx.emit("#pragma unroll")
                with ctx.block(f"for (int v = 0; v < {VALUES}; v++)"), ctx.block(f"if (v < {mine})"):
                    with ctx.block(f"if ({has} || v > 0)"):
                        _combine(ctx, stmt, prefix, prefix, [f"{name}[v]" for name in vals], swap, line)
                    with ctx.block("else"):
                        for pre, name in zip(prefix, vals, strict=True):
                            ctx.emit(f"{pre} = {name}[0];")
                    position = layout.out(ctx, layout.result_at(f"{a} + v"))
                    for pre, var in zip(prefix, stmt.outs, strict=True):
                        ctx.emit(f"{ctx.element(var, position)} = {pre};")

    units_loop(ctx, f"{lines} * {count}", unit)


PARTS: dict[str, Callable[[Ctx, Kernel, Blocks], None]] = {
    "fold_block": fold_block,
    "fold_slices": fold_slices,
    "fold_merge": fold_merge,
    "scan_totals": scan_totals,
    "scan_offsets": scan_offsets,
    "scan_block": scan_block,
}
"""The kernels of folds and scans on blocks, by part."""


def part_launch(kernel: Kernel, part: str, blocks: Blocks) -> tuple[int, int]:
    """``(items, threads)`` of a launch of ``part``: its block work units and block size."""
    lines, _, _ = _line_layout(kernel.roots[0])
    if part == "scan_offsets":
        return lines, WARP
    if part == "fold_merge":
        return lines, merge_threads(blocks)
    if part == "fold_block":
        return -(-lines // blocks.group), blocks.threads
    if part == "fold_slices":
        return -(-lines // blocks.group) * blocks.count, blocks.threads
    return lines * blocks.count, blocks.threads  # scan_totals, scan_block
