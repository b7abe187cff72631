"""Loops (``awhile``'s host-side C) as functions of their own, each with the loops inside it called.

gcc's register allocation and its data-flow passes grow faster than the size of a function: the second
derivative of a loop (loops inside loops inside ``acond`` branches) was one function of 5 800 lines that took
gcc 12-14 s of CPU (30-40 s of wall time under load) on one core, most of it in ``df live regs``,
``integrated RA`` and LRA. So :func:`.program._loop` emits each loop inside :meth:`Outliner.loop`, which
collects its lines apart and, where they are at least :data:`OUTLINE_LINES` (the loops inside it made
functions already), makes them a ``static`` function of the same translation unit, called in their place::

    static __attribute__((noinline)) int pyaccad_loop7(void **B, const int64_t *E, double *cur3) {
        int err = 0;
        <the entry's declarations that the loop uses, its run-time integers as locals>
        double *cur9 = b4, *nxt10 = b5;  for (;;) { ... }  /* the loop, as it was */
    done:
        return err;
    }
    ...
    if ((err = pyaccad_loop7(B, E, cur3))) goto done;

What the loop uses from outside it, the generator records as it writes it (:class:`Function`): the buffers
it reads (``ctx.buffers`` is a :class:`Names`, which keeps each name read), the literals and partials it
declared (``ctx.prologue``, which the loop collects apart), the error record ``R`` where it checks bounds
(``ctx.record_rank``, likewise), and, among the names it read, the state pointers of the loops around it
(:mod:`.control`'s ``cur``/``nxt``, which those loops swap between trips and tell their
:class:`.control.Loop`), which it takes as arguments. The function declares the entry's buffers it reads
with the entry's own lines (the same ``restrict`` qualifiers), and reads its run-time integers into locals
(:class:`Extents`). A loop inside another's body is measured with the serial copies of its small parallel
loops (:func:`.region.parallel_if`), as it would inline. The kernels are the same
statements in the same order, so they compute the same bits; an error returns through each function's
``goto done`` as through the entry's. A loop is called once each time it runs, not once a trip: the LSTM
gradient with its trip's kernels as a function of their own took 1.55-1.59 ms against 1.33-1.48 ms (best of
30, three runs each, load 14). Not inside a loop's parallel region (:mod:`.region`): every thread runs the
region's lines, and no ``goto`` may leave it.

``noinline``: gcc inlines a static function called once, which would give back the one large function.

>>> from pyaccad.backends.clike.cgen import Ctx
>>> from pyaccad.ir import ArrayType, FLOAT64, Var
>>> ctx, x, s = Ctx(), Var(ArrayType(FLOAT64, (3,))), Var(ArrayType(FLOAT64, (3,)))
>>> outliner = Outliner(ctx, minimum=3)
>>> ctx.buffers[x] = "in1"
>>> with outliner.loop(ctx) as outer, ctx.block("for (;;)"):
...     outer.state["cur2"] = "double"  # as control.while_kernel tells it, binding its body's state there
...     ctx.buffers[s] = "cur2"
...     with outliner.loop(ctx) as inner, ctx.block("for (;;)"):
...         ctx.emit(f"{ctx.buffers[s]}[0] += {ctx.buffers[x]}[0];")
>>> [line.strip() for line in ctx.lines]
['if ((err = pyaccad_loop0(B, E))) goto done;']
>>> inner, outer = outliner.functions  # the inner one first: defined before its caller
>>> inner.call(), sorted(inner.reads), inner.arguments
('if ((err = pyaccad_loop1(B, E, cur2))) goto done;', ['cur2', 'in1'], {'cur2': 'double'})
>>> inner.source(["    const double *restrict in1 = B[0];"])[0]
'static __attribute__((noinline)) int pyaccad_loop1(void **B, const int64_t *E, double *cur2) {'
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pyaccad.backends.clike.cgen import Ctx
from pyaccad.backends.native.control import Loop
from pyaccad.ir import Var

OUTLINE_LINES = 60
"""The fewest lines of a loop made a function of its own: below it the call and the declarations cost about
as much to compile as they save."""


class Names(dict[Var, str]):
    """The native generator's ``ctx.buffers``: the C name of each array's buffer, keeping in :attr:`read` each
    name read (what the code being emitted uses: a loop's function declares it or takes it as an argument)."""

    def __init__(self) -> None:
        super().__init__()
        self.read: set[str] = set()

    def __getitem__(self, var: Var) -> str:
        return self.use(super().__getitem__(var))

    def use(self, name: str) -> str:
        """``name``, kept in :attr:`read`: for a name the code uses without reading it here."""
        self.read.add(name)
        return name


class Extents:
    """The native generator's ``ctx.extent``: slot ``n`` of the run-time integers as C, ``E[n]``, or, in the lines
    of a loop (:meth:`Ctx.repeating <pyaccad.backends.clike.cgen.Ctx.repeating>`: a host-side ``while``'s, which
    :meth:`Outliner.loop` emits, or a lambda's), the local ``En`` (:func:`extent_locals`), keeping in :attr:`read`
    each slot so written: the function around declares them.

    A local whose address is never taken is loop-invariant to gcc; a load of ``E[n]`` inside a loop, read
    again on every iteration, was not hoisted out of long loops (an element loop of the LSTM's trip), so an
    index built from it was no affine function of the loop index, and a guarded load at it (a ``backpermute``)
    a masked gather that gcc cannot vectorise: the whole loop ran scalar, ``exp`` and ``tanh`` included.
    Outside loops nothing is read again, and a thousand locals live across one long function made gcc 4x slower
    on a 3-D stencil's gradient (the CI suite's compile time): there they stay loads.

    >>> from pyaccad.backends.clike.cgen import Ctx
    >>> ctx = Ctx()
    >>> extents = Extents(ctx)
    >>> extents(3), extents.read
    ('E[3]', set())
    >>> with ctx.repeating():
    ...     extents(3), extents(10), sorted(extents.read)
    ('E3', 'E10', [3, 10])
    """

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.read: set[int] = set()

    def __call__(self, slot: int) -> str:
        if not self.ctx.repeating_lines:
            return f"E[{slot}]"
        self.read.add(slot)
        return f"E{slot}"


def extent_locals(slots: set[int]) -> list[str]:
    """The declarations of the locals ``En`` of ``slots`` (:class:`Extents`), at the top of a function.

    >>> extent_locals({10, 3})
    ['    const int64_t E3 = E[3];', '    const int64_t E10 = E[10];']
    """
    return [f"    const int64_t E{n} = E[{n}];" for n in sorted(slots)]


@dataclass
class Segment:
    """Lines written apart (:meth:`Outliner.apart`): a top-level kernel's, or a branch's."""

    lines: list[str] = field(default_factory=list)
    functions: list[Function] = field(default_factory=list)
    """The functions of its loops."""
    extents: set[int] = field(default_factory=set)
    """The run-time integers its lines read as locals (those of the loops left inline in it)."""


@dataclass
class Function:
    """A loop's C as a function of its own."""

    name: str
    lines: list[str]
    """The loop's block, as emitted (the loops inside it made functions already: their calls)."""
    reads: set[str]
    """The names it reads: the entry's buffers (``R``: it checks bounds) among them, and its own locals."""
    arguments: dict[str, str]
    """The state pointers of the loops around it that it reads: name -> C element type."""
    prologue: list[str]
    """The declarations made for its lines (``ctx.prologue``: literals, the partials of a region's folds)."""
    extents: set[int]
    """The run-time integers its lines read, as locals (:class:`Extents`)."""

    def call(self) -> str:
        """The line calling it where the loop was."""
        return f"if ((err = {self.name}(B, E{''.join(', ' + a for a in self.arguments)}))) goto done;"

    def source(self, declarations: list[str]) -> list[str]:
        """Its lines, with ``declarations``: the entry's that it reads (:attr:`reads`), then :attr:`prologue`."""
        parameters = "".join(f", {ctype} *{a}" for a, ctype in self.arguments.items())
        head = f"static __attribute__((noinline)) int {self.name}(void **B, const int64_t *E{parameters}) {{"
        body = [*extent_locals(self.extents), *self.lines]
        return [head, "    int err = 0;", *declarations, *body, "done:", "    return err;", "}"]


class Outliner:
    """The loops of one program's generation: those being emitted, and the functions made of them."""

    def __init__(self, ctx: Ctx, minimum: int = OUTLINE_LINES) -> None:
        self.names = Names()
        ctx.buffers = self.names
        self.extents = Extents(ctx)
        ctx.extent = self.extents
        self.minimum = minimum
        self.loops: list[Loop] = []
        self.count = 0
        self.functions: list[Function] = []
        """The functions of the loops emitted since :meth:`apart` began (those of its translation unit)."""
        self.record_rank = 0
        """The largest rank a bounds check of a function guards (the program's error record holds the largest
        of it and ``ctx.record_rank``, the rest's)."""

    @contextmanager
    def loop(self, ctx: Ctx) -> Iterator[Loop]:
        """Emit a loop inside: its lines, what it reads and declares and its bounds checks are collected apart,
        then made a :class:`Function` called in their place, or, short, put back where they were."""
        loop, number = Loop(), self.count
        self.count += 1
        extents = self.extents
        outside = self.names.read, ctx.prologue, ctx.record_rank, extents.read
        self.names.read, ctx.prologue, ctx.record_rank, extents.read = set(), [], 0, set()
        self.loops.append(loop)
        try:
            with ctx.capture() as lines, ctx.repeating():
                yield loop
        finally:
            self.loops.pop()
            inside = self.names.read, ctx.prologue, ctx.record_rank, extents.read
            self.names.read, ctx.prologue, ctx.record_rank, extents.read = outside
        read, prologue, rank, slots = inside
        if ctx.region or len(lines) < self.minimum:
            ctx.lines += lines
            self.names.read |= read
            ctx.prologue += prologue
            ctx.record_rank = max(ctx.record_rank, rank)
            extents.read |= slots  # locals of the function around, which declares them
            return
        if rank:
            read.add("R")  # the prelude's PA_FAIL_AT records a failure there
        arguments = {name: ctype for around in self.loops for name, ctype in around.state.items() if name in read}
        function = Function(f"pyaccad_loop{number}", lines, read, arguments, prologue, slots)
        self.functions.append(function)
        self.record_rank = max(self.record_rank, rank)
        self.names.read |= arguments.keys()
        ctx.emit(function.call())

    @contextmanager
    def apart(self, ctx: Ctx) -> Iterator[Segment]:
        """The lines emitted inside, the functions of their loops and the run-time integers they read as locals,
        in a :class:`Segment` of their own (a translation unit's part, or a branch's function)."""
        segment = Segment()
        outside = self.functions, self.extents.read
        self.functions, self.extents.read = segment.functions, segment.extents
        try:
            with ctx.capture() as lines:
                segment.lines = lines
                yield segment
        finally:
            self.functions, self.extents.read = outside

    def put_back(self, segments: list[Segment]) -> None:
        """The functions and locals of ``segments``, written apart, among those around them after all (the caller
        puts their lines back)."""
        for segment in segments:
            self.functions += segment.functions
            self.extents.read |= segment.extents
