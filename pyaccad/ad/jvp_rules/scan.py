"""JVP rule of ``scan``: ``+`` is linear; other operators give a linear recurrence.

For an inclusive forward scan ``y_i = f(y_{i-1}, x_i)`` (tuples allowed) the
tangent obeys

    y_tan_i = A_i · y_tan_{i-1} + b_i,   A_i = ∂f/∂a (y_{i-1}, x_i),   b_i = ∂f/∂b (y_{i-1}, x_i) · x_tan_i

with ``y_tan_0 = x_tan_0``; ``A_i`` is an ``m × m`` matrix for the ``m``
float components of the state (integer components carry no tangent). With
an initial value (``scanl``, one longer) position 0 is ``z`` and
``b_0 = z_tan``; reverse scans (``scanr``) run the same recurrence from the
end, with ``f``'s operands swapped (``f(x_i, y_{i+1})``). ``A`` and ``B``
come from one ``generate`` that differentiates the lambda at the scalar
level; the recurrence is a ``scan`` over ``(A, b)`` with
:func:`recurrence_lambda` (composition of affine maps: associative, linear in
``b``), transposed by :mod:`pyaccad.ad.transpose_rules.linear` to the reverse
recurrence with the transposed matrices. Float components of different
precisions share the recurrence in the widest one (tangents cast in and
out). Values the operator closes over (outer scalars, arrays read at any
index) add ``∂_w(y_{i-1} ⊕_w x_i)·w_tan`` to ``b_i`` (:mod:`pyaccad.ad.lambdas.closures`).

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> products = lambda x: acc.scanl1(lambda a, b: a * b, x).sum()
>>> acc.jit(ad.grad(products))(np.array([1.0, 2.0, 3.0]))
array([9., 4., 2.])
"""

from __future__ import annotations

from collections.abc import Sequence
from math import isqrt

import numpy as np

from pyaccad.ad.emitters import idx, lit, op
from pyaccad.ad.jvp import Env, copy_stmt, jvp_atoms, linear_rule, register
from pyaccad.ad.lambdas.closures import Apply, closed_over, closure_tangents, hoist_reads
from pyaccad.ad.tangents import Tan, Zero, differentiable, instantiate, is_zero, tadd, tcast, tsum
from pyaccad.frontend.tracing import emit, trace_program, value_of
from pyaccad.ir import INDEX_DTYPE, Atom, Lit, Program, Stmt, scalar_type
from pyaccad.ir.monoids import monoids


def recurrence_lambda(dtype: np.dtype, m: int, reverse: bool = False) -> Program:
    """Compose affine maps ``y ↦ A·y + b`` of ``m`` components, earlier one first: ``(A2·A1, A2·b1 + b2)``.

    Operands are ``m·m`` matrix entries (row-major) then ``m`` offsets. A reverse scan calls its
    operator as ``f(element, accumulated)``, so there the later map comes first.
    """
    n = m * m + m

    def compose(*values: object) -> list[object]:
        atoms = [v.var for v in values]  # type: ignore[attr-defined]
        earlier, later = (atoms[n:], atoms[:n]) if reverse else (atoms[:n], atoms[n:])
        a1, b1, a2, b2 = earlier[: m * m], earlier[m * m :], later[: m * m], later[m * m :]

        def dot(row: int, column: Sequence[Atom]) -> Atom:
            terms = [op("mul", a2[row * m + r], column[r]) for r in range(m)]
            total = terms[0]
            for t in terms[1:]:
                total = op("add", total, t)
            return total

        a = [dot(p, [a1[r * m + q] for r in range(m)]) for p in range(m) for q in range(m)]
        b = [op("add", dot(p, b1), b2[p]) for p in range(m)]
        return [value_of(v) for v in a + b]

    lam, _ = trace_program(compose, [scalar_type(dtype)] * (2 * n), "scalar")
    return lam


def recurrence_size(lam: Program) -> int | None:
    """``m`` when ``lam`` has the shape of ``recurrence_lambda(_, m)``, else None."""
    n = len(lam.outputs)
    m = (isqrt(1 + 4 * n) - 1) // 2
    return m if m >= 1 and m * m + m == n and len(lam.inputs) == 2 * n else None


def linear_recurrence(a: Sequence[Atom], b: Sequence[Atom], axis: int, reverse: bool) -> list[Atom]:
    """``y_i = A_i·y_{i∓1} + b_i`` along ``axis`` (from the end when ``reverse``); the first ``A`` is unused."""
    lam = recurrence_lambda(b[0].dtype, len(b), reverse)
    outs = emit("scan", (*a, *b), {"lam": lam, "axis": axis, "reverse": reverse})
    return list(outs[len(a) :])


@register("scan")
def _scan_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    stmt = hoist_reads(stmt, env)
    lam, axis, reverse = stmt.params["lam"], stmt.params["axis"], stmt.params["reverse"]
    found = monoids(lam)
    if found is not None and all(m == "add" for m in found):
        return linear_rule(stmt, env, args, args_tan)
    ys = list(copy_stmt(stmt, env, args))
    k = len(ys)
    floats = [j for j in range(k) if differentiable(ys[j].type)]
    zeros: list[Tan] = [Zero(y.type) for y in ys]
    if not floats or ys[0].type.size == 0:  # nothing differentiable, or nothing at all
        return ys, zeros
    xs, inits = args[:k], args[k:]
    xs_tan, inits_tan = args_tan[:k], args_tan[k:]
    # float32 and float64 components mixed: the recurrence runs in the widest precision, cast back at the end
    like = max((ys[q] for q in floats), key=lambda y: y.dtype.itemsize)
    steps = _Steps(xs, ys, axis, reverse, bool(inits))
    a, bcoef = _partials(lam, env, steps, floats, like)
    m = len(floats)
    aligned = [tcast(_aligned(xs_tan[q], ys[q], axis, reverse) if inits else xs_tan[q], like.type) for q in floats]
    b: list[Tan] = [
        tsum([op("mul", bcoef[p * m + c], t) for c, t in enumerate(aligned) if not is_zero(t)], like.type)
        for p in range(m)
    ]
    if closed_over(lam, env):
        offsets = _closure_offsets(lam, env, steps)
        b = [tadd(b[p], tcast(offsets[q], like.type)) for p, q in enumerate(floats)]
    if inits and any(not is_zero(inits_tan[q]) for q in floats):
        at_first = _position_is(like.shape, axis, like.shape[axis] - 1 if reverse else 0)
        for p, q in enumerate(floats):
            z_tan = op("broadcast_in_dim", instantiate(tcast(inits_tan[q], like.type)), shape=like.shape, dims=())
            b[p] = op("select", at_first, z_tan, instantiate(b[p]))
    if any(not is_zero(t) for t in b):
        solved = linear_recurrence(a, [instantiate(t) for t in b], axis, reverse)
        for p, q in enumerate(floats):
            zeros[q] = tcast(solved[p], ys[q].type)
    return ys, zeros


def _aligned(x_tan: Tan, y: Atom, axis: int, reverse: bool) -> Tan:
    """``x_tan`` padded with a zero where the initial value sits (the output is one longer)."""
    if is_zero(x_tan):
        return Zero(y.type)
    edge = tuple(1 if d == axis else 0 for d in range(y.type.ndim))
    none = (0,) * y.type.ndim
    lo, hi = (none, edge) if reverse else (edge, none)
    return op("pad", x_tan, lit(0, y.type.with_shape(())), lo=lo, hi=hi, interior=none)


def _position_is(shape: tuple[int, ...], axis: int, pos: int) -> Atom:
    lam, _ = trace_program(
        lambda *ix: value_of(op("eq", ix[axis].var, idx(pos))), [scalar_type(INDEX_DTYPE)] * len(shape), "scalar"
    )
    return op("generate", shape=shape, lam=lam)


class _Steps:
    """The operands of the application that makes each output position of a scan (see :meth:`_Steps.at`)."""

    def __init__(self, xs: list[Atom], ys: list[Atom], axis: int, reverse: bool, init: bool) -> None:
        self.xs, self.ys, self.axis, self.reverse, self.init = xs, ys, axis, reverse, init
        self.n_out = ys[0].shape[axis]
        self.acc_base, self.elem_base = (len(ys), 0) if reverse else (0, len(ys))

    def at(self, ix: list[Atom]) -> tuple[list[Atom], Atom]:
        """The operator's operands at output position ``ix`` (in call order), and whether no operator applies there.

        Where the scan starts (``x_0``, or the initial value) the operands are clamped neighbours.
        """
        axis, n_out = self.axis, self.n_out
        i = ix[axis]
        step = 1 if self.reverse else -1  # where the accumulated operand comes from
        prev = op("minimum", op("maximum", op("add", i, idx(step)), idx(0)), idx(n_out - 1))
        x_pos = i
        if self.init:  # output position i reads x at i - 1 (scanl) or i (scanr)
            x_pos = op("minimum", i, idx(n_out - 2)) if self.reverse else op("maximum", op("sub", i, idx(1)), idx(0))
        acc = [op("index", y, *ix[:axis], prev, *ix[axis + 1 :]) for y in self.ys]
        elem = [op("index", x, *ix[:axis], x_pos, *ix[axis + 1 :]) for x in self.xs] if self.xs[0].shape[axis] else acc
        first = op("eq", i, idx(n_out - 1 if self.reverse else 0))
        return ([*elem, *acc] if self.reverse else [*acc, *elem]), first


def _partials(lam: Program, env: Env, steps: _Steps, floats: list[int], like: Atom) -> tuple[list[Atom], list[Atom]]:
    """Entries of ``A`` and ``B`` (row-major over the float components) over the output positions.

    Where the recurrence starts, ``A = 0`` and ``B = I``. Entries take ``like``'s (the widest) dtype.
    """
    m = len(floats)

    def body(*ix_values: object) -> list[object]:
        ordered, at_first = steps.at([v.var for v in ix_values])  # type: ignore[attr-defined]
        columns: dict[str, list[list[Atom]]] = {"a": [], "b": []}
        for name, base in (("a", steps.acc_base), ("b", steps.elem_base)):
            for q in floats:
                seed: list[Tan] = [Zero(a.type) for a in ordered]
                seed[base + q] = Lit(1.0, ordered[base + q].dtype)
                _, tans = jvp_atoms(lam, ordered, seed, env, boundary=True)
                columns[name].append(
                    [
                        op(
                            "select",
                            at_first,
                            Lit(float(name == "b" and p == q), like.dtype),
                            instantiate(tcast(tans[p], like.type.with_shape(()))),
                        )
                        for p in floats
                    ]
                )
        entries = [columns[name][q][p] for name in ("a", "b") for p in range(m) for q in range(m)]
        return [value_of(e) for e in entries]

    gen, _ = trace_program(body, [scalar_type(INDEX_DTYPE)] * like.type.ndim, "scalar")
    out = emit("generate", (), {"shape": like.shape, "lam": gen})
    return list(out[: m * m]), list(out[m * m :])


def _closure_offsets(lam: Program, env: Env, steps: _Steps) -> list[Tan]:
    """``C_j = ∂_w(y_{j∓1} ⊕_w x_j)·w_tan`` per output position, over the values ``w`` the operator closes over.

    See :mod:`pyaccad.ad.lambdas.closures`; where the scan starts no operator applies and the term is 0.
    """

    def body(ix: list[Atom], live: Apply, held: Apply) -> list[Atom]:
        ordered, at_first = steps.at(ix)
        start = ordered[steps.elem_base : steps.elem_base + len(steps.ys)]  # carries no tangent of w
        return [op("select", at_first, s, y) for s, y in zip(start, live(ordered), strict=True)]

    return closure_tangents(lam, env, steps.ys[0].shape, body)
