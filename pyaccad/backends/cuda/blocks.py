"""Cooperative CUDA kernels: folds (and the helpers of :mod:`.scans`) whose lines are shared by a block's threads.

A fold's lines are a block's work: ``group`` lines per block work unit, each cut into ``blockDim.x / group``
pieces, one a thread (:func:`plan_fold` picks them at the traced shapes; the kernel reads them at run time, so
its source, and so the compiled module, is the same at every shape: a new batch size compiles nothing). A combine
need not commute, so every combination keeps index order: each thread folds a contiguous piece of the line, and
the pieces' results are combined left to right, in a tree that only ever joins neighbours
(``((p0 p1)(p2 p3))...``): a warp shuffle tree (``pa_shfl_down``, lane ``l`` joining lane ``l + d`` when its
piece is a multiple of ``2d``), then the warps' results through shared memory. A combine the fold recognises
as a commutative monoid (``+``, ``*``, max, min, and, or: :func:`pyaccad.ir.monoids.monoids`) lets the threads
stride the line instead (thread ``p`` takes elements ``p, p + P, ...``), so a warp's reads are adjacent.

* ``fold_lines``: ``group`` = 1, one block per line; :data:`WARP` along an inner axis (a line's elements
  ``inner`` apart), a lane per line, so a warp reads adjacent elements while the block's warps cut the lines
  into pieces; or the block size, a thread per line (short lines, or along an inner axis lines enough to fill
  the GPU). Few long lines (a reduction to one value, a sum over rows of few columns) are cut into ``count``
  slices, each a unit, whose results go into the partials;
* ``fold_merge`` (launched only then): one block per line folds its slices' results in order and the start.

The start value of a fold is combined in once, first (``f z (fold1 f xs)``), as the one-thread kernels do. Every
thread of a block reaches every barrier: the loops over a launch's work units (``u = blockIdx.x; u < units;
u += gridDim.x``) have the same trips in every thread, and threads without elements take part with placeholder
values that are never combined.

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
    """How a fold or scan runs on blocks: ``threads`` per block, ``group`` lines per block work unit (a fold's:
    1, :data:`WARP` along an inner axis, or ``threads``, a thread per line), each line cut into ``count`` slices
    (tiles) of ``length`` elements, the last shorter; ``partials``: per statement, per component, the slices'
    results (a scan's tiles' aggregates); a scan's ``prefixes`` (its tiles' inclusive prefixes) and ``flags``
    (its tiles' status, then the tile counter: :mod:`.scans`)."""

    threads: int
    group: int
    count: int
    length: int
    partials: tuple[tuple[Var, ...], ...] = ()
    prefixes: tuple[Var, ...] = ()
    flags: Var | None = None


def block_threads(length: int) -> int:
    """A block's threads for lines of ``length``: about 8 elements each, a warp at least, :data:`THREADS` at most.

    >>> block_threads(33), block_threads(1000), block_threads(10**6)
    (32, 128, 256)
    """
    threads = WARP
    while threads < THREADS and threads * VALUES < length:
        threads *= 2
    return threads


def line_layout(stmt: Stmt) -> tuple[int, int, int]:
    """``(lines, length, inner)`` of a fold or scan: its lines, their length, the distance of their elements."""
    axis, shape = stmt.params["axis"], stmt.args[0].shape
    lines = math.prod(n for a, n in enumerate(shape) if a != axis)
    inner = math.prod(shape[axis + 1 :])
    return lines, shape[axis], inner


def plan_fold(kernel: Kernel) -> Blocks:
    """How ``kernel`` (a fold) runs on blocks at its traced shapes: a thread per line for short lines, or along an
    inner axis lines enough to fill the GPU; else a block's threads on each line (or on :data:`WARP` lines).

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.opt.fusion import plan_program
    >>> fold = plan_program(trace(lambda x: x.sum(), np.ones(1 << 20)).program).kernels[0]
    >>> plan_fold(fold)
    Blocks(threads=256, group=1, count=512, length=2048, partials=(), prefixes=(), flags=None)
    """
    lines, length, inner = line_layout(kernel.roots[0])
    group = WARP if inner >= WARP else 1
    if length < SHORT or (group > 1 and lines >= WORK_TARGET):
        return Blocks(THREADS, THREADS, 1, length)
    units = -(-lines // group)
    count = 1
    if units < FILL and length >= 2 * SLICE_MIN:
        count = min(length // SLICE_MIN, max(2, FILL // units))
    slice_length = -(-length // count)
    count = -(-length // slice_length)  # every slice non-empty
    return Blocks(block_threads(slice_length) if group == 1 else THREADS, group, count, slice_length)


# -- emitting ------------------------------------------------------------------------------------------


def grid_loop(ctx: Ctx, count: str, body: Callable[[str], None]) -> None:
    """A grid-stride loop over work items ``0 .. count-1``; ``body`` emits one item's code given its name."""
    ctx.emit(f"const int64_t n = {count};")
    header = (
        "for (int64_t w = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; w < n; w += (int64_t)gridDim.x * blockDim.x)"
    )
    with ctx.block(header):
        body("w")


def accumulators(ctx: Ctx, outs: tuple[Var, ...], prefix: str = "acc") -> list[str]:
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


def combine(ctx: Ctx, stmt: Stmt, into: list[str], left: list[str], right: list[str], swap: bool, at: str) -> None:
    """``into = f(left, right)`` (``f(right, left)`` when ``swap``: a ``scanr`` walks its line backwards)."""
    op = "scan" if stmt.prim.name == "scan" else "fold"
    with ctx.block():
        pair = right + left if swap else left + right
        assign(ctx, into, call_lambda(ctx, stmt.params["lam"], pair, op, at), stmt.outs)


def fold_into(
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
        combine(ctx, stmt, accs, left, right, swap, at)
    with ctx.block("else"):
        for acc, value in zip(accs, values, strict=True):
            ctx.emit(f"{acc} = {value};")


def shared_arrays(ctx: Ctx, outs: tuple[Var, ...], size: int) -> list[str]:
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
    ctx: Ctx, stmt: Stmt, spec: _Line, shift: str, swap: bool = False, warp: bool = False
) -> tuple[list, str]:
    """Fold ``spec``'s range of each line in index order across the block, ``group = 1 << shift`` (``shift`` in C)
    lines at once: thread ``t`` takes line ``t % group``, piece ``t / group`` (shifts and masks: the block size and
    ``group`` are powers of two). Returns the accumulators, valid in the thread of each line's first piece
    (``threadIdx.x < group``), and the C flag whether the range had elements. With ``warp`` (``shift`` 0), each warp
    of the block folds a line of its own, its lane 0 holding the result (no shared memory, no barrier of the
    block: a row group's rows of a warp each, :mod:`.rows`)."""
    strided = _commutes(stmt) and not swap
    gs = ctx.fresh("gs")
    ctx.emit(f"const int {gs} = (int)({shift});")
    group = ctx.fresh("group")
    ctx.emit(f"const unsigned {group} = 1u << {gs};")
    ws = ctx.fresh("ws")  # log2 of the threads a part gathers: a warp (group < 32), or a thread's lines
    ctx.emit(f"const int {ws} = {gs} > 5 ? {gs} : 5;")
    pieces_shift = ctx.fresh("ps")
    ctx.emit(f"const int {pieces_shift} = __ffs({'32' if warp else '(int)blockDim.x'}) - 1 - {gs};")
    pieces = ctx.declare(INT64, f"(int64_t)1 << {pieces_shift}", "pieces")
    p = ctx.declare(INT64, f"(int64_t)({'threadIdx.x & 31' if warp else f'threadIdx.x >> {gs}'})", "p")
    span = ctx.declare(INT64, f"{spec.hi} - {spec.lo}", "span")
    if strided:  # thread p: elements p, p + P, ...
        have = ctx.declare(INT64, f"PA_MIN_I({span}, {pieces})", "have")
        start = ctx.declare(INT64, f"{spec.lo} + {p}", "start")
        stop, step = spec.hi, pieces
    else:  # thread p: the p-th contiguous piece (the pieces that exist come first)
        chunk = ctx.declare(INT64, f"({span} + {pieces} - 1) >> {pieces_shift}", "chunk")
        have = ctx.declare(INT64, f"{chunk} ? ({span} + {chunk} - 1) / {chunk} : 0", "have")
        start = ctx.declare(INT64, f"{spec.lo} + {p} * {chunk}", "start")
        stop, step = f"PA_MIN_I({start} + {chunk}, {spec.hi})", "1"
    accs = accumulators(ctx, stmt.outs)
    with ctx.block(f"if ({spec.live} && {p} < {have})"):
        with ctx.block():
            for acc, value in zip(accs, spec.read(stmt, start), strict=True):
                ctx.emit(f"{acc} = {value};")
        with ctx.block(f"for (int64_t t = {start} + {step}; t < {stop}; t += {step})"):
            values = [ctx.declare(v.dtype, x, "x") for v, x in zip(stmt.outs, spec.read(stmt, "t"), strict=True)]
            combine(ctx, stmt, accs, accs, values, swap, spec.line)
    # a warp holding several pieces of a line (group < 32) joins them in a neighbour tree: lane l takes lane l + d's
    # (d a multiple of group) when its piece is a multiple of 2d / group
    with ctx.block(f"for (unsigned d = {group}; d < 32; d *= 2)"):
        others = [ctx.declare(v.dtype, f"pa_shfl_down({acc}, d)", "o") for v, acc in zip(stmt.outs, accs, strict=True)]
        joins = f"(threadIdx.x & (2 * d - 1)) < {group} && {spec.live} && {p} + (d >> {gs}) < {have}"
        with ctx.block(f"if ({joins})"):
            combine(ctx, stmt, accs, accs, others, swap, spec.line)
    if warp:
        return accs, f"({have} > 0)"
    shared = shared_arrays(ctx, stmt.outs, THREADS)
    # the parts, in order: a warp's (group < 32) or a thread's (group >= 32) result for each of its lines
    lane = f"(threadIdx.x & ((1u << {ws}) - 1))"
    with ctx.block(f"if ({lane} < {group})"):
        for sh, acc in zip(shared, accs, strict=True):
            ctx.emit(f"{sh}[((threadIdx.x >> {ws}) << {gs}) + {lane}] = {acc};")
    parts = ctx.declare(INT64, f"({have} + ((int64_t)1 << ({ws} - {gs})) - 1) >> ({ws} - {gs})", "parts")
    ctx.emit("__syncthreads();")
    with ctx.block(f"if (threadIdx.x < {group} && {spec.live} && {have} > 0)"):
        for sh, acc in zip(shared, accs, strict=True):
            ctx.emit(f"{acc} = {sh}[threadIdx.x];")
        with ctx.block(f"for (int64_t q = 1; q < {parts}; q++)"):
            values = [
                ctx.declare(v.dtype, f"{sh}[(q << {gs}) + threadIdx.x]", "x")
                for v, sh in zip(stmt.outs, shared, strict=True)
            ]
            combine(ctx, stmt, accs, accs, values, swap, spec.line)
    return accs, f"({have} > 0)"


def _store_line(ctx: Ctx, stmt: Stmt, accs: list[str], nonempty: str, line: str) -> None:
    """The fold's result at output position ``line``: ``f(z, acc)`` for a fold with a start value (``z`` alone for
    an empty line), else ``acc``."""
    inits = stmt.args[len(stmt.outs) :]
    if inits:
        fold_into(ctx, stmt, accs, [atom(ctx, z) for z in inits], nonempty, False, line, values_first=True)
    for acc, var in zip(accs, stmt.outs, strict=True):
        ctx.emit(f"{ctx.element(var, line)} = {acc};")


def _fold_reader(ctx: Ctx, axis: int, outer: list[str]) -> Callable[[Stmt, str], list[str]]:
    """Reads a fold statement's components at position ``t`` along ``axis`` of the line at ``outer``."""

    def read(s: Stmt, t: str) -> list[str]:
        k = len(s.outs)
        shape = ctx.shape(s.args[0])
        return [elem(ctx, x, Index([*outer[:axis], t, *outer[axis:]], shape)) for x in s.args[:k]]

    return read


def fold_lines(ctx: Ctx, kernel: Kernel, blocks: Blocks) -> None:
    """Each unit: ``group`` lines' slice ``piece`` (of ``count``), folded by the block; with one slice a line the
    result (after the start value) is the output, with several it goes into the partials, for :func:`fold_merge`.
    ``group``, ``count`` and the slices' length are run-time integers: the source is the same at every shape."""
    first = kernel.roots[0]
    axis = first.params["axis"]
    x_shape = ctx.shape(first.args[0])
    out_shape = [n for a, n in enumerate(x_shape) if a != axis]
    lines = ctx.declare(INT64, product(out_shape), "lines")
    shift = ctx.declare(INT64, ctx.ext(blocks.group.bit_length() - 1), "shift")  # group = 1 << shift
    count = ctx.declare(INT64, ctx.ext(blocks.count), "count")
    size = ctx.declare(INT64, ctx.ext(blocks.length), "size")
    tiles = ctx.declare(INT64, f"({lines} + ((int64_t)1 << {shift}) - 1) >> {shift}", "tiles")

    def unit(u: str) -> None:
        piece = ctx.declare(INT64, f"{u} % {count}", "piece")
        lane = f"(threadIdx.x & ((1u << {shift}) - 1))"
        line = ctx.declare(INT64, f"(({u} / {count}) << {shift}) + {lane}", "line")
        live = ctx.declare(INT64, f"{line} < {lines}", "live")
        lo = ctx.declare(INT64, f"{piece} * {size}", "lo")
        hi = ctx.declare(INT64, f"PA_MIN_I({lo} + {size}, {x_shape[axis]})", "hi")
        outer = unravel(ctx, line, out_shape)
        spec = _Line(line, live, lo, hi, _fold_reader(ctx, axis, outer))
        for n, stmt in enumerate(kernel.roots):
            with ctx.block(), ctx.inside("fold", line):
                accs, nonempty = _fold_line(ctx, stmt, spec, shift)
                first = f"(threadIdx.x >> {shift}) == 0"  # the thread holding a line's result
                with ctx.block(f"if ({first} && {live} && {count} == 1)"):
                    _store_line(ctx, stmt, accs, nonempty, line)
                with ctx.block(f"else if ({first} && {live})"):
                    for acc, part in zip(accs, blocks.partials[n], strict=True):
                        ctx.emit(f"{ctx.element(part, f'{line} * {count} + {piece}')} = {acc};")

    units_loop(ctx, f"{tiles} * {count}", unit)


def fold_line(ctx: Ctx, kernel: Kernel, line: str, outer: list[str], warp: bool = False) -> None:
    """The block (with ``warp``, each warp of it) folds line ``line`` (its output position;
    ``outer``, its indices) of each of ``kernel``'s folds in index order, and its first thread stores the results: a
    fold's row in a row group (:mod:`.rows`)."""
    axis = kernel.roots[0].params["axis"]
    length = ctx.shape(kernel.roots[0].args[0])[axis]
    spec = _Line(line, "1", "((int64_t)0)", length, _fold_reader(ctx, axis, outer))
    for stmt in kernel.roots:
        with ctx.block(), ctx.inside("fold", line):
            accs, nonempty = _fold_line(ctx, stmt, spec, "0", warp=warp)
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
                accs, nonempty = _fold_line(ctx, stmt, spec, "0")
                with ctx.block("if (threadIdx.x == 0)"):
                    _store_line(ctx, stmt, accs, nonempty, u)

    units_loop(ctx, lines, unit)


def merge_threads(blocks: Blocks) -> int:
    """The block size of a sliced fold's merge (its lines are ``count`` long)."""
    return block_threads(blocks.count)
