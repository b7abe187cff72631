"""Array-level control: ``awhile`` as host-side C between kernels, in the entry function (``acond``:
:meth:`.program._Generator.emit_cond`).

The bodies are plans of their own (:mod:`pyaccad.opt.kernels`), emitted
inline. The loop state lives in two buffers per component that swap after
each iteration, so a body never overwrites what it is still reading::

    memcpy(cur, init);
    for (;;) {
        <cond plan: cur -> flag>        if (!flag[0]) break;
        <body plan: cur -> nxt>         swap(cur, nxt);
    }
    memcpy(out, cur);

>>> callable(while_kernel)
True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field

from pyaccad.backends.clike.cgen import BOOL, CTYPE, Ctx
from pyaccad.backends.native.map import PARALLEL_MIN
from pyaccad.backends.native.region import serial_copies
from pyaccad.ir import ArrayType, Var
from pyaccad.ir.monoids import monoid_of
from pyaccad.opt.kernels import Kernel, Plan, in_place_components

EmitPlan = Callable[[Ctx, Plan, list[str]], None]


@dataclass
class Loop:
    """What :func:`while_kernel` tells of the loop it emits, while it does (for :mod:`.outline`)."""

    state: dict[str, str] = field(default_factory=dict)
    """Its state pointers (``cur``/``nxt``): name -> C element type."""


def while_kernel(ctx: Ctx, kernel: Kernel, emit_plan: EmitPlan, scratch: Callable[[Var], str], loop: Loop) -> None:
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
        loop.state[cur] = loop.state[nxt] = CTYPE[out.dtype]
    flag = scratch(Var(ArrayType(BOOL, ()), "going"))
    if not one_region([cond, body]):
        _trips(ctx, kernel, emit_plan, current, following, flag, written)
    else:  # one parallel region for the whole loop (native/region.py)
        stops = (ctx.fresh("stop"), ctx.fresh("stop"))
        ctx.emit(f"int {stops[0]} = 0, {stops[1]} = 0;")
        ctx.emit("#pragma omp parallel")
        with ctx.block():
            ctx.region, ctx.kernel_order = True, 0
            try:
                _trips(ctx, kernel, emit_plan, current, following, flag, written, stops)
            finally:
                ctx.region, ctx.kernel_order = False, 0
    for j, (cur, out) in enumerate(zip(current, stmt.outs, strict=True)):
        if j not in written:
            ctx.emit(f"memcpy({ctx.buffers[out]}, {cur}, sizeof(*{cur}) * {ctx.size(out)});")


def _trips(
    ctx: Ctx,
    kernel: Kernel,
    emit_plan: EmitPlan,
    current: list[str],
    following: list[str],
    flag: str,
    written: set[int],
    stops: tuple[str, str] | None = None,
) -> None:
    """The loop over trips: the condition's plan, the test, the body's plan, the swaps of the state's buffers.

    With ``stops`` (two shared ints), inside one parallel region: one thread tests (``err`` too, after the
    condition and after the body: no ``goto`` leaves a region) and swaps, and every thread reads the same
    flag after the ``single``'s barrier. Each test has a flag of its own: a thread may still be reading the
    body's when another, past that barrier, writes the condition's (the next trip's first ``single``), but
    between one test's write and its next there is always the other's barrier, so no thread reads a flag
    while it is written. A kernel after a failed one still runs in that trip, and its failures are ordered
    after it (:data:`pyaccad.backends.clike.cgen.ORDER_SHIFT`); the trip after it does not run.
    """
    (stmt,) = kernel.roots
    cond, body = kernel.bodies["cond"], kernel.bodies["body"]
    with ctx.block("for (;;)"):
        for var, cur in zip(cond.program.inputs, current, strict=True):
            ctx.buffers[var] = cur
        with ctx.block():
            emit_plan(ctx, cond, [flag])
        if stops:
            once(ctx, [f"{stops[0]} = err || !{flag}[0];"])
            ctx.emit(f"if ({stops[0]}) break;")
        else:
            ctx.emit(f"if (!{flag}[0]) break;")
        for var, cur in zip(body.program.inputs, current, strict=True):
            ctx.buffers[var] = cur
        # outside a region, each small kernel of a trip would enter a region of its own: it gets a serial copy
        with nullcontext() if stops else serial_copies(ctx), ctx.block():
            emit_plan(ctx, body, following)
        swaps = [
            f"{{ {CTYPE[out.dtype]} *swap = {cur}; {cur} = {nxt}; {nxt} = swap; }}"
            for j, (cur, nxt, out) in enumerate(zip(current, following, stmt.outs, strict=True))
            if j not in written
        ]
        if stops:
            once(ctx, [*swaps, f"{stops[1]} = err;"])
            ctx.emit(f"if ({stops[1]}) break;")
        else:
            for swap in swaps:
                ctx.emit(swap)


def once(ctx: Ctx, statements: list[str]) -> None:
    """Run ``statements`` on one thread of a loop's region: at the end of the ``single`` that the lines emitted
    last end with (but for closing braces: :attr:`.Ctx.single_end`), else in a ``single`` of their own. Each
    ``single`` ends with a barrier, which under load costs as much as a kernel's region (a descheduled thread):
    the test after a condition whose flag one thread writes, and the swaps after a body ending with a fold's
    combine or a rank-0 value, share theirs.

    >>> ctx = Ctx()
    >>> with ctx.block(), ctx.single():
    ...     ctx.emit("x[0] = 1;")
    >>> once(ctx, ["stop = !x[0];"])
    >>> once(ctx, ["go = 1;"])
    >>> ctx.emit("if (stop) break;")
    >>> once(ctx, ["swap(a, b);"])
    >>> for line in ctx.lines:
    ...     print(line)
        {
            #pragma omp single
            {
                x[0] = 1;
                stop = !x[0];
                go = 1;
            }
        }
        if (stop) break;
        #pragma omp single
        {
            swap(a, b);
        }
    """
    if ctx.single_end is None:
        with ctx.single():
            for statement in statements:
                ctx.emit(statement)
        return
    end, depth = ctx.single_end
    ctx.lines[end:end] = ["    " * depth + statement for statement in statements]
    ctx.single_end = (end + len(statements), depth)


MIN_PARALLEL = 2
"""Large kernels (above :data:`.map.PARALLEL_MIN` elements) per trip from which a loop runs in one region."""

WORKSHARED = frozenset({"map", "fold", "stencil", "matmul"})
"""Kernels whose skeletons emit worksharing loops inside a region."""

SERIAL = frozenset({"permute", "scan"})
"""Kernels whose work (a scan's, a scatter's; a scatter's copy of its defaults is worksharing) runs under
``omp single`` inside a region: only where it is small or serial anyway (:func:`one_region`)."""


def one_region(plans: list[Plan]) -> bool:
    """Whether a loop with these condition and body plans runs in one region: only kernels that can, and at
    least :data:`MIN_PARALLEL` large ones (a row group counts once)."""
    large = 0
    for plan in plans:
        grouped = {n for first, group in plan.row_groups.items() for n in range(first + 1, group.end)}
        for n, kernel in enumerate(plan.kernels):
            big = _work(kernel) > PARALLEL_MIN
            if kernel.kind in WORKSHARED:
                large += n not in grouped and big
            elif kernel.kind == "scan" and big or kernel.kind == "permute" and big and _chunked(kernel):
                return False
            elif kernel.kind not in SERIAL:
                return False
    return large >= MIN_PARALLEL


def _work(kernel: Kernel) -> int:
    """The elements of the largest array the kernel reads or writes (its loop's size, about)."""
    arrays = [*kernel.outs, *(a for s in kernel.roots for a in s.args if isinstance(a, Var))]
    return max((math.prod(a.type.shape) for a in arrays), default=0)


def _chunked(scatter: Kernel) -> bool:
    """Whether a scatter runs in parallel chunks when large (a monoid combines it); another runs on one thread
    everywhere (:mod:`.permute`), so under ``single`` it loses nothing."""
    return monoid_of(scatter.roots[0].params["combine"]) is not None
