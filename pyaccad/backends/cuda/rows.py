"""Row groups on the GPU: one kernel, a block (or a warp) per row, each kernel of the group computing its row in turn.

Which kernels share a loop over rows, and which values are written once per row, is decided by
:mod:`pyaccad.opt.rows` (backend-neutral, as for the native backend's :mod:`pyaccad.backends.native.rows`).
On the GPU the group is one cooperative launch whose blocks take the rows (``u``) in turn::

    for (int64_t u = blockIdx.x; u < rows; u += gridDim.x) {
        { /* kernel 1, row u: m[u] = max_j a[u, j], the block's threads in a tree (blocks.fold_line) */ }
        __syncthreads();
        { /* kernel 2, row u: t[u, j] = exp(a[u, j] - m[u]), thread p taking j = p, p + P, ... */ }
        __syncthreads();
        { /* kernel 3, row u: s[u] = sum_j t[u, j] */ }
        __syncthreads();
        { /* kernel 4, row u: out[u, j] = t[u, j] / s[u] */ }
        __syncthreads();
    }

A row is read from global memory once and the kernels need no launch between them. The values only the group
reads (``m``, ``t`` and ``s`` above: outputs of its kernels that no later kernel and no output of the plan reads,
and the values written once per row, which later kernels compute again) live in shared memory, one row at a
time (:func:`plan_group`): arrays whose capacity is the row's element count rounded up to a power of two, so
the source, and so the compiled module, is the same for rows of similar lengths. Values that do not fit in
:data:`SHARED_BYTES` (with the folds' own reduction arrays) stay in the workspace, written whole as
intermediates are: the group is still one kernel. A row's threads are :func:`.blocks.block_threads` of its
longest row: a block of up to 256 threads; for rows of up to 256 elements one warp, :data:`ROWS_PER_BLOCK` rows
to a block (each warp its own row, its own part of the shared arrays, ``__syncwarp()`` for its barriers). A
fold's lines of :data:`~.blocks.SHORT` elements or more are each folded by the row's threads together
(:func:`.blocks.fold_line`: index order kept, a combine need not commute); shorter ones a thread each.

The row count is a run-time extent (``E``): a new batch size prints the same source and compiles nothing.
Rows of :data:`LIMITS` ``.row_max`` elements or more are not grouped: their kernels run one by one, where a few
long rows get more than a block each (:func:`.blocks.plan_fold`).

>>> import numpy as np
>>> from pyaccad import nn
>>> from pyaccad.frontend import trace
>>> from pyaccad.opt.fusion import plan_program
>>> from pyaccad.opt.rows import group_rows
>>> plan = group_rows(plan_program(trace(nn.softmax, np.ones((8, 1000), np.float32)).program), LIMITS)
>>> blocks = plan_group(plan, plan.row_groups[0], set())
>>> blocks.threads, [str(v.type) for v in blocks.shared]  # the row maxima, exp(x - max) a row at a time, the sums
(128, ['f32[8]', 'f32[8,1000]', 'f32[8]'])
>>> blocks.launch(8)  # a block of 128 threads per row
(8, 128)
>>> short = group_rows(plan_program(trace(nn.softmax, np.ones((20, 10), np.float32)).program), LIMITS)
>>> plan_group(short, short.row_groups[0], set()).launch(20)  # rows of 10: a warp each, 8 to a block
(3, 256)
"""

from __future__ import annotations

import math
from collections.abc import Container
from dataclasses import dataclass

from pyaccad.backends.clike.cgen import CTYPE, Ctx, Index, product, unravel
from pyaccad.backends.cuda.blocks import SHORT, WARP, block_threads, fold_line, units_loop
from pyaccad.backends.cuda.skeletons import fold_serial, map_element
from pyaccad.ir import INT64, Var
from pyaccad.opt.kernels import Kernel, Plan
from pyaccad.opt.memory import kernel_reads
from pyaccad.opt.rows import RowGroup, RowLimits, iterated

LIMITS = RowLimits(row_max=1 << 14, buffer_max=1 << 14)
"""The cuda backend's row-group limits: rows of up to 2¹⁴ elements (64 elements a thread in a block of 256) run
a block each; every value written once per row is held a row at a time (in shared memory where it fits)."""
SHARED_BYTES = 48 * 1024
"""Static shared memory a block may declare (without the per-kernel opt-in of larger dynamic amounts)."""


ROWS_PER_BLOCK = 8
"""Rows a block takes at once when each is a warp's (rows of up to 256 elements): 256 threads a block, where a
block of one warp would leave half of an SM's thread slots empty (an SM holds 32 blocks at most)."""


@dataclass(frozen=True)
class RowBlocks:
    """How a row group runs: ``threads`` per row (a block's, or a warp's when ``per_block`` rows share a block), and
    the values held a row at a time in shared memory."""

    threads: int
    per_block: int
    shared: tuple[Var, ...]

    def launch(self, rows: int) -> tuple[int, int]:
        """``(units, threads)`` of the group's launch over ``rows`` rows: the blocks' work units and block size."""
        return -(-rows // self.per_block), self.threads * self.per_block


def _row_elements(var: Var) -> int:
    return math.prod(var.shape[1:])


def capacity(var: Var) -> int:
    """The elements of ``var``'s shared row: its row's, rounded up to a power of two.

    >>> from pyaccad.ir import ArrayType, FLOAT32
    >>> capacity(Var(ArrayType(FLOAT32, (5, 1000)))), capacity(Var(ArrayType(FLOAT32, (5,))))
    (1024, 1)
    """
    return 1 << max(0, _row_elements(var) - 1).bit_length()


def _block_folds(kernel: Kernel) -> bool:
    """Whether a fold's lines are each folded by the row's threads together (else one thread each)."""
    return kernel.kind == "fold" and kernel.roots[0].args[0].shape[-1] >= SHORT


def plan_group(plan: Plan, group: RowGroup, bound: Container[Var]) -> RowBlocks:
    """The threads of ``group`` (of ``plan``), and which of its values live in shared memory: those no later
    kernel reads and no output is (nor already ``bound`` to a buffer), and those written once per row (later
    kernels compute them again), in the order made while they fit."""
    threads = block_threads(max(_row_elements(iterated(k)) for k in group.kernels))
    per_block = ROWS_PER_BLOCK if threads == WARP else 1
    made = [v for k in group.kernels for v in k.outs]
    later = {v for v in plan.program.outputs if isinstance(v, Var)}
    for kernel in plan.kernels[group.end :]:
        later |= kernel_reads(kernel, plan.delayed, set(made))
    # a block's folds exchange a value per warp and component (blocks._fold_line); a warp's only shuffle
    room = SHARED_BYTES - sum(
        _aligned(v.dtype.itemsize * (threads // WARP))
        for k in group.kernels
        if _block_folds(k) and per_block == 1
        for s in k.roots
        for v in s.outs
    )
    shared = []
    for var in made:
        size = _aligned(var.dtype.itemsize * capacity(var) * per_block)
        if var not in bound and (var in group.row_local or var not in later) and size <= room:
            shared.append(var)
            room -= size
    return RowBlocks(threads, per_block, tuple(shared))


def _aligned(nbytes: int) -> int:
    return -(-nbytes // 16) * 16


@dataclass(frozen=True)
class _Row:
    """The row being computed (C), and how its threads are named: ``lane`` (0 .. ``count``-1), and the barrier that
    waits for all of them (the block's, or with a row to a warp, the warp's)."""

    u: str
    lane: str
    count: str
    barrier: str
    warp: bool


def group_body(ctx: Ctx, group: RowGroup, blocks: RowBlocks) -> None:
    """The body of the group's kernel: the blocks' loop over rows, each kernel's row in turn."""
    rows = ctx.shape(iterated(group.kernels[0]))[0]
    names = {var: ctx.fresh("row") for var in blocks.shared}
    for var, name in names.items():
        ctx.prologue.append(f"    __shared__ {CTYPE[var.dtype]} {name}[{capacity(var) * blocks.per_block}];")

    def unit(b: str) -> None:
        if blocks.per_block == 1:
            row = _Row(b, "threadIdx.x", "blockDim.x", "__syncthreads();", warp=False)
            _kernels(ctx, group, blocks, row, names, "")
            return
        u = ctx.declare(INT64, f"{b} * {blocks.per_block} + threadIdx.x / 32", "row")
        row = _Row(u, "(threadIdx.x & 31)", "32", "__syncwarp();", warp=True)
        with ctx.block(f"if ({u} < {rows})"):  # the same in the warp's lanes
            _kernels(ctx, group, blocks, row, names, " - (int64_t)(threadIdx.x / 32) * {}")

    units_loop(ctx, f"({rows} + {blocks.per_block - 1}) / {blocks.per_block}", unit)


def _kernels(ctx: Ctx, group: RowGroup, blocks: RowBlocks, row: _Row, names: dict[Var, str], slot: str) -> None:
    """Each kernel's row in turn; the shared values' rows at their place in their arrays (a warp's ``slot``)."""
    for var, name in names.items():
        ctx.buffers[var] = name
        ctx.row_offsets[var] = f"{row.u} * {product(ctx.shape(var)[1:])}{slot.format(capacity(var))}"
    for n, kernel in enumerate(group.kernels):
        if n:
            ctx.emit(f"{row.barrier}  /* the row the kernels before wrote, read by any of its threads */")
        with ctx.block():
            (_fold_row if kernel.kind == "fold" else _map_row)(ctx, kernel, row, blocks.threads)
    for var in names:
        del ctx.buffers[var], ctx.row_offsets[var]


def _map_row(ctx: Ctx, kernel: Kernel, row: _Row, threads: int) -> None:
    shape = ctx.shape(kernel.outs[0])
    rest = product(shape[1:])
    j = ctx.fresh("j")
    with ctx.block(f"for (int64_t {j} = {row.lane}; {j} < {rest}; {j} += {row.count})"):
        map_element(ctx, kernel, Index([row.u, *unravel(ctx, j, shape[1:])], shape, f"({row.u} * {rest} + {j})"))


def _fold_row(ctx: Ctx, kernel: Kernel, row: _Row, threads: int) -> None:
    """Row ``u`` of a fold of the last axis: its lines (one, for a matrix) folded by the row's threads together,
    or a thread each."""
    inner = ctx.shape(kernel.roots[0].args[0])[1:-1]
    q = ctx.fresh("q")
    if not _block_folds(kernel):
        with ctx.block(f"for (int64_t {q} = {row.lane}; {q} < {product(inner)}; {q} += {row.count})"):
            fold_serial(ctx, kernel, f"({row.u} * {product(inner)} + {q})")
        return
    if not inner:
        fold_line(ctx, kernel, row.u, [row.u], threads, row.warp)
        return
    with ctx.block(f"for (int64_t {q} = 0; {q} < {product(inner)}; {q}++)"):
        line = ctx.declare(INT64, f"{row.u} * {product(inner)} + {q}", "line")
        fold_line(ctx, kernel, line, [row.u, *unravel(ctx, q, inner)], threads, row.warp)
        if not row.warp:  # a warp's fold only shuffles
            ctx.emit("__syncthreads();  /* the reduction's arrays are read before the next line writes them */")
