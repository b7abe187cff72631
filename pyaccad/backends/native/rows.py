"""Row groups as C: one parallel loop over rows running several kernels' rows in turn.

Which kernels share the loop, and which values are written once per row, is decided by
:mod:`pyaccad.opt.rows` (backend-neutral); this module writes the loop::

    #pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < rows; o++) {
        { /* kernel 1, row o: m[o] = max_j a[o, j] */ }
        { /* kernel 2, row o: s[o] = sum_j exp(a[o, j] - m[o]) */ }
        { /* kernel 3, row o: out[o, j] = exp(a[o, j] - m[o]) / s[o] */ }
    }

:data:`LIMITS` are this backend's (it runs element groups too, :func:`emit_elements`): rows of 2¹⁸ float32 are
1 MiB, half of the 2-core
machine's L2, from where sharing the loop saves little; materialised values with rows of
up to 2¹³ elements (32–64 KiB: a ``malloc`` from the thread's arena, no page faults) live in
per-thread row buffers rather than a workspace array: 8–10 % off the log-sum-exp gradient
(1024×1024), measured interleaved, and 4 MiB less memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext

from pyaccad.backends.clike.cgen import CTYPE, Ctx, Index, product
from pyaccad.backends.native.fold import fold_rows
from pyaccad.backends.native.map import PARALLEL_MIN, index_loop, load_scalars, tiling, write_elements
from pyaccad.backends.native.region import parallel_for, parallel_if
from pyaccad.ir import BOOL, Var
from pyaccad.opt.kernels import Kernel
from pyaccad.opt.rows import RowLimits, iterated

LIMITS = RowLimits(row_max=1 << 18, buffer_max=1 << 13, elements=True)
"""The native backend's row-group limits (see the module doc)."""


def emit_group(ctx: Ctx, kernels: list[Kernel], row_local: Sequence[Var] = ()) -> None:
    """Emit ``kernels`` as one parallel loop over rows, each kernel computing its row in turn.

    The arrays in ``row_local`` (:attr:`RowGroup.row_local`) are held one row at a time, in a buffer (named
    ``ctx.buffers[var]``) that each thread allocates for the loop.

    >>> import numpy as np
    >>> from pyaccad import nn
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.opt.fusion import plan_program
    >>> from pyaccad.opt.rows import group_rows
    >>> plan = plan_program(trace(nn.softmax, np.ones((8, 5))).program)
    >>> ctx = Ctx()
    >>> ctx.delayed.update(plan.delayed)
    >>> group = group_rows(plan, LIMITS).row_groups[0]
    >>> ctx.buffers.update({v: f"buf{n}" for n, v in enumerate([*plan.program.inputs, *(
    ...     v for k in plan.kernels for v in k.outs), *group.materialised])})
    >>> emit_group(ctx, group.kernels)
    >>> sum("omp parallel for" in line for line in ctx.lines)
    1
    """
    rows = ctx.shape(iterated(kernels[0]))[0]
    work = " + ".join(f"({ctx.size(iterated(k))})" for k in kernels)
    ctx.emit(f"/* rows: {' + '.join(_title(k) for k in kernels)} */")
    with ctx.block():
        ctx.emit(f"const int64_t rows = {rows}, work = {work};")
        row = ctx.fresh("o")
        local = list(row_local)
        if not local:
            with parallel_for(ctx, "schedule(static)", f"work > {PARALLEL_MIN}"):
                _rows_loop(ctx, kernels, row, "")
            return
        # each thread's row of the materialised values lives in a buffer of its own: L1-sized, never written back
        error = ctx.error("native backend: no memory for a thread's row buffer (malloc failed)")
        # in a loop's region, each thread of that region allocates its buffers here
        team = nullcontext() if ctx.region else parallel_if(ctx, "#pragma omp parallel", f"work > {PARALLEL_MIN}")
        with team, ctx.block():
            for var in local:
                ctype, rest = CTYPE[var.dtype], product(ctx.shape(var)[1:])
                ctx.emit(f"{ctype} *restrict {ctx.buffers[var]} = malloc(sizeof({ctype}) * ({rest} + 1));")
                ctx.row_offsets[var] = f"{row} * {rest}"
            have = ctx.declare(BOOL, " && ".join(f"{ctx.buffers[v]} != NULL" for v in local), "have")
            ctx.emit(f"if (!{have}) PA_FAIL({error});")
            ctx.emit("#pragma omp for schedule(static)")
            _rows_loop(ctx, kernels, row, f"if (!{have}) continue;")
            for var in local:
                ctx.emit(f"free({ctx.buffers[var]});")
                del ctx.row_offsets[var]


def emit_elements(ctx: Ctx, kernels: list[Kernel]) -> None:
    """Emit an element group (:func:`pyaccad.opt.rows.element_group_end`): one loop over the shape of its maps,
    computing each kernel's element in turn; a later kernel reads an earlier one's value from its register
    (:func:`.map.write_elements` remembers it) and shares the delayed values they both compute there."""
    ctx.emit(f"/* elements: {' + '.join(_title(k) for k in kernels)} */")
    outs = [v for k in kernels for v in k.outs]

    def body(idx: Index) -> None:
        for kernel in kernels:
            write_elements(ctx, kernel, idx)

    with ctx.block():  # the scalars' loads, and their names, stay inside
        load_scalars(ctx, kernels)
        last = outs[0].shape[-1]
        index_loop(ctx, ctx.extent_slots(outs[0]), body, tile=tiling(last, last, min(v.dtype.itemsize for v in outs)))


def _rows_loop(ctx: Ctx, kernels: list[Kernel], row: str, first: str) -> None:
    with ctx.block(f"for (int64_t {row} = 0; {row} < rows; {row}++)"):
        if first:
            ctx.emit(first)
        for kernel in kernels:
            with ctx.block():
                _row_body(ctx, kernel, row)


def _title(kernel: Kernel) -> str:
    return f"{kernel.kind} {'+'.join(s.prim.name for s in kernel.roots)}"


def _row_body(ctx: Ctx, kernel: Kernel, row: str) -> None:
    if kernel.kind == "fold":
        fold_rows(ctx, kernel, row)
        return
    shape = ctx.shape(kernel.outs[0])
    rest = product(shape[1:])

    def at(idx: Index) -> Index:
        return Index([row, *idx.multi], shape, f"({row} * {rest} + {idx.linear()})")

    axes = ctx.extent_slots(kernel.outs[0])[1:]  # a row's
    index_loop(ctx, axes, lambda idx: write_elements(ctx, kernel, at(idx)), parallel=False)
