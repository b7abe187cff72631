"""The scan skeleton: inclusive prefix combinations along one axis (``scanl1``/``scanr1``/``scanl``/``scanr``).

A rank-1 scan runs in two parallel passes over a fixed number of slices
(after accelerate-llvm; fixed, so the result does not depend on the thread
count): reduce each slice, combine the slice totals in order into each
slice's carry-in, then scan each slice again from its carry::

    #pragma omp parallel for
    for (s = 0; s < 64; s++) total[s] = fold1 f x[lo_s..hi_s);
    for (s = 0; s < 64; s++) { carry[s] = acc; acc = f(acc, total[s]); }
    #pragma omp parallel for
    for (s = 0; s < 64; s++) { a = carry[s]; for (k = lo_s; k < hi_s; k++) out[k] = a = f(a, x[k]); }

Higher ranks scan each line (all positions off the scanned axis) in
parallel, sequentially along it. ``reverse`` walks from the end and applies
``f(x, acc)``; with initial values the output is one longer, holding ``z`` at
the start (``scanl``) or the end (``scanr``).

>>> from pyaccad.backends.clike.cgen import Ctx
>>> callable(scan_kernel)
True
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager

from pyaccad.backends.clike.cgen import CTYPE, Ctx, Index, c_literal, product, unravel
from pyaccad.backends.clike.element import atom, call_lambda, elem
from pyaccad.backends.native.fold import SLICES
from pyaccad.backends.native.map import PARALLEL_MIN
from pyaccad.backends.native.region import one_thread, parallel_if
from pyaccad.ir import INT64, Stmt
from pyaccad.opt.kernels import Kernel


class _Scan:
    def __init__(self, ctx: Ctx, stmt: Stmt) -> None:
        lam = stmt.params["lam"]
        self.stmt, self.lam, self.n = stmt, lam, len(lam.outputs)
        self.xs, self.inits = stmt.args[: self.n], stmt.args[self.n :]
        self.reverse = bool(stmt.params.get("reverse", False))
        self.dtypes = [v.dtype for v in stmt.outs]

    def combine(self, ctx: Ctx, acc: list[str], value: list[str]) -> list[str]:
        args = value + acc if self.reverse else acc + value
        return [
            ctx.declare(d, r, "n") for d, r in zip(self.dtypes, call_lambda(ctx, self.lam, args, "scan"), strict=True)
        ]


def _declare(ctx: Ctx, scan: _Scan, prefix: str) -> list[str]:
    names = [ctx.fresh(prefix) for _ in scan.dtypes]
    for name, dtype in zip(names, scan.dtypes, strict=True):
        ctx.emit(f"{CTYPE[dtype]} {name} = {c_literal(0, dtype)};")
    return names


def _assign(ctx: Ctx, names: list[str], values: list[str]) -> None:
    for name, value in zip(names, values, strict=True):
        ctx.emit(f"{name} = {value};")


def _run(
    ctx: Ctx,
    scan: _Scan,
    acc: list[str],
    has: str,
    lo: str,
    hi: str,
    n: str,
    read: Callable[[str], Index],
    write: Callable[[str], str] | None,
) -> None:
    """Scan logical positions ``lo..hi`` (position ``p`` is element ``n-1-p`` when reversed) into ``acc``."""
    with ctx.block(f"for (int64_t p = {lo}; p < {hi}; p++)"):
        k = ctx.declare(INT64, f"({n} - 1 - p)" if scan.reverse else "p", "k")
        values = [elem(ctx, x, read(k)) for x in scan.xs]
        with ctx.block(f"if ({has})"):
            _assign(ctx, acc, scan.combine(ctx, acc, values))
        with ctx.block("else"):
            _assign(ctx, acc, values)
            ctx.emit(f"{has} = 1;")
        if write is not None:
            position = write(k if scan.reverse else (f"({k} + 1)" if scan.inits else k))
            for var, a in zip(scan.stmt.outs, acc, strict=True):
                ctx.emit(f"{ctx.buffers[var]}[{position}] = {a};")


def _seed(ctx: Ctx, scan: _Scan, acc: list[str], has: str, n: str, write: Callable[[str], str]) -> None:
    """With initial values: start from ``z`` and store it at the start (scanl) or end (scanr)."""
    if not scan.inits:
        return
    zs = [atom(ctx, z) for z in scan.inits]
    _assign(ctx, acc, zs)
    ctx.emit(f"{has} = 1;")
    position = write(n if scan.reverse else "0")
    for var, z in zip(scan.stmt.outs, zs, strict=True):
        ctx.emit(f"{ctx.buffers[var]}[{position}] = {z};")


def scan_kernel(ctx: Ctx, kernel: Kernel) -> None:
    (stmt,) = kernel.roots
    scan = _Scan(ctx, stmt)
    axis = stmt.params["axis"]
    shape = ctx.shape(scan.xs[0])
    prefix, n, suffix = shape[:axis], shape[axis], shape[axis + 1 :]
    with one_thread(ctx):  # in a loop's region only where it is small (native/control.py: one_region)
        if prefix or suffix:
            _line_scan(ctx, scan, prefix, n, suffix)
        else:
            _two_pass(ctx, scan, n)


def _line_scan(ctx: Ctx, scan: _Scan, prefix: list[str], n: str, suffix: list[str]) -> None:
    extra = "1" if scan.inits else "0"
    with ctx.block():
        ctx.emit(f"const int64_t outer = {product(prefix)}, n = {n}, inner = {product(suffix)};")
        loop = parallel_if(ctx, "#pragma omp parallel for schedule(static)", f"outer * n * inner > {PARALLEL_MIN}")
        with loop, ctx.block("for (int64_t t = 0; t < outer * inner; t++)"):
            ctx.emit("const int64_t o = t / inner, i = t - o * inner;")
            outer, inner = unravel(ctx, "o", prefix), unravel(ctx, "i", suffix)
            shape = [*prefix, n, *suffix]

            def read(k: str) -> Index:
                return Index([*outer, k, *inner], shape, f"((o * n + {k}) * inner + i)")

            def write(k: str) -> str:
                return f"((o * (n + {extra}) + {k}) * inner + i)"

            acc = _declare(ctx, scan, "a")
            has = ctx.fresh("has")
            ctx.emit(f"bool {has} = 0;")
            _seed(ctx, scan, acc, has, "n", write)
            _run(ctx, scan, acc, has, "0", "n", "n", read, write)


def _slices(ctx: Ctx) -> AbstractContextManager[None]:
    """A loop over the ``nt`` slices of a two-pass scan, in parallel where there are several."""
    return parallel_if(ctx, "#pragma omp parallel for schedule(static)", "nt > 1")


def _two_pass(ctx: Ctx, scan: _Scan, n: str) -> None:
    with ctx.block():
        ctx.emit(f"const int64_t n = {n};")
        # A fixed number of slices (not one per thread): the result does not depend on the thread count.
        ctx.emit(f"const int nt = n > {PARALLEL_MIN} ? {SLICES} : 1;")
        ctx.emit("bool total_has[nt], carry_has[nt];")
        totals = [ctx.fresh("total") for _ in scan.dtypes]
        carries = [ctx.fresh("carry") for _ in scan.dtypes]
        for t, c, dtype in zip(totals, carries, scan.dtypes, strict=True):
            ctx.emit(f"{CTYPE[dtype]} {t}[nt], {c}[nt];")

        def read(k: str) -> Index:
            return Index([k], [n], k)

        with _slices(ctx), ctx.block("for (int s = 0; s < nt; s++)"):  # pass 1: each slice's total
            ctx.emit("const int64_t lo = n * s / nt, hi = n * (s + 1) / nt;")
            acc = _declare(ctx, scan, "a")
            ctx.emit("bool has = 0;")
            _run(ctx, scan, acc, "has", "lo", "hi", "n", read, None)
            ctx.emit("total_has[s] = has;")
            _assign(ctx, [f"{t}[s]" for t in totals], acc)
        with ctx.block():  # each slice's carry-in: the totals before it, in order
            acc = _declare(ctx, scan, "a")
            ctx.emit("bool has = 0;")
            _seed(ctx, scan, acc, "has", "n", lambda k: k)
            with ctx.block("for (int s = 0; s < nt; s++)"):
                ctx.emit("carry_has[s] = has;")
                _assign(ctx, [f"{c}[s]" for c in carries], acc)
                ctx.emit("if (!total_has[s]) continue;")
                with ctx.block("if (has)"):
                    _assign(ctx, acc, scan.combine(ctx, acc, [f"{t}[s]" for t in totals]))
                with ctx.block("else"):
                    _assign(ctx, acc, [f"{t}[s]" for t in totals])
                    ctx.emit("has = 1;")
        with _slices(ctx), ctx.block("for (int s = 0; s < nt; s++)"):  # pass 2: scan each slice from its carry
            ctx.emit("const int64_t lo = n * s / nt, hi = n * (s + 1) / nt;")
            acc = [ctx.fresh("a") for _ in scan.dtypes]
            for name, c, dtype in zip(acc, carries, scan.dtypes, strict=True):
                ctx.emit(f"{CTYPE[dtype]} {name} = {c}[s];")
            ctx.emit("bool has = carry_has[s];")
            _run(ctx, scan, acc, "has", "lo", "hi", "n", read, lambda k: k)
