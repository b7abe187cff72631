"""A whole program as one C source file with one entry point.

The entry function receives every buffer (inputs, ``acc.use`` constants,
outputs, and a workspace for the intermediate arrays) in ``B`` and every
shape-derived integer in ``E``; it carves the intermediates out of the
workspace, runs the kernels of the plan in order (host-side ``while``/``cond``
between them) and returns 0 or the id of a run-time error (an out-of-bounds
index)::

    int pyaccad_entry(void **B, const int64_t *E, int nthreads) {
        int err = 0;
        const float *x = B[0];  float *out0 = B[1];  char *W = B[2];
        float *b2 = (float *)(W + 0);  /* then b3 at the next 64-byte boundary, ... */
        { /* kernel 1 */ }  if (err) goto done;
        { /* kernel 2 */ }  if (err) goto done;
    done:
        return err;
    }

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
from collections.abc import Callable

import numpy as np

from pyaccad.backends.native import blas, control, fold, map, permute, rows, scan, stencil
from pyaccad.backends.native.blas_library import blas_library
from pyaccad.backends.native.cgen import CTYPE, Ctx, c_literal
from pyaccad.backends.native.prelude import PRELUDE
from pyaccad.backends.native.runtime import Layout
from pyaccad.ir import Lit, Program, Var
from pyaccad.opt.fusion import plan_program
from pyaccad.opt.kernels import Kernel, Plan

_SKELETONS = {
    "map": map.map_kernel,
    "fold": fold.fold_kernel,
    "scan": scan.scan_kernel,
    "permute": permute.permute_kernel,
    "stencil": stencil.stencil_kernel,
    "matmul": blas.matmul_kernel,
}
_CONTROL = {"while": control.while_kernel, "cond": control.cond_kernel}


class _Generator:
    def __init__(self, program: Program) -> None:
        self.ctx = Ctx()
        self.program = program
        self.allocs: list[tuple[str, Var]] = []
        self.consts: list[np.ndarray] = []
        self.slots: list[tuple[str, int]] = []
        self.entry_lines: list[str] = []

    def buffer_slot(self, var: Var, kind: str, number: int) -> str:
        name = self.ctx.fresh("in" if kind != "buffer" else "o")
        # restrict: outputs and intermediates never alias anything (inputs may alias only each other, read-only)
        self.entry_lines.append(f"    {CTYPE[var.dtype]} *restrict {name} = B[{len(self.slots)}];")
        self.slots.append((kind, number))
        self.ctx.buffers[var] = name
        return name

    def scratch(self, var: Var) -> str:
        name = self.ctx.fresh("b")
        self.allocs.append((name, var))
        self.ctx.buffers[var] = name
        return name

    def emit_plan(self, ctx: Ctx, plan: Plan, out_names: list[str] | None) -> None:
        ctx.delayed.update(plan.delayed)
        for stmt in plan.consts:
            self.buffer_slot(stmt.outs[0], "const", len(self.consts))
            self.consts.append(stmt.params["value"])
        produced = {v for k in plan.kernels for v in k.outs}
        copies = []
        for n, a in enumerate(plan.program.outputs):
            if out_names is None:
                continue
            if isinstance(a, Var) and a in produced and a not in ctx.buffers:
                ctx.buffers[a] = out_names[n]
            else:
                copies.append((out_names[n], a))
        kernels = plan.kernels
        groups = rows.row_groups(plan)
        n = 0
        while n < len(kernels):
            if n in groups:  # kernels sharing one loop over rows
                group, n = groups[n], groups[n].end
                for var in group.materialised:
                    del ctx.delayed[var]
                for var in [v for k in group.kernels for v in k.outs if v not in ctx.buffers]:
                    self.scratch(var)
                self.emit_group(group.kernels)
                ctx.emit("if (err) goto done;")
                continue
            kernel, after = kernels[n], kernels[n + 1] if n + 1 < len(kernels) else None
            # a map right after a matmul, reading the product element for element, runs inside the GEMM loop
            fits = kernel.kind == "matmul" and after is not None and blas.epilogue_fits(kernel, after)
            epilogue = after if fits else None
            n += 2 if fits else 1
            for var in [*kernel.outs, *(epilogue.outs if epilogue else [])]:
                if var not in ctx.buffers:
                    self.scratch(var)
            self.emit_kernel(kernel, epilogue)
            ctx.emit("if (err) goto done;")
        for dest, a in copies:
            if isinstance(a, Lit):
                ctx.emit(f"{dest}[0] = {c_literal(a.value, a.dtype)};")
            else:
                ctx.emit(f"memcpy({dest}, {ctx.buffers[a]}, sizeof(*{dest}) * {ctx.size(a)});")

    def emit_kernel(self, kernel: Kernel, epilogue: Kernel | None = None) -> None:
        out = kernel.outs[0]  # no extents in the source: they are run-time arguments
        title = f"{kernel.kind}: {' + '.join(s.prim.name for s in kernel.roots)} -> {out.dtype} rank {out.type.ndim}"
        if epilogue is not None:
            title += f" + map {' + '.join(s.prim.name for s in epilogue.roots)}"
        self.ctx.emit(f"/* {title} */")
        self.timed(title, lambda: self.emit_skeleton(kernel, epilogue))

    def emit_group(self, group: list[Kernel]) -> None:
        self.timed(f"row loop of {len(group)} kernels", lambda: rows.emit_group(self.ctx, group))

    def timed(self, title: str, emit: Callable[[], None]) -> None:
        """``emit()``; with ``$PYACCAD_NATIVE_PROFILE`` (a different library), also print its time to stderr."""
        if not os.environ.get("PYACCAD_NATIVE_PROFILE"):
            emit()
            return
        with self.ctx.block():
            self.ctx.emit("const double t0 = omp_get_wtime();")
            emit()
            self.ctx.emit(f'fprintf(stderr, "%9.3f ms  {title}\\n", 1e3 * (omp_get_wtime() - t0));')

    def emit_skeleton(self, kernel: Kernel, epilogue: Kernel | None) -> None:
        if kernel.kind in _CONTROL:
            with self.ctx.block():
                _CONTROL[kernel.kind](self.ctx, kernel, self.emit_plan, self.scratch)
        elif kernel.kind == "matmul":
            blas.matmul_kernel(self.ctx, kernel, epilogue)
        else:
            _SKELETONS[kernel.kind](self.ctx, kernel)

    def run(self) -> tuple[str, Layout]:
        ctx, program = self.ctx, self.program
        for n, var in enumerate(program.inputs):
            self.buffer_slot(var, "input", n)
        plan = plan_program(program)
        # Outputs: each produced value gets an output buffer once; anything else is copied by the runtime.
        produced = {v for k in plan.kernels for v in k.outs}
        outputs: list[tuple[str, object]] = []
        first: dict[Var, int] = {}
        with ctx.capture() as body:
            for n, a in enumerate(program.outputs):
                if isinstance(a, Lit):
                    outputs.append(("lit", a.value))
                elif a in first:
                    outputs.append(("output", first[a]))
                elif a in produced:
                    first[a] = n
                    outputs.append(("buffer", n))
                    self.buffer_slot(a, "buffer", n)
                elif a in program.inputs:
                    outputs.append(("input", program.inputs.index(a)))
                else:
                    outputs.append(("const", a))
            self.emit_plan(ctx, plan, None)
        for n, (kind, value) in enumerate(outputs):
            if kind == "const":
                outputs[n] = ("const", next(i for i, s in enumerate(plan.consts) if s.outs[0] is value))
        # Intermediates live in one workspace the runtime owns and reuses (runtime.Executable.workspace): a
        # malloc per call of multi-megabyte buffers page-faults on every call once glibc trims its heap
        # (measured: the gmm gradient, 10 000 faults and 31 ms per call against 7.8 ms without them).
        allocs = []
        if self.allocs:
            allocs.append(f"    char *restrict W = B[{len(self.slots)}];")
            allocs.append("    int64_t ws = 0;")
            self.slots.append(("workspace", 0))
        for name, v in self.allocs:
            ctype = CTYPE[v.dtype]
            allocs.append(f"    {ctype} *restrict {name} = ({ctype} *)(W + ws);")
            allocs.append(f"    ws += PA_WORKSPACE_BYTES(sizeof({ctype}) * ({ctx.size(v)} + 1));")
        uses_blas = "blas" in ctx.helpers
        lines = [PRELUDE]
        if uses_blas:
            lines.append(blas_library().prelude)
        lines.append("int pyaccad_entry(void **B, const int64_t *E, int nthreads) {")
        lines.append("    int err = 0;")
        lines.append("    if (nthreads > 0) omp_set_num_threads(nthreads);")
        if uses_blas:
            lines.append(f"    {blas_library().setup}")
        lines += self.entry_lines + ctx.prologue + allocs
        lines += body
        lines.append("done:")
        lines.append("    return err;")
        lines.append("}")
        layout = Layout(
            len(program.inputs),
            self.consts,
            [(v.type.dtype, v.type.shape) for v in program.outputs],
            outputs,
            self.slots,
            ctx.ints,
            ctx.errors,
            uses_blas,
            [(v.dtype.itemsize, v.type.size) for _, v in self.allocs],
        )
        return "\n".join(lines) + "\n", layout


def generate(program: Program) -> tuple[str, Layout]:
    """The C source of ``program`` and the layout of its entry point's arguments."""
    return _Generator(program).run()
