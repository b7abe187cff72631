"""``cholesky``, ``triangular_solve`` and ``solve`` through the BLAS library's ``trsm`` and LAPACKE.

One call per matrix of the batch, the batch split over OpenMP threads (each
call single-threaded, as the GEMMs are: :mod:`.blas`). The result buffer is
the work array: the operand is copied in, then factorised or solved in place::

    for (q = 0; q < batch; q++) {          // cholesky
        copy the lower triangle of A[q] into L[q], zeros above;
        if (LAPACKE_dpotrf(ColMajor, 'U', n, L[q], n) != 0) fill L[q] with NaN;
    }

Row-major ``L`` read column-major is ``Lᵀ``, upper: ``potrf`` on the upper
triangle of the column-major view factors the lower triangle of ours, with
no transposes. ``trsm`` takes row-major operands (CBLAS); ``gesv`` runs
column-major on transposed copies of ``A`` and ``B`` in per-thread work
arrays. A failed factorisation (``info != 0``: not positive definite,
exactly singular, a NaN found by LAPACKE's check) fills that matrix's
result with NaNs, as JAX does; ``trsm`` divides by a zero on the
diagonal and gives infinities.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import linalg
>>> acc.run(linalg.cholesky, np.array([[9.0, 3.0], [3.0, 5.0]]), backend="native")
array([[3., 0.],
       [1., 2.]])
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pyaccad.backends.clike.cgen import CTYPE, Ctx, product
from pyaccad.backends.native.blas import BLAS_PARALLEL_MIN
from pyaccad.backends.native.blas_library import blas_library
from pyaccad.ir import FLOAT32, Var
from pyaccad.opt.kernels import Kernel

_ROW_MAJOR, _COL_MAJOR = 101, 102
_LEFT, _UPPER, _LOWER, _NO_TRANS, _TRANS, _NON_UNIT = 141, 121, 122, 111, 112, 131


def _routine(name: str, var: Var) -> str:
    return blas_library().symbol(name.format("s" if var.dtype == FLOAT32 else "d"))


@contextmanager
def _per_matrix(ctx: Ctx, out: Var, scratch: tuple[tuple[str, str, str], ...] = ()) -> Iterator[str]:
    """A loop over the batch of ``out``'s matrices, in parallel; yields the name of this matrix's result.

    ``scratch`` is ``(C type, name, element count)`` of each work array a thread allocates once for its
    matrices. Small batches of small matrices run on one thread (below :data:`.blas.BLAS_PARALLEL_MIN`
    multiply-adds, as the GEMMs do): waking a team costs more than they do.
    """
    ctx.helpers.add("blas")
    shape = ctx.shape(out)
    with ctx.block():
        ctx.emit(f"const int64_t batch = {product(shape[:-2])}, n = {shape[-2]}, k = {shape[-1]};")
        ctx.emit(
            f"const int nt = batch > 1 && batch * n * n * (n + k) > {BLAS_PARALLEL_MIN} ? omp_get_max_threads() : 1;"
        )
        ctx.emit("#pragma omp parallel num_threads(nt)")
        with ctx.block():
            for ctype, name, count in scratch:
                ctx.emit(f"{ctype} *{name} = malloc(sizeof(*{name}) * ({count}) + 1);")
            ctx.emit("#pragma omp for schedule(static)")
            with ctx.block("for (int64_t q = 0; q < batch; q++)"):
                ctx.emit(f"{CTYPE[out.dtype]} *x = {ctx.buffers[out]} + q * n * k;")
                yield "x"
            for _, name, _ in scratch:
                ctx.emit(f"free({name});")


def _fail_with_nan(ctx: Ctx, out: Var, info: str) -> None:
    ctx.emit(f"if ({info} != 0) for (int64_t e = 0; e < n * k; e++) x[e] = ({CTYPE[out.dtype]})NAN;")


def cholesky_kernel(ctx: Ctx, kernel: Kernel) -> None:
    """``L = cholesky(A)`` by ``potrf``, NaNs where ``A`` is not positive definite."""
    (stmt,) = kernel.roots
    (a,), (out,) = stmt.args, stmt.outs
    with _per_matrix(ctx, out):
        ctx.emit(f"const {CTYPE[a.dtype]} *a = {ctx.buffers[a]} + q * n * n;")
        ctx.emit(
            "for (int64_t i = 0; i < n; i++) for (int64_t j = 0; j < n; j++) x[i * n + j] = j <= i ? a[i * n + j] : 0;"
        )
        ctx.emit(f"const int64_t info = n ? {_routine('LAPACKE_{}potrf', out)}({_COL_MAJOR}, 'U', n, x, n) : 0;")
        _fail_with_nan(ctx, out, "info")


def triangular_solve_kernel(ctx: Ctx, kernel: Kernel) -> None:
    """``X = op(T)⁻¹ B`` by ``trsm`` (left side, non-unit diagonal) on a copy of ``B``."""
    (stmt,) = kernel.roots
    (a, b), (out,) = stmt.args, stmt.outs
    uplo = _LOWER if stmt.params["lower"] else _UPPER
    trans = _TRANS if stmt.params["transpose_a"] else _NO_TRANS
    with _per_matrix(ctx, out):
        ctx.emit(f"memcpy(x, {ctx.buffers[b]} + q * n * k, sizeof(*x) * n * k);")
        ctx.emit(
            f"if (n && k) {_routine('cblas_{}trsm', out)}({_ROW_MAJOR}, {_LEFT}, {uplo}, {trans}, {_NON_UNIT}, "
            f"n, k, 1, {ctx.buffers[a]} + q * n * n, n, x, k);"
        )


def solve_kernel(ctx: Ctx, kernel: Kernel) -> None:
    """``X = A⁻¹ B`` by ``gesv`` (LU with partial pivoting), NaNs where ``A`` is singular.

    Column-major ``gesv`` on transposed copies (``A`` into the LU work array, ``B`` into the right-hand
    side's): LAPACKE's row-major layout would allocate and transpose both inside every call.
    """
    (stmt,) = kernel.roots
    (a, b), (out,) = stmt.args, stmt.outs
    t = CTYPE[a.dtype]
    scratch = ((t, "lu", "n * n"), ("int64_t", "pivots", "n"), (t, "rhs", "n * k"))
    with _per_matrix(ctx, out, scratch):
        ctx.emit(f"const {t} *a = {ctx.buffers[a]} + q * n * n, *b = {ctx.buffers[b]} + q * n * k;")
        ctx.emit("for (int64_t i = 0; i < n; i++) for (int64_t j = 0; j < n; j++) lu[j * n + i] = a[i * n + j];")
        ctx.emit("for (int64_t i = 0; i < n; i++) for (int64_t c = 0; c < k; c++) rhs[c * n + i] = b[i * k + c];")
        gesv = _routine("LAPACKE_{}gesv", out)
        ctx.emit(
            f"const int64_t info = !lu || !pivots || !rhs ? -1 : n && k ? {gesv}({_COL_MAJOR}, n, k, lu, n, pivots, "
            "rhs, n) : 0;"
        )
        ctx.emit("for (int64_t i = 0; i < n; i++) for (int64_t c = 0; c < k; c++) x[i * k + c] = rhs[c * n + i];")
        _fail_with_nan(ctx, out, "info")


KERNELS = {"cholesky": cholesky_kernel, "triangular_solve": triangular_solve_kernel, "solve": solve_kernel}
"""The skeleton of each linear algebra kernel kind."""
