"""Control flow and reads inside lambdas: ``cond``, ``while``, ``index``; ``custom_rule`` and ``remat`` bodies.

At array level ``cond`` and ``while`` are accelerate's ``acond``/``awhile``:
plain Python control flow around sub-program evaluation.

Inside a lambda they act per lane, and lazily, as the compiled backends do:

* ``cond`` evaluates each branch only on the lanes that take it, so
  ``cond(i > 0, a[i - 1], 0)`` never reads ``a[-1]``;
* ``while`` iterates as long as any lane is still looping, and each step
  updates the still-active lanes only.

``index`` reads a free array with NumPy fancy indexing after a bounds check
(negative indices are out of bounds, never wrapped around).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pyaccad.backends.interp.evaluator import Context, Env, eval_program, register, restrict, to_lanes
from pyaccad.errors import NotDifferentiable, out_of_bounds, with_location
from pyaccad.ir import Program, Stmt


def check_bounds(what: str, shape: tuple[int, ...], indices: Sequence[np.ndarray], source: str | None) -> None:
    """Raise :func:`~pyaccad.errors.out_of_bounds` naming ``what``, ``shape``, the first bad index and ``source``.

    ``indices`` holds one lane array (or uniform 0-d array) per axis.

    >>> import numpy as np
    >>> check_bounds("index inside map", (3,), [np.array([0, 3])], "f.py:1: y = a[i]")
    Traceback (most recent call last):
      ...
    pyaccad.errors.IndexOutOfBounds: index inside map: index (3,) is out of bounds for an array of shape (3,): ...
      at f.py:1: y = a[i]
    """
    bad = np.zeros((), dtype=bool)
    for idx, extent in zip(indices, shape, strict=True):
        bad = bad | (idx < 0) | (idx >= extent)
    if not bad.any():
        return
    first = int(np.flatnonzero(bad)[0]) if bad.ndim else 0  # the first bad lane (bad is 1-D or uniform)
    point = tuple(int(idx[first] if idx.ndim else idx) for idx in indices)
    raise out_of_bounds(what, point, tuple(shape), source)


@register("index")
def _index(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    array, *indices = args
    check_bounds(f"index inside {ctx.op}", array.shape, indices, stmt.source)
    return [array[tuple(indices)]]


@register("cond")
def _cond(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    (pred,) = args
    then_, else_ = stmt.params["then_"], stmt.params["else_"]
    if pred.ndim == 0:  # array level, or a predicate that is the same for every lane
        return eval_program(then_ if bool(pred) else else_, [], env, ctx)
    assert ctx.lanes is not None
    outs = [np.empty(ctx.lanes, dtype=t.dtype) for t in then_.output_types]
    for branch, lanes in ((then_, np.flatnonzero(pred)), (else_, np.flatnonzero(~pred))):
        if lanes.size:
            values = _on_lanes(branch, [], env, ctx, lanes)
            for out, value in zip(outs, values, strict=True):
                out[lanes] = value
    return outs


def _on_lanes(program: Program, args: list[np.ndarray], env: Env, ctx: Context, lanes: np.ndarray) -> list:
    """Run a scalar sub-program on the subset ``lanes`` (``args`` already cut down to it)."""
    sub_env = restrict(env, ctx, program.free_vars, lanes)
    return eval_program(program, args, sub_env, ctx.with_lanes(lanes.size))


@register("while")
def _while(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    cond, body = stmt.params["cond"], stmt.params["body"]
    if not ctx.in_lambda:
        state = list(args)
        while bool(eval_program(cond, state, env, ctx)[0]):
            state = eval_program(body, state, env, ctx)
        return state
    assert ctx.lanes is not None
    state = [to_lanes(a, ctx.lanes, v.dtype) for a, v in zip(args, stmt.outs, strict=True)]
    active = np.arange(ctx.lanes)
    while active.size:
        going = to_lanes(_on_lanes(cond, [s[active] for s in state], env, ctx, active)[0], active.size, np.bool_)
        active = active[going]
        if active.size:
            for s, value in zip(state, _on_lanes(body, [s[active] for s in state], env, ctx, active), strict=True):
                s[active] = value
    return state


@register("custom_rule", "remat")
def _body(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    """Run the body (what :mod:`pyaccad.opt.inline_rules` splices in for the other backends)."""
    error = stmt.params["rule"].forward_error if stmt.prim.name == "custom_rule" else None
    if error is not None:
        raise NotDifferentiable(with_location(error, stmt.source))
    return eval_program(stmt.params["body"], args, env, ctx)
