"""Reverse mode through reads ``a[idx]`` of a differentiated array inside ``while_`` loops of a lambda.

Forward mode gives the tangent due to such arrays from a second collective
that reruns the lambda carrying tangents
(:func:`pyaccad.ad.lambdas.loop_tangent_lambda`). That collective is the
body of a ``custom_rule`` whose rule is a :class:`LoopReads`
(:mod:`pyaccad.ad.custom_rules`), and this module is its transpose: the cotangent
of ``a`` is ``Σ_lanes Σ_reads c·e_idx``, each read weighted by the adjoint of
the value it gave. The adjoints of the lambda's values are arrays over the
lanes, pulled back through the lambda statement by statement, last first:

* a run of statements without such loops (a *straight segment*): per lane,
  recompute the values it starts from, then run forward mode through it
  once per value it reads that depends on ``a`` and once per read
  (one-hot), each dotted with the adjoints of what it defines;
* a ``while`` whose body reads ``a``: a ``generate`` counts each lane's trips
  ``n``, and the loop is reversed as one loop over the lanes' states (arrays
  over the lanes): trip ``k`` runs the body on the lanes with ``k < n`` and
  keeps the others' states, so it runs ``max(n)`` trips. This loop is
  reversed as the ``awhile`` rule reverses its loops
  (:mod:`pyaccad.ad.transpose_rules.loop`, the same code), under the
  ``while_``'s ``checkpoint`` policy and the ``PYACCAD_LOOP_TAPE_MB`` budget:
  a forward pass stores every lane's state before each trip in a tape of
  ``slots × lanes`` per state component, and the reverse loop runs
  ``k = max(n)-1, ..., 0`` holding the per-lane adjoints ``λ`` of the loop
  state and running sums of the adjoints of the values the body reads. Trip
  ``k`` pulls ``λ`` back through the body on each lane's state ``s_k`` read
  from the tape; lanes with ``k ≥ n`` pass ``λ`` through, so a lane whose
  loop runs 0 times just hands its adjoints to the initial state. Shapes are
  static, so the tape's slots are fixed when the gradient is traced (the
  budget over the bytes of one trip's states, at most 1024); a loop that
  runs more trips than fit (decided at run time by an ``acond`` on
  ``max(n)``), or a ``while_(..., checkpoint="bisect")``, is reversed by
  bisection over a stack of checkpoints of the lanes' states instead, and
  ``checkpoint=k`` stores every k-th state and recomputes the others;
* a ``cond`` with such a loop in a branch: each branch is pulled back on the
  lanes that take it.

The body of a loop and a branch are pulled back the same way, so loops may
nest in loops and branches (an inner loop's tape is built inside each trip
of the outer reverse loop, from the outer loop's state there). Each read's
weights are scattered into the cotangent with ``permute (+)`` (reads at the
same index add up). A lane recomputes what it needs (the lambda's values
before the loop) inside a ``cond`` that only the lanes concerned take: no
work, and no out-of-range read, elsewhere.

Cost, per loop, with the tape: ``Σ_lanes n`` body runs to count the trips,
``max(n)`` trips over every lane to record the tape, and ``max(n)`` reverse
trips, each running forward mode through the body once per one-hot direction
(a loop nested in a loop multiplies these); extra memory: the tape, one
adjoint array over the lanes per state component and one cotangent array per
differentiated array. Bisection: about ``max(n)/2 · log2 max(n)`` more trips
over the lanes, a stack of at most 32 states of every lane instead of the
tape. All policies give the same gradient.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> def f(x):  # per lane v: s ← s·x[k] for k < 2, from s = v
...     body = lambda s: (s[0] * x[s[1]], s[1] + 1)
...     return acc.map(lambda v: acc.while_(lambda s: s[1] < 2, body, (v, np.int64(0)))[0], x).sum()
>>> acc.jit(ad.grad(f))(np.array([1.0, 2.0, 3.0]))
array([14.,  8.,  2.])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pyaccad.ad.batching import BatchContext, BDim, batch_into
from pyaccad.ad.custom_rules import CustomRule, jvp_of_body
from pyaccad.ad.emitters import counted_loop, lit, op
from pyaccad.ad.jvp import Env
from pyaccad.ad.lambdas.lane_steps import (
    guarded,
    lane_env,
    lane_generate,
    lane_max,
    replay,
    scatter_add,
    seeded_jvp,
    weighted,
)
from pyaccad.ad.tangents import Tan, Zero, differentiable, instantiate, is_zero, tadd
from pyaccad.ad.transpose import Contributions, TransposeContext
from pyaccad.frontend.tracing import Value, call_program, emit, trace_program, value_of
from pyaccad.ir import BOOL, ArrayType, Atom, Lit, Program, Stmt, Var
from pyaccad.ir.rewrite import substitute


class LoopReads(CustomRule):
    """The rule of a loop tangent's ``custom_rule``: its transpose (see the module doc).

    The statement's arguments are, in order, the free variables of ``lam``, the operands of the
    collective (``prim`` with ``params``) and the tangents of the looped arrays, which are the free
    variables of ``lam`` at positions ``looped``. Its body (the collective) is its forward meaning:
    forward mode differentiates it, and batching batches it (the rule is not needed past them).

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> from pyaccad.frontend import trace
    >>> body = lambda x: lambda s: (s[0] * x[s[1]], s[1] + 1)
    >>> f = lambda x: acc.map(lambda v: acc.while_(lambda s: s[1] < 1, body(x), (v, np.int64(0)))[0], x)
    >>> jvp = trace(lambda x, t: ad.jvp(f, (x,), (t,))[1], np.ones(2), np.ones(2)).program
    >>> [s.params["rule"] for s in jvp.stmts if s.prim.name == "custom_rule"]
    [loop_reads(map)]
    """

    def __init__(self, lam: Program, prim: str, params: Mapping[str, Any], n_args: int, looped: list[int]) -> None:
        self.lam, self.prim, self.params, self.n_args, self.looped = lam, prim, dict(params), n_args, looped

    def jvp(self, stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]) -> tuple[Sequence[Atom], list[Tan]]:
        return jvp_of_body(stmt, env, args, args_tan)

    def batch(
        self, stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]
    ) -> tuple[Sequence[Atom], Sequence[BDim]]:
        return batch_into(BatchContext(ctx.size, ctx), stmt.params["body"], args, bdims)

    def transpose(self, stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
        n_free = len(self.lam.free_vars)
        free, operands, tans = args[:n_free], args[n_free : n_free + self.n_args], args[n_free + self.n_args :]
        lam = substitute(self.lam, dict(zip(self.lam.free_vars, free, strict=True)))
        arrays = [free[p] for p in self.looped]
        lanes = _Lanes(lam, self._operands(lam, operands), stmt.outs[0].shape, arrays)
        for j, out in enumerate(lam.outputs):
            if isinstance(out, Var) and out in lanes.active:
                lanes.adjoint[out] = tadd(lanes.adjoint.get(out, Zero(out.type)), cts[j])
        lanes.pull_back()
        return [(t, lanes.ct[a]) for t, a in zip(tans, arrays, strict=True) if not is_zero(lanes.ct[a])]

    def _operands(self, lam: Program, args: Sequence[Atom]) -> list[Atom]:
        """Per input of ``lam``, the array over the lanes of what the collective passes it (its identity)."""
        if not lam.inputs or self.prim == "map":  # a map's operands are already that
            return list(args)
        identity, _ = trace_program(lambda *xs: list(xs), lam.input_types, "scalar")
        return list(emit(self.prim, tuple(args), {**self.params, "lam": identity}))

    def __repr__(self) -> str:
        return f"loop_reads({self.prim})"


@dataclass(frozen=True)
class _Scope:
    """Statements a lane runs: the lambda; a branch (``kind`` ``then_``/``else_``) of the ``cond`` at ``at`` in
    ``parent``; or (``step``) the body of the ``while`` at ``at``, at its trip ``k`` (lanes with ``k < n``),
    from the lanes' loop ``states`` there (arrays over the lanes, one per state component)."""

    program: Program
    parent: _Scope | None = None
    at: int = 0
    kind: str = "lambda"
    k: Atom | None = None
    n: Atom | None = None
    states: tuple[Atom, ...] = ()


class _Lanes:
    """The reverse pass over one lambda: adjoints (arrays over the lanes) of its values, cotangents of ``arrays``."""

    def __init__(self, lam: Program, operands: list[Atom], shape: tuple[int, ...], arrays: list[Atom]) -> None:
        self.lam, self.operands, self.shape = lam, operands, shape
        self.arrays = {a: None for a in arrays}
        self.ct: dict[Atom, Tan] = {a: Zero(a.type) for a in arrays}
        self.adjoint: dict[Var, Tan] = {}
        self.active: set[Var] = set()
        _mark_active(lam, self.arrays, self.active)

    def pull_back(self, scope: _Scope | None = None) -> None:
        """Every segment's pull-back, last segment first."""
        scope = scope or _Scope(self.lam)
        stmts = scope.program.stmts
        stop = len(stmts)
        for pos in reversed(range(stop)):
            kind = _segment(stmts[pos], self.arrays)
            if kind != "straight":
                self._straight(scope, pos + 1, stop)
                (self._loop if kind == "loop" else self._cond)(scope, pos)
                stop = pos
        self._straight(scope, 0, stop)

    def _on_lane(self, scope: _Scope, ix: list[Atom], stop: int, fn: Callable[[Env], list[Atom]]) -> list[Atom]:
        """``fn(env)`` for the lane ``ix``, ``env`` binding the values of ``scope`` before statement ``stop``.

        _Lanes that do not run ``scope`` (a branch they do not take, a trip past their last) run nothing
        and get zeros.
        """
        if scope.parent is None:
            env = lane_env(self.lam, self.operands, ix)
            replay(self.lam.stmts[:stop], env)
            return fn(env)
        stmt = scope.parent.program.stmts[scope.at]

        def enter(outer: Env) -> list[Atom]:
            if scope.kind == "step":
                taken = op("lt", scope.k, op("index", scope.n, *ix))  # type: ignore[arg-type]
            else:
                taken = outer.primal(stmt.args[0])
                taken = taken if scope.kind == "then_" else op("not", taken)

            def run() -> list[Atom]:
                env = Env(outer, boundary=True)
                if scope.kind == "step":
                    state = [op("index", s, *ix) for s in scope.states]
                    env.bind(scope.program.inputs, state, [Zero(v.type) for v in scope.program.inputs])
                replay(scope.program.stmts[:stop], env)
                return fn(env)

            return guarded(taken, run)

        return self._on_lane(scope.parent, ix, scope.at, enter)

    def _straight(self, scope: _Scope, start: int, stop: int) -> None:
        stmts = scope.program.stmts[start:stop]
        outs = [v for s in stmts for v in s.outs if not is_zero(self.adjoint.get(v, Zero(v.type)))]
        needed = Program((), tuple(stmts), ()).free_vars
        keys = [v for v in needed if v in self.active] + [r.outs[0] for s in stmts for r in _reads(s, self.arrays)]
        if not outs or not keys:
            return
        seg = Program((), tuple(stmts), tuple(outs))
        adjoints = [instantiate(self.adjoint[v]) for v in outs]

        def pulled(ix: list[Atom], env: Env) -> list[Atom]:
            weights = [op("index", a, *ix) for a in adjoints]
            found, index = [], []
            for key in keys:
                tans, at = seeded_jvp(seg, env, key)
                found.append(weighted(weights, tans, key.type))
                index += at
            return found + index

        results = lane_generate(self.shape, lambda ix: self._on_lane(scope, ix, start, lambda env: pulled(ix, env)))
        self._collect(keys, results)

    def _cond(self, scope: _Scope, pos: int) -> None:
        """A ``cond`` with loops in a branch: each branch's pull-back, on the lanes that take it."""
        stmt = scope.program.stmts[pos]
        if all(is_zero(self.adjoint.get(v, Zero(v.type))) for v in stmt.outs):
            return
        for name in ("then_", "else_"):
            branch = _Scope(stmt.params[name], scope, pos, name)
            (taken,) = lane_generate(
                self.shape, lambda ix, b=branch: self._on_lane(b, ix, 0, lambda env: [Lit(True, BOOL)])
            )
            for out, res in zip(stmt.outs, branch.program.outputs, strict=True):
                adj = self.adjoint.get(out, Zero(out.type))
                if isinstance(res, Var) and res in self.active and not is_zero(adj):
                    masked = op("select", taken, adj, lit(0, adj.type))
                    self.adjoint[res] = tadd(self.adjoint.get(res, Zero(res.type)), masked)
            self.pull_back(branch)

    def _collect(self, keys: list[Var], results: list[Atom]) -> None:
        """Add a pull-back's results (one per key, then the read indices) to the adjoints and cotangents."""
        reads = {r.outs[0]: r for r in _reads(self.lam, self.arrays, nested=True)}
        index = iter(results[len(keys) :])
        for key, value in zip(keys, results, strict=False):
            if key in reads:
                array = reads[key].args[0]
                at = [next(index) for _ in reads[key].args[1:]]
                self.ct[array] = scatter_add(self.ct[array], array, value, at)
            else:
                self.adjoint[key] = tadd(self.adjoint.get(key, Zero(key.type)), value)

    def _loop(self, scope: _Scope, pos: int) -> None:
        """A ``while`` reading the arrays: reversed trip by trip, last first, as a loop over the lanes' states."""
        loop = scope.program.stmts[pos]
        comps = [j for j, v in enumerate(loop.outs) if differentiable(v.type)]
        if all(is_zero(self.adjoint.get(loop.outs[j], Zero(loop.outs[j].type))) for j in comps):
            return
        inner = [v for v in loop.params["body"].free_vars if v in self.active]  # values of the lambda it reads
        trips = lambda ix: self._on_lane(scope, ix, pos, lambda env: [_trips(loop, env)])  # noqa: E731
        (n,) = lane_generate(self.shape, trips)
        init = [
            instantiate(self.adjoint.get(loop.outs[j], Zero(loop.outs[j].type.with_shape(self.shape)))) for j in comps
        ]
        init += [instantiate(self.adjoint.get(v, Zero(v.type.with_shape(self.shape)))) for v in inner]
        init += [instantiate(self.ct[a]) for a in self.arrays]
        results = _LaneLoop(self, scope, pos, n, comps, inner).reverse(init)
        sums = results[len(comps) :]  # the running sums started from the adjoints so far: they replace them
        self.adjoint.update(zip(inner, sums, strict=False))
        self.ct.update(zip(self.arrays, sums[len(inner) :], strict=True))
        for j, adj in zip(comps, results[: len(comps)], strict=True):
            arg = loop.args[j]
            if isinstance(arg, Var) and arg in self.active:
                self.adjoint[arg] = tadd(self.adjoint.get(arg, Zero(arg.type)), adj)


@dataclass(frozen=True)
class _LaneLoop:
    """The lambda's ``while`` at ``pos`` of ``scope`` run by every lane at once: a loop whose state is the
    lanes' states (arrays over the lanes), trip ``k`` running the body on the lanes whose own loop runs more
    than ``k`` trips (``n``, per lane) and keeping the others' states. Its reverse state is the adjoints of
    the components ``comps``, then running sums of the adjoints of the lambda's values ``inner`` that the body
    reads and of the cotangents of the arrays. A :class:`~pyaccad.ad.transpose_rules.loop.Reversible`, so the
    ``awhile`` rule's tape, mixed tape and bisection reverse it."""

    lanes: _Lanes
    scope: _Scope
    pos: int
    n: Atom
    comps: list[int]
    inner: list[Var]

    @property
    def stmt(self) -> Stmt:
        return self.scope.program.stmts[self.pos]

    @property
    def state_types(self) -> list[ArrayType]:
        return [v.type.with_shape(self.lanes.shape) for v in self.stmt.outs]

    @property
    def n_lin(self) -> int:
        return len(self.comps)

    def reverse(self, ct_init: list[Atom]) -> list[Atom]:
        """The reverse pass under the loop's ``checkpoint`` policy: the adjoints of its initial state, then the
        running sums."""
        # the transpose rules import the JVP rules, which import this module
        from pyaccad.ad.transpose_rules.loop import bisect, checkpoint_stride, record, tape_or_bisect, tape_slots

        shape, loop = self.lanes.shape, self.stmt
        init = lane_generate(
            shape, lambda ix: self.lanes._on_lane(self.scope, ix, self.pos, lambda env: _init(loop, env))
        )
        trips = lane_max(self.n)
        stride = checkpoint_stride(loop.params.get("checkpoint"))
        slots = 0 if stride is None else tape_slots(sum(t.size * t.dtype.itemsize for t in self.state_types))
        if slots == 0:
            return bisect(self, init, trips, ct_init)

        def tapes() -> dict[int, Atom]:
            go = lambda k, state: k < value_of(trips)  # noqa: E731
            return dict(enumerate(record(go, self.trip, init, range(len(init)), stride, slots)[1]))

        return tape_or_bisect(value_of(trips) <= slots * stride, self, tapes, init, stride, trips, ct_init)

    def trip(self, state: list[Value]) -> list[Value]:
        """One trip of the lanes whose loop condition holds at ``state`` (the others keep theirs)."""
        loop = self.stmt

        def on_lane(env: Env, ix: list[Atom]) -> list[Atom]:
            mine = [value_of(op("index", s.var, *ix)) for s in state]
            cond, body = env.rename(loop.params["cond"]), env.rename(loop.params["body"])
            (more,) = call_program(cond, mine)
            return guarded(more.var, lambda: [v.var for v in call_program(body, mine)], lambda: [v.var for v in mine])

        per_lane = lambda ix: self.lanes._on_lane(self.scope, ix, self.pos, lambda env: on_lane(env, ix))  # noqa: E731
        return [value_of(a) for a in lane_generate(self.lanes.shape, per_lane)]

    def advance(self, state: Sequence[Atom], steps: Value) -> list[Atom]:
        program, _ = trace_program(lambda *s: self.trip(list(s)), self.state_types, "array")
        return counted_loop(None, program, state, steps.var)[1]

    def step_back(
        self, state: Sequence[Atom], trip: Value, ct_lin: Sequence[Value], acc: Sequence[Value]
    ) -> list[Value]:
        lanes, body = self.lanes, self.stmt.params["body"]
        running = op("lt", op("broadcast_in_dim", trip.var, shape=lanes.shape, dims=()), self.n)
        outer = lanes.adjoint, lanes.ct
        lanes.adjoint = {v: a.var for v, a in zip(self.inner, acc, strict=False)}  # the trip adds to the sums
        lanes.ct = {a: c.var for a, c in zip(lanes.arrays, acc[len(self.inner) :], strict=True)}
        try:
            for j, adj in zip(self.comps, ct_lin, strict=True):
                out = body.outputs[j]
                if isinstance(out, Var) and out in lanes.active:
                    masked = op("select", running, adj.var, lit(0, adj.var.type))
                    lanes.adjoint[out] = tadd(lanes.adjoint.get(out, Zero(out.type)), masked)
            lanes.pull_back(_Scope(body, self.scope, self.pos, "step", trip.var, self.n, tuple(state)))
            news = [
                op("select", running, instantiate(lanes.adjoint.get(body.inputs[j], Zero(adj.var.type))), adj.var)
                for j, adj in zip(self.comps, ct_lin, strict=True)
            ]
            sums = [instantiate(lanes.adjoint[v]) for v in self.inner]
            sums += [instantiate(lanes.ct[a]) for a in lanes.arrays]
        finally:
            lanes.adjoint, lanes.ct = outer
        return [value_of(a) for a in news + sums]


def _trips(loop: Stmt, env: Env) -> Atom:
    """How many trips the lambda's ``while`` statement ``loop`` runs from its initial state in ``env``."""
    cond, body = env.rename(loop.params["cond"]), env.rename(loop.params["body"])
    return counted_loop(cond, body, _init(loop, env), None)[0]


def _init(loop: Stmt, env: Env) -> list[Atom]:
    return [env.primal(a) for a in loop.args]


def _reads(stmt_or_prog: Stmt | Program, arrays: Mapping[Atom, None], nested: bool = False) -> list[Stmt]:
    """The ``index`` reads of ``arrays`` in a statement or program: in ``cond`` branches, in loops if ``nested``."""
    stmts = stmt_or_prog.stmts if isinstance(stmt_or_prog, Program) else (stmt_or_prog,)
    found: list[Stmt] = []
    for stmt in stmts:
        if stmt.prim.name == "index" and stmt.args[0] in arrays and differentiable(stmt.outs[0].type):
            found.append(stmt)
        if stmt.prim.name != "while" or nested:
            for sub in stmt.subprograms():
                found += _reads(sub, arrays, nested)
    return found


def _segment(stmt: Stmt, arrays: Mapping[Atom, None]) -> str:
    """``loop`` for a ``while`` whose body reads ``arrays``, ``cond`` for a ``cond`` with such a loop in a
    branch, else ``straight``."""
    if stmt.prim.name == "while" and _reads(stmt.params["body"], arrays, nested=True):
        return "loop"
    if stmt.prim.name == "cond" and any(_has_loop(b, arrays) for b in stmt.subprograms()):
        return "cond"
    return "straight"


def _has_loop(program: Program, arrays: Mapping[Atom, None]) -> bool:
    return any(_segment(s, arrays) != "straight" for s in program.stmts)


def _mark_active(program: Program, arrays: Mapping[Atom, None], active: set[Var]) -> None:
    """Add to ``active`` the float values of ``program`` (nested ones included) that may depend on a read of
    ``arrays``: a conservative forward pass, a loop's whole state being active when anything in it is."""
    for stmt in program.stmts:
        uses = {a for a in stmt.args if isinstance(a, Var)} | {v for s in stmt.subprograms() for v in s.free_vars}
        if not (uses & active or _reads(stmt, arrays, nested=True)):
            continue
        if stmt.prim.name == "while":
            active.update(v for v in stmt.params["body"].inputs if differentiable(v.type))
        for sub in stmt.subprograms():
            _mark_active(sub, arrays, active)
        active.update(v for v in stmt.outs if differentiable(v.type))
