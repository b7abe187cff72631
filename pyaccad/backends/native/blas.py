"""``matmul`` through an optimised BLAS (MKL or OpenBLAS: :mod:`.blas_library`), batched by a loop.

Float operands call ``cblas_sgemm``/``cblas_dgemm`` per batch element and per
thread's block of rows (see the comment in :func:`matmul_kernel`);
an operand that is a (delayed) swap of its source's last two axes is passed
as that source with BLAS's transpose flag, so the gradients' ``Wᵀ`` are never
copied. Integer operands use a plain parallel loop (BLAS has no integer
GEMM)::

    for (b = 0; b < batch; b++)
        cblas_sgemm(RowMajor, NoTrans | Trans, NoTrans | Trans, m, n, k, 1,
                    A + b*m*k, lda, B + b*k*n, ldb, 0, C + b*m*n, n);

The library is linked only into programs that use ``matmul``.

>>> from pyaccad.ir import FLOAT32
>>> _gemm(FLOAT32) in ("cblas_sgemm", "scipy_cblas_sgemm64_")
True
"""

from __future__ import annotations

import numpy as np

from pyaccad.backends.clike.cgen import CTYPE, Ctx, Index, product, unravel
from pyaccad.backends.clike.element import elem
from pyaccad.backends.native.blas_library import blas_library
from pyaccad.backends.native.map import write_elements
from pyaccad.backends.native.region import parallel_for
from pyaccad.errors import CompileError
from pyaccad.ir import ELEMENTWISE, FLOAT32, FLOAT64, Var
from pyaccad.opt.fusion import matrix_transpose_source
from pyaccad.opt.kernels import Kernel

_BLAS_DTYPES = (FLOAT32, FLOAT64)
_NO_TRANS, _TRANS = 111, 112
_ELEMENT_FOR_ELEMENT = set(ELEMENTWISE) | {"select", "cast", "map"}
BLAS_PARALLEL_MIN = 1 << 19
"""Multiply-adds below which one thread computes a product (see :data:`.map.PARALLEL_MIN`). Measured on the
2-core machine: the ``mlp`` gradient's 256×10 @ 10×256 products (655 360) gain from two threads (1–4 %)."""


EPILOGUE_STEP = 64
"""A GEMM split by columns cuts them at multiples of this, a multiple of every step a vectorised loop takes (16
float32 lanes of AVX-512, unrolled at most 4 times), as the map skeleton's blocks of :data:`.map.BLOCK` are."""


def _gemm(dtype: np.dtype) -> str:
    """The CBLAS GEMM symbol for ``dtype`` in the chosen library."""
    return blas_library().symbol("cblas_sgemm" if dtype == FLOAT32 else "cblas_dgemm")


def _operand(ctx: Ctx, var: Var) -> tuple[str, int, str]:
    """(buffer, transpose flag, leading dimension) of a GEMM operand."""
    source = matrix_transpose_source(var, ctx.delayed)
    if source is not None:
        return ctx.buffers[source], _TRANS, ctx.shape(source)[-1]
    return ctx.buffers[var], _NO_TRANS, ctx.shape(var)[-1]


def epilogue_fits(matmul: Kernel, consumer: Kernel) -> bool:
    """Whether the map kernel ``consumer`` can run inside the float GEMM of ``matmul`` (its epilogue).

    It can when the product has rank 2, and ``consumer`` (of the product's shape) reads the product only
    element for element, at its own index: each thread then finishes its block of the product (the bias
    and ``tanh`` of a dense layer, the ``1 - tanh²`` factor of its gradient) while it is in cache, with no
    parallel region of its own.
    """
    (stmt,) = matmul.roots
    out = stmt.outs[0]
    if consumer.kind != "map" or out.dtype not in _BLAS_DTYPES or out.type.ndim != 2:
        return False
    derived = {out}
    for s in [*consumer.fused, *consumer.roots]:
        if any(v in derived for sub in s.subprograms() for v in sub.free_vars):
            return False
        if any(isinstance(a, Var) and a in derived for a in s.args):
            if s.prim.name not in _ELEMENT_FOR_ELEMENT or s.outs[0].shape != out.shape:
                return False
            derived.update(s.outs)
    return all(r.outs[0].shape == out.shape for r in consumer.roots) and any(
        v in derived for r in consumer.roots for v in r.outs
    )


def matmul_kernel(ctx: Ctx, kernel: Kernel, epilogue: Kernel | None = None) -> None:
    """``C = A @ B`` through BLAS (or a loop, for integers), then ``epilogue`` (see :func:`epilogue_fits`)."""
    (stmt,) = kernel.roots
    a, b = stmt.args
    (out,) = stmt.outs
    sa, sb = ctx.shape(a), ctx.shape(b)
    po = ctx.buffers[out]
    with ctx.block():
        ctx.emit(f"const int64_t batch = {product(sa[:-2])}, m = {sa[-2]}, k = {sa[-1]}, n = {sb[-1]};")
        if out.dtype in _BLAS_DTYPES:
            ctx.helpers.add("blas")
            (pa, ta, lda), (pb, tb, ldb) = _operand(ctx, a), _operand(ctx, b)
            # One thread pool: each OpenMP thread runs single-threaded BLAS on a block of the output's rows (of
            # its columns, for short wide products). OpenBLAS's own pool would spin after each call, starving
            # the kernels that follow. Measured on the idle 2-core machine: 256x784 @ 784x256 in 0.54 ms on two
            # threads, 0.92 ms on one; on an oversubscribed machine the thread policy (runtime.py) uses one.
            ctx.emit("const int split_m = m >= n;")
            # inside a loop's region (native/region.py) its team is the one that ran this outside, as large
            team = "omp_get_num_threads()" if ctx.region else "omp_get_max_threads()"
            ctx.emit(f"const int nt = (m * n * k > {BLAS_PARALLEL_MIN}) ? {team} : 1;")
            clauses = "collapse(2) schedule(static)" + ("" if ctx.region else " num_threads(nt)")
            with parallel_for(ctx, clauses, None), ctx.block("for (int64_t q = 0; q < batch; q++)"):
                with ctx.block("for (int p = 0; p < nt; p++)"):
                    # Columns are cut at multiples of EPILOGUE_STEP, so an epilogue's vector loop over a row's
                    # columns meets each column at the same place in its steps, vector body or remainder, whatever
                    # the thread count: a vector loop's libm calls (libmvec) and its remainder's differ in the
                    # last bits (see "Reproducible bits" in :mod:`pyaccad.backends.native`).
                    ctx.emit(f"const int64_t len = split_m ? m : n, step = split_m ? 1 : {EPILOGUE_STEP};")
                    ctx.emit("const int64_t lo = len * p / nt / step * step;")
                    ctx.emit("const int64_t hi = p + 1 == nt ? len : len * (p + 1) / nt / step * step;")
                    ctx.emit("if (lo == hi) continue;")
                    a_lo = f"lo * {lda}" if ta == _NO_TRANS else "lo"
                    b_lo = "lo" if tb == _NO_TRANS else f"lo * {ldb}"
                    ctx.emit(
                        f"if (split_m) {_gemm(out.dtype)}(101, {ta}, {tb}, hi - lo, n, k, 1, "
                        f"{pa} + q * m * k + {a_lo}, {lda} > 1 ? {lda} : 1, {pb} + q * k * n, {ldb} > 1 ? {ldb} : 1, "
                        f"0, {po} + q * m * n + lo * n, n > 1 ? n : 1);"
                    )
                    ctx.emit(
                        f"else {_gemm(out.dtype)}(101, {ta}, {tb}, m, hi - lo, k, 1, {pa} + q * m * k, "
                        f"{lda} > 1 ? {lda} : 1, {pb} + q * k * n + {b_lo}, {ldb} > 1 ? {ldb} : 1, "
                        f"0, {po} + q * m * n + lo, n > 1 ? n : 1);"
                    )
                    if epilogue is not None:
                        _epilogue(ctx, epilogue)
            return
        if epilogue is not None:
            raise CompileError("native backend: an epilogue needs a float GEMM")  # epilogue_fits rules it out
        with parallel_for(ctx, "schedule(static)", None), ctx.block("for (int64_t t = 0; t < batch * m; t++)"):
            ctx.emit("const int64_t q = t / m, i = t - q * m;")
            batch_idx = unravel(ctx, "q", sa[:-2])
            ctx.emit(f"{CTYPE[out.dtype]} *row = {po} + t * n;")
            ctx.emit("for (int64_t j = 0; j < n; j++) row[j] = 0;")
            with ctx.block("for (int64_t l = 0; l < k; l++)"):
                scale = ctx.declare(out.dtype, elem(ctx, a, Index([*batch_idx, "i", "l"], sa)), "s")
                with ctx.block("for (int64_t j = 0; j < n; j++)"):
                    ctx.emit(f"row[j] += {scale} * {elem(ctx, b, Index([*batch_idx, 'l', 'j'], sb))};")


def _epilogue(ctx: Ctx, consumer: Kernel) -> None:
    """The consumer map over this thread's block of the (rank-2) product: rows or columns ``lo..hi``."""
    shape = ctx.shape(consumer.outs[0])
    ctx.emit(
        "const int64_t r0 = split_m ? lo : 0, r1 = split_m ? hi : m, c0 = split_m ? 0 : lo, c1 = split_m ? n : hi;"
    )
    with ctx.block("for (int64_t i = r0; i < r1; i++)"):
        with ctx.simd_block("for (int64_t j = c0; j < c1; j++)"):
            ctx.emit("const int64_t f = i * n + j;")
            write_elements(ctx, consumer, Index(["i", "j"], shape, "f"))
