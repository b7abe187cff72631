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
fewer large kernels (its small ones run serially: :func:`parallel_if`).

No ``goto`` may leave a region: an error (``err``, written atomically by the failing thread) ends the loop
at the next ``stop``, and the kernel after the ``while`` jumps out as before. The kernels after a failed one
in that trip still run; their failures rank after it (``Ctx.kernel_order``), so the error reported is the
interpreter's first, as when the entry returned at once.

>>> from pyaccad.backends.clike.cgen import Ctx
>>> ctx = Ctx()
>>> with parallel_for(ctx, "schedule(static)", "n > 9"):
...     ctx.emit("for (;;) {}")
>>> ctx.region = True
>>> with parallel_for(ctx, "schedule(static)", "n > 9"):
...     ctx.emit("for (;;) {}")
>>> for line in ctx.lines:
...     print(line.strip())
#pragma omp parallel for schedule(static) if (n > 9)
for (;;) {}
#pragma omp for schedule(static)
for (;;) {}
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pyaccad.backends.clike.cgen import Ctx, product


@dataclass(frozen=True)
class Size:
    """The test of a loop over an array's elements: whether they are more than ``threshold``, the product of
    its extents (``slots`` of ``E``), which are known at generation as they were traced."""

    slots: tuple[int, ...]
    threshold: int

    def c(self, ctx: Ctx) -> str:
        """The test as C."""
        return f"{product([ctx.extent(n) for n in self.slots])} > {self.threshold}"

    def holds_as_traced(self, ctx: Ctx) -> bool:
        """Whether it holds at the traced extents (``ctx.ints``)."""
        return math.prod(ctx.ints[n] for n in self.slots) > self.threshold


SERIAL_COPY_LINES = 80
"""The longest loop (in lines of C) that :func:`parallel_if` copies: every copy is compiled, and a long loop does
enough work per element that the region's entry matters less."""


@contextmanager
def parallel_if(ctx: Ctx, pragma: str, test: str | Size) -> Iterator[None]:
    """The statement emitted inside (a loop, a block), under the parallel construct ``pragma`` when ``test`` (C,
    or a :class:`Size`) holds: an ``if`` clause, or, in a loop's body outside a region (``ctx.serial_copies``,
    :func:`serial_copies`), two copies, the parallel one when ``test`` holds and a plain one otherwise, and only
    the plain one where ``test`` is a :class:`Size` that fails at the traced extents (the source then differs
    past the threshold).

    A parallel region costs its entry even when the clause keeps it on one thread (about 0.2 µs on the 2-core
    machine): a loop body of 20 small kernels paid that on every kernel of every trip, more than the kernels'
    own work for the LSTM's 14-element arrays. Compiling both copies of every small loop of the LSTM gradient's
    reverse trip took gcc half again as long as the plain copies alone; a loop longer than
    :data:`SERIAL_COPY_LINES` keeps its clause.

    >>> ctx = Ctx()
    >>> ctx.indent = 0
    >>> def loop(test):
    ...     with parallel_if(ctx, "#pragma omp parallel for", test), ctx.block("for (j = 0; j < n; j++)"):
    ...         ctx.emit("x[j] = 0;")
    >>> with serial_copies(ctx):
    ...     loop("n > 9")
    >>> print("\\n".join(ctx.lines))
    if (n > 9) {
    #pragma omp parallel for
    for (j = 0; j < n; j++) {
        x[j] = 0;
    }
    } else {
    for (j = 0; j < n; j++) {
        x[j] = 0;
    }
    }
    >>> ctx.lines, ctx.ints = [], [2, 3]  # E[0] * E[1] is 6 as traced
    >>> with serial_copies(ctx):
    ...     loop(Size((0, 1), 9))
    >>> [line.strip() for line in ctx.lines]
    ['for (j = 0; j < n; j++) {', 'x[j] = 0;', '}']
    >>> loop(Size((0, 1), 9))  # outside a loop's body: the clause
    >>> ctx.lines[3]
    '#pragma omp parallel for if (E[0]*E[1] > 9)'
    """
    condition = test if isinstance(test, str) else test.c(ctx)
    if not ctx.serial_copies:
        ctx.emit(f"{pragma} if ({condition})")
        yield
        return
    if isinstance(test, Size) and not test.holds_as_traced(ctx):
        yield
        return
    with ctx.capture() as statement:
        yield
    if len(statement) > SERIAL_COPY_LINES:  # a long loop costs more to compile twice than a region's entry
        ctx.emit(f"{pragma} if ({condition})")
        ctx.lines += statement
        return
    ctx.emit(f"if ({condition}) {{")
    ctx.emit(pragma)
    ctx.lines += statement
    ctx.emit("} else {")
    ctx.lines += statement
    ctx.emit("}")


@contextmanager
def serial_copies(ctx: Ctx) -> Iterator[None]:
    """Emit a loop's body (outside a region) inside: each :func:`parallel_if` in it gets its serial copy."""
    before, ctx.serial_copies = ctx.serial_copies, True
    try:
        yield
    finally:
        ctx.serial_copies = before


@contextmanager
def parallel_for(ctx: Ctx, clauses: str, test: str | Size | None) -> Iterator[None]:
    """The loop emitted inside as a parallel loop: its own region (when ``test`` holds, if one is given:
    :func:`parallel_if`), or, inside a loop's region, a worksharing loop (every thread of the team meets it; no
    ``if``: its size is the same for all, and a small one costs a barrier, as a ``single`` would)."""
    if ctx.region:
        ctx.emit(f"#pragma omp for {clauses}")
        yield
    elif test is None:
        ctx.emit(f"#pragma omp parallel for {clauses}")
        yield
    else:
        with parallel_if(ctx, f"#pragma omp parallel for {clauses}", test):
            yield


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
