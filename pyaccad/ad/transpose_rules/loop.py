"""Transposing the forward-mode ``while``: reverse from a tape of states, or by bisection over checkpoints.

**The tape** (``acc.awhile``'s ``checkpoint=None`` or ``1``, the default). The
forward pass (``record``) runs the loop again with a tape per primal state
component that the transposed trips read, and stores the state before trip
``k`` in slot ``k``: a ``permute`` writing that slot alone, which the native
and cuda ``awhile`` run in place (:func:`pyaccad.opt.kernels.in_place_components`),
so a trip costs the state's size, not the tape's. The reverse loop reads slot
``n - 1`` down to 0 and transposes each trip there: ``n`` body runs forward,
``n`` transposed trips, O(n). The forward pass runs only the components that
the condition and the tapes need: a component whose tangent never reads it
(the constant partials of a linear body, a running sum) is neither stored nor
recomputed, so a linear loop (the heat equation) stores nothing and its
forward pass only counts the trips.

Static shapes allocate a tape whole, before the trip count is known: at most
``TAPE_SLOTS`` states (1024) and ``PYACCAD_LOOP_TAPE_MB`` MiB (default 64,
read when the gradient is traced). A loop that runs more trips than the tape
holds is reversed by bisection (below), chosen at run time by an ``acond``; a
state too large for even one slot is reversed by bisection alone.

**The mixed tape** (``checkpoint=k``, an int above 1): the tape stores the
state before every k-th trip; trip ``j`` advances the state stored before its
segment by ``j mod k`` trips: ``n·(k-1)/2`` more body runs, ``1/k`` of the
memory, the same budget and fallback.

**Bisection** (``checkpoint="bisect"``, and the fallback). The reverse loop
recomputes primal states, keeping at most ``K`` of them (checkpoints). One
forward pass counts the trips ``n``. To reverse the trips ``[lo, hi)`` given
the state at ``lo``: a short segment (``hi - lo <= LEAF_STEPS``) is reversed
trip by trip, from ``hi - 1`` down, each state recomputed from the one at
``lo`` and the transposed linear part of the body applied there; a longer
one advances to ``mid = (lo + hi) // 2``, reverses ``[mid, hi)`` from that
state, then ``[lo, mid)`` from the state at ``lo``. The recursion is an
explicit stack machine, one reverse ``while`` whose state is

    (sp, lo[K], hi[K], stack_j[K, *shape_j] per primal component, state cotangents, free cotangents)

Each trip reads the segment ``[lo, hi)`` on top of the stack and advances its
state to a target in an inner ``while``: at a leaf (a short segment, or a
full stack) to ``hi - 1``, where it transposes that trip and shortens the
segment to ``[lo, hi - 1)``, popping it once empty; otherwise to ``mid``,
where it *pushes* ``[mid, hi)`` with that state and shortens the top segment
to ``[lo, mid)``. Both cases run the same statements, chosen by ``select``:
a ``cond`` would be re-traced by ``vmap`` at every level of nesting, which
grows exponentially with the loops nested in a second derivative.

Cost, for ``LEAF_STEPS = 4``: about ``n/2 · log2 n`` primal body runs to
advance (352 for ``n = 100``, 5 420 for ``n = 1000``), against ``n²/2`` for
recomputing every state from the initial one (4 950, 499 500); ``n`` plus
one per push (about ``n/4``) transposed trips, a push discarding its own;
``n`` more body runs in the forward pass that counts the trips. Every trip
of the reverse loop rewrites the stack (a ``select`` of the one slot: no
pure operation writes one slot alone), ``O(K · |state|)`` element
operations. Extra memory: ``K`` states. ``K`` is static, chosen at trace
time by :func:`checkpoint_levels`: 32, fewer for a state so large that the
stack would pass ``CHECKPOINT_BYTES`` (1 MiB), at least 4. The stack
reverses ``LEAF_STEPS · 2**(K-1)`` trips without loss. Beyond that it fills
up, and a full stack's top segment (of length about ``n / 2**(K-1)``) is
reversed like a short one: quadratic in its length, but always exact.
``K = 1`` is plain recomputation from the initial state.

Scalar ``while_`` loops inside lambdas never reach this rule: lambdas are
differentiated by forward mode (:mod:`pyaccad.ad.lambdas.partials`). When
their bodies read a differentiated array, though, the lanes' loops together
are a loop over arrays (:mod:`pyaccad.ad.lambdas.loop_reads`), reversed by
this module's :func:`record`, :func:`replay` and :func:`bisect` under the
same policies and budget (a :class:`Reversible`).

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> power = lambda x: acc.awhile(lambda s: s[1] < 10, lambda s: (s[0] * x, s[1] + 1), (np.float64(1.0), np.int64(0)))[0]
>>> acc.jit(ad.grad(power))(np.array(2.0))  # 10 x**9
array(5120.)

All three policies give one gradient (``tests/ad/test_loop_reverse.py`` runs every loop test under each).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from pyaccad.ad.emitters import counted_loop, op
from pyaccad.ad.linearize import dce, primal_outputs, restrict
from pyaccad.ad.tangents import Tan, Zero, instantiate, is_zero
from pyaccad.ad.transpose import Contributions, TransposeContext, register
from pyaccad.ad.transpose_rules.control import linear_free, transpose_body
from pyaccad.errors import ArgumentError
from pyaccad.frontend import lambdas
from pyaccad.frontend.operators import where
from pyaccad.frontend.permutations import permute
from pyaccad.frontend.tracing import Value, call_program, emit, trace_program, value_of
from pyaccad.ir import INDEX_DTYPE, ArrayType, Atom, Lit, Program, Stmt, Var, scalar_type

CHECKPOINT_LEVELS = 32
"""The most checkpoints a reverse loop keeps (a setting: tests lower it to exercise a full stack)."""

CHECKPOINT_BYTES = 1 << 20
"""The budget of one reverse loop's checkpoint stack; at least ``MIN_LEVELS`` are kept whatever their size.

Every trip of the reverse loop rewrites the whole stack, so the budget bounds time more than memory (see
BENCHMARKS.md: 200 trips over 100 000 float64 took 1.6 s with 32 levels, 0.3 s with 4)."""

MIN_LEVELS = 4

TAPE_SLOTS = 1024
"""The most states a loop's tape holds: static shapes allocate the whole tape, whatever the trip count, so this
bounds what a short loop pays for it (a setting: tests lower it to force the fallback)."""

DEFAULT_TAPE_MB = 64.0
"""The default memory budget of one loop's tape, in MiB (``PYACCAD_LOOP_TAPE_MB`` overrides it)."""

DEFAULT_CHECKPOINT: int | str = 1
"""The policy of a loop that names none (``acc.awhile(..., checkpoint=None)``): store every state."""

LEAF_STEPS = 4
"""Segments this short are reversed by recomputing each state from the segment's checkpoint: fewer pushes (each a
trip of the reverse loop, rewriting the stack) for a few more body runs."""


def checkpoint_levels(state_bytes: int) -> int:
    """``K``, the size of the checkpoint stack of a loop whose primal state takes ``state_bytes``.

    >>> checkpoint_levels(8), checkpoint_levels(1 << 17), checkpoint_levels(1 << 30)
    (32, 8, 4)
    """
    return min(CHECKPOINT_LEVELS, max(MIN_LEVELS, CHECKPOINT_BYTES // max(state_bytes, 1)))


def tape_budget() -> int:
    """The tape budget in bytes: ``PYACCAD_LOOP_TAPE_MB`` (MiB, read when a gradient is traced) or the default.

    >>> tape_budget() == int(DEFAULT_TAPE_MB * 2**20) or "PYACCAD_LOOP_TAPE_MB" in os.environ
    True
    """
    raw = os.environ.get("PYACCAD_LOOP_TAPE_MB", "").strip()
    try:
        mib = float(raw) if raw else DEFAULT_TAPE_MB
    except ValueError:
        mib = -1.0
    if not mib >= 0:
        raise ArgumentError(f"awhile gradient: PYACCAD_LOOP_TAPE_MB={raw!r} is not a number of MiB >= 0")
    return int(mib * 2**20)


def tape_slots(state_bytes: int) -> int:
    """How many states of ``state_bytes`` a tape holds: 0 means the loop is reversed by bisection alone.

    >>> tape_slots(16), tape_slots(1 << 30)
    (1024, 0)
    """
    return min(TAPE_SLOTS, tape_budget() // max(state_bytes, 1))


def checkpoint_stride(policy: int | str | None) -> int | None:
    """The tape's stride of a loop's ``checkpoint`` policy (``None``: bisection), see :func:`pyaccad.awhile`.

    >>> checkpoint_stride(None), checkpoint_stride(4), checkpoint_stride("bisect")
    (1, 4, None)
    """
    if policy is None:
        policy = DEFAULT_CHECKPOINT
    return None if policy == "bisect" else int(policy)


class Reversible(Protocol):
    """A loop as the reverse passes (:func:`replay`, :func:`bisect`) see it: a primal state of ``state_types``
    and a reverse state of ``n_lin`` state cotangents followed by accumulated cotangents. The ``while`` rule's
    loops are these, and so are the lock-step loops over a lambda's lanes (:mod:`pyaccad.ad.lambdas.loop_reads`).
    """

    @property
    def state_types(self) -> list[ArrayType]: ...

    @property
    def n_lin(self) -> int: ...

    def advance(self, state: Sequence[Atom], steps: Value) -> list[Atom]:
        """The primal state ``steps`` trips after ``state``."""
        ...

    def step_back(
        self, state: Sequence[Atom], trip: Value, ct_lin: Sequence[Value], acc: Sequence[Value]
    ) -> list[Value]:
        """Trip ``trip`` transposed at its primal ``state``: the state cotangents before it, then ``acc`` plus
        what the trip adds to it."""
        ...


@dataclass(frozen=True)
class _Loop:
    """A forward-mode ``while`` split into its primal components (``primal``, the loop ``p_body`` runs on them)
    and the tangent components ``lin``; ``free`` are the linear variables the body reads. A :class:`Reversible`
    whose accumulated cotangents are those of ``free``."""

    body: Program
    p_body: Program
    primal: list[int]
    lin: list[int]
    free: list[Var]

    @property
    def state_types(self) -> list[ArrayType]:
        return list(self.p_body.input_types)

    @property
    def n_lin(self) -> int:
        return len(self.lin)

    def advance(self, state: Sequence[Atom], steps: Value) -> list[Atom]:
        return counted_loop(None, self.p_body, state, steps.var)[1]

    def step_back(
        self, state: Sequence[Atom], trip: Value, ct_lin: Sequence[Value], acc: Sequence[Value]
    ) -> list[Value]:
        body = self.body
        bound = {body.inputs[j]: s for j, s in zip(self.primal, state, strict=True)}
        outs_ct: list[Tan] = [Zero(a.type) for a in body.outputs]
        for j, c in zip(self.lin, ct_lin, strict=True):
            outs_ct[j] = c.var
        in_ct, free_ct = transpose_body(body, bound, [body.inputs[j] for j in self.lin], self.free, outs_ct)
        new_acc = [a if is_zero(c) else value_of(op("add", a.var, c)) for a, c in zip(acc, free_ct, strict=True)]
        return [*(value_of(instantiate(c)) for c in in_ct), *new_acc]


@register("while")
def _while_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    linear = ctx.linear
    cond, body = stmt.params["cond"], stmt.params["body"]
    primal = primal_outputs(stmt, linear)
    lin = [j for j in range(len(stmt.outs)) if j not in primal]
    dropped = linear | {v for j, v in enumerate(body.inputs) if j not in primal}
    dropped |= {v for j, v in enumerate(cond.inputs) if j not in primal}
    p_body = restrict(body, primal, dropped, [body.inputs[j] for j in primal])
    p_cond = restrict(cond, [0], dropped, [cond.inputs[j] for j in primal])
    loop = _Loop(body, p_body, primal, lin, linear_free(stmt, linear, body.inputs))
    p_init = [stmt.args[j] for j in primal]
    ct_init = [
        *[instantiate(c) for j, c in enumerate(cts) if j in lin],
        *[instantiate(Zero(v.type)) for v in loop.free],
    ]
    stride = checkpoint_stride(stmt.params.get("checkpoint", DEFAULT_CHECKPOINT))
    if stride is None:
        trips = counted_loop(p_cond, p_body, p_init, None)[0]
        results = bisect(loop, p_init, trips, ct_init)
    else:
        results = _taped(loop, p_cond, p_init, stride, ct_init)
    ct_lin, ct_free = results[: len(lin)], results[len(lin) :]
    return [(stmt.args[j], c) for j, c in zip(lin, ct_lin, strict=True)] + list(zip(loop.free, ct_free, strict=True))


def _taped(loop: _Loop, p_cond: Program, p_init: Sequence[Atom], stride: int, ct_init: Sequence[Atom]) -> list[Atom]:
    """The reverse pass from a tape, or by bisection when the loop ran more trips than the tape holds."""
    p_body = loop.p_body
    if stride == 1:  # the tape holds what the transposed trips read, the forward pass runs what that needs
        taped = _read_positions(
            loop.body, [loop.body.outputs[j] for j in loop.lin], [loop.body.inputs[j] for j in loop.primal]
        )
        run = _closure(p_body, taped | _read_positions(p_cond, p_cond.outputs, p_cond.inputs))
    else:  # a segment is advanced from its first state
        taped = run = set(range(len(p_init)))
    tape_positions = sorted(taped)
    state_bytes = sum(p_body.inputs[i].type.size * p_body.inputs[i].type.dtype.itemsize for i in tape_positions)
    slots = tape_slots(state_bytes)
    if slots == 0:
        trips = counted_loop(p_cond, p_body, p_init, None)[0]
        return bisect(loop, p_init, trips, ct_init)
    run_at = sorted(run)
    cond = Program(tuple(p_cond.inputs[i] for i in run_at), p_cond.stmts, p_cond.outputs)
    outputs = tuple(p_body.outputs[i] for i in run_at)
    body = Program(tuple(p_body.inputs[i] for i in run_at), dce(p_body.stmts, outputs), outputs)
    trips, tapes = record(
        lambda k, state: call_program(cond, state)[0],
        lambda state: call_program(body, state),
        [p_init[i] for i in run_at],
        [run_at.index(i) for i in tape_positions],
        stride,
        slots,
    )
    stored = dict(zip(tape_positions, tapes, strict=True))
    if not tape_positions:  # nothing to store: no limit on the trips
        return replay(loop, stored, p_init, stride, trips, ct_init)
    fits = value_of(trips) <= slots * stride
    return tape_or_bisect(fits, loop, lambda: stored, p_init, stride, trips, ct_init)


def tape_or_bisect(
    fits: Value,
    loop: Reversible,
    tapes: Callable[[], dict[int, Atom]],
    p_init: Sequence[Atom],
    stride: int,
    trips: Atom,
    ct_init: Sequence[Atom],
) -> list[Atom]:
    """The reverse pass from the tapes ``tapes()`` (:func:`replay`) if ``fits`` holds at run time, else by
    :func:`bisect`: an ``acond``, so only one of them runs, and tapes that ``tapes`` records are recorded in
    its ``then_`` branch alone."""

    def replayed() -> list[Value]:
        return [value_of(a) for a in replay(loop, tapes(), p_init, stride, trips, ct_init)]

    def bisected() -> list[Value]:
        return [value_of(a) for a in bisect(loop, p_init, trips, ct_init)]

    branches = {"then_": trace_program(replayed, [], "array")[0], "else_": trace_program(bisected, [], "array")[0]}
    return list(emit("cond", (fits.var,), branches))


def _read_positions(program: Program, outputs: Sequence[Atom], inputs: Sequence[Var]) -> set[int]:
    """The positions in ``inputs`` of the variables whose values computing ``outputs`` in ``program`` reads."""
    return {i for i, var in enumerate(inputs) if var in _live(program, outputs)}


def _live(program: Program, outputs: Sequence[Atom]) -> set[Var]:
    """The variables whose values ``outputs`` depend on (backwards from them). A ``map`` or ``stencil`` reads an
    array only if the lambda's needed results read its elements: a forward-mode stencil computes constant partials
    (those of a linear one) from the primal array, which a transposed trip then need not store."""
    live = {a for a in outputs if isinstance(a, Var)}
    for stmt in reversed(program.stmts):
        wanted = [k for k, v in enumerate(stmt.outs) if v in live]
        if not wanted:
            continue
        lam = stmt.params.get("lam") if stmt.prim.name in ("map", "stencil") else None
        if lam is None:
            live.update(a for a in stmt.args if isinstance(a, Var))
            for sub in stmt.subprograms():
                live.update(sub.free_vars)
            continue
        inner = _live(lam, [lam.outputs[k] for k in wanted])
        live.update(v for v in lam.free_vars if v in inner)
        read = [v in inner for v in lam.inputs]
        arrays = zip(stmt.args, read, strict=True) if stmt.prim.name == "map" else [(stmt.args[0], any(read))]
        live.update(a for a, used in arrays if used and isinstance(a, Var))
    return live


def _closure(body: Program, wanted: set[int]) -> set[int]:
    """``wanted`` and the state components the body reads to compute them, trip after trip."""
    while True:
        grown = wanted | _read_positions(body, [body.outputs[i] for i in sorted(wanted)], body.inputs)
        if grown == wanted:
            return wanted
        wanted = grown


def record(
    go: Callable[[Value, list[Value]], Value],
    step: Callable[[list[Value]], list[Value]],
    init: Sequence[Atom],
    taped: Sequence[int],
    stride: int,
    slots: int,
) -> tuple[Atom, list[Atom]]:
    """The forward pass of a taped loop ``while go(k, s): s = step(s)`` from ``init``: ``(trips, tapes)``, the
    tapes holding the components ``taped`` of the state before every ``stride``-th trip, slot by slot, while
    there are slots (later trips write nothing)."""
    n_p = len(init)
    p_types = [a.type for a in init]
    tape_types = [p_types[w].with_shape((slots, *p_types[w].shape)) for w in taped]

    def go_(k: Value, *rest: Value) -> Value:
        return go(k, list(rest[:n_p]))

    def step_(k: Value, *rest: Value) -> list[Value]:
        state, tapes = rest[:n_p], rest[n_p:]
        keep = k < slots if stride == 1 else (k % stride == 0) & (k < slots * stride)
        pos = k if stride == 1 else k // stride
        stored = [_store(t, pos, keep, state[w]) for t, w in zip(tapes, taped, strict=True)]
        return [k + 1, *step(list(state)), *stored]

    types = [scalar_type(INDEX_DTYPE), *p_types, *tape_types]
    init = [
        value_of(Lit(0, INDEX_DTYPE)).var,  # a variable: the native awhile keeps its state in buffers
        *init,
        *(
            op("broadcast_in_dim", init[w], shape=t.shape, dims=tuple(range(1, t.ndim)))
            for w, t in zip(taped, tape_types, strict=True)
        ),
    ]
    params = {"cond": trace_program(go_, types, "array")[0], "body": trace_program(step_, types, "array")[0]}
    trips, *rest = emit("while", tuple(init), params)
    return trips, list(rest[n_p:])


def replay(
    loop: Reversible,
    tapes: dict[int, Atom],
    p_init: Sequence[Atom],
    stride: int,
    trips: Atom,
    ct_init: Sequence[Atom],
) -> list[Atom]:
    """The reverse pass from the tapes: trip ``j`` (from the last down) reads its state, or advances the one stored
    before its segment of ``stride`` trips, and transposes the trip there. A component with no tape is one the
    transposed trips do not read (its initial value stands in)."""
    n_lin = loop.n_lin
    tape_values = {i: value_of(t) for i, t in tapes.items()}

    def back_cond(i: Value, *rest: Value) -> Value:
        return i > 0

    def back_body(i: Value, *cts: Value) -> list[Value]:
        j = _maximum(i - 1, 0)  # clamped: under vmap a finished lane still runs this body (results discarded)
        if stride == 1:
            state = [_read(tape_values[i], j).var if i in tape_values else a for i, a in enumerate(p_init)]
        else:
            state = loop.advance([_read(tape_values[i], j // stride).var for i in range(len(p_init))], j % stride)
        return [i - 1, *loop.step_back(state, j, cts[:n_lin], cts[n_lin:])]

    types = [scalar_type(INDEX_DTYPE), *(a.type for a in ct_init)]
    b_cond, _ = trace_program(back_cond, types, "array")
    b_body, _ = trace_program(back_body, types, "array")
    return list(emit("while", (trips, *ct_init), {"cond": b_cond, "body": b_body})[1:])


def bisect(loop: Reversible, p_init: Sequence[Atom], trips: Atom, ct_init: Sequence[Atom]) -> list[Atom]:
    """The reverse pass by bisection over a checkpoint stack (the module's docstring): the cotangents."""
    p_types = loop.state_types
    levels = checkpoint_levels(sum(t.size * t.dtype.itemsize for t in p_types))
    stack_types = [t.with_shape((levels, *t.shape)) for t in p_types]
    n_stack, n_lin = len(p_types), loop.n_lin

    def back_cond(sp: Value, *rest: Value) -> Value:
        return sp > 0

    def back_body(sp: Value, los: Value, his: Value, *rest: Value) -> list[Value]:
        stacks, cts = rest[:n_stack], rest[n_stack:]
        top = _maximum(sp - 1, 0)  # clamped: under vmap a finished lane still runs this body (results discarded)
        lo, hi = _read(los, top), _read(his, top)
        leaf = (hi - lo <= LEAF_STEPS) | (sp >= levels)
        target = where(leaf, hi - 1, (lo + hi) // 2)
        state = loop.advance([_read(s, top).var for s in stacks], target - lo)
        # No cond: a branch would be batched (vmap) and re-traced once more at every level of nesting. A leaf
        # trip writes no slot (slot ``levels`` does not exist); a push trip discards its transposed trip.
        stepped = loop.step_back(state, target, cts[:n_lin], cts[n_lin:])
        slot = where(leaf, levels, sp)
        return [
            where(leaf, sp - _cast_index(target == lo), sp + 1),  # a leaf is popped once its last trip is done
            _write(los, slot, target),
            _write(_write(his, top, target), slot, hi),
            *(_write(s, slot, value_of(v)) for s, v in zip(stacks, state, strict=True)),
            *(where(leaf, new, old) for new, old in zip(stepped, cts, strict=True)),
        ]

    bounds_t = ArrayType(INDEX_DTYPE, (levels,))
    loop_types = [scalar_type(INDEX_DTYPE), bounds_t, bounds_t, *stack_types, *(a.type for a in ct_init)]
    b_cond, _ = trace_program(back_cond, loop_types, "array")
    b_body, _ = trace_program(back_body, loop_types, "array")
    init = [
        _cast_index(value_of(trips) > 0).var,  # the first segment is the whole loop [0, n), unless it is empty
        op("broadcast_in_dim", Lit(0, INDEX_DTYPE), shape=(levels,), dims=()),
        op("broadcast_in_dim", trips, shape=(levels,), dims=()),
        *(
            op("broadcast_in_dim", a, shape=t.shape, dims=tuple(range(1, t.ndim)))
            for a, t in zip(p_init, stack_types, strict=True)
        ),
        *ct_init,
    ]
    results = emit("while", tuple(init), {"cond": b_cond, "body": b_body})
    return list(results[3 + n_stack :])


def _maximum(x: Value, y: int) -> Value:
    return where(x > y, x, y)


def _cast_index(flag: Value) -> Value:
    return value_of(op("cast", flag.var, dtype=INDEX_DTYPE))


def _read(stack: Value, pos: Value) -> Value:
    """``stack[pos]``: one slot of a stack (a ``backpermute``, reading only that slot)."""
    shape = stack.shape[1:]

    def index(*ix: Value) -> list[Value]:
        return [pos, *ix]

    lam, _ = trace_program(index, [scalar_type(INDEX_DTYPE)] * len(shape), "scalar")
    return value_of(op("backpermute", stack.var, shape=shape, index=lam))


def _write(stack: Value, pos: Value, value: Value) -> Value:
    """``stack`` with slot ``pos`` replaced by ``value`` (a ``select``: no arithmetic, so nothing turns into NaN)."""
    shape = stack.shape
    slots = value_of(op("const", value=np.arange(shape[0], dtype=INDEX_DTYPE)))
    chosen = op("broadcast_in_dim", (slots == pos).var, shape=shape, dims=(0,))
    spread = op("broadcast_in_dim", value.var, shape=shape, dims=tuple(range(1, len(shape))))
    return value_of(op("select", chosen, spread, stack.var))


def _store(tape: Value, pos: Value, keep: Value, value: Value) -> Value:
    """``tape`` with slot ``pos`` replaced by ``value`` where ``keep`` holds: a ``permute`` writing that slot alone
    (the native ``awhile`` runs it in place when the loop state is the tape)."""

    def target(*ix: Value) -> object:
        return lambdas.cond(keep, (pos, *ix), lambdas.IGNORE)

    return permute(lambda new, old: new, tape, target, value)
