"""The fold skeleton: reductions along one axis, several folds of one shape sharing the pass.

Reducing the innermost axis, each output element is one thread's sequential
loop; a commutative monoid (``+ * min max`` recognised from the lambda) runs
in 16 independent lanes so the loop vectorises::

    #pragma omp parallel for
    for (int64_t o = 0; o < rows; o++) {
        T lane[16] = {identity, ..};
        for (j = 0; j + 16 <= n; j += 16) for (l = 0; l < 16; l++) lane[l] = lane[l] OP x[o*n + j + l];
        T acc = lane[0] OP .. OP lane[15];  for (; j < n; j++) acc = acc OP x[o*n + j];
        out[o] = init ? f(z, acc) : acc;       /* fold f z xs = f z (fold1 f xs) */
    }

A general (associative, perhaps non-commutative) lambda keeps one
accumulator per output, seeded with the first element. A reduction to rank 0
cuts the axis into a fixed number of slices reduced in parallel, then
combines the partial results in order (so the result does not depend on the
number of threads). Reducing an outer axis keeps a block of accumulators for
contiguous inner positions (``acc[i] = f(acc[i], x[o, j, i])``, vectorised
over ``i``).

>>> from pyaccad.ir.monoids import MONOIDS
>>> identity(MONOIDS["maximum"], np.dtype("float32"))
'((float)(-INFINITY))'
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pyaccad.backends.clike.cgen import CTYPE, Ctx, Index, c_literal, product, unravel
from pyaccad.backends.clike.element import atom, call_lambda, elem, elementwise_c
from pyaccad.backends.native.map import PARALLEL_MIN
from pyaccad.backends.native.region import one_thread, parallel_for
from pyaccad.ir import INT64, Stmt
from pyaccad.ir.monoids import Monoid, monoid_of
from pyaccad.opt.kernels import Kernel

LANES = 16
SLICES = 64
"""A reduction to rank 0 (and a rank-1 scan) is cut into this many slices, whatever the thread count."""
COLUMN_BLOCK = 256


def identity(monoid: Monoid, dtype: np.dtype) -> str:
    """The monoid's identity for ``dtype`` as a C literal (a lane's or a chunk's starting value)."""
    return c_literal(monoid.identity(dtype), dtype)


class _Fold:
    """One fold statement of the kernel: its arrays, initial values, lambda and accumulator names."""

    def __init__(self, stmt: Stmt) -> None:
        lam = stmt.params["lam"]
        self.stmt, self.lam, self.n = stmt, lam, len(lam.outputs)
        self.xs, self.inits = stmt.args[: self.n], stmt.args[self.n :]
        self.monoid = monoid_of(lam) if self.n == 1 else None
        self.dtypes = [v.dtype for v in stmt.outs]

    def combine(self, ctx: Ctx, left: list[str], right: list[str]) -> list[str]:
        if self.monoid:
            return [elementwise_c(self.monoid.name, self.dtypes[0], [left[0], right[0]])]
        return call_lambda(ctx, self.lam, left + right, "fold")

    def finish(self, ctx: Ctx, accs: list[str], has: str) -> list[str]:
        """``f(z, acc)`` for a fold with initial values (``z`` when nothing was reduced), else ``acc``."""
        if not self.inits:
            return accs
        zs = [atom(ctx, z) for z in self.inits]
        results = [ctx.fresh("z") for _ in accs]
        for name, zero, dtype in zip(results, zs, self.dtypes, strict=True):
            ctx.emit(f"{CTYPE[dtype]} {name} = {zero};")
        with ctx.block(f"if ({has})"):
            for name, value in zip(results, self.combine(ctx, zs, accs), strict=True):
                ctx.emit(f"{name} = {value};")
        return results


def fold_kernel(ctx: Ctx, kernel: Kernel) -> None:
    folds = [_Fold(s) for s in kernel.roots]
    x0 = folds[0].xs[0]
    axis = folds[0].stmt.params["axis"]
    shape = ctx.shape(x0)
    prefix, n, suffix = shape[:axis], shape[axis], shape[axis + 1 :]
    if suffix:
        _column_fold(ctx, folds, prefix, n, suffix)
    elif prefix:
        _row_fold(ctx, folds, prefix, n)
    else:
        _split_fold(ctx, folds, n)


def _reduce(ctx: Ctx, folds: list[_Fold], at: Callable[[str], Index], lo: str, hi: str) -> list[tuple[list, str]]:
    """Declare accumulators and reduce positions ``lo..hi``; return each fold's (accumulators, has-any flag)."""
    has = ctx.fresh("h")
    ctx.emit(f"const bool {has} = {lo} < {hi};")
    if all(f.monoid for f in folds):
        return [([a], has) for a in _reduce_lanes(ctx, folds, at, lo, hi)]
    flag = ctx.fresh("seen")
    ctx.emit(f"bool {flag} = 0;")
    accs = [[ctx.fresh("a") for _ in f.dtypes] for f in folds]
    for f, names in zip(folds, accs, strict=True):
        for name, dtype in zip(names, f.dtypes, strict=True):
            ctx.emit(f"{CTYPE[dtype]} {name} = {c_literal(0, dtype)};")
    with ctx.block(f"for (int64_t j = {lo}; j < {hi}; j++)"):
        idx = at("j")
        _combine_or_start(ctx, folds, accs, [[elem(ctx, x, idx) for x in f.xs] for f in folds], flag)
    return [(names, has) for names in accs]


def _reduce_lanes(ctx: Ctx, folds: list[_Fold], at: Callable[[str], Index], lo: str, hi: str) -> list[str]:
    lanes = [ctx.fresh("lane") for _ in folds]
    for f, lane in zip(folds, lanes, strict=True):
        ctx.emit(f"{CTYPE[f.dtypes[0]]} {lane}[{LANES}];")
        ctx.emit(f"for (int l = 0; l < {LANES}; l++) {lane}[l] = {identity(f.monoid, f.dtypes[0])};")
    j = ctx.fresh("j")
    ctx.emit(f"int64_t {j} = {lo};")
    with ctx.block(f"for (; {j} + {LANES} <= {hi}; {j} += {LANES})"):
        with ctx.simd_block(f"for (int64_t l = 0; l < {LANES}; l++)"):
            idx = at(f"({j} + l)")
            for f, lane in zip(folds, lanes, strict=True):
                ctx.emit(f"{lane}[l] = {f.combine(ctx, [f'{lane}[l]'], [elem(ctx, f.xs[0], idx)])[0]};")
    accs = [ctx.fresh("a") for _ in folds]
    for f, lane, acc in zip(folds, lanes, accs, strict=True):
        ctx.emit(f"{CTYPE[f.dtypes[0]]} {acc} = {lane}[0];")
        ctx.emit(f"for (int l = 1; l < {LANES}; l++) {acc} = {f.combine(ctx, [acc], [f'{lane}[l]'])[0]};")
    with ctx.block(f"for (; {j} < {hi}; {j}++)"):
        idx = at(j)
        for f, acc in zip(folds, accs, strict=True):
            ctx.emit(f"{acc} = {f.combine(ctx, [acc], [elem(ctx, f.xs[0], idx)])[0]};")
    return accs


def _store(ctx: Ctx, folds: list[_Fold], results: list[tuple[list, str]], position: str) -> None:
    for f, (accs, has) in zip(folds, results, strict=True):
        for var, value in zip(f.stmt.outs, f.finish(ctx, accs, has), strict=True):
            ctx.emit(f"{ctx.buffers[var]}[{position}] = {value};")


def _row_fold(ctx: Ctx, folds: list[_Fold], prefix: list[str], n: str) -> None:
    with ctx.block():
        ctx.emit(f"const int64_t rows = {product(prefix)};")
        loop = parallel_for(ctx, "schedule(static)", f"rows * {n} > {PARALLEL_MIN}")
        with loop, ctx.block("for (int64_t o = 0; o < rows; o++)"):
            _fold_one(ctx, folds, unravel(ctx, "o", prefix), "o", [*prefix, n])


def _fold_one(ctx: Ctx, folds: list[_Fold], outer: list[str], position: str, shape: list[str]) -> None:
    """Reduce the last axis at one position ``outer`` (flat: ``position``) of the other axes."""
    n = shape[-1]
    results = _reduce(ctx, folds, lambda j: Index([*outer, j], shape, f"({position} * {n} + {j})"), "0", n)
    _store(ctx, folds, results, position)


def fold_rows(ctx: Ctx, kernel: Kernel, row: str) -> None:
    """Row ``row`` (of the first axis) of a kernel folding the last axis, for :mod:`.rows`' shared loops.

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.opt.fusion import plan_program
    >>> (kernel,) = plan_program(trace(lambda x: x.sum(axis=2), np.ones((2, 3, 4))).program).kernels
    >>> ctx = Ctx()
    >>> ctx.buffers.update({kernel.roots[0].args[0]: "x", kernel.outs[0]: "out"})
    >>> fold_rows(ctx, kernel, "o")
    >>> loops = [line.strip() for line in ctx.lines if line.strip().startswith("for (int64_t q")]
    >>> loops, sum("out[" in line for line in ctx.lines)  # the row's 3 positions in turn, one store each
    (['for (int64_t q1 = 0; q1 < E[1]; q1++) {'], 1)
    """
    folds = [_Fold(s) for s in kernel.roots]
    shape = ctx.shape(folds[0].xs[0])
    inner = shape[1:-1]
    if not inner:
        _fold_one(ctx, folds, [row], row, shape)
        return
    q = ctx.fresh("q")
    with ctx.block(f"for (int64_t {q} = 0; {q} < {product(inner)}; {q}++)"):
        position = ctx.declare(INT64, f"{row} * {product(inner)} + {q}", "p")
        _fold_one(ctx, folds, [row, *unravel(ctx, q, inner)], position, shape)


def _split_fold(ctx: Ctx, folds: list[_Fold], n: str) -> None:
    """Reduce a rank-1 array to rank 0: :data:`SLICES` slices in parallel, partials combined in order."""
    with ctx.block():
        ctx.emit(f"const int64_t n = {n};")
        # A fixed number of slices (not one per thread): the result does not depend on the thread count.
        ctx.emit(f"const int nt = n > {PARALLEL_MIN} ? {SLICES} : 1;")
        parts = [[ctx.fresh("part") for _ in f.dtypes] for f in folds]
        has = "part_has"
        if ctx.region:  # the partials are shared: declared outside the loop's region, at their largest
            has = ctx.fresh("part_has")
            ctx.prologue.append(f"    bool {has}[{SLICES}];")
            for f, names in zip(folds, parts, strict=True):
                ctx.prologue += [f"    {CTYPE[d]} {name}[{SLICES}];" for name, d in zip(names, f.dtypes, strict=True)]
        else:
            ctx.emit(f"bool {has}[nt];")
            for f, names in zip(folds, parts, strict=True):
                for name, dtype in zip(names, f.dtypes, strict=True):
                    ctx.emit(f"{CTYPE[dtype]} {name}[nt];")
        with parallel_for(ctx, "schedule(static)", "nt > 1"), ctx.block("for (int tid = 0; tid < nt; tid++)"):
            ctx.emit("const int64_t lo = n * tid / nt, hi = n * (tid + 1) / nt;")
            results = _reduce(ctx, folds, lambda j: Index([j], [n], j), "lo", "hi")
            for names, (accs, _) in zip(parts, results, strict=True):
                for name, acc in zip(names, accs, strict=True):
                    ctx.emit(f"{name}[tid] = {acc};")
            ctx.emit(f"{has}[tid] = {results[0][1]};")
        with one_thread(ctx):  # the partials in slice order, as outside a region
            totals = _combine_parts(ctx, folds, parts, has)
            _store(ctx, folds, totals, "0")


def _combine_or_start(ctx: Ctx, folds: list[_Fold], accs: list[list[str]], values: list[list[str]], flag: str) -> None:
    """``if (flag) acc = combine(acc, value); else { acc = value; flag = 1; }`` for every fold (no identity needed)."""
    with ctx.block(f"if ({flag})"):
        for f, names, vs in zip(folds, accs, values, strict=True):
            news = [ctx.declare(d, r, "n") for d, r in zip(f.dtypes, f.combine(ctx, names, vs), strict=True)]
            for name, new in zip(names, news, strict=True):
                ctx.emit(f"{name} = {new};")
    with ctx.block("else"):
        for names, vs in zip(accs, values, strict=True):
            for name, v in zip(names, vs, strict=True):
                ctx.emit(f"{name} = {v};")
        ctx.emit(f"{flag} = 1;")


def _combine_parts(ctx: Ctx, folds: list[_Fold], parts: list[list[str]], has: str) -> list[tuple[list, str]]:
    seen = ctx.fresh("seen")
    ctx.emit(f"bool {seen} = 0;")
    totals = [[ctx.fresh("a") for _ in f.dtypes] for f in folds]
    for f, names in zip(folds, totals, strict=True):
        for name, dtype in zip(names, f.dtypes, strict=True):
            ctx.emit(f"{CTYPE[dtype]} {name} = {c_literal(0, dtype)};")
    with ctx.block("for (int p = 0; p < nt; p++)"):
        ctx.emit(f"if (!{has}[p]) continue;")
        _combine_or_start(ctx, folds, totals, [[f"{q}[p]" for q in part] for part in parts], seen)
    return [(names, seen) for names in totals]


def _column_fold(ctx: Ctx, folds: list[_Fold], prefix: list[str], n: str, suffix: list[str]) -> None:
    """Reduce an outer axis: a block of accumulators over contiguous inner positions."""
    b = COLUMN_BLOCK
    with ctx.block():
        ctx.emit(f"const int64_t outer = {product(prefix)}, n = {n}, inner = {product(suffix)};")
        ctx.emit(f"const int64_t nblk = (inner + {b - 1}) / {b};")
        loop = parallel_for(ctx, "schedule(static)", f"outer * n * inner > {PARALLEL_MIN}")
        with loop, ctx.block("for (int64_t t = 0; t < outer * nblk; t++)"):
            ctx.emit(f"const int64_t o = t / nblk, i0 = (t - o * nblk) * {b}, i1 = PA_MIN_I(i0 + {b}, inner);")
            outer = unravel(ctx, "o", prefix)
            accs = [[ctx.fresh("acc") for _ in f.dtypes] for f in folds]
            for f, names in zip(folds, accs, strict=True):
                for name, dtype in zip(names, f.dtypes, strict=True):
                    ctx.emit(f"{CTYPE[dtype]} {name}[{b}];")
            with ctx.block("for (int64_t j = 0; j < n; j++)"):
                with ctx.block("for (int64_t i = i0; i < i1; i++)"):
                    inner_idx = unravel(ctx, "i", suffix)
                    idx = Index([*outer, "j", *inner_idx], [*prefix, n, *suffix], "((o * n + j) * inner + i)")
                    for f, names in zip(folds, accs, strict=True):
                        values = [elem(ctx, x, idx) for x in f.xs]
                        slots = [f"{a}[i - i0]" for a in names]
                        if f.monoid:
                            ctx.emit(f"if (j == 0) {slots[0]} = {identity(f.monoid, f.dtypes[0])};")
                            ctx.emit(f"{slots[0]} = {f.combine(ctx, slots, values)[0]};")
                            continue
                        with ctx.block("if (j == 0)"):
                            for slot, v in zip(slots, values, strict=True):
                                ctx.emit(f"{slot} = {v};")
                        with ctx.block("else"):
                            news = [
                                ctx.declare(d, r, "n")
                                for d, r in zip(f.dtypes, f.combine(ctx, slots, values), strict=True)
                            ]
                            for slot, new in zip(slots, news, strict=True):
                                ctx.emit(f"{slot} = {new};")
            with ctx.block("for (int64_t i = i0; i < i1; i++)"):
                results = [([f"{a}[i - i0]" for a in names], "(n > 0)") for names in accs]
                _store(ctx, folds, results, "(o * inner + i)")
