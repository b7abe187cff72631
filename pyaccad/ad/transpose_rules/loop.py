"""Transposing the forward-mode ``while``: reverse by recursive bisection over a bounded checkpoint stack.

Static shapes rule out a tape of dynamic length, so the reverse loop
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
differentiated by forward mode (:mod:`pyaccad.ad.lambdas.partials`).

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> power = lambda x: acc.awhile(lambda s: s[1] < 10, lambda s: (s[0] * x, s[1] + 1), (np.float64(1.0), np.int64(0)))[0]
>>> acc.jit(ad.grad(power))(np.array(2.0))  # 10 x**9
array(5120.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pyaccad.ad.emitters import counted_loop, op
from pyaccad.ad.linearize import primal_outputs, restrict
from pyaccad.ad.tangents import Tan, Zero, instantiate, is_zero
from pyaccad.ad.transpose import Contributions, register
from pyaccad.ad.transpose_rules.control import linear_free, transpose_body
from pyaccad.frontend.operators import where
from pyaccad.frontend.tracing import Value, emit, trace_program, value_of
from pyaccad.ir import INDEX_DTYPE, ArrayType, Atom, Lit, Program, Stmt, Var, scalar_type

CHECKPOINT_LEVELS = 32
"""The most checkpoints a reverse loop keeps (a setting: tests lower it to exercise a full stack)."""

CHECKPOINT_BYTES = 1 << 20
"""The budget of one reverse loop's checkpoint stack; at least ``MIN_LEVELS`` are kept whatever their size.

Every trip of the reverse loop rewrites the whole stack, so the budget bounds time more than memory (see
BENCHMARKS.md: 200 trips over 100 000 float64 took 1.6 s with 32 levels, 0.3 s with 4)."""

MIN_LEVELS = 4

LEAF_STEPS = 4
"""Segments this short are reversed by recomputing each state from the segment's checkpoint: fewer pushes (each a
trip of the reverse loop, rewriting the stack) for a few more body runs."""


def checkpoint_levels(state_bytes: int) -> int:
    """``K``, the size of the checkpoint stack of a loop whose primal state takes ``state_bytes``.

    >>> checkpoint_levels(8), checkpoint_levels(1 << 17), checkpoint_levels(1 << 30)
    (32, 8, 4)
    """
    return min(CHECKPOINT_LEVELS, max(MIN_LEVELS, CHECKPOINT_BYTES // max(state_bytes, 1)))


@dataclass(frozen=True)
class _Loop:
    """A forward-mode ``while`` split into its primal components (``primal``, the loop ``p_body`` runs on them)
    and the tangent components ``lin``; ``free`` are the linear variables the body reads."""

    body: Program
    p_body: Program
    primal: list[int]
    lin: list[int]
    free: list[Var]

    def advance(self, state: Sequence[Atom], steps: Value) -> list[Atom]:
        """The primal state ``steps`` trips after ``state``."""
        return counted_loop(None, self.p_body, state, steps.var)[1]

    def step_back(self, state: Sequence[Atom], ct_lin: Sequence[Value], acc: Sequence[Value]) -> list[Value]:
        """One transposed trip at the primal ``state``: the state cotangents before it, then ``acc`` plus the
        cotangents of the free linear variables."""
        body = self.body
        bound = {body.inputs[j]: s for j, s in zip(self.primal, state, strict=True)}
        outs_ct: list[Tan] = [Zero(a.type) for a in body.outputs]
        for j, c in zip(self.lin, ct_lin, strict=True):
            outs_ct[j] = c.var
        in_ct, free_ct = transpose_body(body, bound, [body.inputs[j] for j in self.lin], self.free, outs_ct)
        new_acc = [a if is_zero(c) else value_of(op("add", a.var, c)) for a, c in zip(acc, free_ct, strict=True)]
        return [*(value_of(instantiate(c)) for c in in_ct), *new_acc]


@register("while")
def _while_t(stmt: Stmt, linear: set[Var], cts: list[Tan]) -> Contributions:
    cond, body = stmt.params["cond"], stmt.params["body"]
    primal = primal_outputs(stmt, linear)
    lin = [j for j in range(len(stmt.outs)) if j not in primal]
    dropped = linear | {v for j, v in enumerate(body.inputs) if j not in primal}
    dropped |= {v for j, v in enumerate(cond.inputs) if j not in primal}
    p_body = restrict(body, primal, dropped, [body.inputs[j] for j in primal])
    p_cond = restrict(cond, [0], dropped, [cond.inputs[j] for j in primal])
    loop = _Loop(body, p_body, primal, lin, linear_free(stmt, linear, body.inputs))
    p_init = [stmt.args[j] for j in primal]
    trips = counted_loop(p_cond, p_body, p_init, None)[0]

    p_types = [body.inputs[j].type for j in primal]
    levels = checkpoint_levels(sum(t.size * t.dtype.itemsize for t in p_types))
    stack_types = [t.with_shape((levels, *t.shape)) for t in p_types]
    ct_types = [*(stmt.outs[j].type for j in lin), *(v.type for v in loop.free)]
    n_stack, n_lin = len(p_types), len(lin)

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
        stepped = loop.step_back(state, cts[:n_lin], cts[n_lin:])
        slot = where(leaf, levels, sp)
        return [
            where(leaf, sp - _cast_index(target == lo), sp + 1),  # a leaf is popped once its last trip is done
            _write(los, slot, target),
            _write(_write(his, top, target), slot, hi),
            *(_write(s, slot, value_of(v)) for s, v in zip(stacks, state, strict=True)),
            *(where(leaf, new, old) for new, old in zip(stepped, cts, strict=True)),
        ]

    bounds_t = ArrayType(INDEX_DTYPE, (levels,))
    loop_types = [scalar_type(INDEX_DTYPE), bounds_t, bounds_t, *stack_types, *ct_types]
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
        *[instantiate(c) for j, c in enumerate(cts) if j in lin],
        *[instantiate(Zero(v.type)) for v in loop.free],
    ]
    results = emit("while", tuple(init), {"cond": b_cond, "body": b_body})
    ct_lin, ct_free = results[3 + n_stack : 3 + n_stack + len(lin)], results[3 + n_stack + len(lin) :]
    return [(stmt.args[j], c) for j, c in zip(lin, ct_lin, strict=True)] + list(zip(loop.free, ct_free, strict=True))


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
