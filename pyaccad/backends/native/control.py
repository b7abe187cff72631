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

from collections import Counter
from collections.abc import Callable

from pyaccad.backends.clike.cgen import BOOL, CTYPE, Ctx
from pyaccad.backends.clike.element import atom
from pyaccad.ir import ArrayType, Program, Var
from pyaccad.opt.kernels import Kernel, Plan

EmitPlan = Callable[[Ctx, Plan, list[str]], None]


def while_kernel(ctx: Ctx, kernel: Kernel, emit_plan: EmitPlan, scratch: Callable[[Var], str]) -> None:
    (stmt,) = kernel.roots
    cond, body = kernel.bodies["cond"], kernel.bodies["body"]
    written = in_place_components(cond.program, body.program)
    current, following = [], []
    for j, (init, out) in enumerate(zip(stmt.args, stmt.outs, strict=True)):
        cur, nxt = ctx.fresh("cur"), ctx.fresh("nxt")
        if j in written:  # the loop runs in the result's buffer, one slot written per trip
            nxt = cur  # one name: the permute sees that its defaults are its result (native/permute.py)
            ctx.emit(f"{CTYPE[out.dtype]} *{cur} = {ctx.buffers[out]};")
            ctx.emit(f"if ({cur} != {ctx.buffers[init]})")
        else:
            a, b = scratch(Var(out.type, "state")), scratch(Var(out.type, "state"))
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
        for j, (cur, nxt, out) in enumerate(zip(current, following, stmt.outs, strict=True)):
            if j not in written:
                ctx.emit(f"{{ {CTYPE[out.dtype]} *swap = {cur}; {cur} = {nxt}; {nxt} = swap; }}")
    for j, (cur, out) in enumerate(zip(current, stmt.outs, strict=True)):
        if j not in written:
            ctx.emit(f"memcpy({ctx.buffers[out]}, {cur}, sizeof(*{cur}) * {ctx.size(out)});")


def in_place_components(cond: Program, body: Program) -> set[int]:
    """The state components a trip can update in place: the body's result is a ``permute`` onto the component
    (which copies its defaults only when they are another buffer), and nothing else reads the component.

    Such a component (a tape of states, :mod:`pyaccad.ad.transpose_rules.loop`) lives in the loop's result
    buffer: a trip writes its slots, where double buffers would copy the whole array every trip.
    """
    uses = Counter(a for s in body.stmts for a in s.args if isinstance(a, Var))
    uses.update(v for s in body.stmts for sub in s.subprograms() for v in sub.free_vars)
    uses.update(a for a in body.outputs if isinstance(a, Var))
    read_by_cond = {a for s in cond.stmts for a in s.args} | {
        v for s in cond.stmts for sub in s.subprograms() for v in sub.free_vars
    }
    producers = {s.outs[0]: s for s in body.stmts if s.prim.name == "permute"}
    found = set()
    for j, (var, result) in enumerate(zip(body.inputs, body.outputs, strict=True)):
        scatter = producers.get(result) if isinstance(result, Var) else None
        if scatter is not None and scatter.args[0] is var and uses[var] == 1 and cond.inputs[j] not in read_by_cond:
            found.add(j)
    return found


def cond_kernel(ctx: Ctx, kernel: Kernel, emit_plan: EmitPlan, scratch: Callable[[Var], str]) -> None:
    (stmt,) = kernel.roots
    outs = [ctx.buffers[v] for v in stmt.outs]
    with ctx.block(f"if ({atom(ctx, stmt.args[0])})"):
        emit_plan(ctx, kernel.bodies["then_"], outs)
    with ctx.block("else"):
        emit_plan(ctx, kernel.bodies["else_"], outs)
