"""A whole program as C source with one entry point (in one translation unit, or several for a large one).

The entry function receives every buffer (inputs, ``acc.use`` constants,
outputs, and a workspace for the intermediate arrays) in ``B`` and every
shape-derived integer in ``E``; it carves the intermediates out of the
workspace, runs the kernels of the plan in order (host-side ``while``/``cond``
between them) and returns 0 or the id of a run-time error (an out-of-bounds
index, which it records in ``R``, an int64 array that is the last entry of ``B``)::

    int pyaccad_entry(void **B, const int64_t *E, int nthreads) {
        int err = 0;
        const float *x = B[0];  float *out0 = B[1];  char *W = B[2];
        float *b2 = (float *)(W + 0);  /* then b3 at the next 64-byte boundary, ... */
        { /* kernel 1 */ }  if (err) goto done;
        { /* kernel 2 */ }  if (err) goto done;
    done:
        return err;
    }

A large program (over :data:`UNIT_LINES` lines of kernels) is cut between
kernels into parts, ``int pyaccad_partN(void **B, const int64_t *E)``, each
with the same declarations, in translation units of their own (separated by
:data:`.build.UNIT_BREAK` lines), which :func:`.build.build` compiles in
parallel; the entry then calls the parts in turn. The gmm gradient (about 900
lines of kernels, three parts) went from 1.9–2.9 s to 1.3–1.4 s on its first
call on the 2-core machine. Each loop longer than :data:`.outline.OUTLINE_LINES`
is emitted as a ``static`` function of its part's unit (:mod:`.outline`), so
that no function holds loops inside loops; a top-level kernel's lines and its
loops' functions make a :data:`Segment`, and the parts are runs of segments.

:class:`.runtime.Layout` tells the runtime how to fill ``B`` and ``E`` and how to
assemble the outputs.

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> source, layout = generate(trace(lambda x: x + 1.0, np.ones(3)).program)
>>> "pyaccad_entry" in source, layout.ints  # the extent, then the bits of the literal 1.0
(True, [3, 4607182418800017408])
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np

from pyaccad.backends.clike.cgen import CTYPE, Ctx, c_literal
from pyaccad.backends.clike.element import atom
from pyaccad.backends.native import blas, control, fold, lapack, map, outline, permute, region, rows, scan, stencil
from pyaccad.backends.native.blas_library import blas_library
from pyaccad.backends.native.build import UNIT_BREAK
from pyaccad.backends.native.prelude import PRELUDE
from pyaccad.backends.native.runtime import Layout
from pyaccad.ir import PRIMITIVES, Lit, Primitive, Program, Var
from pyaccad.opt.fusion import plan_program
from pyaccad.opt.kernels import Kernel, Plan, body_outputs, forget_made, output_sources
from pyaccad.opt.memory import Workspace
from pyaccad.opt.rows import RowGroup, group_rows

Skeleton = Callable[["_Generator", Kernel, "Kernel | None"], None]
"""Writes one kernel (and the map run inside a GEMM's loop after it, for a matmul) into the generator's context."""


def _plain(emit: Callable[[Ctx, Kernel], None]) -> Skeleton:
    return lambda gen, kernel, epilogue: emit(gen.ctx, kernel)


def _loop(gen: _Generator, kernel: Kernel, epilogue: Kernel | None) -> None:
    """An ``awhile``: host-side control flow over the plans of its bodies, a function of its own where it is long
    (:mod:`.outline`)."""
    names = gen.outliner.names  # which records the buffers of its state and flag, named in its lines directly
    with gen.outliner.loop(gen.ctx) as loop, gen.ctx.block():
        control.while_kernel(gen.ctx, kernel, gen.emit_plan, lambda var: names.use(gen.scratch(var)), loop)


SKELETONS: dict[Primitive, Skeleton] = {
    PRIMITIVES["map"]: _plain(map.map_kernel),
    PRIMITIVES["fold"]: _plain(fold.fold_kernel),
    PRIMITIVES["scan"]: _plain(scan.scan_kernel),
    PRIMITIVES["permute"]: _plain(permute.permute_kernel),
    PRIMITIVES["stencil"]: _plain(stencil.stencil_kernel),
    PRIMITIVES["matmul"]: lambda gen, kernel, epilogue: blas.matmul_kernel(gen.ctx, kernel, epilogue),
    **{PRIMITIVES[kind]: _plain(emit) for kind, emit in lapack.KERNELS.items()},
    PRIMITIVES["while"]: _loop,
    PRIMITIVES["cond"]: lambda gen, kernel, epilogue: gen.emit_cond(kernel),
}
"""The C of each kind of kernel a plan holds (:attr:`.Kernel.kind`, a primitive's name: ``map`` for fused
element-wise work), by primitive; what a kernel computes inside comes from the shared printer
(:mod:`pyaccad.backends.clike`)."""


Segment = outline.Segment
"""A top-level kernel's lines, the functions of its loops and its locals (:func:`_units` joins them into
translation units)."""


class _Generator:
    def __init__(self, program: Program) -> None:
        self.ctx = Ctx()
        self.outliner = outline.Outliner(self.ctx)  # which records the buffers' names read (ctx.buffers)
        self.program = program
        self.workspace = Workspace()  # the intermediates, in the order made; their C names in `scratch_names`
        self.scratch_names: list[str] = []
        self.plan: Plan | None = None
        self.consts: list[np.ndarray] = []
        self.slots: list[tuple[str, int]] = []
        self.entry_lines: dict[str, str] = {}  # the declarations of the buffers in B, by name
        self.segments: list[Segment] = []
        self.branches: list[Segment] = []  # the bodies of the functions `pyaccad_branchN` (see emit_cond)
        self.at_top = False  # emitting a kernel of the program's own plan (not of a control body)

    def buffer_slot(self, var: Var, kind: str, number: int) -> str:
        name = self.ctx.fresh("in" if kind != "buffer" else "o")
        # restrict: outputs and intermediates never alias anything (inputs may alias only each other, read-only)
        self.entry_lines[name] = f"    {CTYPE[var.dtype]} *restrict {name} = B[{len(self.slots)}];"
        self.slots.append((kind, number))
        self.ctx.buffers[var] = name
        return name

    def scratch(self, var: Var) -> str:
        name = self.ctx.fresh("b")
        self.workspace.add(var)
        self.scratch_names.append(name)
        self.ctx.buffers[var] = name
        return name

    def emit_plan(self, ctx: Ctx, plan: Plan, out_names: list[str] | None) -> None:
        before, ctx.in_loop = ctx.in_loop, plan.in_loop
        try:
            self.emit_kernels(ctx, plan, out_names)
        finally:
            ctx.in_loop = before

    def emit_kernels(self, ctx: Ctx, plan: Plan, out_names: list[str] | None) -> None:
        if plan is not self.plan:  # a body another statement may have emitted before (opt.kernels.forget_made)
            forget_made(plan, ctx.buffers)
        ctx.delayed.update(plan.delayed)
        for stmt in plan.consts:
            self.buffer_slot(stmt.outs[0], "const", len(self.consts))
            self.consts.append(stmt.params["value"])
        written, copies = body_outputs(plan, out_names, ctx.buffers) if out_names is not None else ([], [])
        ctx.buffers.update(written)
        top = plan is self.plan
        n = 0
        while n < len(plan.kernels):
            if ctx.region:  # the order of failures in a loop's region (native/region.py)
                ctx.kernel_order += 1
            with self.segment(top):
                n = self.emit_at(ctx, plan, n, top)
                _check_err(ctx)
        if not copies:
            return
        with region.one_thread(ctx):
            for dest, a in copies:
                if isinstance(a, Lit):
                    ctx.emit(f"{dest}[0] = {c_literal(a.value, a.dtype)};")
                else:
                    ctx.emit(f"memcpy({dest}, {ctx.buffers[a]}, sizeof(*{dest}) * {ctx.size(a)});")

    def emit_at(self, ctx: Ctx, plan: Plan, n: int, top: bool) -> int:
        """The kernel (or row group) at ``n`` of ``plan``; the index of the next."""
        groups = plan.row_groups
        if n in groups:  # kernels sharing one loop over rows
            if top:
                self.workspace.during = (n, groups[n].end - 1)
            self.emit_group(ctx, plan, groups[n])
            return groups[n].end
        kernels = plan.kernels
        kernel, after = kernels[n], kernels[n + 1] if n + 1 < len(kernels) else None
        # a map right after a matmul, reading the product element for element, runs inside the GEMM loop
        fits = kernel.kind == "matmul" and after is not None and blas.epilogue_fits(kernel, after)
        epilogue = after if fits else None
        if top:
            self.workspace.during = (n, n + 1 if fits else n)
        for var in [*kernel.outs, *(epilogue.outs if epilogue else [])]:
            if var not in ctx.buffers:
                self.scratch(var)
        self.at_top = top
        self.emit_kernel(kernel, epilogue)
        return n + 2 if fits else n + 1

    @contextmanager
    def segment(self, top: bool) -> Iterator[None]:
        """With ``top``, a kernel of the program's own plan: its lines and its loops' functions make a
        :data:`Segment`, after which the source may be cut into translation units (:func:`_units`)."""
        if not top:
            yield
            return
        with self.outliner.apart(self.ctx) as segment:
            yield
        self.segments.append(segment)

    def workspace_lines(self, plan: Plan) -> tuple[dict[str, str], int]:
        """The entry's declarations of the workspace ``W`` and of the intermediates, each at its planned offset,
        by name, and the workspace bytes."""
        if not self.workspace.values:
            return {}, 0
        offsets, total = self.workspace.offsets(plan)
        lines = {"W": f"    char *restrict W = B[{len(self.slots)}];"}
        self.slots.append(("workspace", 0))
        for name, v, offset in zip(self.scratch_names, self.workspace.values, offsets, strict=True):
            ctype = CTYPE[v.dtype]
            lines[name] = f"    {ctype} *{name} = ({ctype} *)(W + {self.ctx.ext(offset)});"
        return lines, total

    def emit_kernel(self, kernel: Kernel, epilogue: Kernel | None = None) -> None:
        out = kernel.outs[0]  # no extents in the source: they are run-time arguments
        title = f"{kernel.kind}: {' + '.join(s.prim.name for s in kernel.roots)} -> {out.dtype} rank {out.type.ndim}"
        if epilogue is not None:
            title += f" + map {' + '.join(s.prim.name for s in epilogue.roots)}"
        self.ctx.emit(f"/* {title} */")
        self.timed(title, lambda: self.emit_skeleton(kernel, epilogue))

    def emit_group(self, ctx: Ctx, plan: Plan, group: RowGroup) -> None:
        """A row group: its materialised values become buffers (a thread's row buffer where they are short)."""
        for var in group.materialised:
            del ctx.delayed[var]
        for var in group.row_local:  # declared by the group's loop
            ctx.buffers[var] = ctx.fresh("t")
        for var in [v for k in group.kernels for v in k.outs if v not in ctx.buffers]:
            self.scratch(var)
        if group.elements:
            title = f"element loop of {len(group.kernels)} kernels"
            self.timed(title, lambda: rows.emit_elements(ctx, group.kernels))
        else:
            title = f"row loop of {len(group.kernels)} kernels"
            self.timed(title, lambda: rows.emit_group(ctx, group.kernels, group.row_local))
        for var in group.row_local:  # later kernels compute it again: it is delayed there
            ctx.delayed[var] = plan.delayed[var]
            del ctx.buffers[var]

    def timed(self, title: str, emit: Callable[[], None]) -> None:
        """``emit()``; with ``$PYACCAD_NATIVE_PROFILE`` (a different library), also print its time to stderr."""
        if not os.environ.get("PYACCAD_NATIVE_PROFILE"):
            emit()
            return
        with self.ctx.block():
            self.ctx.emit("const double t0 = omp_get_wtime();")
            emit()
            once = "if (omp_get_thread_num() == 0) " if self.ctx.region else ""  # each thread of a loop's region
            self.ctx.emit(f'{once}fprintf(stderr, "%9.3f ms  {title}\\n", 1e3 * (omp_get_wtime() - t0));')

    def emit_cond(self, kernel: Kernel) -> None:
        """An ``acond``: its branches inline, or, at the top of the program and longer than :data:`UNIT_LINES`
        together (:func:`_size`), each as a function of its own (``pyaccad_branchN(B, E)``, in a translation unit
        of its own).

        A top-level branch reads and writes only the entry's buffers, which every unit declares, so it can be
        compiled apart. The LSTM gradient's ``acond`` between its tape and its bisection fallback was one
        function of 4400 lines, half of the program's gcc time, compiled on one core.
        """
        ctx = self.ctx
        (stmt,) = kernel.roots
        outs = [ctx.buffers[v] for v in stmt.outs]
        top = self.at_top
        segments: list[Segment] = []
        for name in ("then_", "else_"):
            with self.outliner.apart(ctx) as segment:
                ctx.indent += 2
                with ctx.block():
                    self.emit_plan(ctx, kernel.bodies[name], outs)
            segments.append(segment)
        branches = [segment.lines for segment in segments]
        with ctx.block():
            if top and sum(_size(segment) for segment in segments) > UNIT_LINES:
                calls = []
                for segment in segments:
                    calls.append([f"if ((err = pyaccad_branch{len(self.branches)}(B, E))) goto done;"])
                    self.branches.append(segment)
                branches = [["    " * (ctx.indent + 1) + line for line in call] for call in calls]
            else:
                self.outliner.put_back(segments)
            ctx.emit(f"if ({atom(ctx, stmt.args[0])}) {{")
            ctx.lines += branches[0]
            ctx.emit("} else {")
            ctx.lines += branches[1]
            ctx.emit("}")

    def emit_skeleton(self, kernel: Kernel, epilogue: Kernel | None) -> None:
        SKELETONS[PRIMITIVES[kernel.kind]](self, kernel, epilogue)

    def run(self) -> tuple[str, Layout]:
        ctx = self.ctx
        plan = self.plan = group_rows(plan_program(self.program), rows.LIMITS)
        program = plan.program  # its custom rules spliced in (the same inputs)
        for n, var in enumerate(program.inputs):
            self.buffer_slot(var, "input", n)
        # Outputs: each produced value gets an output buffer once; anything else is copied by the runtime.
        outputs = output_sources(plan)
        for n, (kind, _) in enumerate(outputs):
            if kind == "buffer":
                self.buffer_slot(program.outputs[n], "buffer", n)
        self.emit_plan(ctx, plan, None)  # into self.segments
        # Intermediates live in one workspace the runtime owns and reuses (runtime.Executable.workspace): a
        # malloc per call of multi-megabyte buffers page-faults on every call once glibc trims its heap
        # (measured: the gmm gradient, 10 000 faults and 31 ms per call against 7.8 ms without them).
        # Those whose lifetimes are disjoint share bytes (opt.memory); the offsets are run-time integers, so
        # the source stays the same at every extent. Not `restrict`: two of them may be the same memory,
        # at different times.
        allocs: dict[str, str] = {}
        record_rank = max(ctx.record_rank, self.outliner.record_rank)
        if record_rank:  # the error record: error id, position and index of the first failed bounds check
            allocs["R"] = f"    int64_t *restrict R = B[{len(self.slots)}];"
            self.slots.append(("record", 0))
        workspace_lines, workspace = self.workspace_lines(plan)
        allocs |= workspace_lines
        uses_blas = "blas" in ctx.helpers
        headers = [PRELUDE, *([blas_library().prelude] if uses_blas else [])]
        setup = ["    if (nthreads > 0) omp_set_num_threads(nthreads);"]
        setup += [f"    {blas_library().setup}"] if uses_blas else []
        declarations = [*self.entry_lines.values(), *ctx.prologue, *allocs.values()]
        parts = [_joined([self.segments[k] for k in unit]) for unit in _units([_size(s) for s in self.segments])]
        headers += [f"int pyaccad_branch{n}(void **B, const int64_t *E);" for n in range(len(self.branches))]

        def functions(segment: Segment) -> list[str]:  # its loops' functions, before it in its unit
            return [line for function in segment.functions for line in self.loop_function(function, allocs)]

        def body(segment: Segment) -> list[str]:  # its lines, after the declarations of the locals they read
            return [*outline.extent_locals(segment.extents), *segment.lines]

        if len(parts) == 1 and not self.branches:
            part = parts[0]
            lines = [*headers, *functions(part), "int pyaccad_entry(void **B, const int64_t *E, int nthreads) {"]
            lines += ["    int err = 0;", *setup, *declarations, *body(part)]
            lines += ["done:", "    return err;", "}"]
        else:  # each part a function in a unit of its own (compiled in parallel), the entry calling them in turn
            lines = []
            for n, branch in enumerate(self.branches):
                lines += [*headers, *functions(branch), f"int pyaccad_branch{n}(void **B, const int64_t *E) {{"]
                lines += ["    int err = 0;", *declarations, *body(branch)]
                lines += ["done:", "    return err;", "}", UNIT_BREAK]
            for n, part in enumerate(parts):
                lines += [*headers, *functions(part), f"int pyaccad_part{n}(void **B, const int64_t *E) {{"]
                lines += ["    int err = 0;", *declarations, *body(part)]
                lines += ["done:", "    return err;", "}", UNIT_BREAK]
            lines += [*headers, *(f"int pyaccad_part{n}(void **B, const int64_t *E);" for n in range(len(parts)))]
            lines += ["int pyaccad_entry(void **B, const int64_t *E, int nthreads) {", "    int err = 0;", *setup]
            lines += [f"    if ((err = pyaccad_part{n}(B, E))) return err;" for n in range(len(parts))]
            lines += ["    return 0;", "}"]
        layout = Layout(
            len(program.inputs),
            self.consts,
            [(v.type.dtype, v.type.shape) for v in program.outputs],
            outputs,
            self.slots,
            ctx.ints,
            ctx.errors,
            uses_blas,
            [(v.dtype.itemsize, v.type.size) for v in self.workspace.values],
            workspace,
            2 + record_rank if record_rank else 0,
        )
        return "\n".join(lines) + "\n", layout

    def loop_function(self, function: outline.Function, allocs: dict[str, str]) -> list[str]:
        """A loop's function, declaring what it reads of the entry's buffers (``allocs``: ``R``, ``W`` and the
        intermediates) as the entry does."""
        reads = function.reads | ({"W"} if function.reads.intersection(self.scratch_names) else set())
        entry = [line for name, line in self.entry_lines.items() if name in reads]
        return function.source([*entry, *function.prologue, *(line for name, line in allocs.items() if name in reads)])


def _check_err(ctx: Ctx) -> None:
    """After a kernel: leave the entry on an error; inside a loop's parallel region, which no jump may leave,
    the loop's test does (:mod:`.region`)."""
    if not ctx.region:
        ctx.emit("if (err) goto done;")


UNIT_LINES = 400
"""Lines of kernel code per translation unit, about: gcc compiles the generator's C at some 0.7 ms a line
(-O3, AVX-512), and a unit of its own costs some 60 ms more (the prelude, a process), so a program is cut
into units of this size, each compiled in its own process (:func:`.build.build`)."""


def _units(sizes: list[int]) -> list[range]:
    """The top-level kernels (:data:`Segment`, of ``sizes`` lines each: :func:`_size`) of each translation unit:
    about equal runs of lines.

    >>> _units([1, 1])
    [range(0, 2)]
    >>> _units([900])  # one kernel: never cut
    [range(0, 1)]
    >>> _units([300, 300, 300])
    [range(0, 2), range(2, 3)]
    """
    total = sum(sizes)
    count = max(1, min(len(sizes), round(total / UNIT_LINES)))
    starts = [0]
    done = 0
    for k, size in enumerate(sizes):
        if len(starts) < count and k > starts[-1] and done >= total * len(starts) / count:
            starts.append(k)
        done += size
    return [range(start, end) for start, end in zip(starts, [*starts[1:], len(sizes)], strict=True)]


def _size(segment: Segment) -> int:
    """Its lines of C, its loops' functions' counted."""
    return len(segment.lines) + sum(len(function.lines) for function in segment.functions)


def _joined(segments: list[Segment]) -> Segment:
    """One run of kernels: their lines, their functions and their locals."""
    return Segment(
        [line for s in segments for line in s.lines],
        [f for s in segments for f in s.functions],
        {n for s in segments for n in s.extents},
    )


def generate(program: Program) -> tuple[str, Layout]:
    """The C source of ``program`` and the layout of its entry point's arguments."""
    return _Generator(program).run()
