"""JVP rule of ``scan``: ``+`` is linear; other operators give a linear recurrence.

For an inclusive forward scan ``y_i = f(y_{i-1}, x_i)`` the tangent obeys

    y_tan_i = A_i · y_tan_{i-1} + b_i,   A_i = ∂f/∂a (y_{i-1}, x_i),   b_i = ∂f/∂b (y_{i-1}, x_i) · x_tan_i

with ``y_tan_0 = x_tan_0``. With an initial value (``scanl``, one longer)
position 0 is ``z`` and ``b_0 = z_tan``; reverse scans (``scanr``) run the
same recurrence from the end, with ``f``'s operands swapped (``f(x_i, y_{i+1})``).
``A`` and ``B`` come from one ``generate`` that differentiates the lambda at
the scalar level; the recurrence itself is a ``scan`` over ``(A, b)`` pairs
with :func:`recurrence_lambda`, associative and linear in ``b`` (transposed
by :mod:`pyaccad.ad.transpose_rules` to the reverse recurrence).

Tuple-valued scans whose operator is not ``+`` are a gap (:mod:`pyaccad.ad.gaps`).

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> ad.grad(lambda x: acc.scanl1(lambda a, b: a * b, x).sum())(np.array([1.0, 2.0, 3.0]))
array([9., 4., 2.])
"""

from __future__ import annotations

from pyaccad.ad.jvp import Env, copy_stmt, jvp_atoms, linear_rule, register
from pyaccad.ad.monoids import monoids
from pyaccad.ad.rules_fold import _check_closed, idx
from pyaccad.ad.tangents import Tan, Zero, differentiable, instantiate, is_zero, lit, op
from pyaccad.errors import NotDifferentiable
from pyaccad.frontend.tracing import emit, fail, trace_program, value_of
from pyaccad.ir import INDEX_DTYPE, Atom, Lit, Program, Stmt, scalar_type


def recurrence_lambda(dtype, reverse: bool = False) -> Program:
    """``(A1, b1), (A2, b2) -> (A1·A2, A2·b1 + b2)``: composing ``y ↦ A·y + b`` maps, earlier one first.

    A reverse scan calls its operator as ``f(element, accumulated)``, so there the later map comes first.
    """
    s = scalar_type(dtype)

    def compose(*pairs: object) -> tuple[object, object]:
        a1, b1, a2, b2 = [p.var for p in pairs]  # type: ignore[attr-defined]
        if reverse:
            a1, b1, a2, b2 = a2, b2, a1, b1
        return value_of(op("mul", a1, a2)), value_of(op("add", op("mul", a2, b1), b2))

    lam, _ = trace_program(compose, [s] * 4, "scalar")
    return lam


def is_recurrence(lam: Program) -> bool:
    """Whether ``lam`` is (structurally) a :func:`recurrence_lambda`."""
    names = [s.prim.name for s in lam.stmts]
    return len(lam.inputs) == 4 and len(lam.outputs) == 2 and names == ["mul", "mul", "add"]


def linear_recurrence(a: Atom, b: Atom, axis: int, reverse: bool) -> Atom:
    """``y_i = A_i·y_{i∓1} + b_i`` along ``axis`` (from the end when ``reverse``); ``A`` at the first step is unused."""
    _, y = emit("scan", (a, b), {"lam": recurrence_lambda(b.dtype, reverse), "axis": axis, "reverse": reverse})
    return y


@register("scan")
def _scan_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    lam, axis, reverse = stmt.params["lam"], stmt.params["axis"], stmt.params["reverse"]
    found = monoids(lam)
    if found is not None and all(m == "add" for m in found):
        return linear_rule(stmt, env, args, args_tan)
    outs = list(copy_stmt(stmt, env, args))
    if len(outs) != 1:
        fail(NotDifferentiable, f"scan: no derivative for a tuple-valued scan whose operator is not + "
             f"(at {stmt.source or 'unknown line'})")
    (y,) = outs
    if not differentiable(y.type):
        return outs, [Zero(y.type)]
    _check_closed(stmt, env)
    x, inits = args[0], args[1:]
    x_tan, inits_tan = args_tan[0], args_tan[1:]
    n_out = y.shape[axis]
    a, bcoef = _partials(lam, env, x, y, axis, reverse, bool(inits))
    first = n_out - 1 if reverse else 0  # the position the recurrence starts from
    if inits:
        x_tan = Zero(y.type) if is_zero(x_tan) else op(
            "pad", x_tan, lit(0, y.type.with_shape(())), lo=_edge(y, axis, not reverse),
            hi=_edge(y, axis, reverse), interior=(0,) * y.type.ndim)
    b: Tan = Zero(y.type) if is_zero(x_tan) else op("mul", bcoef, x_tan)
    if inits and not is_zero(inits_tan[0]):
        at_first = _position_is(y.shape, axis, first)
        z_tan = op("broadcast_in_dim", inits_tan[0], shape=y.shape, dims=())
        b = op("select", at_first, z_tan, instantiate(b))
    if is_zero(b):
        return outs, [b]
    return outs, [linear_recurrence(a, b, axis, reverse)]


def _edge(y: Atom, axis: int, here: bool) -> tuple[int, ...]:
    return tuple(1 if (d == axis and here) else 0 for d in range(y.type.ndim))


def _position_is(shape: tuple[int, ...], axis: int, pos: int) -> Atom:
    lam, _ = trace_program(lambda *ix: value_of(op("eq", ix[axis].var, idx(pos))),
                           [scalar_type(INDEX_DTYPE)] * len(shape), "scalar")
    return op("generate", shape=shape, lam=lam)


def _partials(lam: Program, env: Env, x: Atom, y: Atom, axis: int, reverse: bool,
              with_init: bool) -> tuple[Atom, Atom]:
    """Arrays ``A``, ``B`` over the output positions (``A`` = 0, ``B`` = 1 where the recurrence starts)."""
    n_out = y.shape[axis]
    step = 1 if reverse else -1  # where the accumulated operand comes from
    first = n_out - 1 if reverse else 0

    def body(*ix_values: object) -> list[object]:
        ix = [v.var for v in ix_values]  # type: ignore[attr-defined]
        i = ix[axis]
        prev = op("minimum", op("maximum", op("add", i, idx(step)), idx(0)), idx(n_out - 1))
        x_pos = i
        if with_init:  # output position i reads x at i - 1 (scanl) or i (scanr)
            x_pos = op("maximum", op("sub", i, idx(1)), idx(0)) if not reverse else op(
                "minimum", i, idx(n_out - 2))
        acc = op("index", y, *ix[:axis], prev, *ix[axis + 1:])
        elem = op("index", x, *ix[:axis], x_pos, *ix[axis + 1:]) if x.shape[axis] else acc
        one = Lit(y.dtype.type(1).item(), y.dtype)
        ordered = [elem, acc] if reverse else [acc, elem]
        acc_pos, elem_pos = (1, 0) if reverse else (0, 1)
        partial = {}
        for pos in (acc_pos, elem_pos):
            seed = [Zero(scalar_type(y.dtype))] * 2
            seed[pos] = one
            _, (t,) = jvp_atoms(lam, ordered, seed, env, boundary=True)
            partial[pos] = t
        at_first = op("eq", i, idx(first))
        a = op("select", at_first, Lit(0.0, y.dtype), instantiate(partial[acc_pos]))
        bcoef = op("select", at_first, one, instantiate(partial[elem_pos]))
        return [value_of(a), value_of(bcoef)]

    gen, _ = trace_program(body, [scalar_type(INDEX_DTYPE)] * y.type.ndim, "scalar")
    a, bcoef = emit("generate", (), {"shape": y.shape, "lam": gen})
    return a, bcoef
