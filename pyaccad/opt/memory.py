"""Workspace planning: intermediates whose lifetimes do not overlap share memory.

A compiled backend keeps a program's manifest intermediates in one workspace. Giving each its own
slice makes the workspace the sum of every intermediate ever computed; most are dead long before the
program ends. Here each intermediate gets a *lifetime* over the top-level kernels of its plan (from
the kernel that allocates it to the last kernel that reads it) and an offset such that two
intermediates share bytes only when their lifetimes are disjoint, so the workspace is about the most
memory live at any one time. That is what makes ``ad.checkpoint`` pay off: the values it recomputes in
the reverse pass are dead during the forward pass and the values of the forward pass dead during it.

Lifetimes are inclusive, so a kernel never writes memory it reads in the same step. Whatever runs
inside an array-level ``while``/``cond`` lives for the whole of that kernel.

>>> assign_offsets([(64, 0, 1), (128, 2, 3), (64, 1, 2)])  # the second reuses the first's bytes
([0, 0, 128], 192)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

from pyaccad.ir import Program, Stmt, Var
from pyaccad.opt.kernels import Kernel, Plan

ALIGN = 64
"""Every intermediate starts at a multiple of this many bytes (a cache line, an AVX-512 vector)."""


def kernel_reads(kernel: Kernel, delayed: Mapping[Var, Stmt], manifest: Collection[Var]) -> set[Var]:
    """The ``manifest`` values ``kernel`` reads: directly, inside its bodies, or through delayed producers.

    A value both delayed and manifest (a row group writes it once per row) counts as read wherever its
    producer's inputs are, whichever of the two a kernel uses.
    """
    todo = list(_free(kernel.roots + kernel.fused))
    seen: set[Var] = set()
    found: set[Var] = set()
    while todo:
        var = todo.pop()
        if var in seen:
            continue
        seen.add(var)
        if var in manifest:
            found.add(var)
        producer = delayed.get(var)
        if producer is not None:
            todo.extend(_free([producer]))
    return found


def _free(stmts: Sequence[Stmt]) -> tuple[Var, ...]:
    return Program((), tuple(stmts), ()).free_vars


def last_reads(plan: Plan, manifest: Collection[Var]) -> dict[Var, int]:
    """For each ``manifest`` value the plan reads, the index of the last top-level kernel reading it
    (``len(plan.kernels)`` for the program's outputs, read after every kernel)."""
    last: dict[Var, int] = {}
    for n, kernel in enumerate(plan.kernels):
        for var in kernel_reads(kernel, plan.delayed, manifest):
            last[var] = n
    for atom in plan.program.outputs:
        if isinstance(atom, Var) and atom in manifest:
            last[atom] = len(plan.kernels)
    return last


def assign_offsets(buffers: Sequence[tuple[int, int, int]]) -> tuple[list[int], int]:
    """Byte offsets for buffers ``(size, first, last)`` (lifetime ``first..last``, inclusive) and the total.

    Buffers whose lifetimes overlap never overlap in memory. Largest first, each at the lowest
    :data:`ALIGN`-aligned offset that clashes with no buffer placed before it: the classic greedy
    heuristic for this (NP-hard) packing, within a small factor of the peak in practice.
    """
    order = sorted(range(len(buffers)), key=lambda k: (-buffers[k][0], buffers[k][1], k))
    offsets = [0] * len(buffers)
    placed: list[int] = []
    total = 0
    for k in order:
        size, first, last = buffers[k]
        clashes = sorted(
            (offsets[j], offsets[j] + buffers[j][0]) for j in placed if buffers[j][1] <= last and first <= buffers[j][2]
        )
        offset = 0
        for start, end in clashes:
            if offset + size <= start:
                break
            offset = max(offset, _aligned(end))
        offsets[k] = offset
        placed.append(k)
        total = max(total, offset + size)
    return offsets, total


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass
class Workspace:
    """The intermediates a code generator places in one workspace, in the order it makes them, and when each is
    busy: from the top-level kernels being emitted when it is made (:attr:`during`, which the generator moves
    along) to the last kernel that reads it. Native and CUDA generators alike.

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.opt.fusion import plan_program
    >>> plan = plan_program(trace(lambda x: (x * 2.0).sum() + x, np.ones(3)).program)
    >>> work = Workspace()
    >>> work.add(plan.kernels[0].outs[0])
    0
    >>> work.offsets(plan)  # 3 + 1 floats, rounded up to whole 64-byte lines
    ([0], 64)
    """

    values: list[Var] = field(default_factory=list)
    busy: list[tuple[int, int]] = field(default_factory=list)
    during: tuple[int, int] = (0, 0)

    def add(self, var: Var) -> int:
        """Place ``var`` (made now); its number among the intermediates."""
        self.values.append(var)
        self.busy.append(self.during)
        return len(self.values) - 1

    def offsets(self, plan: Plan) -> tuple[list[int], int]:
        """Each intermediate's byte offset, and the workspace's bytes (each one element more than it holds, so
        that none is empty)."""
        last = last_reads(plan, set(self.values))
        sizes = [
            (_aligned(v.dtype.itemsize * (v.type.size + 1)), first, max(busy, last.get(v, busy)))
            for v, (first, busy) in zip(self.values, self.busy, strict=True)
        ]
        return assign_offsets(sizes)
