"""Collective operations: ``generate``, ``map``, ``fold``, ``scan``, ``backpermute``, ``permute``.

Each evaluates its lambda vectorised over all the elements it needs (see
:mod:`pyaccad.backends.interp.lambdas`). Reductions try NumPy's monoid
ufuncs first and fall back on the general rule, which only assumes what
accelerate assumes, that the operator is associative:

* ``fold``: a pairwise tree; each level combines neighbours ``(x0, x1)``,
  ``(x2, x3)``, ... in one vectorised call, keeping the operand order;
* ``scan``: Hillis–Steele steps, ``y[i] = f(y[i - d], y[i])`` for
  ``d = 1, 2, 4, ...`` (mirrored for a reverse scan);
* ``permute``: collisions in rounds, the k-th write to each target in round
  k, so writes to one target are combined in source order.

With initial values, ``fold f z xs = f z (fold1 f xs)`` (``z`` alone for an
empty axis), ``scanl f z xs = [z, f z x0, ...]`` and
``scanr f z xs = [..., f x_{n-1} z, z]``.

>>> import numpy as np
>>> _tree_combine_pairs([np.arange(5)], lambda lhs, rhs: [lhs[0] * 10 + rhs[0]])
[array([ 1, 23,  4])]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod

import numpy as np

from pyaccad.backends.interp.control import check_bounds
from pyaccad.backends.interp.evaluator import Context, Env, register
from pyaccad.backends.interp.lambdas import index_lanes, run_lambda
from pyaccad.ir import Program, Stmt
from pyaccad.ir.monoids import monoid_of

Combine = Callable[[list[np.ndarray], list[np.ndarray]], list[np.ndarray]]


@register("generate")
def _generate(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    shape = tuple(stmt.params["shape"])
    outs = run_lambda(stmt.params["lam"], index_lanes(shape), env, "generate", prod(shape))
    return [out.reshape(shape) for out in outs]


@register("map")
def _map(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    shape = args[0].shape
    outs = run_lambda(stmt.params["lam"], [a.reshape(-1) for a in args], env, "map", prod(shape))
    return [out.reshape(shape) for out in outs]


def _ufunc(lam: Program) -> np.ufunc | None:
    """NumPy's ufunc of a monoid lambda (its ``reduce``, ``accumulate`` and ``at``), else None."""
    found = monoid_of(lam)
    return found.ufunc if found is not None else None


def _combiner(lam: Program, env: Env, op: str) -> Combine:
    """``lam`` applied element-wise to arrays ``lhs`` (its first params) and ``rhs`` (its last).

    The operands share one shape, except 0-d ones (initial values), which stay uniform across lanes.
    """

    def combine(lhs: list[np.ndarray], rhs: list[np.ndarray]) -> list[np.ndarray]:
        operands = [np.asarray(a) for a in lhs + rhs]
        shape = np.broadcast_shapes(*(a.shape for a in operands))
        flat = [a.reshape(-1) if a.ndim else a for a in operands]
        return [out.reshape(shape) for out in run_lambda(lam, flat, env, op, prod(shape))]

    return combine


def _tree_combine_pairs(xs: list[np.ndarray], combine: Combine) -> list[np.ndarray]:
    """One level of the fold tree along the last axis: combine neighbours, carry an odd last element."""
    n = xs[0].shape[-1]
    even = 2 * (n // 2)
    paired = combine([x[..., 0:even:2] for x in xs], [x[..., 1:even:2] for x in xs])
    if n % 2:
        paired = [np.concatenate([p, x[..., -1:]], axis=-1) for p, x in zip(paired, xs, strict=True)]
    return paired


@register("fold")
def _fold(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    lam, axis = stmt.params["lam"], stmt.params["axis"]
    k = len(lam.outputs)
    xs, inits = [np.moveaxis(a, axis, -1) for a in args[:k]], args[k:]
    rest, n = xs[0].shape[:-1], xs[0].shape[-1]
    if n == 0:  # only allowed with initial values (the type rule rejects fold1 of an empty axis)
        return [np.broadcast_to(z, rest) for z in inits]
    ufunc = _ufunc(lam)
    combine = _combiner(lam, env, "fold")
    if ufunc is not None:
        reduced = [ufunc.reduce(xs[0], axis=-1, dtype=xs[0].dtype)]
    else:
        while xs[0].shape[-1] > 1:
            xs = _tree_combine_pairs(xs, combine)
        reduced = [x[..., 0] for x in xs]
    return combine(list(inits), reduced) if inits else reduced


def _scan1(xs: list[np.ndarray], lam: Program, combine: Combine, reverse: bool) -> list[np.ndarray]:
    """Inclusive scan along the last axis (scanl1, or scanr1 when ``reverse``)."""
    ufunc = _ufunc(lam)
    if ufunc is not None:  # commutative, so a reverse scan is the forward scan of the flipped axis
        x = xs[0][..., ::-1] if reverse else xs[0]
        out = ufunc.accumulate(x, axis=-1, dtype=x.dtype)
        return [out[..., ::-1] if reverse else out]
    n = xs[0].shape[-1]
    ys = [x.copy() for x in xs]
    step = 1
    while step < n:
        lo, hi = [y[..., : n - step] for y in ys], [y[..., step:] for y in ys]
        new = combine(lo, hi)
        for y, value in zip(ys, new, strict=True):
            if reverse:
                y[..., : n - step] = value  # y[i] = f(y[i], y[i + step])
            else:
                y[..., step:] = value  # y[i] = f(y[i - step], y[i])
        step *= 2
    return ys


@register("scan")
def _scan(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    lam, axis, reverse = stmt.params["lam"], stmt.params["axis"], stmt.params["reverse"]
    k = len(lam.outputs)
    xs, inits = [np.moveaxis(a, axis, -1) for a in args[:k]], list(args[k:])
    combine = _combiner(lam, env, "scan")
    rest, n = xs[0].shape[:-1], xs[0].shape[-1]
    ys = _scan1(xs, lam, combine, reverse) if n else xs
    if inits:
        edge = [np.broadcast_to(z, (*rest, 1)) for z in inits]
        if n == 0:
            ys = edge
        elif reverse:
            ys = [np.concatenate([y, e], axis=-1) for y, e in zip(combine(ys, inits), edge, strict=True)]
        else:
            ys = [np.concatenate([e, y], axis=-1) for e, y in zip(edge, combine(inits, ys), strict=True)]
    return [np.moveaxis(y, -1, axis) for y in ys]


@register("backpermute")
def _backpermute(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    (x,) = args
    shape = tuple(stmt.params["shape"])
    n = prod(shape)
    targets = run_lambda(stmt.params["index"], index_lanes(shape), env, "backpermute", n)
    check_bounds("backpermute", x.shape, targets, stmt.source)
    # A rank-0 source has no index to read: every output element is its one value.
    return [np.broadcast_to(x[tuple(targets)], (n,)).reshape(shape)]


@register("permute")
def _permute(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    defaults, x = args
    keep, *targets = run_lambda(stmt.params["index"], index_lanes(x.shape), env, "permute", x.size)
    values = x.reshape(-1)[keep]
    targets = [t[keep] for t in targets]
    check_bounds("permute", defaults.shape, targets, stmt.source)
    # A C-ordered array copy, so that its reshape below is a view written in place: a rank-0 value can be a NumPy
    # scalar, and another value a transposed view, whose reshapes are copies (the writes would be lost)
    out = np.array(defaults, order="C")
    flat_out = out.reshape(-1)
    flat = np.ravel_multi_index(targets, defaults.shape) if targets else np.zeros(values.size, dtype=np.int64)
    ufunc = _ufunc(stmt.params["combine"])
    if ufunc is not None:
        ufunc.at(flat_out, flat, values)
    else:
        combine = _combiner(stmt.params["combine"], env, "permute")
        for lanes in _collision_rounds(flat):
            where = flat[lanes]
            flat_out[where] = combine([values[lanes]], [flat_out[where]])[0]
    return [out]


def _collision_rounds(flat: np.ndarray) -> Sequence[np.ndarray]:
    """Source positions grouped by round: round k holds the k-th write to each target, in source order.

    >>> [r.tolist() for r in _collision_rounds(np.array([5, 7, 5, 5, 7]))]
    [[0, 1], [2, 4], [3]]
    """
    if flat.size == 0:
        return []
    order = np.argsort(flat, kind="stable")
    sorted_flat = flat[order]
    starts = np.r_[True, sorted_flat[1:] != sorted_flat[:-1]]
    position = np.arange(flat.size)
    rank = np.empty(flat.size, dtype=np.int64)
    rank[order] = position - np.maximum.accumulate(np.where(starts, position, 0))
    by_round = np.argsort(rank, kind="stable")
    bounds = np.cumsum(np.bincount(rank))
    return np.split(by_round, bounds[:-1])
