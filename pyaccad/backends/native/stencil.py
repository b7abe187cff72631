"""The stencil skeleton: each output element from its neighbourhood, with a boundary rule.

For every index ``i`` and each offset ``d`` of the neighbourhood (row-major,
``-size//2 .. size//2`` per axis) the source coordinate ``i + d`` is brought
back into range by the boundary rule, and the lambda gets the neighbours::

    for every i (in parallel):
        c0 = clamp(i0 - 1, n0), c1 = i0, c2 = clamp(i0 + 1, n0);    /* per axis, per offset */
        out[i] = f(x[c0], x[c1], x[c2]);

Rules (the interpreter's): ``clamp`` repeats the edge, ``mirror`` reflects
about the edge element without repeating it (``-1 → 1``, ``n → n - 2``,
period ``2n - 2``, so wider stencils reflect again; a 1-long axis reads 0),
``wrap`` is periodic, ``constant`` reads the given value outside.

>>> sorted(BOUNDARY_RULES)
['clamp', 'mirror', 'wrap']
"""

from __future__ import annotations

import itertools

from pyaccad.backends.native.cgen import INT64, Ctx, Index, c_literal
from pyaccad.backends.native.element import call_lambda, elem
from pyaccad.backends.native.map import index_loop
from pyaccad.opt.kernels import Kernel

BOUNDARY_RULES = {
    "clamp": "({c} < 0 ? 0 : ({c} >= {n} ? {n} - 1 : {c}))",
    "mirror": "({n} == 1 ? 0 : PA_MIRROR(({c}) % (2 * {n} - 2) + (2 * {n} - 2), {n}))",
    "wrap": "((({c}) % {n} + {n}) % {n})",
}


def stencil_kernel(ctx: Ctx, kernel: Kernel) -> None:
    (stmt,) = kernel.roots
    (x,) = stmt.args
    size, boundary = stmt.params["size"], stmt.params["boundary"]
    shape = ctx.shape(x)
    lam = stmt.params["lam"]

    def body(idx: Index) -> None:
        coords: list[dict[int, str]] = []
        inside: list[dict[int, str]] = []
        for i, n, s in zip(idx.multi, shape, size, strict=True):
            coords.append({})
            inside.append({})
            for d in range(-(s // 2), s // 2 + 1):
                raw = ctx.declare(INT64, f"({i} + {d})", "c")
                inside[-1][d] = f"((uint64_t){raw} < (uint64_t){n})"
                if boundary == "constant":
                    coords[-1][d] = ctx.declare(INT64, f"({inside[-1][d]} ? {raw} : 0)", "c")
                else:
                    rule = BOUNDARY_RULES[boundary].format(c=raw, n=n)
                    coords[-1][d] = ctx.declare(INT64, rule, "c")
        neighbours = []
        for offsets in itertools.product(*(range(-(s // 2), s // 2 + 1) for s in size)):
            value = elem(ctx, x, Index([coords[a][d] for a, d in enumerate(offsets)], shape))
            if boundary == "constant":
                ok = " && ".join(inside[a][d] for a, d in enumerate(offsets)) or "1"
                value = f"(({ok}) ? {value} : {c_literal(stmt.params['value'], x.dtype)})"
            neighbours.append(ctx.declare(x.dtype, value, "nb"))
        for var, result in zip(stmt.outs, call_lambda(ctx, lam, neighbours), strict=True):
            ctx.emit(f"{ctx.buffers[var]}[{idx.linear()}] = {result};")

    index_loop(ctx, shape, body)
