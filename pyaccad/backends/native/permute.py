"""The permute skeleton: scatter with a combining function, after a copy of the defaults.

``out = defaults``, then every source index ``i`` whose index function keeps
it combines into its target: ``out[j] = combine(x[i], out[j])``. ``+ * and or``
combines run in parallel with atomic updates; any other combine runs in
one serial loop (always correct, whatever the collisions)::

    for every i (in parallel when the combine is + or *):
        (keep, j) = index(i);
        if (keep) { check j in bounds;  #pragma omp atomic
                    out[j] += x[i]; }

>>> callable(permute_kernel)
True
"""

from __future__ import annotations

from pyaccad.backends.native.cgen import BOOL, INT64, Ctx, Index
from pyaccad.backends.native.element import call_lambda, elem
from pyaccad.backends.native.fold import monoid_of
from pyaccad.backends.native.map import index_loop
from pyaccad.opt.kernels import Kernel

_ATOMIC = {"add": "+=", "mul": "*=", "and": "&=", "or": "|="}


def permute_kernel(ctx: Ctx, kernel: Kernel) -> None:
    (stmt,) = kernel.roots
    defaults, x = stmt.args
    (out,) = stmt.outs
    buf, out_shape = ctx.buffers[out], ctx.shape(out)
    index_loop(ctx, out_shape, lambda idx: ctx.emit(f"{buf}[{idx.linear()}] = {elem(ctx, defaults, idx)};"))
    combine, index = stmt.params["combine"], stmt.params["index"]
    monoid = monoid_of(combine)
    error = ctx.error(f"permute: target index out of bounds for an array of shape {out.shape}\n  at {stmt.source}")

    def body(idx: Index) -> None:
        keep, *target = call_lambda(ctx, index, idx.multi)
        ok = " && ".join(f"(uint64_t){j} < (uint64_t){n}" for j, n in zip(target, out_shape, strict=True)) or "1"
        with ctx.block(f"if ({keep})"):
            flag = ctx.declare(BOOL, ok, "ok")
            ctx.emit(f"if (!{flag}) PA_FAIL({error});")
            with ctx.block("else"):
                position = ctx.declare(INT64, Index(target, out_shape).linear(), "pos")
                value = elem(ctx, x, idx)
                if monoid in _ATOMIC:
                    ctx.emit("#pragma omp atomic update")
                    ctx.emit(f"{buf}[{position}] {_ATOMIC[monoid]} {value};")
                else:
                    (new,) = call_lambda(ctx, combine, [value, f"{buf}[{position}]"])
                    ctx.emit(f"{buf}[{position}] = {new};")

    index_loop(ctx, ctx.shape(x), body, parallel=monoid in _ATOMIC, simd=False)
