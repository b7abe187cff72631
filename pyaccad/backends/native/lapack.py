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
no transposes. ``trsm`` takes row-major operands (CBLAS); ``gesv`` goes
through LAPACKE's row-major layout on a copy of ``A`` (it overwrites it with
the LU factors). A failed factorisation (``info != 0``: not positive
definite, exactly singular, a NaN found by LAPACKE's check) fills that
matrix's result with NaNs, as JAX does; ``trsm`` divides by a zero on the
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
from pyaccad.backends.native.blas_library import blas_library
from pyaccad.ir import FLOAT32, Var
from pyaccad.opt.kernels import Kernel

_ROW_MAJOR, _COL_MAJOR = 101, 102
_LEFT, _UPPER, _LOWER, _NO_TRANS, _TRANS, _NON_UNIT = 141, 121, 122, 111, 112, 131


def _routine(name: str, var: Var) -> str:
    return blas_library().symbol(name.format("s" if var.dtype == FLOAT32 else "d"))


@contextmanager
def _per_matrix(ctx: Ctx, out: Var) -> Iterator[str]:
    """A loop over the batch of ``out``'s matrices, in parallel; yields the name of this matrix's result."""
    ctx.helpers.add("blas")
    shape = ctx.shape(out)
    with ctx.block():
        ctx.emit(f"const int64_t batch = {product(shape[:-2])}, n = {shape[-2]}, k = {shape[-1]};")
        ctx.emit("#pragma omp parallel for schedule(dynamic) if (batch > 1)")
        with ctx.block("for (int64_t q = 0; q < batch; q++)"):
            ctx.emit(f"{CTYPE[out.dtype]} *x = {ctx.buffers[out]} + q * n * k;")
            yield "x"


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
    """``X = A⁻¹ B`` by ``gesv`` (LU with partial pivoting), NaNs where ``A`` is singular."""
    (stmt,) = kernel.roots
    (a, b), (out,) = stmt.args, stmt.outs
    with _per_matrix(ctx, out):
        ctx.emit(f"memcpy(x, {ctx.buffers[b]} + q * n * k, sizeof(*x) * n * k);")
        ctx.emit(f"{CTYPE[a.dtype]} *lu = malloc(sizeof(*lu) * n * n + 1);")
        ctx.emit("int64_t *pivots = malloc(sizeof(*pivots) * n + 1);")
        ctx.emit(f"memcpy(lu, {ctx.buffers[a]} + q * n * n, sizeof(*lu) * n * n);")
        gesv = _routine("LAPACKE_{}gesv", out)
        ctx.emit(
            f"const int64_t info = !lu || !pivots ? -1 : n && k ? {gesv}({_ROW_MAJOR}, n, k, lu, n, pivots, x, k) : 0;"
        )
        ctx.emit("free(lu);")
        ctx.emit("free(pivots);")
        _fail_with_nan(ctx, out, "info")


KERNELS = {"cholesky": cholesky_kernel, "triangular_solve": triangular_solve_kernel, "solve": solve_kernel}
"""The skeleton of each linear algebra kernel kind."""
