"""CUDA kernels for the skeletons of a plan: most a grid-stride loop over independent work items.

Every kernel has one signature, ``(const int64_t *E, void *const *B, int64_t *R)``: its run-time
integers (extents, float literals' bits), its table of buffer pointers, the error record
(:mod:`.prelude`), each numbered from 0 in the kernel's own order (:mod:`.frames`), so the same kernel is the
same text wherever it is. A work item is one thread's share of the kernel, its element code printed by the
shared C-like printer (:mod:`pyaccad.backends.clike`) exactly as for the native backend::

    extern "C" __global__ void k3(const int64_t *E, void *const *B, int64_t *R) {
        float *b1 = (float *)B[0];
        float *b2 = (float *)B[1];
        const int64_t n = E[0];
        for (int64_t w = blockIdx.x * blockDim.x + threadIdx.x; w < n; w += gridDim.x * blockDim.x) {
            <work item w>
        }
    }

The work items, and so the threads a launch needs (:func:`work_items`):

* ``map`` (element-wise chains, ``generate``, gathers, index maps): one output element each;
* ``fold``: always on blocks (:mod:`.blocks`: a thread per line for short lines, else a block's threads on a
  line, a few long lines cut into slices merged in order), the split chosen at run time;
* ``scan``: a short line one thread each, in order along the axis (``scanl``/``scanr``, with or without a
  start); a longer one in tiles scanned by blocks in one pass (:mod:`.scans`); the module holds both kernels;
* ``permute``: the defaults copied element by element (a kernel of its own), then one source element each
  for ``+`` (``atomicAdd``) and ``max``/``min`` (compare-and-swap loops keeping NumPy's NaN and tie rules);
  any other combine in one thread, in source order;
* ``stencil``: one output element each, every neighbour through the boundary rule;
* ``matmul`` of integers: a block per tile of the product, staged through shared memory (:mod:`.tiles`;
  float products are no kernel: cuBLAS runs them, :mod:`.cublas`);
* ``cholesky``, ``triangular_solve``, ``solve``: one matrix of the batch each (:mod:`.linalg`);
* a row group (maps and folds of the last axis computed row by row, :mod:`pyaccad.opt.rows`): one kernel, a
  block per row, each kernel's row in turn (:mod:`.rows`, with :func:`map_element` and :func:`fold_serial`).

On an array of rank 2 or more, the work items are a 3-D grid's, in three nested grid-stride loops (last
axis, the one before, the others), the flat position ``w`` a multiply-add rather than a division per axis
(:mod:`.grids`); its launch names the extents (:func:`grid_extents`).

A kernel on blocks (:mod:`.blocks`, :mod:`.scans`) loops over block work units instead (``u = blockIdx.x; u < units;
u += gridDim.x``), its threads sharing memory and exchanging values by warp shuffles; its launch names
its block size (:class:`.program.Launch`).

>>> callable(kernel_source)
True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

from pyaccad.backends.clike.cgen import CTYPE, ZERO, Ctx, Index, c_literal, product, unravel
from pyaccad.backends.clike.element import atom, call_lambda, elem, produce
from pyaccad.backends.cuda import linalg
from pyaccad.backends.cuda.blocks import Blocks, assign, fold_lines, fold_merge, grid_loop, line_layout, merge_threads
from pyaccad.backends.cuda.frames import CudaCtx, Frame, localise
from pyaccad.backends.cuda.grids import extents, nest
from pyaccad.backends.cuda.scans import scan_tiles
from pyaccad.backends.cuda.tiles import THREADS, matmul_tiles, tiles
from pyaccad.ir import INT64, Stmt
from pyaccad.ir.monoids import monoid_of
from pyaccad.opt.kernels import Kernel

BOUNDARY_RULES = {
    "clamp": "({c} < 0 ? 0 : ({c} >= {n} ? {n} - 1 : {c}))",
    "mirror": "({n} == 1 ? 0 : PA_MIRROR(({c}) % (2 * {n} - 2) + (2 * {n} - 2), {n}))",
    "wrap": "((({c}) % {n} + {n}) % {n})",
}
"""A stencil neighbour's coordinate ``c`` on an axis of extent ``n`` outside the array, per boundary mode."""


_ATOMIC_CAS = {
    4: ("int", "__float_as_int", "__int_as_float"),
    8: ("unsigned long long", "__double_as_longlong", "__longlong_as_double"),
}
_BEATEN = {"maximum": "<", "minimum": ">"}
"""For max/min: ``new BEATEN old`` when the old value beats the new one (false on ties and on NaNs)."""


def kernel_source(
    ctx: CudaCtx, name: str, kernel: Kernel, part: str = "", blocks: Blocks | None = None
) -> tuple[str, Frame]:
    """The ``__global__`` function ``name`` running ``kernel`` (``part`` picks a permute's copy or scatter, or a
    fold's or scan's kernel on ``blocks``, :mod:`.blocks`), and its frame."""
    if blocks is None:
        return function_source(ctx, name, lambda: _BODIES[kernel.kind if not part else part](ctx, kernel))
    return function_source(ctx, name, lambda: PARTS[part](ctx, kernel, blocks))


def function_source(ctx: CudaCtx, name: str, emit: Callable[[], None]) -> tuple[str, Frame]:
    """The ``__global__`` function ``name`` whose body ``emit()`` writes, numbered on its own (:mod:`.frames`: the
    pointers it uses taken from ``B``), and its frame."""
    with ctx.capture() as body:
        prologue_start = len(ctx.prologue)
        with ctx.block():
            emit()
        prologue = ctx.prologue[prologue_start:]
        del ctx.prologue[prologue_start:]
    return localise(ctx, name, [*prologue, *body])


def work_items(kernel: Kernel, part: str = "", blocks: Blocks | None = None) -> tuple[int, int]:
    """``(items, threads)`` of a launch of ``kernel`` (or of its ``part``) at the traced shapes: work items
    (threads, grid-stride) and 0, or for a kernel on ``blocks`` its block work units and block size."""
    if blocks is not None:
        lines, _, _ = line_layout(kernel.roots[0])
        if part == "fold_merge":
            return lines, merge_threads(blocks)
        groups = -(-lines // blocks.group) if part == "fold_lines" else lines  # scan_tiles: a line each
        return groups * blocks.count, blocks.threads
    stmt = kernel.roots[0]
    kind = part or kernel.kind
    if kind == "matmul":
        return tiles(kernel), THREADS
    if kind in ("map", "stencil", "permute_copy"):
        return stmt.outs[0].type.size, 0
    if kind == "scan":  # the lines: an empty axis still has its start to write
        axis = stmt.params["axis"]
        return math.prod(n for a, n in enumerate(stmt.args[0].shape) if a != axis), 0
    if kind == "permute_scatter":
        return (stmt.args[1].type.size if _atomic(stmt) else 1), 0
    if kind in linalg.TEMPLATES:
        return linalg.matrices(kernel), 0
    raise ValueError(f"cuda: no kernel for a {kind} kernel")


def grid_extents(kernel: Kernel, part: str = "", blocks: Blocks | None = None) -> tuple[int, ...]:
    """``(nz, ny, nx)`` of a launch of ``kernel`` (or of its ``part``) whose threads take an element each of a shape
    of rank 2 or more, on a 3-D grid (:mod:`.grids`), at the traced shapes; ``()`` for a 1-D launch."""
    if blocks is not None:
        return ()
    stmt = kernel.roots[0]
    kind = part or kernel.kind
    if kind == "map":
        return extents(kernel.outs[0].shape)
    if kind in ("stencil", "permute_copy"):
        return extents(stmt.args[0].shape)
    if kind == "scan":  # the lines, a thread each
        return extents([n for a, n in enumerate(stmt.args[0].shape) if a != stmt.params["axis"]])
    if kind == "permute_scatter" and _atomic(stmt):
        return extents(stmt.args[1].shape)
    return ()


def _map(ctx: Ctx, kernel: Kernel) -> None:
    shape = ctx.shape(kernel.outs[0])
    nest(ctx, shape, lambda w, multi: map_element(ctx, kernel, Index(multi, shape, w)))


def map_element(ctx: Ctx, kernel: Kernel, idx: Index) -> None:
    """A map kernel's element at ``idx`` (its flat position known), each root's results written there."""
    for stmt in kernel.roots:
        for var, value in zip(stmt.outs, produce(ctx, stmt, idx), strict=True):
            ctx.emit(f"{ctx.element(var, idx.linear())} = {value};")


def fold_serial(ctx: Ctx, kernel: Kernel, w: str, outer: list[str]) -> None:
    """Output element ``w`` of a fold kernel (at positions ``outer``), its line folded by one thread in index order:
    ``fold f z xs = f z (fold1 f xs)``, ``z`` alone for an empty line (a short line of a row group, :mod:`.rows`;
    a fold kernel of its own runs on blocks, :mod:`.blocks`, a line a thread when the lines are short)."""
    first = kernel.roots[0]
    axis = first.params["axis"]
    x_shape = ctx.shape(first.args[0])
    length = x_shape[axis]
    for stmt in kernel.roots:
        lam, k = stmt.params["lam"], len(stmt.outs)
        xs, inits = stmt.args[:k], stmt.args[k:]
        accs = [ctx.fresh("acc") for _ in stmt.outs]
        for acc, var in zip(accs, stmt.outs, strict=True):
            ctx.emit(f"{CTYPE[var.dtype]} {acc};")

        def at(t: str) -> Index:
            return Index([*outer[:axis], t, *outer[axis:]], x_shape)

        with ctx.block(f"if ({length} > 0)"), ctx.inside("fold", w):
            with ctx.block():
                for acc, x in zip(accs, xs, strict=True):
                    ctx.emit(f"{acc} = {elem(ctx, x, at(ZERO))};")
            with ctx.block(f"for (int64_t t = 1; t < {length}; t++)"):
                values = [elem(ctx, x, at("t")) for x in xs]
                assign(ctx, accs, call_lambda(ctx, lam, accs + values, "fold", w), stmt.outs)
            if inits:
                with ctx.block():
                    starts = [atom(ctx, z) for z in inits]
                    assign(ctx, accs, call_lambda(ctx, lam, starts + accs, "fold", w), stmt.outs)
        if inits:
            with ctx.block("else"):
                for acc, z in zip(accs, inits, strict=True):
                    ctx.emit(f"{acc} = {atom(ctx, z)};")
        for acc, var in zip(accs, stmt.outs, strict=True):
            ctx.emit(f"{ctx.element(var, w)} = {acc};")


def _scan(ctx: Ctx, kernel: Kernel) -> None:
    """Each line in order: ``scanl`` keeps ``acc = f(acc, x)``, ``scanr`` walks back with ``acc = f(x, acc)``."""
    (stmt,) = kernel.roots
    lam, axis, reverse = stmt.params["lam"], stmt.params["axis"], stmt.params["reverse"]
    k = len(stmt.outs)
    xs, inits = stmt.args[:k], stmt.args[k:]
    x_shape, out_shape = ctx.shape(xs[0]), ctx.shape(stmt.outs[0])
    lines = [n for a, n in enumerate(x_shape) if a != axis]

    def item(w: str, outer: list[str]) -> None:
        length = x_shape[axis]
        accs = [ctx.fresh("acc") for _ in stmt.outs]
        for acc, var in zip(accs, stmt.outs, strict=True):
            ctx.emit(f"{CTYPE[var.dtype]} {acc};")

        def at(t: str, shape: list[str]) -> str:
            return Index([*outer[:axis], t, *outer[axis:]], shape).linear()

        def write(t: str) -> None:
            for acc, var in zip(accs, stmt.outs, strict=True):
                ctx.emit(f"{ctx.element(var, at(t, out_shape))} = {acc};")

        with ctx.inside("scan", w):
            if inits:  # the start comes first (scanl) or last (scanr), then each step folds in one element
                with ctx.block():
                    for acc, z in zip(accs, inits, strict=True):
                        ctx.emit(f"{acc} = {atom(ctx, z)};")
                write(length if reverse else ZERO)
                loop = (
                    f"for (int64_t t = {length} - 1; t >= 0; t--)"
                    if reverse
                    else f"for (int64_t t = 0; t < {length}; t++)"
                )
                with ctx.block(loop):
                    values = [elem(ctx, x, Index([*outer[:axis], "t", *outer[axis:]], x_shape)) for x in xs]
                    pair = values + accs if reverse else accs + values
                    assign(ctx, accs, call_lambda(ctx, lam, pair, "scan", w), stmt.outs)
                    write("t" if reverse else "(t + 1)")
                return
            first = f"({length} - 1)" if reverse else ZERO
            with ctx.block(f"if ({length} > 0)"):
                with ctx.block():
                    for acc, x in zip(accs, xs, strict=True):
                        ctx.emit(f"{acc} = {elem(ctx, x, Index([*outer[:axis], first, *outer[axis:]], x_shape))};")
                write(first)
                loop = (
                    f"for (int64_t t = {length} - 2; t >= 0; t--)"
                    if reverse
                    else f"for (int64_t t = 1; t < {length}; t++)"
                )
                with ctx.block(loop):
                    values = [elem(ctx, x, Index([*outer[:axis], "t", *outer[axis:]], x_shape)) for x in xs]
                    pair = values + accs if reverse else accs + values
                    assign(ctx, accs, call_lambda(ctx, lam, pair, "scan", w), stmt.outs)
                    write("t")

    nest(ctx, lines, item)


def _permute_copy(ctx: Ctx, kernel: Kernel) -> None:
    """The first half of a permute: the result starts as the defaults."""
    (stmt,) = kernel.roots
    (out,) = stmt.outs
    shape = ctx.shape(out)
    nest(
        ctx,
        shape,
        lambda w, multi: ctx.emit(f"{ctx.element(out, w)} = {elem(ctx, stmt.args[0], Index(multi, shape, w))};"),
    )


def _atomic(stmt: Stmt) -> bool:
    """Whether the permute's combine has an atomic form: ``+`` on numbers, ``max``/``min`` on floats and ints,
    of 4 or 8 bytes (what CUDA's atomics take; narrower ones scatter in one thread)."""
    found = monoid_of(stmt.params["combine"])
    dtype = stmt.outs[0].dtype
    return found is not None and dtype.itemsize in (4, 8) and found.name in ("add", "maximum", "minimum")


def _permute_scatter(ctx: Ctx, kernel: Kernel) -> None:
    """The second half: each source element combined into its target (atomically), or all in one thread."""
    (stmt,) = kernel.roots
    defaults, x = stmt.args
    (out,) = stmt.outs
    x_shape = ctx.shape(x)
    combine = stmt.params["combine"]
    found = monoid_of(combine)

    def scatter(w: str, multi: list[str]) -> None:
        idx = Index(multi, x_shape, w)
        keep, *target = call_lambda(ctx, stmt.params["index"], idx.multi, "permute", w)
        with ctx.block(f"if ({keep})"), ctx.inside("permute", w):
            flag = ctx.check_bounds("permute", out, target, stmt.source)
            with ctx.block(f"if ({flag})"):
                position = ctx.declare(INT64, Index(target, ctx.shape(out)).linear(), "pos")
                value = ctx.declare(out.dtype, elem(ctx, x, idx), "new")
                address = f"&{ctx.element(out, position)}"
                if not _atomic(stmt):
                    (new,) = call_lambda(ctx, combine, [value, f"*{address}"], "permute")
                    ctx.emit(f"*{address} = {new};")
                elif found.name == "add":
                    ctx.emit(f"atomicAdd(({_atomic_type(out.dtype)} *){address}, ({_atomic_type(out.dtype)}){value});")
                else:
                    _compare_and_swap(ctx, out.dtype, address, value, _BEATEN[found.name])

    if _atomic(stmt):
        nest(ctx, x_shape, scatter)
    else:  # one thread, sources in order: any combine, NumPy's order of writes
        with ctx.block("if (blockIdx.x == 0 && threadIdx.x == 0)"):
            with ctx.block(f"for (int64_t w = 0; w < {product(x_shape)}; w++)"):
                scatter("w", unravel(ctx, "w", x_shape))


def _atomic_type(dtype) -> str:
    """The CUDA type ``atomicAdd`` takes for values of ``dtype`` (two's complement: signed adds as unsigned)."""
    if dtype.kind == "f":
        return CTYPE[dtype]
    return "unsigned int" if dtype.itemsize == 4 else "unsigned long long"


def _compare_and_swap(ctx: Ctx, dtype, address: str, value: str, beats: str) -> None:
    """``max``/``min`` into ``*address``: NumPy's ``maximum.at`` keeps the old value when it is NaN or beats the
    new one (a NaN beats nothing), so the new value wins ties and a NaN, once in, stays (as the native backend)."""
    word, to_word, from_word = _ATOMIC_CAS[dtype.itemsize]
    is_float = dtype.kind == "f"
    ctype = CTYPE[dtype]
    with ctx.block():
        ctx.emit(f"{word} *slot = ({word} *){address};")
        ctx.emit(f"{word} seen = *slot, was;")
        with ctx.block("do"):
            ctx.emit("was = seen;")
            old = f"{from_word}(was)" if is_float else f"({ctype})was"
            ctx.emit(f"const {ctype} o = {old};")
            keep = f"(o != o || {value} {beats} o)" if is_float else f"({value} {beats} o)"
            new = f"({word}){to_word}({value})" if is_float else f"({word}){value}"
            ctx.emit(f"if ({keep}) break;")
            ctx.emit(f"seen = atomicCAS(slot, was, {new});")
        ctx.emit("while (seen != was);")


def _stencil(ctx: Ctx, kernel: Kernel) -> None:
    (stmt,) = kernel.roots
    (x,) = stmt.args
    shape = ctx.shape(x)
    boundary = stmt.params["boundary"]
    radius = [n // 2 for n in stmt.params["size"]]

    def item(w: str, multi: list[str]) -> None:
        coords: list[dict[int, str]] = []
        inside: list[dict[int, str]] = []
        for i, n, r in zip(multi, shape, radius, strict=True):
            coords.append({})
            inside.append({})
            for d in range(-r, r + 1):
                raw = ctx.declare(INT64, f"({i} + {d})", "c")
                inside[-1][d] = f"((uint64_t){raw} < (uint64_t){n})"
                rule = "({ok} ? {c} : 0)" if boundary == "constant" else BOUNDARY_RULES[boundary]
                coords[-1][d] = ctx.declare(INT64, rule.format(c=raw, n=n, ok=inside[-1][d]), "c")
        neighbours = []
        for offsets in itertools.product(*(range(-r, r + 1) for r in radius)):
            value = elem(ctx, x, Index([coords[a][d] for a, d in enumerate(offsets)], shape))
            if boundary == "constant":
                ok = " && ".join(inside[a][d] for a, d in enumerate(offsets)) or "1"
                value = f"(({ok}) ? {value} : {c_literal(stmt.params['value'], x.dtype)})"
            neighbours.append(ctx.declare(x.dtype, value, "nb"))
        results = call_lambda(ctx, stmt.params["lam"], neighbours, "stencil", w)
        for var, result in zip(stmt.outs, results, strict=True):
            ctx.emit(f"{ctx.element(var, w)} = {result};")

    nest(ctx, shape, item)


PARTS: dict[str, Callable[[Ctx, Kernel, Blocks], None]] = {
    "fold_lines": fold_lines,
    "fold_merge": fold_merge,
    "scan_tiles": scan_tiles,
}
"""The kernels on blocks (:mod:`.blocks`, :mod:`.scans`), by part."""

_BODIES: dict[str, Callable[[Ctx, Kernel], None]] = {
    "map": _map,
    "scan": _scan,
    "permute_copy": _permute_copy,
    "permute_scatter": _permute_scatter,
    "stencil": _stencil,
    "matmul": matmul_tiles,
    **{kind: lambda ctx, kernel: linalg.linalg_body(ctx, kernel, grid_loop) for kind in linalg.TEMPLATES},
}
