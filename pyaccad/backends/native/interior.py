"""Index-set splitting of a map kernel's last axis: a run where every ``pad`` it reads is known in or out.

A fused ``pad`` (what a ``slice`` transposes into: the cotangent of a
stencil's shifted neighbours, of a concatenation, of a window) tests, for
every element, whether its source index is inside the padded array, and reads
it or the padding value: a branch per element and per pad, which keeps gcc
from vectorising the loop. Along the last axis the index each pad sees is an
affine function ``a·j + b`` of the loop index ``j`` (slices scale and shift
it, ``reverse`` negates it, element-wise operations pass it on), known before
run time, so each pad's test holds on one interval of ``j``. :func:`split`
picks a run ``[lo, hi)`` of ``j`` inside which every pad that is read there
is known to be inside (read without a test) or outside (its value): the
map skeleton runs that run as a plain contiguous loop and the rest with the
tests (:func:`pyaccad.backends.native.map.map_kernel`).

The reverse trip of the heat equation (the transposed clamped stencil, five
pads of slices per element) becomes a vector loop over ``[1, n - 1)``::

    bh[j] = ax[j] + (j-1 in [0, n-1) ? au[j-1] : 0) + (j+1 < n ? au[j+1] : 0) + (j == n-1 ? ..) + (j == 0 ? ..)
    interior [1, n - 1): the first two known inside, the edge terms known outside

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> grad = ad.grad(lambda x: (acc.stencil(lambda n: n[0] * n[2], x, 3, "clamp") ** 2).sum())
>>> known, lo, hi = split(*_last_kernel(grad, np.ones(10)))  # the cotangent's kernel
>>> sorted(known.values()), (lo, hi)  # x[j-1] and x[j+1] known inside, the edge terms outside
([False, False, True, True], (1, 9))
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pyaccad.backends.clike.cgen import Ctx
from pyaccad.frontend import trace
from pyaccad.ir import Stmt, Var
from pyaccad.opt import optimize
from pyaccad.opt.fusion import plan_program
from pyaccad.opt.kernels import Kernel

Affine = tuple[int, int] | None
"""``(a, b)``: an array's last-axis index is ``a·j + b`` at the loop index ``j``; None where it is not affine."""

MIN_FRACTION = 2
"""The run must cover at least 1/MIN_FRACTION of the axis to be worth a second copy of the loop body."""


def _last_kernel(fn: Callable, *args: np.ndarray) -> tuple[Ctx, Kernel]:
    """The examples' set-up: the last kernel of ``fn`` at ``args`` as the native backend plans it, and a context
    that knows the plan's delayed (fused) arrays, which :func:`split` and :func:`segments` walk into."""
    plan = plan_program(optimize(trace(fn, *args).program, "native"))
    ctx = Ctx()
    ctx.delayed.update(plan.delayed)
    return ctx, plan.kernels[-1]


def split(ctx: Ctx, kernel: Kernel) -> tuple[dict[Stmt, bool], int, int] | None:
    """``(known, lo, hi)``: on ``lo <= j < hi`` each pad in ``known`` is inside (True) or outside (False).

    None when the kernel reads no pad along its last axis, or the run would be short. A pad reached along a
    path whose index is not affine in ``j``, or known both ways, is left out of ``known`` (tested as usual).
    """
    shape = kernel.outs[0].shape
    if not shape or shape[-1] < 2 * MIN_FRACTION:
        return None
    walk = _Walk(ctx, shape[-1])
    for stmt in kernel.roots:
        walk.producer(stmt, (1, 0))
    known = {s: v for s, v in walk.marks.items() if v is not None}
    if not known or (walk.hi - walk.lo) * MIN_FRACTION < shape[-1]:
        return None
    return known, walk.lo, walk.hi


MAX_SEGMENTS = 16
"""At most this many runs in :func:`segments` (each is a copy of the loop body, compiled)."""


def segments(ctx: Ctx, kernel: Kernel) -> list[tuple[int, int, dict[Stmt, bool]]] | None:
    """Runs ``(lo, hi, known)`` covering the last axis, on each of which every pad in ``known`` is inside (True) or
    outside (False): where :func:`split` finds no run covering most of the axis, because the pads tile it.

    The cotangent of slices that tile an axis (an LSTM's gate weights, ``w[k·b : (k+1)·b]``) is a sum of pads,
    each inside on its own run: every element tested every pad (16 of them, 0.6 µs per 224 elements in the
    LSTM's reverse trip), where a run per slice reads its one term. None when no pad is known on any run, or
    the runs would be more than :data:`MAX_SEGMENTS`.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> grad = ad.grad(lambda x: (acc.sin(x[:4]) * x[4:8] + x[8:]).sum())
    >>> [(lo, hi, sorted(known.values())) for lo, hi, known in segments(*_last_kernel(grad, np.ones(12)))]
    [(0, 4, [False, False, True]), (4, 8, [False, False, True]), (8, 12, [False, False, True])]
    """
    shape = kernel.outs[0].shape
    if not shape:
        return None
    walk = _Runs(ctx, shape[-1])
    for stmt in kernel.roots:
        walk.producer(stmt, (1, 0))
    runs = {stmt: run for stmt, run in walk.runs.items() if run is not None}
    cuts = sorted({0, shape[-1], *(min(max(c, 0), shape[-1]) for run in runs.values() for c in run)})
    if not runs or len(cuts) - 1 > MAX_SEGMENTS:
        return None
    return [
        (lo, hi, {s: a <= lo and hi <= b for s, (a, b) in runs.items()}) for lo, hi in zip(cuts, cuts[1:], strict=False)
    ]


class _Walk:
    """The delayed producers of a kernel, from its roots down, each with the affine index its last axis gets."""

    def __init__(self, ctx: Ctx, n: int) -> None:
        self.ctx = ctx
        self.lo, self.hi = 0, n
        self.marks: dict[Stmt, bool | None] = {}
        self.seen: set[tuple[int, Affine]] = set()

    def read(self, var: object, affine: Affine) -> None:
        stmt = self.ctx.delayed.get(var) if isinstance(var, Var) else None
        if stmt is not None:
            self.producer(stmt, affine)

    def producer(self, stmt: Stmt, affine: Affine) -> None:
        if (id(stmt), affine) in self.seen:
            return
        self.seen.add((id(stmt), affine))
        name, out = stmt.prim.name, stmt.outs[0]
        if name == "pad":
            self.pad(stmt, affine)
            return
        for arg in stmt.args:
            if isinstance(arg, Var):
                self.read(arg, _through(name, stmt, arg, out, affine))

    def pad(self, stmt: Stmt, affine: Affine) -> None:
        x = stmt.args[0]
        p = stmt.params
        axes = range(len(p["lo"]) - 1)
        plain = all(p["lo"][a] == p["hi"][a] == p["interior"][a] == 0 for a in axes) and p["interior"][-1] == 0
        if affine is None or affine[0] not in (-1, 0, 1) or not plain:
            self.mark(stmt, None)
            self.read(x, None)
            return
        a, b = affine
        shift, n = p["lo"][-1], x.shape[-1]
        if a == 0:  # one source index for every j
            inside = 0 <= b - shift < n
        else:  # 0 <= a·j + b - shift < n for j in [first, first + n)
            first = shift - b if a == 1 else b - shift - n + 1
            start, stop = max(first, self.lo), min(first + n, self.hi)
            inside = 2 * (stop - start) >= self.hi - self.lo
            if inside:
                self.lo, self.hi = start, stop
            else:  # outside: the longer of the two sides of the interval
                left, right = min(start, self.hi), max(stop, self.lo)
                if left - self.lo >= self.hi - right:
                    self.hi = left
                else:
                    self.lo = right
        self.mark(stmt, inside)
        if inside:
            self.read(x, (a, b - shift))

    def mark(self, stmt: Stmt, inside: bool | None) -> None:
        if stmt in self.marks and self.marks[stmt] != inside:
            inside = None
        self.marks[stmt] = inside


def _through(name: str, stmt: Stmt, arg: Var, out: Var, affine: Affine) -> Affine:
    """The affine last-axis index at which ``stmt`` reads ``arg`` when its result is read at ``affine``."""
    if affine is None:
        return None
    a, b = affine
    family = stmt.prim.family
    if family == "elementwise" or name == "map":
        return affine if arg.shape == out.shape else None
    if name == "slice":
        start, step = stmt.params["starts"][-1], stmt.params["steps"][-1]
        return a * step, start + b * step
    if name == "reverse":
        return (-a, arg.shape[-1] - 1 - b) if arg.type.ndim - 1 in stmt.params["axes"] else affine
    if name == "broadcast_in_dim":
        dims = stmt.params["dims"]
        if not dims or dims[-1] != out.type.ndim - 1:
            return None
        return affine if arg.shape[-1] == out.shape[-1] else (0, 0) if arg.shape[-1] == 1 else None
    if name == "transpose":
        return affine if stmt.params["perm"][-1] == arg.type.ndim - 1 else None
    if name == "reshape":
        same = [k for k in arg.shape if k != 1] == [k for k in out.shape if k != 1]
        return affine if same and arg.shape and arg.shape[-1] == out.shape[-1] != 1 else None
    if name == "concatenate":
        return affine if stmt.params["axis"] != out.type.ndim - 1 else None
    return None


class _Runs(_Walk):
    """As :class:`_Walk`, every pad walked: ``runs[pad]`` is the run ``[a, b)`` of the loop index on which it reads
    inside along the last axis (None where that is not one run of an affine index, or differs between two reads of
    the pad). A pad may pad other axes too (not with interior padding): their tests stay in the loop."""

    def __init__(self, ctx: Ctx, n: int) -> None:
        super().__init__(ctx, n)
        self.runs: dict[Stmt, tuple[int, int] | None] = {}

    def pad(self, stmt: Stmt, affine: Affine) -> None:
        x, p = stmt.args[0], stmt.params
        run: tuple[int, int] | None = None
        inner: Affine = None
        if affine is not None and affine[0] in (-1, 0, 1) and not any(p["interior"]):
            a, b = affine
            shift, n = p["lo"][-1], x.shape[-1]
            if a == 0:  # one source index for every j: inside everywhere or nowhere
                run = (0, self.hi) if 0 <= b - shift < n else (0, 0)
            else:
                first = shift - b if a == 1 else b - shift - n + 1
                run = (first, first + n)
            inner = (a, b - shift)
        if stmt in self.runs and self.runs[stmt] != run:
            run = None
        self.runs[stmt] = run
        self.read(x, inner)
