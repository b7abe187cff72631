"""CUDA kernels of ``cholesky``, ``triangular_solve`` and ``solve``: one thread per matrix of the batch.

Correct first, not fast: each thread factorises or solves its matrix with
the textbook loops (Cholesky–Banachiewicz, substitution, Gaussian
elimination with partial pivoting on ``[A | B]``), so a batch of many small
matrices uses the GPU and one large matrix uses one thread of it (cuSOLVER
would be the fast path). ``solve`` keeps its LU factors in the thread's own
(local) memory, so it takes matrices up to :data:`MAX_SOLVE` square; a
larger one is a :class:`~pyaccad.CompileError` naming the limit. Failures
give NaNs as on the other backends (not positive definite, a zero pivot); a
zero on a triangular matrix's diagonal divides to infinities, as ``trsm`` does.

>>> MAX_SOLVE
64
"""

from __future__ import annotations

import math
from collections.abc import Callable

from pyaccad.backends.clike.cgen import CTYPE, Ctx, product
from pyaccad.errors import CompileError
from pyaccad.opt.kernels import Kernel

MAX_SOLVE = 64
"""The largest ``n`` of an ``n × n`` matrix ``solve`` runs on: its ``n²`` LU factors live in one thread's memory."""

_CHOLESKY = """
{T} *x = {out} + q * {n} * {n};
const {T} *a = {a} + q * {n} * {n};
bool ok = true;
for (int64_t i = 0; i < {n}; i++) {{
    for (int64_t j = 0; j <= i; j++) {{
        {T} s = a[i * {n} + j];
        for (int64_t p = 0; p < j; p++) s -= x[i * {n} + p] * x[j * {n} + p];
        if (i == j) {{ ok = ok && s > 0; x[i * {n} + i] = sqrt(s); }}
        else x[i * {n} + j] = s / x[j * {n} + j];
    }}
    for (int64_t j = i + 1; j < {n}; j++) x[i * {n} + j] = 0;
}}
if (!ok) for (int64_t e = 0; e < {n} * {n}; e++) x[e] = {nan};
"""

_TRIANGULAR = """
{T} *x = {out} + q * {n} * {k};
const {T} *a = {a} + q * {n} * {n};
const {T} *b = {b} + q * {n} * {k};
for (int64_t c = 0; c < {k}; c++) {{
    for (int64_t r = 0; r < {n}; r++) {{
        const int64_t i = {forward} ? r : {n} - 1 - r;
        {T} s = b[i * {k} + c];
        for (int64_t t = 0; t < r; t++) {{
            const int64_t j = {forward} ? t : {n} - 1 - t;
            s -= ({transposed} ? a[j * {n} + i] : a[i * {n} + j]) * x[j * {k} + c];
        }}
        x[i * {k} + c] = s / a[i * {n} + i];
    }}
}}
"""

_SOLVE = """
{T} *x = {out} + q * {n} * {k};
const {T} *a = {a} + q * {n} * {n};
{T} lu[{size}];
for (int64_t e = 0; e < {n} * {n}; e++) lu[e] = a[e];
for (int64_t e = 0; e < {n} * {k}; e++) x[e] = {b}[q * {n} * {k} + e];
bool ok = true;
for (int64_t j = 0; j < {n} && ok; j++) {{
    int64_t p = j;
    for (int64_t i = j + 1; i < {n}; i++) if (fabs(lu[i * {n} + j]) > fabs(lu[p * {n} + j])) p = i;
    ok = lu[p * {n} + j] != 0;
    for (int64_t c = 0; c < {n}; c++) {{
        const {T} t = lu[j * {n} + c]; lu[j * {n} + c] = lu[p * {n} + c]; lu[p * {n} + c] = t;
    }}
    for (int64_t c = 0; c < {k}; c++) {{
        const {T} t = x[j * {k} + c]; x[j * {k} + c] = x[p * {k} + c]; x[p * {k} + c] = t;
    }}
    for (int64_t i = j + 1; i < {n} && ok; i++) {{
        const {T} f = lu[i * {n} + j] / lu[j * {n} + j];
        for (int64_t c = j; c < {n}; c++) lu[i * {n} + c] -= f * lu[j * {n} + c];
        for (int64_t c = 0; c < {k}; c++) x[i * {k} + c] -= f * x[j * {k} + c];
    }}
}}
for (int64_t i = {n} - 1; i >= 0 && ok; i--)
    for (int64_t c = 0; c < {k}; c++) {{
        {T} s = x[i * {k} + c];
        for (int64_t j = i + 1; j < {n}; j++) s -= lu[i * {n} + j] * x[j * {k} + c];
        x[i * {k} + c] = s / lu[i * {n} + i];
    }}
if (!ok) for (int64_t e = 0; e < {n} * {k}; e++) x[e] = {nan};
"""


def _fill(ctx: Ctx, kernel: Kernel, template: str, **extra: object) -> Callable[[str], None]:
    """One matrix's code (``template`` filled with its extents and buffers) as a work item."""
    (stmt,) = kernel.roots
    out = stmt.outs[0]
    shape = ctx.shape(out)
    buffers = dict(zip(("a", "b"), (ctx.buffers[v] for v in stmt.args), strict=False))
    text = template.format(
        T=CTYPE[out.dtype],
        out=ctx.buffers[out],
        n=shape[-2],
        k=shape[-1],
        nan=f'({CTYPE[out.dtype]})nan("")',
        **buffers,
        **extra,
    )

    def item(w: str) -> None:
        with ctx.block():
            ctx.emit(f"const int64_t q = {w};")
            for line in text.strip().splitlines():
                ctx.emit(line)

    return item


def _params(kernel: Kernel) -> dict[str, object]:
    (stmt,) = kernel.roots
    name, shape = stmt.prim.name, stmt.outs[0].type.shape  # static: the local array's size is a constant
    if name == "triangular_solve":
        lower, transposed = stmt.params["lower"], stmt.params["transpose_a"]
        return {"forward": int(lower != transposed), "transposed": int(transposed)}
    if name == "solve":
        if shape[-2] > MAX_SOLVE:
            raise CompileError(
                f"cuda: solve of {shape[-2]}×{shape[-2]} matrices: the one-thread-per-matrix kernel takes at most "
                f"{MAX_SOLVE}×{MAX_SOLVE}; use the native backend"
            )
        return {"size": max(1, shape[-2] ** 2)}
    return {}


TEMPLATES = {"cholesky": _CHOLESKY, "triangular_solve": _TRIANGULAR, "solve": _SOLVE}


def linalg_body(ctx: Ctx, kernel: Kernel, grid_loop: Callable[[Ctx, str, Callable[[str], None]], None]) -> None:
    """The kernel body: a grid-stride loop over the batch's matrices, one per work item."""
    shape = ctx.shape(kernel.outs[0])
    item = _fill(ctx, kernel, TEMPLATES[kernel.kind], **_params(kernel))
    grid_loop(ctx, product(shape[:-2]), item)


def matrices(kernel: Kernel) -> int:
    """The work items of a linear algebra kernel: its batch of matrices."""
    return math.prod(kernel.roots[0].outs[0].type.shape[:-2])
