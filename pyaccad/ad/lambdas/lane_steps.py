"""Per-lane pieces of the reverse pass through a lambda's ``while_`` loops (see :mod:`pyaccad.ad.lambdas.loop_reads`).

Everything here is emitted inside a scalar lambda (one lane of a
``generate`` over the lanes of the original collective), except
:func:`scatter_add` and :func:`lane_max`, which work on arrays over the lanes:

* :func:`lane_env` and :func:`replay` rebuild a lane's values before a
  statement of the original lambda from the lane's operands (recompute
  rather than store);
* :func:`seeded_jvp` differentiates a piece of the lambda by forward mode in
  one one-hot direction (a value of the lane, or one ``index`` read), and
  :func:`weighted` dots the result with the lane's adjoints: one entry of a
  vector-Jacobian product per direction.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad.frontend.tracing import value_of
>>> acc.jit(lambda n: value_of(lane_max(n.var)))(np.array([[3, 9], [4, 1]]))
array(9)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyaccad.ad.emitters import binary, lit, op
from pyaccad.ad.jvp import Env, jvp_stmts
from pyaccad.ad.tangents import Tan, Zero, instantiate, is_zero, tcast
from pyaccad.frontend.tracing import emit, trace_program, value_of
from pyaccad.ir import BOOL, INDEX_DTYPE, ArrayType, Atom, Lit, Program, Stmt, Var, scalar_type


def lane_env(lam: Program, operands: Sequence[Atom], ix: Sequence[Atom]) -> Env:
    """An env binding the inputs of ``lam`` for the lane ``ix``, read from ``operands`` (one array per input).

    The env is a lambda boundary without seeds: nothing in it carries a tangent until a child env seeds
    one (:func:`seeded_jvp`).
    """
    env = Env(None, boundary=True)
    env.bind(lam.inputs, [op("index", u, *ix) for u in operands], [Zero(v.type) for v in lam.inputs])
    return env


def replay(stmts: Sequence[Stmt], env: Env) -> None:
    """Emit ``stmts`` again, reading and binding their values in ``env`` (recompute rather than store)."""
    jvp_stmts(Program((), tuple(stmts), ()), env)  # nothing carries a tangent: every statement is copied


def seeded_jvp(program: Program, env: Env, key: Var) -> tuple[list[Tan], list[Atom]]:
    """Forward mode through the zero-input ``program`` with a tangent of 1 on ``key`` (and 0 elsewhere).

    ``key`` is a value ``env`` binds or the result of an ``index`` read in ``program``. Returns the
    output tangents and, for a read, the index it read (hoisted out of ``cond`` branches; 0 where the
    branch is not taken).
    """
    inner = Env(env, boundary=True, seeds={key: Lit(key.dtype.type(1).item(), key.dtype)})
    _, tans = jvp_stmts(program, inner)
    return tans, list(inner.read_index or ())


def weighted(weights: Sequence[Atom | None], tans: Sequence[Tan], type_: ArrayType) -> Atom:
    """``Σ_j weights_j · tans_j`` as a scalar of ``type_`` (0 when every term is zero)."""
    total: Atom = lit(0, type_)
    for w, t in zip(weights, tans, strict=True):
        if w is None or is_zero(t):
            continue
        total = op("add", total, tcast(op("mul", instantiate(t), w), type_))
    return total


def guarded(
    pred: Atom, then_fn: Callable[[], list[Atom]], else_fn: Callable[[], list[Atom]] | None = None
) -> list[Atom]:
    """A scalar ``cond``: only the lanes where ``pred`` holds run ``then_fn`` (no work, no reads, elsewhere).

    The other lanes get ``else_fn()``, by default zeros.
    """
    then_, _ = trace_program(lambda: [value_of(a) for a in then_fn()], [], "scalar")
    if else_fn is None:
        else_fn = lambda: [lit(0, t) for t in then_.output_types]  # noqa: E731
    else_, _ = trace_program(lambda: [value_of(a) for a in else_fn()], [], "scalar")
    return list(emit("cond", (pred,), {"then_": then_, "else_": else_}))


def scatter_add(ct: Tan, array: Atom, values: Atom, index: Sequence[Atom]) -> Tan:
    """``ct`` (the cotangent of ``array``) plus ``values`` added at ``index`` (arrays over the lanes): permute (+)."""
    if array.type.size == 0:  # nothing can have been read
        return ct
    lanes = values.shape

    def target(*ix: object) -> list[object]:
        at = [v.var for v in ix]  # type: ignore[attr-defined]
        return [value_of(Lit(True, BOOL)), *(value_of(op("index", i, *at)) for i in index)]

    lam, _ = trace_program(target, [scalar_type(INDEX_DTYPE)] * len(lanes), "scalar")
    return op("permute", instantiate(ct), values, combine=binary("add", array.dtype), index=lam)


def lane_max(n: Atom) -> Atom:
    """The largest entry of the int64 array ``n`` (0 when it is empty), rank 0."""
    flat = op("reshape", n, shape=(n.type.size,))
    (out,) = emit("fold", (flat, Lit(0, INDEX_DTYPE)), {"lam": binary("maximum", INDEX_DTYPE), "axis": 0})
    return out


def lane_generate(shape: tuple[int, ...], per_lane: Callable[[list[Atom]], list[Atom]]) -> list[Atom]:
    """``generate(shape)`` of ``per_lane(ix) -> atoms``: one scalar computation per lane."""

    def body(*ix: object) -> list[object]:
        return [value_of(a) for a in per_lane([v.var for v in ix])]  # type: ignore[attr-defined]

    lam, _ = trace_program(body, [scalar_type(INDEX_DTYPE)] * len(shape), "scalar")
    return list(emit("generate", (), {"shape": shape, "lam": lam}))
