"""Row groups: consecutive kernels that can run inside one parallel loop over the first axis (the analysis).

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

Inside a loop body (run once per trip, on small arrays) a second kind of group,
an *element group* (:func:`element_group_end`), runs consecutive maps of one
shape in one loop over their elements when each reads what the others produce
only at the element it computes: a value is then passed on in a register, and
the trip pays one loop's setup instead of one per map.

:func:`row_groups` decides which kernels form a group, from the index
expressions through which each kernel reads (:func:`_row_reads`): a read of
an array produced earlier in the group must be at the row being computed.
Broadcasting row 0 to every row, reversing or slicing the first axis,
``backpermute``, ``generate`` and ``index`` reads are not, and end the group.
Rows of ``RowLimits.row_max`` elements or more (at trace time) are not grouped:
they outgrow the cache, so sharing the loop saves little, while the loop's
parallelism is the row count; the backend gives the limits. (Below that, a group with fewer rows than threads leaves
threads idle; a run-time switch to the one-by-one kernels would need a second
copy of their code, measured at +43 % compile time for the gmm gradient.)

>>> import numpy as np
>>> from pyaccad import nn
>>> from pyaccad.frontend import trace
>>> from pyaccad.opt import optimize
>>> from pyaccad.opt.fusion import plan_program
>>> plan = plan_program(optimize(trace(nn.softmax, np.ones((8, 5))).program, "native"))
>>> groups = row_groups(plan, RowLimits(row_max=1 << 18, buffer_max=1 << 13))
>>> [k.kind for k in plan.kernels], [(n, g.end) for n, g in groups.items()]
(['fold', 'fold', 'map'], [(0, 3)])
"""

from __future__ import annotations

from dataclasses import dataclass

from pyaccad.ir import Atom, Stmt, Var
from pyaccad.ir.index_maps import INDEX_MAPS, follows_row, reads_of
from pyaccad.opt.fusion import collect_fused, element_cost
from pyaccad.opt.kernels import Kernel, Plan


@dataclass(frozen=True)
class RowLimits:
    """A backend's limits on row groups, from its caches: ``row_max`` elements per row from which kernels are not
    grouped (a row must stay in cache), ``buffer_max`` elements per row up to which a materialised value lives in
    a per-row buffer of its own (:attr:`RowGroup.row_local`) rather than in memory as a whole."""

    row_max: int
    buffer_max: int
    elements: bool = False
    """Whether the backend runs element groups (:func:`element_group_end`) in loop bodies."""


MAX_GROUP_KERNELS = 16
"""Kernels per row group at most. A group is one loop, one function the C compiler sees whole (it is never cut
between translation units), and gcc's time on a function grows faster than its length: a 2000-step unrolled
chain made groups of 150 kernels that took gcc three times as long per line as groups of 16. Longer runs are
cut into consecutive groups; the benefit (a row stays in cache from one kernel to the next) is kept inside each."""


@dataclass
class RowGroup:
    """Kernels ``first .. end-1`` of a plan, sharing one loop over rows."""

    end: int
    kernels: list[Kernel]
    """The plan's kernels, and before them maps writing the values they would each recompute (``materialised``)."""
    materialised: list[Var]
    row_local: list[Var]
    """The materialised values with rows of at most ``RowLimits.buffer_max`` elements: the loop holds their
    current row in a buffer of its own (nothing outside the group reads them: they are delayed there)."""
    elements: bool = False
    """An element group (:func:`element_group_end`): maps of one shape sharing one loop over every element."""

    def describe(self, first: int) -> str:
        """A line for ``acc.lower``: which kernels share the loop, and what they write once per row."""
        if self.elements:
            return f"element loop: kernels {first + 1}-{self.end} share one loop over every element"
        line = f"row loop: kernels {first + 1}-{self.end} share one parallel loop over rows"
        kept = [s.prim.name for k in self.kernels for s in k.roots if any(v in self.materialised for v in s.outs)]
        return line + (f"; {', '.join(kept)} written once per row, not recomputed" if kept else "")


def group_rows(plan: Plan, limits: RowLimits) -> Plan:
    """``plan`` (and the plans of its control bodies) with :attr:`~pyaccad.opt.kernels.Plan.row_groups` set.

    >>> import numpy as np
    >>> from pyaccad import ad, nn
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.opt import optimize
    >>> from pyaccad.opt.fusion import plan_program
    >>> from pyaccad.opt.kernels import describe_plan
    >>> x = np.ones((8, 5), np.float32)
    >>> plan = plan_program(optimize(trace(ad.grad(lambda a: nn.logsumexp(a, axis=1).sum()), x).program, "native"))
    >>> print(describe_plan(group_rows(plan, RowLimits(1 << 18, 1 << 13))).splitlines()[-1])
    row loop: kernels 1-4 share one parallel loop over rows; exp written once per row, not recomputed
    """
    plan.row_groups = row_groups(plan, limits)
    for kernel in plan.kernels:
        for body in kernel.bodies.values():
            group_rows(body, limits)
    return plan


def row_groups(plan: Plan, limits: RowLimits) -> dict[int, RowGroup]:
    """``{first: group}`` for every run of two or more kernels that can share one loop over rows."""
    groups: dict[int, RowGroup] = {}
    n = 0
    while n < len(plan.kernels):
        end = element_group_end(plan, n) if plan.in_loop and limits.elements else n + 1
        if end - n >= 2:
            groups[n] = RowGroup(end, plan.kernels[n:end], [], [], elements=True)
            n = end
            continue
        rows = _row_extent(plan.kernels[n], limits, plan.in_loop)
        end = n + 1
        while (
            rows is not None
            and end < len(plan.kernels)
            and end - n < MAX_GROUP_KERNELS
            and _joins(plan.kernels[n:end], plan.kernels[end], rows, plan.delayed, limits, plan.in_loop)
        ):
            end += 1
        if end - n >= 2:
            groups[n] = _materialise_shared(plan.kernels[n:end], end, rows, plan.delayed, limits)
        n = end
    return groups


MAX_ELEMENT_KERNELS = 32
"""Kernels per element group at most (as :data:`MAX_GROUP_KERNELS`: one loop is one unit of gcc's work)."""


def element_group_end(plan: Plan, first: int) -> int:
    """The end of the element group starting at kernel ``first`` (``first + 1``: none): the map kernels from
    ``first`` on over one shape, each reading what the earlier ones produced only at the element it computes.

    One loop over the elements then runs each kernel's element in turn; a value an earlier kernel wrote is
    read back from the register it was computed in. Only for loop bodies (the caller's choice): there a trip
    runs many small maps (the LSTM's reverse trip, 35 maps over 14 elements), each paying a loop's setup,
    its vector remainder and a pass over memory; outside loops a value is made manifest to be written once,
    and the arrays are large enough for their loops to pay for themselves.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.opt.fusion import plan_program
    >>> def f(x, flip):  # t = tanh(exp(x) + x), written by one map, read by the next
    ...     e = acc.exp(x)
    ...     t = acc.tanh(e + x)
    ...     return e * t, t - e, t[::-1] if flip else x * t
    >>> for flip in (False, True):  # reversed, t is read at other elements than the one computed
    ...     plan = plan_program(trace(lambda x: f(x, flip), np.ones(8)).program, in_loop=True)
    ...     print(len(plan.kernels), element_group_end(plan, 0))
    2 2
    2 1
    """
    kernels = plan.kernels
    shape = _element_shape(kernels[first], kernels[first - 1] if first else None)
    end = first + 1
    while (
        shape is not None
        and end < len(kernels)
        and end - first < MAX_ELEMENT_KERNELS
        and _element_shape(kernels[end], kernels[end - 1]) == shape
    ):
        produced = {v for k in kernels[first:end] for v in k.outs}
        reads = _row_reads(kernels[end], plan.delayed, element=True)
        if not all(reads[v] for v in reads if v in produced):
            break
        end += 1
    return end


def _element_shape(kernel: Kernel, before: Kernel | None) -> tuple[int, ...] | None:
    """The shape of a map kernel that may join an element group (None: it may not). A map right after a
    ``matmul`` may run inside the GEMM's loop instead, and one reading a ``pad`` gets a loop of its own split
    where the pads are known (the native backend's ``interior``)."""
    if kernel.kind != "map" or (before is not None and before.kind == "matmul"):
        return None
    shape = kernel.outs[0].shape
    return shape if shape and all(s.prim.name != "pad" for s in kernel.fused) else None


def _joins(
    group: list[Kernel],
    kernel: Kernel,
    rows: int | None,
    delayed: dict[Var, Stmt],
    limits: RowLimits,
    in_loop: bool = False,
) -> bool:
    """Can ``kernel`` compute row ``o`` right after ``group`` computed its row ``o``?"""
    if _row_extent(kernel, limits, in_loop) != rows:
        return False
    produced = {v for k in group for v in k.outs}
    reads = _row_reads(kernel, delayed)
    return all(reads[v] for v in reads if v in produced)


def _materialise_shared(
    group: list[Kernel], end: int, rows: int | None, delayed: dict[Var, Stmt], limits: RowLimits
) -> RowGroup:
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
        return RowGroup(end, group, [], [])
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
    if all(_joins(kernels[:n], kernels[n], rows, still_delayed, limits) for n in range(1, len(kernels))):
        local = [v for v in outs if v.type.size <= limits.buffer_max * max(1, v.shape[0])]
        return RowGroup(end, kernels, outs, local)
    return RowGroup(end, group, [], [])


def _row_extent(kernel: Kernel, limits: RowLimits, in_loop: bool = False) -> int | None:
    """The first axis a kernel can compute row by row (None for kernels that cannot, and for long rows).

    Inside a loop body (``in_loop``) a rank-1 map computes no rows: its rows are single elements, so a shared
    loop would run its element scalar code (one libm call per ``exp``) where a loop of its own is a vector loop;
    the LSTM's reverse trip, 13-16 maps over 14 elements per group, took 40 % less time without the groups.
    """
    if kernel.kind not in ("map", "fold"):
        return None
    walked = iterated(kernel)
    if (
        not isinstance(walked, Var)
        or walked.type.ndim == 0
        or (in_loop and kernel.kind == "map" and walked.type.ndim == 1)
    ):
        return None
    if kernel.kind == "fold" and (walked.type.ndim < 2 or kernel.roots[0].params["axis"] != walked.type.ndim - 1):
        return None
    rows = walked.shape[0]
    return rows if walked.type.size < limits.row_max * max(1, rows) else None


def _row_reads(kernel: Kernel, delayed: dict[Var, Stmt], element: bool = False) -> dict[Var, bool]:
    """Every manifest array the kernel reads, and whether all of its reads are at the row being computed (with
    ``element``: at the element being computed)."""
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
        for var, arg_aligned in _arg_alignment(stmt, aligned, element):
            read(var, arg_aligned)

    for root in kernel.roots:
        visit(root, True)
    return found


def _arg_alignment(stmt: Stmt, aligned: bool, element: bool = False) -> list[tuple[Var, bool]]:
    """For each array argument: is it read at row ``o`` when ``stmt``'s element is wanted at row ``o``? (With
    ``element``: at the element wanted; only element-wise operations and maps read their operands there.)"""
    args = [a for a in stmt.args if isinstance(a, Var)]
    if stmt.prim.family == "elementwise" or stmt.prim.name == "map":
        return [(a, aligned and a.type.ndim >= 1) for a in args]
    if element:
        return [(a, False) for a in args]
    if stmt.prim.name == "fold":  # a row fold reads x[o, .., j]
        return [(a, aligned and stmt.params["axis"] != 0 and a.type.ndim >= 1) for a in args]
    index_map = INDEX_MAPS.get(stmt.prim)
    if index_map is None:
        return [(a, False) for a in args]
    # an operand read anywhere else than at the result's row, by any of the map's reads, is not aligned
    follows = {n: True for n in range(len(stmt.args))}
    for read in reads_of(stmt):
        follows[read.arg] = follows[read.arg] and follows_row(read, stmt)
    return [(a, aligned and follows[n]) for n, a in enumerate(stmt.args) if isinstance(a, Var)]


def iterated(kernel: Kernel) -> Atom:
    """The array whose rows the kernel's loop walks: a map's result, a fold's operand."""
    return kernel.outs[0] if kernel.kind == "map" else kernel.roots[0].args[0]
