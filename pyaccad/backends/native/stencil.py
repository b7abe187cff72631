"""The stencil skeleton: each output element from its neighbourhood, with a boundary rule.

For every index ``i`` and each offset ``d`` of the neighbourhood (row-major,
``-r .. r`` per axis, ``r = size // 2``) the source coordinate ``i + d`` is
brought back into range by the boundary rule and the lambda gets the
neighbours. Rules (the interpreter's): ``clamp`` repeats the edge, ``mirror``
reflects about the edge element without repeating it (``-1 → 1``,
``n → n - 2``, period ``2n - 2``, so wider stencils reflect again; a 1-long
axis reads 0), ``wrap`` is periodic, ``constant`` reads the given value outside.

Most elements are *interior*: ``r <= i < n - r`` on every axis, so every
neighbour is in range and needs no rule. The loop nest is the map skeleton's
(rows of the outer axes and blocks of the last one, one parallel iteration
space); each block splits into its interior run, read with plain index
arithmetic from row offsets computed once per block (contiguous loads the
compiler vectorises) in chunks of one 64-byte vector, and the border
elements around it, which keep the rules. A row outside the interior of an
outer axis, and an axis shorter than the stencil, are all border::

    for every row (i_0, .., i_{R-2}) and block [j0, j1) of the last axis (in parallel):
        [lo, hi) = [j0, j1) ∩ [r, n - r)  if every r_a <= i_a < n_a - r_a,  else empty
        vhi = hi if hi - lo >= L else lo   /* L elements: a 64-byte vector of the narrowest dtype */
        for j in [j0, lo) ∪ [vhi, j1):     /* border: one loop, one copy of the lambda */
            c(a, d) = rule(i_a + d, n_a);  out[i, j] = f(x[c(0, d_0), .., c(R-1, d_{R-1})] ..)
        w_k = row offset of (i_0 + d_0, .., i_{R-2} + d_{R-2}), per outer offset k
        for each chunk [q, q + L) of [lo, vhi) (the last one ending at vhi), for j in it:  /* omp simd */
            out[i, j] = f(x[w_k + j + d] ..)

Each element gets the same neighbours and the same operations in either
region, each rounded once (``-ffp-contract=off``), so without libm calls
results are the interpreter's, bit for bit. With them they may differ in the
last bits, as they already may between a map loop's vector body and its
remainder: a vectorised loop calls libmvec's ``sin``, ``exp``, ... where a
scalar one calls libm's (see "Reproducible bits" in :mod:`pyaccad.backends.native`).

>>> sorted(BOUNDARY_RULES)
['clamp', 'mirror', 'wrap']
"""

from __future__ import annotations

import itertools

from pyaccad.backends.clike.cgen import Ctx, Index, c_literal
from pyaccad.backends.clike.element import call_lambda, elem
from pyaccad.backends.native.map import BLOCK, PARALLEL_MIN
from pyaccad.backends.native.region import Size, one_thread, parallel_for
from pyaccad.ir import INT64, Stmt
from pyaccad.opt.kernels import Kernel

BOUNDARY_RULES = {
    "clamp": "({c} < 0 ? 0 : ({c} >= {n} ? {n} - 1 : {c}))",
    "mirror": "({n} == 1 ? 0 : PA_MIRROR(({c}) % (2 * {n} - 2) + (2 * {n} - 2), {n}))",
    "wrap": "((({c}) % {n} + {n}) % {n})",
}


def _plus(i: str, d: int) -> str:
    """The C expression ``i + d`` (``i`` itself for ``d == 0``).

    >>> _plus("j", -2), _plus("j", 0), _plus("i3", 1)
    ('(j-2)', 'j', '(i3+1)')
    """
    return i if d == 0 else f"({i}{d:+d})"


def _clip(ctx: Ctx, value: str, lo: str, hi: str, name: str) -> str:
    """Declare ``name = min(max(value, lo), hi)`` (for ``lo <= hi``)."""
    ctx.emit(f"const int64_t {name} = PA_MIN_I({value} > {lo} ? {value} : {lo}, {hi});")
    return name


def stencil_kernel(ctx: Ctx, kernel: Kernel) -> None:
    """Emit the kernel of one ``stencil`` statement: border and interior runs per block (module docstring).

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.backends.native.program import generate
    >>> source, _ = generate(trace(lambda a: acc.stencil(lambda n: n[0] - n[2], a, 3, "wrap"), np.ones(9)).program)
    >>> interior = source[source.rindex("#pragma omp simd") :]  # the last loop
    >>> "% E[0]" in source, "%" in interior  # wrap's rule: in the border loop only
    (True, False)
    """
    (stmt,) = kernel.roots
    (x,) = stmt.args
    shape = ctx.shape(x)
    radius = [s // 2 for s in stmt.params["size"]]
    if not shape:  # rank 0: the one neighbour is the element itself
        with one_thread(ctx), ctx.block():
            _write(ctx, stmt, [elem(ctx, x, Index([], [], "0"))], "0")
        return
    outer = [ctx.fresh("i") for _ in shape[:-1]]
    with ctx.block():
        ctx.emit(f"const int64_t last = {shape[-1]}, nblk = (last + {BLOCK - 1}) / {BLOCK};")
        # more work per element than a map, but a parallel region costs the same: the map's threshold is safe
        size = Size(tuple(ctx.extent_slots(x)), PARALLEL_MIN)
        with parallel_for(ctx, f"collapse({len(shape)}) schedule(static)", size):
            for i, n in zip(outer, shape[:-1], strict=True):
                ctx.emit(f"for (int64_t {i} = 0; {i} < {n}; {i}++)")
            with ctx.block("for (int64_t b = 0; b < nblk; b++)"):
                _block(ctx, stmt, outer, shape, radius)


def _block(ctx: Ctx, stmt: Stmt, outer: list[str], shape: list[str], radius: list[int]) -> None:
    """One block ``[j0, j1)`` of the last axis, at ``outer`` of the others: its border, then its interior."""
    row = Index(outer, shape[:-1]).linear() if outer else "0"
    ctx.emit(f"const int64_t j0 = b * {BLOCK}, j1 = PA_MIN_I(j0 + {BLOCK}, last), base = {row} * last;")
    bounds = zip(outer, shape[:-1], radius[:-1], strict=True)
    inner = [f"{i} >= {r} && {i} < {n} - {r}" for i, n, r in bounds if r]
    last_r = radius[-1]
    lo = _clip(ctx, str(last_r), "j0", "j1", "ilo")
    hi = _clip(ctx, f"(last - {last_r})", lo, "j1", "ihi")
    if inner:  # a row outside an outer axis's interior has no interior run
        ctx.emit(f"const bool row_in = {' && '.join(inner)};")
        lo = ctx.declare(INT64, f"(row_in ? {lo} : j1)", "lo")
        hi = ctx.declare(INT64, f"(row_in ? {hi} : j1)", "hi")
    lanes = _lanes(stmt)
    # a run of at least one chunk is covered by whole chunks, the last one overlapping its neighbour (its
    # elements are computed twice, alike); a shorter run is left to the border loop
    ctx.emit(f"const int64_t run = {hi} - {lo}, nchunk = run >= {lanes} ? (run + {lanes - 1}) / {lanes} : 0;")
    ctx.emit(f"const int64_t vhi = nchunk ? {hi} : {lo};")
    _border(ctx, stmt, outer, shape, radius, lo, "vhi")
    _interior(ctx, stmt, outer, shape, radius, lo, lanes)


def _offsets(radius: list[int]) -> list[tuple[int, ...]]:
    """Every offset of the neighbourhood, row-major (the lambda's argument order)."""
    return list(itertools.product(*(range(-r, r + 1) for r in radius)))


def _write(ctx: Ctx, stmt: Stmt, neighbours: list[str], flat: str) -> None:
    for var, result in zip(stmt.outs, call_lambda(ctx, stmt.params["lam"], neighbours, "stencil", flat), strict=True):
        ctx.emit(f"{ctx.buffers[var]}[{flat}] = {result};")


def _lanes(stmt: Stmt) -> int:
    """The interior's chunk: the elements of the narrowest dtype read or written in a 64-byte (AVX-512) vector.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> _lanes(trace(lambda a: acc.stencil(lambda n: n[0], a, 3), np.ones(4, np.float32)).program.stmts[0])
    16
    """
    return 64 // min(v.dtype.itemsize for v in (*stmt.args, *stmt.outs))


def _interior(ctx: Ctx, stmt: Stmt, outer: list[str], shape: list[str], radius: list[int], lo: str, lanes: int) -> None:
    """The interior run ``[lo, vhi)`` of a block in ``nchunk`` chunks: neighbours at row offset + ``j + d``.

    A chunk is a loop of a constant ``lanes`` iterations, whole vectors, so gcc writes no vectorised
    remainder loop: for a loop of unknown length it did, and compiling a 7x7x7 stencil took 50 s (now 7 s).
    """
    (x,) = stmt.args
    rows = {ds: [_plus(i, d) for i, d in zip(outer, ds, strict=True)] for ds in _offsets(radius[:-1])}
    starts = {ds: ctx.declare(INT64, f"{Index(m, shape[:-1]).linear()} * last", "w") for ds, m in rows.items() if m}
    with ctx.block("for (int64_t q = 0; q < nchunk; q++)"):
        ctx.emit(f"const int64_t jq = PA_MIN_I({lo} + q * {lanes}, vhi - {lanes});")
        # `omp simd`: the outlined OpenMP body loses `restrict`, this restores vectorisation
        with ctx.simd_block(f"for (int64_t l = 0; l < {lanes}; l++)"):
            ctx.emit("const int64_t j = jq + l, f = base + j;")
            neighbours = []
            for offset in _offsets(radius):
                *ds, d = offset
                start = starts.get(tuple(ds))  # none for rank 1
                idx = Index([*rows[tuple(ds)], _plus("j", d)], shape, _plus(f"({start} + j)" if start else "j", d))
                neighbours.append(ctx.declare(x.dtype, elem(ctx, x, idx), "nb"))
            _write(ctx, stmt, neighbours, "f")


def _border(ctx: Ctx, stmt: Stmt, outer: list[str], shape: list[str], radius: list[int], lo: str, hi: str) -> None:
    """The border elements ``[j0, lo) ∪ [hi, j1)`` of a block, each neighbour's coordinates through the rule.

    One loop over both pieces (one copy of the lambda); the outer axes' coordinates are the same for the
    whole block, so they are computed once before it.
    """
    (x,) = stmt.args
    boundary = stmt.params["boundary"]
    coords: list[dict[int, str]] = []
    inside: list[dict[int, str]] = []

    def axis_coords(i: str, n: str, r: int) -> None:
        coords.append({})
        inside.append({})
        for d in range(-r, r + 1):
            raw = ctx.declare(INT64, f"({i} + {d})", "c")
            inside[-1][d] = f"((uint64_t){raw} < (uint64_t){n})"
            if boundary == "constant":
                coords[-1][d] = ctx.declare(INT64, f"({inside[-1][d]} ? {raw} : 0)", "c")
            else:
                coords[-1][d] = ctx.declare(INT64, BOUNDARY_RULES[boundary].format(c=raw, n=n), "c")

    for i, n, r in zip(outer, shape[:-1], radius[:-1], strict=True):
        axis_coords(i, n, r)
    ctx.emit(f"const int64_t nleft = {lo} - j0, nborder = nleft + (j1 - {hi});")
    # no `omp simd`: gathers through the rules gain little, and the vectorised loop compiles slowly
    with ctx.block("for (int64_t t = 0; t < nborder; t++)"):
        ctx.emit(f"const int64_t j = t < nleft ? j0 + t : {hi} - nleft + t;")
        ctx.emit("const int64_t f = base + j;")
        axis_coords("j", shape[-1], radius[-1])
        neighbours = []
        for offsets in _offsets(radius):
            value = elem(ctx, x, Index([coords[a][d] for a, d in enumerate(offsets)], shape))
            if boundary == "constant":
                ok = " && ".join(inside[a][d] for a, d in enumerate(offsets))
                value = f"(({ok}) ? {value} : {c_literal(stmt.params['value'], x.dtype)})"
            neighbours.append(ctx.declare(x.dtype, value, "nb"))
        _write(ctx, stmt, neighbours, "f")
