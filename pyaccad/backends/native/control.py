"""Array-level control: ``awhile`` and ``acond`` as host-side C between kernels, in the entry function.

The bodies are plans of their own (:mod:`pyaccad.opt.kernels`), emitted
inline. The loop state lives in two buffers per component that swap after
each iteration, so a body never overwrites what it is still reading::

    memcpy(cur, init);
    for (;;) {
        <cond plan: cur -> flag>        if (!flag[0]) break;
        <body plan: cur -> nxt>         swap(cur, nxt);
    }
    memcpy(out, cur);

    if (p) { <then plan -> out> } else { <else plan -> out> }

>>> callable(while_kernel) and callable(cond_kernel)
True
"""

from __future__ import annotations

from collections.abc import Callable

from pyaccad.backends.clike.cgen import BOOL, CTYPE, Ctx
from pyaccad.backends.clike.element import atom
from pyaccad.ir import ArrayType, Var
from pyaccad.opt.kernels import Kernel, Plan

EmitPlan = Callable[[Ctx, Plan, list[str]], None]


def while_kernel(ctx: Ctx, kernel: Kernel, emit_plan: EmitPlan, scratch: Callable[[Var], str]) -> None:
    (stmt,) = kernel.roots
    cond, body = kernel.bodies["cond"], kernel.bodies["body"]
    current, following = [], []
    for init, out in zip(stmt.args, stmt.outs, strict=True):
        a, b = scratch(Var(out.type, "state")), scratch(Var(out.type, "state"))
        cur, nxt = ctx.fresh("cur"), ctx.fresh("nxt")
        ctx.emit(f"{CTYPE[out.dtype]} *{cur} = {a}, *{nxt} = {b};")
        ctx.emit(f"memcpy({cur}, {ctx.buffers[init]}, sizeof(*{cur}) * {ctx.size(out)});")
        current.append(cur)
        following.append(nxt)
    flag = scratch(Var(ArrayType(BOOL, ()), "going"))
    with ctx.block("for (;;)"):
        for var, cur in zip(cond.program.inputs, current, strict=True):
            ctx.buffers[var] = cur
        with ctx.block():
            emit_plan(ctx, cond, [flag])
        ctx.emit(f"if (!{flag}[0]) break;")
        for var, cur in zip(body.program.inputs, current, strict=True):
            ctx.buffers[var] = cur
        with ctx.block():
            emit_plan(ctx, body, following)
        for cur, nxt, out in zip(current, following, stmt.outs, strict=True):
            ctx.emit(f"{{ {CTYPE[out.dtype]} *swap = {cur}; {cur} = {nxt}; {nxt} = swap; }}")
    for cur, out in zip(current, stmt.outs, strict=True):
        ctx.emit(f"memcpy({ctx.buffers[out]}, {cur}, sizeof(*{cur}) * {ctx.size(out)});")


def cond_kernel(ctx: Ctx, kernel: Kernel, emit_plan: EmitPlan, scratch: Callable[[Var], str]) -> None:
    (stmt,) = kernel.roots
    outs = [ctx.buffers[v] for v in stmt.outs]
    with ctx.block(f"if ({atom(ctx, stmt.args[0])})"):
        emit_plan(ctx, kernel.bodies["then_"], outs)
    with ctx.block("else"):
        emit_plan(ctx, kernel.bodies["else_"], outs)
