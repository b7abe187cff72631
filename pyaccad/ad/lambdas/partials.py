"""Differentiating element functions: partial derivatives as extra outputs of the primal lambda.

The lambda of a ``map``, ``generate`` or ``stencil`` is differentiated at the
scalar level by forward mode. Its *sources* are everything its result may
depend on differentiably:

* an operand (``input``) whose array-level tangent is not zero;
* a free rank-0 array of an enclosing scope, used directly or read with
  ``a[()]`` (``free``: its seed reaches every use);
* a read ``a[idx]`` of a free array of rank ≥ 1 with a tangent (``read``: one per
  ``index`` statement, wherever it sits in the lambda, ``cond`` branches
  included).

For each source the lambda is JVP'd with a one-hot tangent (1 on that
source, symbolic zero elsewhere); the tangent outputs are the partial
derivatives ``∂y_j/∂source``. One primal collective computes the results,
the partials and, for each read, the index it read (hoisted out of ``cond``
branches; a branch not taken contributes partial 0 and index 0). The
array-level tangent is then linear:

    y_j_tan = Σ_input  ∂y_j/∂x_i · x_i_tan
            + Σ_read   ∂y_j/∂a[idx_k] · backpermute(a_tan, idx_k)      (transposes to permute (+))
            + Σ_free   ∂y_j/∂s · broadcast(s_tan)

Partials that are constants (a linear lambda) stay literals and cost no
array. Reads inside a ``while_`` body happen a data-dependent number of
times: the tangent due to such an array comes from a second collective that
reruns the lambda carrying tangents (:func:`loop_tangent_lambda`; all reads
of that array, in loops or not, go this way). Its transpose, for reverse
mode, is :mod:`pyaccad.ad.lambdas.loop_reads`: an ``awhile`` over the trips, last
first, reading each lane's loop state from a tape (``O(n)`` body runs for
``n`` trips) or recomputing it by bisection (``acc.while_``'s ``checkpoint``).

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> a = np.array([1.0, 2.0, 3.0])
>>> acc.jit(ad.grad(lambda a: acc.generate((2,), lambda i: a[i + 1] * a[i]).sum()))(a)
array([2., 4., 2.])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pyaccad.ad.custom_rules import emit_rule
from pyaccad.ad.emitters import op
from pyaccad.ad.jvp import Env, jvp_stmts
from pyaccad.ad.lambdas.loop_reads import LoopReads
from pyaccad.ad.tangents import Tan, Zero, differentiable, instantiate, is_zero, tcast, tscale, tsum
from pyaccad.frontend.tracing import emit, trace_program, value_of
from pyaccad.ir import INDEX_DTYPE, Atom, Lit, Program, Var, scalar_type
from pyaccad.ir.rewrite import abstract


@dataclass
class Source:
    """Something a lambda's result depends on: ``key`` is the old variable that gets the one-hot seed."""

    kind: str  # "input", "free" or "read"
    key: Var
    pos: int = -1  # input: the operand position
    array: Var | None = None  # read: the free array read
    partials: list = field(default_factory=list)  # per lambda output: a Slot, a Lit, or None for zero
    index: list = field(default_factory=list)  # read: per axis, a Slot or a Lit


def find_sources(lam: Program, env: Env, input_tans: Sequence[Tan]) -> tuple[list[Source], list[Var]]:
    """The differentiable sources of ``lam`` (see the module doc), given its operands' tangents.

    Also returns the differentiated arrays read inside a ``while_`` loop: their reads (all of them) are
    left to :func:`loop_tangent_lambda`.
    """
    sources = [
        Source("input", v, pos=i)
        for i, (v, t) in enumerate(zip(lam.inputs, input_tans, strict=False))
        if not is_zero(t) and differentiable(v.type)
    ]
    for v in lam.free_vars:
        if v.shape == () and differentiable(v.type) and not is_zero(env.tangent(v)):
            sources.append(Source("free", v))
    reads: list[Source] = []
    looped: dict[Var, None] = {}
    _collect_reads(lam, env, reads, looped, in_loop=False)
    return sources + [r for r in reads if r.array not in looped], list(looped)


def _collect_reads(program: Program, env: Env, reads: list[Source], looped: dict[Var, None], in_loop: bool) -> None:
    for stmt in program.stmts:
        if stmt.prim.name == "index":
            array = stmt.args[0]
            # A rank-0 array is a ``free`` source: its seed reaches its reads too (the index rule), loops included.
            if (
                isinstance(array, Var)
                and array.shape != ()
                and differentiable(array.type)
                and not is_zero(env.tangent(array))
            ):
                if in_loop:
                    looped[array] = None
                reads.append(Source("read", stmt.outs[0], array=array))
        for sub in stmt.subprograms():
            _collect_reads(sub, env, reads, looped, in_loop or stmt.prim.name == "while")


def loop_tangent_lambda(lam: Program, env: Env, looped: Sequence[Var]) -> Program:
    """The tangents of ``lam``'s results due to the arrays ``looped``, read where the lambda reads them.

    A read inside a ``while_`` loop happens a data-dependent number of times, so its tangent cannot be a
    partial times one gathered element: this lambda runs the loop again carrying tangents, each read
    ``a[i]`` of a looped array getting the tangent ``a_tan[i]`` (``a_tan`` a free array of the lambda,
    seeded through :class:`~pyaccad.ad.jvp.Env` and read by the ``index`` rule). It is linear in the
    ``a_tan`` but not made of linear primitives, so :func:`loop_tangents` gives it a transpose of its own.
    """
    seeds = {a: instantiate(env.tangent(a)) for a in looped}

    def body(*xs: object) -> list[object]:
        inner = Env(env, boundary=True, seeds=seeds)
        inner.bind(lam.inputs, [x.var for x in xs], [Zero(v.type) for v in lam.inputs])  # type: ignore[attr-defined]
        _, tans = jvp_stmts(lam, inner)
        return [value_of(instantiate(t)) for t in tans]

    program, _ = trace_program(body, lam.input_types, "scalar", hints=[v.hint for v in lam.inputs])
    return program


def loop_tangents(
    lam: Program, env: Env, looped: Sequence[Var], run: Callable[[Program], Sequence[Atom]]
) -> list[Atom]:
    """Emit the collective of :func:`loop_tangent_lambda`; return the tangents of ``lam``'s results it gives.

    It is the body of a ``custom_rule`` (:mod:`pyaccad.ad.custom_rules`) whose rule transposes it
    (:class:`~pyaccad.ad.loop_reads.LoopReads`); the statement's arguments are what that rule needs:
    the free variables of ``lam``, the operands of the collective and the tangents of the ``looped`` arrays.
    """
    loop_lam = loop_tangent_lambda(lam, env, looped)
    then_, _ = trace_program(lambda: [value_of(t) for t in run(loop_lam)], [], "array")
    collective = then_.stmts[-1]  # run emits the collective alone
    params = {k: v for k, v in collective.params.items() if k != "lam"}
    positions = [lam.free_vars.index(a) for a in looped]
    rule = LoopReads(lam, collective.prim.name, params, len(collective.args), positions)
    refs = [env.primal(v) for v in lam.free_vars] + list(collective.args)
    refs += [instantiate(env.tangent(a)) for a in looped]
    return list(emit_rule(rule, abstract(then_, refs), refs))


def partials_lambda(lam: Program, env: Env, sources: list[Source]) -> Program:
    """``lam`` extended with the partials (and read indices) of ``sources``; fills their ``partials``/``index``."""

    def body(*xs: object) -> list[object]:
        atoms = [x.var for x in xs]  # type: ignore[attr-defined]
        outs = _lambda_jvp(lam, env, atoms, {}, None)[0]
        extra: list[Atom] = []
        for source in sources:
            one = Lit(source.key.dtype.type(1).item(), source.key.dtype)
            seeds = {} if source.kind == "input" else {source.key: one}
            _, outs_tan, read_index = _lambda_jvp(
                lam, env, atoms, seeds, source.pos if source.kind == "input" else None
            )
            source.partials = [_slot(t, extra) for t in outs_tan]
            if source.kind == "read":
                source.index = [_slot(i, extra) for i in read_index or ()]
        return [value_of(a) for a in [*outs, *extra]]

    program, _ = trace_program(body, lam.input_types, "scalar", hints=[v.hint for v in lam.inputs])
    return program


@dataclass(frozen=True)
class Slot:
    """Position of a partial or index among the extra outputs of the extended lambda."""

    pos: int


def _slot(t: Tan, extra: list[Atom]) -> Lit | Slot | None:
    """A partial as a literal (kept out of the arrays), None for zero, else a slot among the outputs."""
    if is_zero(t):
        return None
    if isinstance(t, Lit):
        return t
    extra.append(t)
    return Slot(len(extra) - 1)


def _lambda_jvp(
    lam: Program, env: Env, atoms: list[Atom], seeds: dict[Var, Atom], input_pos: int | None
) -> tuple[list[Atom], list[Tan], list[Atom] | None]:
    inner = Env(env, boundary=True, seeds=seeds)
    tans: list[Tan] = [Zero(v.type) for v in lam.inputs]
    if input_pos is not None:
        v = lam.inputs[input_pos]
        tans[input_pos] = Lit(v.dtype.type(1).item(), v.dtype)
    inner.bind(lam.inputs, atoms, tans)
    outs, outs_tan = jvp_stmts(lam, inner)
    return outs, outs_tan, inner.read_index


def lambda_tangents(
    lam: Program,
    env: Env,
    input_tans: Sequence[Tan],
    out_shape: tuple[int, ...],
    run: Callable[[Program], Sequence[Atom]],
    input_basis: Callable[[int, Tan], Tan],
) -> tuple[list[Atom], list[Tan]]:
    """Emit the primal collective (via ``run(new_lambda)``) and the array-level tangents of its results.

    ``input_basis(i, x_i_tan)`` is the array the partial of operand ``i``
    multiplies: ``x_i_tan`` itself for ``map``, a shifted tangent for ``stencil``.
    """
    sources, looped = find_sources(lam, env, input_tans)
    new_lam = partials_lambda(lam, env, sources)
    results = list(run(new_lam))
    n_out = len(lam.outputs)
    outs, extra = results[:n_out], results[n_out:]

    terms: list[list[Tan]] = [[] for _ in outs]
    if looped:
        loop_tans = loop_tangents(lam, env, looped, run)
        for j, t in enumerate(loop_tans):
            if differentiable(outs[j].type):
                terms[j].append(t)
    for source in sources:
        if source.kind == "input":
            basis = input_basis(source.pos, input_tans[source.pos])
        elif source.kind == "free":
            s_tan = instantiate(env.tangent(source.key))
            basis = op("broadcast_in_dim", s_tan, shape=out_shape, dims=())
        else:
            basis = _gathered_tangent(env.tangent(source.array), out_shape, source, extra)
        for j, slot in enumerate(source.partials):
            if slot is None or is_zero(basis) or not differentiable(outs[j].type):
                continue
            term = tcast(basis, outs[j].type)
            partial = extra[slot.pos] if isinstance(slot, Slot) else slot
            terms[j].append(_scale(term, partial, outs[j]))
    return outs, [
        tsum(ts, o.type) if differentiable(o.type) else Zero(o.type) for ts, o in zip(terms, outs, strict=False)
    ]


def _scale(term: Tan, partial: Atom, out: Atom) -> Tan:
    if isinstance(partial, Lit):
        if partial.is_fixed(1):
            return term
        if partial.is_fixed(-1):
            return op("neg", term)
        lit = Lit(partial.value, out.dtype, partial.from_extents)
        (partial,) = emit("broadcast_in_dim", (lit,), {"shape": out.shape, "dims": ()})
    return tscale(term, partial)


def _gathered_tangent(a_tan: Tan, out_shape: tuple[int, ...], source: Source, extra: list[Atom]) -> Tan:
    """``backpermute(a_tan, idx)``: the tangent of the elements a lambda read at ``idx`` (per output element)."""
    if is_zero(a_tan) or a_tan.type.size == 0:
        return Zero(a_tan.type.with_shape(out_shape))
    idx = [extra[s.pos] if isinstance(s, Slot) else s for s in source.index]

    def index_fn(*ix: object) -> list[object]:
        return [value_of(op("index", i, *(v.var for v in ix)) if isinstance(i, Var) else i) for i in idx]

    index_lam, _ = trace_program(index_fn, [scalar_type(INDEX_DTYPE)] * len(out_shape), "scalar")
    return op("backpermute", instantiate(a_tan), shape=out_shape, index=index_lam)
