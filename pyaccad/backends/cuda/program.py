"""A whole program for the GPU: one CUDA module of kernels, and the host's schedule of launches around them.

The plan (:mod:`pyaccad.opt.fusion`, shared with the native backend) gives the kernels in order. Each
becomes a ``__global__`` function of one module (:mod:`.skeletons`); the host runs a *schedule*: launches,
device-to-device copies, and the array-level control flow, which stays on the host as accelerate's does
(an ``awhile`` launches its condition's kernels, reads back the one flag, then launches its body's; an
``acond`` reads back its predicate). Buffers are the module's *slots*: inputs, embedded constants, outputs,
and intermediates carved out of one device workspace at offsets planned so that values with disjoint
lifetimes share memory (:mod:`pyaccad.opt.memory`). A kernel takes the pointers to those it uses in a table
``B`` of its own, and its run-time integers in an ``E`` of its own, numbered in its own order
(:mod:`.frames`): one kernel's text, and so its compiled CUBIN, serves wherever its buffers sit.

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> module = generate(trace(lambda x: x * 2.0 + 1.0, np.ones(3, np.float32)).program)
>>> [type(s).__name__ for s in module.steps], "__global__" in module.source
(['Launch'], True)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from pyaccad.backends.clike.cgen import CTYPE
from pyaccad.backends.cuda import linalg, rows
from pyaccad.backends.cuda.blocks import VALUES, WARP, Blocks, plan_fold
from pyaccad.backends.cuda.frames import CudaCtx, Frame
from pyaccad.backends.cuda.prelude import PRELUDE
from pyaccad.backends.cuda.scans import plan_scan
from pyaccad.backends.cuda.skeletons import function_source, grid_extents, kernel_source, work_items
from pyaccad.ir import FLOAT32, FLOAT64, INT64, PRIMITIVES, Lit, Primitive, Program, Var
from pyaccad.ir.types import ArrayType
from pyaccad.opt.fusion import matrix_transpose_source, plan_program
from pyaccad.opt.kernels import Kernel, Plan, body_outputs, forget_made, in_place_components, output_sources
from pyaccad.opt.memory import Workspace
from pyaccad.opt.rows import RowGroup, group_rows, iterated


@dataclass(frozen=True)
class Launch:
    """Run kernel ``kernel`` over ``items`` work items (threads, grid-stride), or, when ``threads`` is given (a
    cooperative kernel's block size), over ``items`` block work units (rows, tiles), blocks looping over them;
    ``clear``: the slot and bytes of a buffer zeroed before every launch (a scan's tile status and counter).
    A ``grid`` ``(nz, ny, nx)`` makes the launch 3-D: the work items are those of a shape of rank 2 or more
    (:mod:`.grids`), ``items`` of them in all. The kernel's ``E`` and ``B`` start at ``ints`` and ``table`` in
    the module's :attr:`Module.ints` and :attr:`Module.table`; its error id ``k + 1`` is the module's error
    ``errors[k]`` (an index into :attr:`Module.errors`, :mod:`.frames`)."""

    kernel: str
    items: int
    threads: int = 0
    clear: tuple[int, int] | None = None
    grid: tuple[int, ...] = ()
    ints: int = 0
    table: int = 0
    errors: tuple[int, ...] = ()


@dataclass(frozen=True)
class Gemm:
    """A float ``matmul`` through cuBLAS (:mod:`.cublas`): ``out = a @ b``, ``batch`` products of ``m × k`` by
    ``k × n``; an operand ``transposed`` is its source's slot, read with the transpose flag."""

    a: int
    b: int
    out: int
    dtype: str
    batch: int
    m: int
    k: int
    n: int
    a_transposed: bool
    b_transposed: bool


@dataclass(frozen=True)
class Copy:
    """Copy ``nbytes`` from the buffer in slot ``src`` to the one in slot ``dst`` (on the device)."""

    dst: int
    src: int
    nbytes: int


@dataclass(frozen=True)
class Fill:
    """Write ``value`` (a literal's bytes) into the buffer in slot ``dst``."""

    dst: int
    value: bytes


@dataclass(frozen=True)
class Loop:
    """``awhile``: run ``cond``, read the bool in slot ``flag``, stop when false, else run ``body``."""

    cond: list
    flag: int
    body: list


@dataclass(frozen=True)
class Branch:
    """``acond``: read the bool in slot ``pred``, run ``then_`` or ``else_``."""

    pred: int
    then_: list
    else_: list


Step = Launch | Gemm | Copy | Fill | Loop | Branch


@dataclass
class Module:
    """Everything the runtime needs to run one traced program on a device."""

    source: str
    steps: list[Step]
    ints: list[int]  # each kernel's run-time integers in turn
    slots: list[tuple[str, int]]  # each buffer: ("input", i) | ("const", j) | ("output", k) | ("work", offset)
    table: list[int]  # each kernel's buffers in turn, by slot: its pointer table is a run of this one's
    consts: list[np.ndarray]
    workspace: int
    outputs: list[tuple[str, object]]  # ("buffer", k) | ("input", i) | ("const", j) | ("output", k) | ("lit", v)
    out_types: list[tuple[np.dtype, tuple[int, ...]]]
    errors: list = field(default_factory=list)
    record_size: int = 3
    kernels: list[str] = field(default_factory=list)


class _Generator:
    def __init__(self, program: Program) -> None:
        self.ctx = CudaCtx()
        # decided at trace time: the source differs, so a program traced at larger extents gets its own module
        self.ctx.index_bits = 32 if largest_array(program) < 2**31 else 64
        self.program = program
        self.slots: list[tuple[str, int]] = []
        self.consts: list[np.ndarray] = []
        self.kernels: list[str] = []
        self.sources: list[str] = []
        self.ints: list[int] = []
        self.table: list[int] = []
        self.workspace = Workspace()
        self.plan: Plan | None = None

    def slot(self, var: Var, kind: str, number: int) -> int:
        self.slots.append((kind, number))
        self.bind(var, len(self.slots) - 1)
        return len(self.slots) - 1

    def bind(self, var: Var, slot: int) -> None:
        self.ctx.slots[var] = slot
        self.ctx.buffers[var] = self.ctx.fresh("b")
        self.ctx.pointers[self.ctx.buffers[var]] = (CTYPE[var.dtype], slot)

    def work(self, var: Var) -> int:
        """A slot for an intermediate in the workspace (its offset is planned once every lifetime is known)."""
        return self.slot(var, "work", self.workspace.add(var))

    def slot_of(self, atom: Var | Lit) -> int:
        return self.ctx.slots[atom]  # type: ignore[index]

    def launch(self, kernel: Kernel, part: str = "", blocks: Blocks | None = None) -> Launch:
        name = self.name()
        source = kernel_source(self.ctx, name, kernel, part, blocks)
        return self.add(name, source, *work_items(kernel, part, blocks), grid=grid_extents(kernel, part, blocks))

    def add(self, name: str, source: tuple[str, Frame], items: int, threads: int, grid: tuple[int, ...] = ()) -> Launch:
        """The launch of the kernel ``name`` over ``items``, its text added to the module, its integers and pointers
        to the module's runs of them (:mod:`.frames`)."""
        text, frame = source
        self.sources.append(text)
        launch = Launch(
            name, items, threads, grid=grid, ints=len(self.ints), table=len(self.table), errors=frame.errors
        )
        self.ints += [self.ctx.ints[n] for n in frame.ints]
        self.table += frame.slots
        return launch

    def name(self) -> str:
        """The name of the next ``__global__`` function of the module."""
        self.kernels.append(f"k{len(self.kernels)}")
        return self.kernels[-1]

    def row_group(self, plan: Plan, group: RowGroup) -> Launch:
        """A row group as one kernel, a block per row (:mod:`.rows`); a value written once per row is computed
        again by later kernels (it is delayed there), as on the native backend."""
        ctx = self.ctx
        for var in group.materialised:
            del ctx.delayed[var]
        blocks = rows.plan_group(plan, group, ctx.slots)
        for var in (v for k in group.kernels for v in k.outs):
            if var not in ctx.slots and var not in blocks.shared:
                self.work(var)
        name = self.name()
        source = function_source(ctx, name, lambda: rows.group_body(ctx, group, blocks))
        for var in group.row_local:
            ctx.delayed[var] = plan.delayed[var]
        return self.add(name, source, *blocks.launch(iterated(group.kernels[0]).shape[0]))

    def scratch(self, dtype: np.dtype, size: int, name: str) -> Var:
        """A workspace array of ``size`` elements for a kernel's own bookkeeping (0: unused at this shape, but the
        kernel, the same at every shape, still names it)."""
        var = Var(ArrayType(dtype, (size,)), name)
        self.work(var)
        return var

    def fold(self, kernel: Kernel) -> list[Step]:
        """The fold on blocks, and when :func:`.blocks.plan_fold` cuts its lines into slices, their merge: both
        kernels are in the module whatever the shapes (only the launches and run-time integers follow them)."""
        blocks = plan_fold(kernel)
        lines = kernel.roots[0].outs[0].type.size
        used = lines * blocks.count if blocks.count > 1 else 0
        partials = tuple(tuple(self.scratch(v.dtype, used, "part") for v in stmt.outs) for stmt in kernel.roots)
        blocks = dataclasses.replace(blocks, partials=partials)
        steps = [self.launch(kernel, "fold_lines", blocks)]
        merge = self.launch(kernel, "fold_merge", blocks)
        return [*steps, merge] if blocks.count > 1 else steps

    def scan(self, kernel: Kernel) -> list[Step]:
        """A thread per line, or tiles on blocks in one pass (:mod:`.scans`, its tile status cleared first): both
        kernels are in the module whatever the shapes; :func:`.scans.plan_scan` picks one at these."""
        blocks = plan_scan(kernel)
        by_thread = self.launch(kernel)
        lines = work_items(kernel)[0]
        units = lines * blocks.count if blocks is not None else 0
        tiles = blocks or Blocks(WARP, 1, 1, WARP * VALUES)  # the kernel's source, not launched
        (stmt,) = kernel.roots
        used = units if tiles.count > 1 else 0
        tiles = dataclasses.replace(
            tiles,
            partials=(tuple(self.scratch(v.dtype, used, "aggregate") for v in stmt.outs),),
            prefixes=tuple(self.scratch(v.dtype, used, "prefix") for v in stmt.outs),
            flags=self.scratch(INT64, units + 1, "flags"),
        )
        on_blocks = self.launch(kernel, "scan_tiles", tiles)
        if blocks is None:
            return [by_thread]
        return [dataclasses.replace(on_blocks, clear=(self.slot_of(tiles.flags), (units + 1) * 8))]

    def emit_plan(self, plan: Plan, out_slots: list[int] | None) -> list[Step]:
        ctx = self.ctx
        if plan is not self.plan:  # a body another statement may have emitted before (opt.kernels.forget_made)
            forget_made(plan, ctx.slots)
        ctx.delayed.update(plan.delayed)
        for stmt in plan.consts:
            self.slot(stmt.outs[0], "const", len(self.consts))
            self.consts.append(stmt.params["value"])
        written, copies = body_outputs(plan, out_slots, ctx.slots) if out_slots is not None else ([], [])
        for var, slot in written:
            self.bind(var, slot)  # the kernel writes the result in place
        steps: list[Step] = []
        top = plan is self.plan
        n = 0
        while n < len(plan.kernels):
            group = plan.row_groups.get(n)
            if top:
                self.workspace.during = (n, n if group is None else group.end - 1)
            if group is not None:  # kernels sharing one loop over rows: one kernel
                steps.append(self.row_group(plan, group))
                n = group.end
                continue
            kernel = plan.kernels[n]
            for var in kernel.outs:
                if var not in ctx.slots:
                    self.work(var)
            steps += SCHEDULES[PRIMITIVES[kernel.kind]](self, kernel)
            n += 1
        for dst, a in copies:
            steps.append(self.copy_into(dst, a))
        return steps

    def copy_into(self, dst: int, a: Var | Lit) -> Step:
        if isinstance(a, Lit):
            return Fill(dst, np.asarray(a.value, dtype=a.dtype).tobytes())
        return Copy(dst, self.slot_of(a), a.type.size * a.dtype.itemsize)

    def loop(self, kernel: Kernel) -> list[Step]:
        """``awhile``: the state in ``cur`` buffers; the body writes ``nxt``, copied back after each trip (but a
        component the body updates in place, :func:`~pyaccad.opt.kernels.in_place_components`, has one buffer)."""
        (stmt,) = kernel.roots
        cond, body = kernel.bodies["cond"], kernel.bodies["body"]
        written = in_place_components(cond.program, body.program)  # one buffer, a trip writes its slots
        cur = [self.work(Var(v.type, "state")) for v in stmt.outs]
        nxt = [
            c if j in written else self.work(Var(v.type, "next"))
            for j, (c, v) in enumerate(zip(cur, stmt.outs, strict=True))
        ]
        flag = self.work(Var(ArrayType(np.dtype(bool), ()), "going"))
        for plan in (cond, body):
            for var, slot in zip(plan.program.inputs, cur, strict=True):
                self.bind(var, slot)
        cond_steps = self.emit_plan(cond, [flag])
        body_steps = self.emit_plan(body, nxt)
        nbytes = [v.type.size * v.dtype.itemsize for v in stmt.outs]
        body_steps += [Copy(c, x, b) for c, x, b in zip(cur, nxt, nbytes, strict=True) if c != x]
        start = [self.copy_into(c, a) for c, a in zip(cur, stmt.args, strict=True)]
        finish = [Copy(self.slot_of(v), c, b) for v, c, b in zip(stmt.outs, cur, nbytes, strict=True)]
        return [*start, Loop(cond_steps, flag, body_steps), *finish]

    def branch(self, kernel: Kernel) -> Branch:
        (stmt,) = kernel.roots
        outs = [self.slot_of(v) for v in stmt.outs]
        return Branch(
            self.slot_of(stmt.args[0]),
            self.emit_plan(kernel.bodies["then_"], outs),
            self.emit_plan(kernel.bodies["else_"], outs),
        )

    def gemm(self, kernel: Kernel) -> Gemm:
        """A float product through cuBLAS; an operand that is a delayed transpose of the last two axes is read from
        its source (:func:`~pyaccad.opt.fusion.matrix_transpose_source`), as the native backend's BLAS does."""
        (stmt,) = kernel.roots
        a, b = stmt.args
        operands = []
        for var in (a, b):
            source = matrix_transpose_source(var, self.ctx.delayed)
            operands.append((self.slot_of(source if source is not None else var), source is not None))
        (a_slot, a_t), (b_slot, b_t) = operands
        *batch, m, k = a.shape
        return Gemm(
            a_slot, b_slot, self.slot_of(stmt.outs[0]), str(a.dtype), math.prod(batch), m, k, b.shape[-1], a_t, b_t
        )

    def permute(self, kernel: Kernel) -> list[Step]:
        """The defaults copied into the result (unless it is a loop's state, updated in place), then the scatter."""
        (scatter,) = kernel.roots
        steps = []
        if self.ctx.slots.get(scatter.args[0]) != self.slot_of(scatter.outs[0]):
            steps.append(self.launch(kernel, "permute_copy"))
        return [*steps, self.launch(kernel, "permute_scatter")]

    def run(self) -> Module:
        ctx = self.ctx
        plan = self.plan = group_rows(plan_program(self.program), rows.LIMITS)
        program = plan.program
        for n, var in enumerate(program.inputs):
            self.slot(var, "input", n)
        outputs = output_sources(plan)
        for n, (kind, _) in enumerate(outputs):
            if kind == "buffer":
                self.slot(program.outputs[n], "output", n)
        steps = self.emit_plan(plan, None)
        slots, workspace = self.placed_slots()
        source = "\n\n".join([PRELUDE, *self.sources]) + "\n"
        return Module(
            source,
            steps,
            self.ints,
            slots,
            self.table,
            self.consts,
            workspace,
            outputs,
            [(v.type.dtype, v.type.shape) for v in program.outputs],
            list(ctx.errors),
            3 + ctx.record_rank,
            list(self.kernels),
        )

    def placed_slots(self) -> tuple[list[tuple[str, int]], int]:
        """The slots with every intermediate's planned offset, and the workspace's bytes."""
        assert self.plan is not None
        offsets, total = self.workspace.offsets(self.plan)
        return [("work", offsets[n]) if kind == "work" else (kind, n) for kind, n in self.slots], total


SCHEDULES: dict[Primitive, Callable[[_Generator, Kernel], list[Step]]] = {
    **{PRIMITIVES[kind]: lambda gen, kernel: [gen.launch(kernel)] for kind in ("map", "stencil")},
    **{PRIMITIVES[kind]: lambda gen, kernel: [gen.launch(kernel)] for kind in linalg.TEMPLATES},
    PRIMITIVES["fold"]: _Generator.fold,
    PRIMITIVES["scan"]: _Generator.scan,
    PRIMITIVES["matmul"]: lambda gen, kernel: (
        [gen.gemm(kernel)] if kernel.outs[0].dtype in (FLOAT32, FLOAT64) else [gen.launch(kernel)]
    ),
    PRIMITIVES["permute"]: _Generator.permute,
    PRIMITIVES["while"]: _Generator.loop,
    PRIMITIVES["cond"]: lambda gen, kernel: [gen.branch(kernel)],
}
"""The host's steps for each kind of kernel a plan holds (:attr:`.Kernel.kind`), by primitive: one launch of
its body (:mod:`.skeletons`), or several (a sliced fold, a permute), or control flow."""


def largest_array(program: Program) -> int:
    """The element count of the largest array ``program`` (or any body inside it) reads or makes.

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> largest_array(trace(lambda x: x.sum(axis=0), np.ones((3, 5))).program)
    15
    """
    sizes = [v.type.size for v in program.inputs]
    for stmt in program.stmts:
        sizes += [v.type.size for v in stmt.outs] + [a.type.size for a in stmt.args if hasattr(a, "type")]
        sizes += [largest_array(body) for body in stmt.subprograms()]
    return max(sizes, default=0)


def generate(program: Program) -> Module:
    """The CUDA module of ``program`` and the schedule that runs it."""
    return _Generator(program).run()
