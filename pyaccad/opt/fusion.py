"""Fusion: group a program's statements into kernels (see :mod:`pyaccad.opt.kernels`).

Following accelerate, producers whose every element can be computed from an
index — element-wise operations, ``map``, ``generate``, ``backpermute`` and
the index maps (``broadcast_in_dim``, ``slice``, ``pad``, ``concatenate``,
``reshape``, ``transpose``, ``reverse``) — are *delayed*: each kernel that
reads them computes the elements it needs inline, so a chain of them costs no
memory traffic and a reduction or scan over them is one kernel. A delayed
value is made *manifest* (written by a map kernel of its own) when it must
exist in memory: a program output, an operand of ``matmul`` (except a
transpose of the last two axes, which BLAS reads transposed), ``stencil`` or
LAPACK (``cholesky``, the solves), an
array read by ``index`` inside a lambda, a value used by ``while``/``cond``
bodies, an expensive value under a broadcast (recomputing it for every
element of the broadcast would multiply its cost), or a value that several
kernels would recompute at more than
:data:`RECOMPUTE_BUDGET` expensive operations per element (``exp(a - m)``
read by three kernels is recomputed in each, as it costs less than writing
and reading it back; a map whose lambda holds three expensive operations,
read by two kernels, is written once). Inside a ``while`` body, run once per trip, that cost also counts the
delayed producers the value would recompute with it (``plan_program(in_loop=True)``).

Folds of one shape and axis that do not depend on one another share one pass
(one kernel computing several accumulators), as do independent manifest maps
of one shape; a group runs at its last member, so nothing between its members
may depend on one of them. A fold of a transpose becomes a fold of the
transpose's source (read in memory order). Dead statements are dropped.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad.frontend import trace
>>> p = plan_program(trace(lambda x: acc.sin(x) * x, np.ones(4)).program)
>>> p.count(), sorted(s.prim.name for s in p.kernels[0].fused)
(1, ['sin'])
"""

from __future__ import annotations

from collections.abc import Callable, Container, Hashable, Iterable, Iterator
from typing import TypeVar

from pyaccad.ir import ELEMENTWISE, PRIMITIVES, Atom, Program, Stmt, Var
from pyaccad.opt.inline_rules import inline_bodies
from pyaccad.opt.kernels import Kernel, Plan

_INDEX_MAPS = {p.name for p in PRIMITIVES.values() if p.family == "index_map"}
FUSIBLE = {p.name for p in PRIMITIVES.values() if p.family == "elementwise"} | {"map", "generate", "backpermute"}
FUSIBLE |= _INDEX_MAPS
"""Primitives whose results may be delayed (computed inside their consumers)."""

_CHEAP = _INDEX_MAPS | {"cast", "select", "neg", "add", "sub", "mul", "minimum", "maximum", "not", "and", "or"}
_CHEAP |= {"eq", "ne", "lt", "le", "gt", "ge", "abs", "isnan", "isinf", "floor", "ceil", "trunc", "round", "sign"}
_CONTROL = {p.name for p in PRIMITIVES.values() if p.family == "control"}
MAX_SITES = 6
"""At most this many distinct indices of one delayed value per program (see :class:`_Sites`)."""
MAX_DEPTH = 48
"""Delayed producers chained at most this deep inside one kernel: a longer chain (``x = x * a + b`` unrolled
a thousand times) is cut by making every ``MAX_DEPTH``-th value manifest, so the emitters never recurse
past Python's limit and the C compiler never sees an expression thousands of operations deep."""
RECOMPUTE_BUDGET = 2
"""How much extra work (in expensive operations per element) recomputing a shared delayed value may cost."""
_T = TypeVar("_T", bound=Hashable)
_FORCES_OPERANDS = {"stencil"} | _CONTROL | {p.name for p in PRIMITIVES.values() if p.family == "linalg"}


def plan_program(program: Program, in_loop: bool = False) -> Plan:
    """Fuse ``program`` into kernels (see the module docstring).

    ``in_loop``: the program is (inside) a ``while`` body or condition, run once per trip. There a shared
    value's cost to recompute counts the expensive operations of the delayed producers it would recompute
    with it (:func:`_recompute_costs`): small arrays make writing it cheap, and every trip pays for
    recomputing it (the LSTM's reverse trip recomputed each gate's ``exp`` and ``tanh`` in three kernels).
    """
    program = inline_bodies(program)  # normally done by optimize; a program handed over unoptimised too
    stmts = _live_stmts(_folds_through_transposes(program))
    producer = {v: s for s in stmts for v in s.outs}

    def reads_from(stmt: Stmt) -> Iterator[Stmt]:
        return (producer[v] for v in _reads(stmt) if v in producer)

    groups = horizontal_groups(stmts, reads_from, {s for s in stmts if s.prim.name == "fold"}, _fold_key)
    group_of = {s: g for g in groups for s in g}
    forced = _forced_manifest(program, stmts, producer)
    cost = _recompute_costs(stmts, producer, forced) if in_loop else {s: element_cost(s) for s in stmts}

    # Walk backwards: every root (group) marks the values it reads; a fusible statement stays delayed
    # when all of its readers are in one kernel, or when recomputing it in each reader is cheap.
    reach: dict[Var, set[int]] = {}
    depth: dict[Var, int] = {}  # how deep inside a chain of delayed producers a value is read
    sites = _Sites()
    manifest_maps: list[Stmt] = []
    delayed: dict[Var, Stmt] = {}
    for stmt in reversed(stmts):
        name = stmt.prim.name
        readers = set().union(*(reach.get(v, set()) for v in stmt.outs))
        here = max(sites.count(v) for v in stmt.outs) if stmt.outs else 1
        deep = max((depth.get(v, 0) for v in stmt.outs), default=0) + 1
        if name in FUSIBLE:
            shared = len(readers) > 1 and cost[stmt] * (len(readers) - 1) > RECOMPUTE_BUDGET
            if any(v in forced for v in stmt.outs) or shared or here > MAX_SITES or deep > MAX_DEPTH:
                manifest_maps.append(stmt)
                readers, here, deep = {id(stmt)}, 1, 1
            else:
                delayed.update((v, stmt) for v in stmt.outs)
                if name == "broadcast_in_dim":
                    forced.update(_expensive_below(stmt, producer))
        else:
            readers, here, deep = {id(group_of.get(stmt, stmt))}, 1, 1
        moves = name in _INDEX_MAPS or name == "backpermute"
        for var in _reads(stmt):
            reach.setdefault(var, set()).update(readers)
            sites.add(var, here, moves)
            depth[var] = max(depth.get(var, 0), deep)

    map_groups = horizontal_groups(stmts, reads_from, set(manifest_maps), lambda s: s.outs[0].shape)
    group_of.update({s: g for g in map_groups for s in g})
    kernels: list[Kernel] = []
    for stmt in stmts:
        if (stmt.outs and stmt.outs[0] in delayed) or stmt.prim.name == "const":
            continue
        group = group_of.get(stmt, [stmt])
        if stmt is not group[-1]:
            continue  # a group runs at the position of its last member
        kernels.append(_kernel(group, delayed, in_loop))
    return Plan(program, kernels, delayed, [s for s in stmts if s.prim.name == "const"], in_loop=in_loop)


def _kernel(group: list[Stmt], delayed: dict[Var, Stmt], in_loop: bool) -> Kernel:
    name = group[0].prim.name
    kind = "map" if name in FUSIBLE else name
    fused: dict[Stmt, None] = {}
    for stmt in group:
        collect_fused(stmt, delayed, fused)
    bodies = {}
    if name in _CONTROL:
        looping = in_loop or name == "while"
        bodies = {p: plan_program(group[0].params[p], looping) for p in group[0].prim.subprogram_params}
    return Kernel(kind, list(group), list(fused), bodies)


def collect_fused(stmt: Stmt, delayed: dict[Var, Stmt], fused: dict[Stmt, None]) -> None:
    """Add the delayed producers ``stmt`` reads, transitively, to ``fused`` (producers before consumers).

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> plan = plan_program(trace(lambda x: (acc.exp(x) + 1.0).sum(), np.ones(3)).program)
    >>> fused: dict = {}
    >>> collect_fused(plan.kernels[0].roots[0], plan.delayed, fused)
    >>> [s.prim.name for s in fused]
    ['exp', 'broadcast_in_dim', 'add']
    """
    for var in _reads(stmt):
        producer = delayed.get(var)
        if producer is not None and producer not in fused:
            collect_fused(producer, delayed, fused)
            fused[producer] = None


class _Sites:
    """How many distinct indices each value would be computed at inside kernels, were it delayed.

    Consumers at the same index share one computation (the emitter memoises it), so they count once
    (the maximum); each index map (``slice``, ``transpose``, ...) reading a value adds its own sites. A
    value past :data:`MAX_SITES` is made manifest: nested shifts (``x[1:] + x[:-1]`` of such sums, ...)
    would otherwise grow the generated code exponentially.
    """

    def __init__(self) -> None:
        self.same: dict[Var, int] = {}
        self.moved: dict[Var, int] = {}

    def add(self, var: Var, count: int, moved: bool) -> None:
        if moved:
            self.moved[var] = self.moved.get(var, 0) + count
        else:
            self.same[var] = max(self.same.get(var, 0), count)

    def count(self, var: Var) -> int:
        return max(1, self.same.get(var, 0) + self.moved.get(var, 0))


def _expensive_below(stmt: Stmt, producer: dict[Var, Stmt]) -> tuple[Var, ...]:
    """The outputs of the first expensive producer under a chain of cheap ones feeding ``stmt``: a broadcast
    would recompute it for every element of its (larger) result, so it is computed once instead."""
    source = stmt.args[0]
    while isinstance(source, Var) and source in producer:
        below = producer[source]
        if below.prim.name not in FUSIBLE:
            return ()
        if element_cost(below) > 0:
            return below.outs
        if below.prim.name not in _INDEX_MAPS | {"cast", "neg"}:
            return ()
        source = below.args[0]
    return ()


def element_cost(stmt: Stmt) -> float:
    """Expensive operations per element of ``stmt`` itself (its producers are judged on their own)."""
    if stmt.prim.name not in FUSIBLE:
        return 0
    own: float = 0 if stmt.prim.name in _CHEAP else 1
    for sub in stmt.subprograms():
        if any(s.prim.name == "while" for s in sub.stmts):
            return float("inf")
        own += sum(0 if s.prim.name in _CHEAP or s.prim.name == "index" else 1 for s in sub.stmts)
    return own


def _recompute_costs(stmts: list[Stmt], producer: dict[Var, Stmt], forced: set[Var]) -> dict[Stmt, float]:
    """Expensive operations per element of each statement and of the fusible producers below it that are not
    forced manifest: what recomputing it in one more kernel costs if they stay delayed (an upper bound).

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> stmts = trace(lambda x: acc.exp(x) * 2.0 + 1.0, np.ones(3)).program.stmts
    >>> costs = _recompute_costs(stmts, {v: s for s in stmts for v in s.outs}, set())
    >>> [(s.prim.name, int(c)) for s, c in costs.items()]  # the product and the sum recompute the exp
    [('exp', 1), ('broadcast_in_dim', 0), ('mul', 1), ('broadcast_in_dim', 0), ('add', 1)]
    """
    costs: dict[Stmt, float] = {}
    for stmt in stmts:
        total = element_cost(stmt)
        if stmt.prim.name in FUSIBLE:
            for var in _reads(stmt):
                below = producer.get(var)
                if below is not None and below in costs and var not in forced:
                    total += costs[below]
        costs[stmt] = total
    return costs


def _reads(stmt: Stmt) -> Iterator[Var]:
    """The array-level values ``stmt`` reads: its arguments and the free variables of its nested programs."""
    seen: set[Var] = set()
    for atom in stmt.args:
        if isinstance(atom, Var) and atom not in seen:
            seen.add(atom)
            yield atom
    for sub in stmt.subprograms():
        for var in sub.free_vars:
            if var not in seen:
                seen.add(var)
                yield var


def _index_reads(program: Program) -> Iterator[Var]:
    """Arrays read with ``index`` anywhere inside ``program``'s lambdas."""
    for stmt in program.stmts:
        if stmt.prim.name == "index" and isinstance(stmt.args[0], Var):
            yield stmt.args[0]
        for sub in stmt.subprograms():
            yield from _index_reads(sub)


def matrix_transpose_source(var: Var, delayed: dict[Var, Stmt]) -> Var | None:
    """The array ``var`` is a delayed swap of the last two axes of (a BLAS operand, passed transposed)."""
    stmt = delayed.get(var)
    if stmt is None or stmt.prim.name != "transpose" or not isinstance(stmt.args[0], Var):
        return None
    perm = tuple(stmt.params["perm"])
    n = len(perm)
    return stmt.args[0] if n >= 2 and perm == (*range(n - 2), n - 1, n - 2) else None


def _forced_manifest(program: Program, stmts: list[Stmt], producer: dict[Var, Stmt]) -> set[Var]:
    forced = {a for a in program.outputs if isinstance(a, Var)}
    for stmt in stmts:
        if stmt.prim.name == "matmul":
            # a transposed operand stays delayed: BLAS reads its source with the transpose flag
            for var in _reads(stmt):
                forced.add(matrix_transpose_source(var, producer) or var)
        elif stmt.prim.name in _FORCES_OPERANDS:
            forced.update(_reads(stmt))
        for sub in stmt.subprograms():
            forced.update(_index_reads(sub))
    return forced


def _folds_through_transposes(program: Program) -> Program:
    """``fold`` of ``transpose(y)`` as a fold of ``y`` along the matching axis, when the kept axes stay in
    order: the reduction then walks ``y`` in its memory order instead of striding across it (and may share
    a pass with folds of ``y``'s shape). An element-wise statement all of whose array operands are the same
    transpose counts as that transpose of the statement on their sources (``-transpose(y)`` is
    ``transpose(-y)``): reverse mode writes gradients that way."""
    producer = {v: s for s in program.stmts for v in s.outs}
    stmts = []
    for stmt in program.stmts:
        if stmt.prim.name == "fold":
            n = len(stmt.params["lam"].outputs)
            sources = [_as_transpose(x, producer) for x in stmt.args[:n]]
            if all(t is not None for t in sources):
                perms = {perm for perm, _ in sources}
                axis = stmt.params["axis"]
                (perm,) = perms if len(perms) == 1 else ((),)
                kept = [p for i, p in enumerate(perm) if i != axis]
                if perm and kept == sorted(kept):
                    untransposed = []
                    for _, source in sources:
                        if isinstance(source, Stmt):  # the element-wise statement, re-emitted on the sources
                            stmts.append(source)
                            source = source.outs[0]
                        untransposed.append(source)
                    params = {**stmt.params, "axis": perm[axis]}
                    stmt = Stmt(stmt.prim, (*untransposed, *stmt.args[n:]), params, stmt.outs, stmt.source)
        stmts.append(stmt)
    return Program(program.inputs, tuple(stmts), program.outputs)


def _as_transpose(x: Atom, producer: dict[Var, Stmt]) -> tuple[tuple[int, ...], Var | Stmt] | None:
    """``(perm, source)`` when ``x`` is ``transpose(source, perm)``; ``(perm, stmt)`` when it is an element-wise
    statement of operands ``transpose(y_i, perm)`` (``stmt``: the same statement on the ``y_i``, not yet in
    the program); else None."""
    stmt = producer.get(x) if isinstance(x, Var) else None
    if stmt is None:
        return None
    if stmt.prim.name == "transpose":
        return tuple(stmt.params["perm"]), stmt.args[0]
    if stmt.prim.name not in ELEMENTWISE or len(stmt.outs) != 1:
        return None
    inner = [producer.get(a) if isinstance(a, Var) else None for a in stmt.args]
    if not all(t is not None and t.prim.name == "transpose" for t in inner):
        return None
    perms = {tuple(t.params["perm"]) for t in inner}
    if len(perms) != 1:
        return None
    (perm,) = perms
    sources = tuple(t.args[0] for t in inner)
    out = Var(stmt.outs[0].type.with_shape(sources[0].shape), stmt.outs[0].hint)
    return perm, Stmt(stmt.prim, sources, stmt.params, (out,), stmt.source)


def _live_stmts(program: Program) -> list[Stmt]:
    live = {a for a in program.outputs if isinstance(a, Var)}
    kept: list[Stmt] = []
    for stmt in reversed(program.stmts):
        if any(v in live for v in stmt.outs):
            kept.append(stmt)
            live.update(_reads(stmt))
    return kept[::-1]


def _fold_key(stmt: Stmt) -> tuple:
    return ("fold", stmt.args[0].shape, stmt.params["axis"])


def horizontal_groups(
    stmts: Iterable[_T],
    reads_from: Callable[[_T], Iterable[_T]],
    candidates: Container[_T],
    key: Callable[[_T], Hashable],
) -> list[list[_T]]:
    """Greedy horizontal grouping of the ``candidates`` among ``stmts`` (in program order) by ``key``; the
    groups of two or more. ``reads_from(s)``: the statements whose results ``s`` reads.

    A group runs at its last member's position, so nothing from its first member up to there may depend on
    a member: a candidate joins the earliest group of its key that no statement from that group's first
    member up to the candidate (itself included) depends on, transitively, else it opens a new group. The
    first statement that depends on a member reads one directly (the statement right after the member on
    the dependency path depends on it too and comes no later), and a group that fails the test fails it
    for every later candidate; so a group closes for good at the first statement reading a member, each
    key has at most one open group, and one pass over the reads decides everything (the rule used to be
    checked over the whole range for every candidate: quadratic time, and ancestor bitsets of quadratic
    memory).

    >>> reads = {0: [], 1: [], 2: [0], 3: [], 4: []}  # statement 2 reads statement 0
    >>> horizontal_groups(range(5), reads.__getitem__, {0, 1, 3, 4}, key=lambda s: "fold")
    [[0, 1], [3, 4]]
    """
    open_group: dict[Hashable, list[_T]] = {}
    group_of: dict[_T, tuple[Hashable, list[_T]]] = {}
    groups: list[list[_T]] = []
    for stmt in stmts:
        for source in reads_from(stmt):
            owner = group_of.get(source)
            if owner is not None and open_group.get(owner[0]) is owner[1]:
                del open_group[owner[0]]  # a member is read: the group can no longer run after this statement
        if stmt in candidates:
            k = key(stmt)
            group = open_group.get(k)
            if group is None:
                group = open_group[k] = []
                groups.append(group)
            group.append(stmt)
            group_of[stmt] = (k, group)
    return [g for g in groups if len(g) > 1]
