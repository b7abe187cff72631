"""Row groups: consecutive kernels that run inside one parallel loop over the first axis.

A reduction along rows followed by maps that read its result row by row
(``logsumexp``, ``softmax``, their gradients, a cross-entropy) is several
kernels, each a parallel loop over the whole array: the matrix streams
through the cache once per kernel, with a barrier between kernels. When
every kernel of a run computes row ``o`` of its result from row ``o`` of what
the earlier kernels of the run produced, the kernels can share one loop::

    #pragma omp parallel for schedule(static)
    for (int64_t o = 0; o < rows; o++) {
        { /* kernel 1, row o: m[o] = max_j a[o, j] */ }
        { /* kernel 2, row o: s[o] = sum_j exp(a[o, j] - m[o]) */ }
        { /* kernel 3, row o: out[o, j] = exp(a[o, j] - m[o]) / s[o] */ }
    }

Row ``o`` of ``a`` is then read from memory once and from L1 after that, and
the kernels need no barrier between them. An expensive delayed value that
several kernels of the group would each recompute (``exp(a - m)`` above, in
kernels 2 and 3) is written once per row by a map inserted before its first
reader, and read back from L1 (:func:`_materialise_shared`); with rows of up
to :data:`ROW_BUFFER_MAX` elements it lives in a row buffer of each thread's,
never in memory as a whole (:attr:`RowGroup.row_local`). Each kernel's
row is computed by the same operations as in its own loop, so without libm
calls the results are bit-identical either way; a materialised ``exp`` is
computed by other loops than the ones that would recompute it, so its bits
may differ in the last place (see "Reproducible bits" in
:mod:`pyaccad.backends.native`). Measured on the 2-core machine, the log-sum-exp
gradient over 1024×1024 went 0.96 → 0.77 ms with the shared loop, 0.85 →
0.68 ms with ``exp`` written once (medians of interleaved runs).

:func:`row_groups` decides which kernels form a group, from the index
expressions through which each kernel reads (:func:`_row_reads`): a read of
an array produced earlier in the group must be at the row being computed.
Broadcasting row 0 to every row, reversing or slicing the first axis,
``backpermute``, ``generate`` and ``index`` reads are not, and end the group.
Rows of :data:`ROW_MAX` elements or more (at trace time) are not grouped: they
outgrow L2, so sharing the loop saves little, while the loop's parallelism is
the row count. (Below that, a group with fewer rows than threads leaves
threads idle; a run-time switch to the one-by-one kernels would need a second
copy of their code, measured at +43 % compile time for the gmm gradient.)

>>> import numpy as np
>>> from pyaccad import nn
>>> from pyaccad.frontend import trace
>>> from pyaccad.opt import optimize
>>> from pyaccad.opt.fusion import plan_program
>>> plan = plan_program(optimize(trace(nn.softmax, np.ones((8, 5))).program, "native"))
>>> [k.kind for k in plan.kernels], [(n, g.end) for n, g in row_groups(plan).items()]
(['fold', 'fold', 'map'], [(0, 3)])
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyaccad.backends.native.cgen import CTYPE, Ctx, Index, product
from pyaccad.backends.native.element import align_axes
from pyaccad.backends.native.fold import fold_rows
from pyaccad.backends.native.map import PARALLEL_MIN, index_loop, write_elements
from pyaccad.ir import BOOL, ELEMENTWISE, Atom, Stmt, Var
from pyaccad.opt.fusion import collect_fused, element_cost
from pyaccad.opt.kernels import Kernel, Plan

ROW_BUFFER_MAX = 1 << 13
"""Elements per row up to which a materialised value lives in per-thread row buffers (32–64 KiB: a `malloc`
from the thread's arena, no page faults) rather than a workspace array: 8–10 % off the log-sum-exp gradient
(1024×1024), measured interleaved, and 4 MiB less memory."""
ROW_MAX = 1 << 18
"""Elements per row (of the array a kernel walks) from which kernels are not grouped: a row of 2¹⁸ float32 is
1 MiB, half of this machine's L2, and the group's parallelism (its row count) is then what limits it."""

_SAME_INDEX = set(ELEMENTWISE) | {"select", "cast", "map"}


@dataclass
class RowGroup:
    """Kernels ``first .. end-1`` of a plan, sharing one loop over rows."""

    end: int
    kernels: list[Kernel]
    """The plan's kernels, and before them maps writing the values they would each recompute (``materialised``)."""
    materialised: list[Var]

    @property
    def row_local(self) -> list[Var]:
        """The materialised values with rows of at most :data:`ROW_BUFFER_MAX` elements: each thread holds its
        current row in a buffer of its own (nothing outside the group reads them: they are delayed there)."""
        return [v for v in self.materialised if v.type.size <= ROW_BUFFER_MAX * max(1, v.shape[0])]


def row_groups(plan: Plan) -> dict[int, RowGroup]:
    """``{first: group}`` for every run of two or more kernels that can share one loop over rows."""
    groups: dict[int, RowGroup] = {}
    n = 0
    while n < len(plan.kernels):
        rows = _row_extent(plan.kernels[n])
        end = n + 1
        while (
            rows is not None
            and end < len(plan.kernels)
            and _joins(plan.kernels[n:end], plan.kernels[end], rows, plan.delayed)
        ):
            end += 1
        if end - n >= 2:
            groups[n] = _materialise_shared(plan.kernels[n:end], end, rows, plan.delayed)
        n = end
    return groups


def describe_groups(plan: Plan) -> list[str]:
    """Lines for ``acc.lower``: which kernels share a loop over rows, and what they write once per row.

    >>> import numpy as np
    >>> from pyaccad import ad, nn
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.opt import optimize
    >>> from pyaccad.opt.fusion import plan_program
    >>> x = np.ones((8, 5), np.float32)
    >>> describe_groups(plan_program(optimize(trace(ad.grad(lambda a: nn.logsumexp(a, axis=1).sum()), x).program,
    ...                                       "native")))
    ['row loop: kernels 1-4 share one parallel loop over rows; exp written once per row, not recomputed']
    """
    lines = []
    for first, group in row_groups(plan).items():
        line = f"row loop: kernels {first + 1}-{group.end} share one parallel loop over rows"
        kept = [s.prim.name for k in group.kernels for s in k.roots if any(v in group.materialised for v in s.outs)]
        if kept:
            line += f"; {', '.join(kept)} written once per row, not recomputed"
        lines.append(line)
    return lines


def _joins(group: list[Kernel], kernel: Kernel, rows: int | None, delayed: dict[Var, Stmt]) -> bool:
    """Can ``kernel`` compute row ``o`` right after ``group`` computed its row ``o``?"""
    if _row_extent(kernel) != rows:
        return False
    produced = {v for k in group for v in k.outs}
    reads = _row_reads(kernel, delayed)
    return all(reads[v] for v in reads if v in produced)


def _materialise_shared(group: list[Kernel], end: int, rows: int | None, delayed: dict[Var, Stmt]) -> RowGroup:
    """Write an expensive delayed value that several kernels of the group recompute (``exp(a - m)`` in the
    log-sum-exp gradient) once per row, just before its first reader: the row is still in L1 when the
    others read it, so this saves the recomputation for the price of an L1 round trip."""
    users: dict[Stmt, int] = {}
    for kernel in group:
        for stmt in kernel.fused:
            users[stmt] = users.get(stmt, 0) + 1
    shared = [
        s
        for s, count in users.items()
        if count >= 2 and element_cost(s) >= 1 and s.outs[0].type.ndim >= 1 and s.outs[0].shape[0] == rows
    ]
    if not shared:
        return RowGroup(end, group, [])
    outs = [v for s in shared for v in s.outs]  # in plan order: the generated source must not vary
    still_delayed = {v: s for v, s in delayed.items() if v not in outs}
    kernels: list[Kernel] = []
    placed: set[Stmt] = set()
    for kernel in group:
        for stmt in [s for s in kernel.fused if s in shared and s not in placed]:
            fused: dict[Stmt, None] = {}
            collect_fused(stmt, still_delayed, fused)
            kernels.append(Kernel("map", [stmt], list(fused)))
            placed.add(stmt)
        kernels.append(kernel)
    if all(_joins(kernels[:n], kernels[n], rows, still_delayed) for n in range(1, len(kernels))):
        return RowGroup(end, kernels, outs)
    return RowGroup(end, group, [])


def _row_extent(kernel: Kernel) -> int | None:
    """The first axis a kernel can compute row by row (None for kernels that cannot, and for long rows)."""
    if kernel.kind not in ("map", "fold"):
        return None
    walked = _iterated(kernel)
    if not isinstance(walked, Var) or walked.type.ndim == 0:
        return None
    if kernel.kind == "fold" and (walked.type.ndim < 2 or kernel.roots[0].params["axis"] != walked.type.ndim - 1):
        return None
    rows = walked.shape[0]
    return rows if walked.type.size < ROW_MAX * max(1, rows) else None


def _row_reads(kernel: Kernel, delayed: dict[Var, Stmt]) -> dict[Var, bool]:
    """Every manifest array the kernel reads, and whether all of its reads are at the row being computed."""
    found: dict[Var, bool] = {}
    seen: set[tuple[Stmt, bool]] = set()

    def read(var: Var, aligned: bool) -> None:
        stmt = delayed.get(var)
        if stmt is None:
            found[var] = found.get(var, True) and aligned
        elif (stmt, aligned) not in seen:
            seen.add((stmt, aligned))
            visit(stmt, aligned)

    def visit(stmt: Stmt, aligned: bool) -> None:
        for sub in stmt.subprograms():  # lambdas read arrays with `index`: anywhere
            for var in sub.free_vars:
                read(var, False)
        for var, arg_aligned in _arg_alignment(stmt, aligned):
            read(var, arg_aligned)

    for root in kernel.roots:
        visit(root, True)
    return found


def _arg_alignment(stmt: Stmt, aligned: bool) -> list[tuple[Var, bool]]:
    """For each array argument: is it read at row ``o`` when ``stmt``'s element is wanted at row ``o``?"""
    name, p = stmt.prim.name, stmt.params
    args = [a for a in stmt.args if isinstance(a, Var)]
    if name in _SAME_INDEX:
        return [(a, aligned and a.type.ndim >= 1) for a in args]
    if name == "fold":  # a row fold reads x[o, .., j]
        return [(a, aligned and p["axis"] != 0 and a.type.ndim >= 1) for a in args]
    if not args:
        return []
    x, out = args[0], stmt.outs[0]
    keeps = False
    if name == "broadcast_in_dim":
        dims = p["dims"]
        keeps = bool(dims) and dims[0] == 0 and not (x.shape[0] == 1 != out.shape[0])
    elif name == "reshape" and x.type.ndim >= 1 and out.type.ndim >= 1:
        if [n for n in out.shape if n != 1] == [n for n in x.shape if n != 1]:
            axes = align_axes(x.shape, out.shape, [str(a) for a in range(out.type.ndim)])
            keeps = axes[0] == "0"
        else:  # the flat position unravelled: row o of both when the first extents agree
            keeps = x.shape[0] == out.shape[0]
    elif name == "transpose":
        keeps = p["perm"][0] == 0
    elif name == "reverse":
        keeps = 0 not in p["axes"]
    elif name == "slice":
        keeps = p["starts"][0] == 0 and p["steps"][0] == 1
    elif name == "pad":
        keeps = p["lo"][0] == 0 and p["interior"][0] == 0
    elif name == "concatenate":
        keeps = p["axis"] != 0
    if name != "concatenate":  # only the first operand is indexed like the result (`pad`'s value is rank 0)
        return [(a, aligned and keeps and i == 0 and a.type.ndim >= 1) for i, a in enumerate(args)]
    return [(a, aligned and keeps) for a in args]


def emit_group(ctx: Ctx, kernels: list[Kernel], row_local: Sequence[Var] = ()) -> None:
    """Emit ``kernels`` as one parallel loop over rows, each kernel computing its row in turn.

    The arrays in ``row_local`` (:attr:`RowGroup.row_local`) are held one row at a time, in a buffer (named
    ``ctx.buffers[var]``) that each thread allocates for the loop.

    >>> import numpy as np
    >>> from pyaccad import nn
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.opt.fusion import plan_program
    >>> plan = plan_program(trace(nn.softmax, np.ones((8, 5))).program)
    >>> ctx = Ctx()
    >>> ctx.delayed.update(plan.delayed)
    >>> group = row_groups(plan)[0]
    >>> ctx.buffers.update({v: f"buf{n}" for n, v in enumerate([*plan.program.inputs, *(
    ...     v for k in plan.kernels for v in k.outs), *group.materialised])})
    >>> emit_group(ctx, group.kernels)
    >>> sum("omp parallel for" in line for line in ctx.lines)
    1
    """
    rows = ctx.shape(_iterated(kernels[0]))[0]
    work = " + ".join(f"({ctx.size(_iterated(k))})" for k in kernels)
    ctx.emit(f"/* rows: {' + '.join(_title(k) for k in kernels)} */")
    with ctx.block():
        ctx.emit(f"const int64_t rows = {rows}, work = {work};")
        row = ctx.fresh("o")
        local = list(row_local)
        if not local:
            ctx.emit(f"#pragma omp parallel for schedule(static) if (work > {PARALLEL_MIN})")
            _rows_loop(ctx, kernels, row, "")
            return
        # each thread's row of the materialised values lives in a buffer of its own: L1-sized, never written back
        error = ctx.error("native backend: no memory for a thread's row buffer (malloc failed)")
        ctx.emit(f"#pragma omp parallel if (work > {PARALLEL_MIN})")
        with ctx.block():
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


def _rows_loop(ctx: Ctx, kernels: list[Kernel], row: str, first: str) -> None:
    with ctx.block(f"for (int64_t {row} = 0; {row} < rows; {row}++)"):
        if first:
            ctx.emit(first)
        for kernel in kernels:
            with ctx.block():
                _row_body(ctx, kernel, row)


def _iterated(kernel: Kernel) -> Atom:
    """The array whose rows the kernel's loop walks: a map's result, a fold's operand."""
    return kernel.outs[0] if kernel.kind == "map" else kernel.roots[0].args[0]


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

    index_loop(ctx, shape[1:], lambda idx: write_elements(ctx, kernel, at(idx)), parallel=False)
