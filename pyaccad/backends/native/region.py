"""One OpenMP parallel region around a whole ``awhile`` whose trips hold several large kernels.

Outside such a loop each kernel of a trip enters a parallel region of its own
(``#pragma omp parallel for ... if (size > PARALLEL_MIN)``): a fork and a join
per kernel and trip, some microseconds each on idle cores and much more on
shared ones. When a loop's condition and body together hold
:data:`.control.MIN_PARALLEL` or more kernels above that threshold (at the traced
extents), :func:`.control.while_kernel` instead opens one region for the
whole loop, and every thread runs the loop's control redundantly::

    #pragma omp parallel
    for (;;) {
        <cond kernels: `omp for` loops>
        #pragma omp single
        stop0 = err || !going[0];         /* single's barrier: every thread reads the same stop0 */
        if (stop0) break;
        <body kernels: `omp for` loops>
        #pragma omp single
        { swap(cur, nxt); stop1 = err; }  /* the pointers are the function's locals: shared */
        if (stop1) break;
    }

Inside (``ctx.region``) the skeletons emit worksharing loops (:func:`parallel_for`) over the same
iteration spaces with the same static schedules, so every element, every row's reduction and every slice
of a split fold (:data:`.fold.SLICES`, combined in slice order) is computed exactly as before: the results
are bit-identical to the per-kernel regions'. The implicit barrier at the end of each ``omp for`` orders a
kernel before those reading it. Writes of one value (a rank-0 result, a combined fold, a copy, a swap) run
under ``omp single`` (:func:`one_thread`); the tests and the swaps join the ``single`` that ends the
condition's or the body's plan where there is one (:func:`.control.once`: a barrier fewer each). A GEMM
keeps its blocks, one per thread of the team (:mod:`.blas`). A scan, or a scatter that runs on one thread
anyway or is small, runs under ``single`` as it is; a large parallel one, a nested ``while`` or ``acond``
or a LAPACK call keeps the loop on the per-kernel path (:func:`.control.one_region`), as does a loop with
fewer large kernels (its small ones run serially: :func:`.control.serial_when_small`).

No ``goto`` may leave a region: an error (``err``, written atomically by the failing thread) ends the loop
at the next ``stop``, and the kernel after the ``while`` jumps out as before. The kernels after a failed one
in that trip still run; their failures rank after it (``Ctx.kernel_order``), so the error reported is the
interpreter's first, as when the entry returned at once.

>>> from pyaccad.backends.clike.cgen import Ctx
>>> ctx = Ctx()
>>> parallel_for(ctx, "schedule(static)", "n > 9")
>>> ctx.region = True
>>> parallel_for(ctx, "schedule(static)", "n > 9")
>>> [line.strip() for line in ctx.lines]
['#pragma omp parallel for schedule(static) if (n > 9)', '#pragma omp for schedule(static)']
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pyaccad.backends.clike.cgen import Ctx


def parallel_for(ctx: Ctx, clauses: str, condition: str | None) -> None:
    """The pragma of a parallel loop: its own region (when ``condition`` holds, if one is given), or, inside
    a loop's region, a worksharing loop (every thread of the team meets it; no ``if``: its size is the same
    for all, and a small one costs a barrier, as a ``single`` would)."""
    if ctx.region:
        ctx.emit(f"#pragma omp for {clauses}")
    elif condition is None:
        ctx.emit(f"#pragma omp parallel for {clauses}")
    else:
        ctx.emit(f"#pragma omp parallel for {clauses} if ({condition})")


@contextmanager
def one_thread(ctx: Ctx) -> Iterator[None]:
    """Inside a region, what is emitted inside runs on one thread, in a block under ``omp single`` (whose
    barrier after it orders it before what reads it); a region of its own in there (a small scatter's) is
    nested, so it runs on that one thread. Outside a region: emitted as it is.

    >>> ctx = Ctx()
    >>> ctx.region = True
    >>> with one_thread(ctx):
    ...     ctx.emit("out[0] = 1;")
    >>> [line.strip() for line in ctx.lines]
    ['#pragma omp single', '{', 'out[0] = 1;', '}']
    """
    if not ctx.region:
        yield
        return
    ctx.region = False
    try:
        with ctx.single():
            yield
    finally:
        ctx.region = True
