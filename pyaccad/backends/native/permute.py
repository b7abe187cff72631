"""The permute skeleton: scatter with a combining function, after a copy of the defaults.

``out = defaults``, then every source index ``i`` whose index function keeps
it combines into its target: ``out[j] = combine(x[i], out[j])``. Two schemes:

* ``+ * and or max min``: the sources are cut into ``nc`` contiguous chunks,
  each scattered by one thread into its own copy of the targets (chunk 0
  into ``out``, the others into private buffers filled with the identity),
  then the copies are merged into ``out`` in chunk order (in parallel over
  the targets when there are many). No atomics: a float atomic add is a
  compare-and-swap loop, measured 6–10× slower than a plain scatter on the
  2-core machine (the stencil gradient's eight scatter-adds of 4M elements:
  ~48 ms each), and the result no longer depends on thread timing — only on
  ``nc`` (float ``+``/``*`` reassociate across chunks). For max/min the update
  is the interpreter's (NumPy's ``maximum.at``): the new value wins ties (so of
  ``-0.0`` and ``0.0`` the later one), and the first NaN stays. Taking the
  later of equal values and the earlier NaN is associative, so merging the
  chunks in order gives the serial loop's bits, whatever ``nc`` is. Each
  extra copy costs ``m`` (targets) to fill and to merge, so there are at most
  ``1 + n / m`` chunks (``n`` sources): the copies never outgrow the sources.
  One chunk is the serial loop;
* any other combine runs in one serial loop, in source order: a general
  lambda need not be commutative::

    /* nc chunks; max: update(d, v) = (d == d && !(v < d)) ? v : d, +: update(d, v) = d + v */
    #pragma omp parallel for if (nc > 1)
    for (c = 0; c < nc; c++) {
        T *dst = c == 0 ? out : priv + (c - 1) * m;   /* priv[..] = identity: -INFINITY, 0, ... */
        for (i = n * c / nc; i < n * (c + 1) / nc; i++)
            if (keep(i)) dst[target(i)] = update(dst[target(i)], x[i]);
    }
    #pragma omp parallel for if (nc * m > PARALLEL_MIN)
    for (t = 0; t < m; t++) for (c = 1; c < nc; c++) out[t] = update(out[t], priv[(c - 1) * m + t]);

>>> callable(permute_kernel)
True
"""

from __future__ import annotations

from collections.abc import Callable

from pyaccad.backends.clike.cgen import CTYPE, Ctx, Index, product, unravel
from pyaccad.backends.clike.element import call_lambda, elem, elementwise_c
from pyaccad.backends.native.fold import identity
from pyaccad.backends.native.map import PARALLEL_MIN, index_loop
from pyaccad.backends.native.region import one_thread, parallel_if
from pyaccad.ir import INT64, Stmt
from pyaccad.ir.monoids import Monoid, monoid_of
from pyaccad.opt.kernels import Kernel

_BEATEN = {"maximum": "<", "minimum": ">"}
"""For max/min: ``new BEATEN old`` when the old value beats the new one (false on ties and on NaNs)."""

Update = Callable[[str, str], None]
"""Emits the combine of a value (C expression) into a target position (C expression)."""


def permute_kernel(ctx: Ctx, kernel: Kernel) -> None:
    """Emit the C of a permute kernel: the copy of the defaults, then the scatter of the combine's scheme."""
    (stmt,) = kernel.roots
    defaults, x = stmt.args
    (out,) = stmt.outs
    buf, extents = ctx.buffers[out], ctx.extent_slots(out)
    if ctx.buffers.get(defaults) != buf:  # else a loop's state updated in place (native/control.py)
        index_loop(ctx, extents, lambda idx: ctx.emit(f"{buf}[{idx.linear()}] = {elem(ctx, defaults, idx)};"))
    combine = stmt.params["combine"]
    monoid = monoid_of(combine)

    def update(position: str, value: str) -> None:
        (new,) = call_lambda(ctx, combine, [value, f"{buf}[{position}]"], "permute")
        ctx.emit(f"{buf}[{position}] = {new};")

    with one_thread(ctx):  # in a loop's region only where that loses nothing (native/control.py: one_region)
        if monoid is not None:
            _chunked_scatter(ctx, stmt, monoid)
        else:
            sources = ctx.extent_slots(x)
            index_loop(ctx, sources, lambda idx: _scatter_one(ctx, stmt, idx, update), parallel=False, simd=False)


def _scatter_one(ctx: Ctx, stmt: Stmt, idx: Index, update: Update) -> None:
    """Emit the scatter of source element ``idx``: its target, the bounds check, and ``update``."""
    (out,) = stmt.outs
    keep, *target = call_lambda(ctx, stmt.params["index"], idx.multi, "permute", idx.linear())
    with ctx.block(f"if ({keep})"), ctx.inside("permute", idx.linear()):
        flag = ctx.check_bounds("permute", out, target, stmt.source)
        with ctx.block(f"if ({flag})"):
            position = ctx.declare(INT64, Index(target, ctx.shape(out)).linear(), "pos")
            update(position, elem(ctx, stmt.args[1], idx))


def _chunked_scatter(ctx: Ctx, stmt: Stmt, monoid: Monoid) -> None:
    """A monoid's scatter: chunks of sources scattered into per-chunk copies of the targets, merged in chunk order."""
    _, x = stmt.args
    (out,) = stmt.outs
    ctype, buf = CTYPE[out.dtype], ctx.buffers[out]
    x_shape = ctx.shape(x)

    def merged(old: str, new: str) -> str:
        if monoid.name not in _BEATEN:
            return elementwise_c(monoid.name, out.dtype, [old, new])
        # NumPy's maximum.at: the new value unless the old one is NaN or beats it (a NaN beats nothing), so the
        # new value wins ties and the first NaN stays.
        return f"(({old} == {old} && !({new} {_BEATEN[monoid.name]} {old})) ? {new} : {old})"

    with ctx.block():
        ctx.emit(f"const int64_t n = {product(x_shape)}, m = {ctx.size(out)};")
        # Each extra copy of the targets costs m to fill and m to merge: at most n / m of them keep that within
        # the scatter's own n, however many threads there are.
        ctx.emit(f"int nc = (n > {PARALLEL_MIN} && m > 0) ? omp_get_max_threads() : 1;")
        ctx.emit("if (nc > 1 && n / m + 1 < nc) nc = (int)(n / m + 1);")
        ctx.emit(f"{ctype} *priv = nc > 1 ? malloc(sizeof({ctype}) * (size_t)(nc - 1) * (size_t)m) : NULL;")
        ctx.emit("if (priv == NULL) nc = 1;")
        chunks = parallel_if(ctx, "#pragma omp parallel for schedule(static, 1)", "nc > 1")
        with chunks, ctx.block("for (int c = 0; c < nc; c++)"):
            ctx.emit(f"{ctype} *restrict dst = c == 0 ? {buf} : priv + (int64_t)(c - 1) * m;")
            ctx.emit(f"if (c > 0) for (int64_t t = 0; t < m; t++) dst[t] = {identity(monoid, out.dtype)};")
            ctx.emit("const int64_t lo = n * c / nc, hi = n * (c + 1) / nc;")
            ctx.emit("if (lo == hi) continue;  /* an empty source has extents of 0: nothing to unravel by */")
            # the source's per-axis indices, unravelled once and then stepped with carries: a division per axis
            # and element cost more than the scatter itself
            multi = ["f"] if len(x_shape) == 1 else [ctx.fresh("k") for _ in x_shape]
            if len(multi) > 1:
                for name, value in zip(multi, unravel(ctx, "lo", x_shape), strict=True):
                    ctx.emit(f"int64_t {name} = {value};")
            with ctx.block("for (int64_t f = lo; f < hi; f++)"):
                idx = Index(multi, x_shape, "f")

                def update(position: str, value: str) -> None:
                    v = ctx.declare(out.dtype, value, "new")
                    d = ctx.declare(out.dtype, f"dst[{position}]", "old")
                    ctx.emit(f"dst[{position}] = {merged(d, v)};")

                _scatter_one(ctx, stmt, idx, update)
                if len(multi) > 1:
                    _step(ctx, multi, x_shape)
        with ctx.block("if (nc > 1)"):
            merge = parallel_if(ctx, "#pragma omp parallel for schedule(static)", f"(int64_t)nc * m > {PARALLEL_MIN}")
            with merge, ctx.block("for (int64_t t = 0; t < m; t++)"):
                ctx.emit(f"{ctype} acc = {buf}[t];")
                ctx.emit(
                    f"for (int c = 1; c < nc; c++) {{ const {ctype} v = priv[(int64_t)(c - 1) * m + t]; "
                    f"acc = {merged('acc', 'v')}; }}"
                )
                ctx.emit(f"{buf}[t] = acc;")
            ctx.emit("free(priv);")


def _step(ctx: Ctx, multi: list[str], shape: list[str]) -> None:
    """Advance the row-major multi-index ``multi`` (rank ≥ 2) of ``shape`` by one element, carrying leftwards."""
    carries = [f"if (++{multi[axis]} == {shape[axis]}) {{ {multi[axis]} = 0;" for axis in range(len(multi) - 1, 0, -1)]
    ctx.emit(" ".join(carries) + f" ++{multi[0]};" + " }" * len(carries))
