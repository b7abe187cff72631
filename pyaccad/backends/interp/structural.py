"""Structural primitives: direct NumPy for ``const``, ``broadcast_in_dim``, ``reshape``, ``transpose``,
``reverse``, ``slice``, ``pad``, ``concatenate`` and ``matmul``.

Many of these return views (``reshape``, ``transpose``, ``slice``) or read-only
broadcasts; that is safe because no rule writes into its arguments, and the
backend copies every program output that does not own its memory.

>>> import numpy as np
>>> _pad_array(np.array([1, 2, 3]), np.asarray(0), lo=(1,), hi=(2,), interior=(1,))
array([0, 1, 0, 2, 0, 3, 0, 0])
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from pyaccad.backends.interp.evaluator import Context, Env, register
from pyaccad.ir import Stmt


@register("const")
def _const(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    # A read-only view: the embedded array must survive every run unchanged.
    value = stmt.params["value"].view()
    value.flags.writeable = False
    return [value]


@register("broadcast_in_dim")
def _broadcast_in_dim(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    (x,) = args
    shape, dims = tuple(stmt.params["shape"]), tuple(stmt.params["dims"])
    placed = [1] * len(shape)
    for axis, dim in enumerate(dims):
        placed[dim] = x.shape[axis]
    return [np.broadcast_to(np.reshape(x, placed), shape)]


@register("reshape")
def _reshape(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    return [np.reshape(args[0], tuple(stmt.params["shape"]))]


@register("transpose")
def _transpose(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    return [np.transpose(args[0], tuple(stmt.params["perm"]))]


@register("reverse")
def _reverse(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    return [np.flip(args[0], axis=tuple(stmt.params["axes"]))]


@register("slice")
def _slice(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    p = stmt.params
    return [
        args[0][tuple(slice(lo, hi, step) for lo, hi, step in zip(p["starts"], p["stops"], p["steps"], strict=True))]
    ]


def _pad_array(
    x: np.ndarray, value: np.ndarray, lo: Sequence[int], hi: Sequence[int], interior: Sequence[int]
) -> np.ndarray:
    """``x`` with ``lo``/``hi`` elements of ``value`` at the ends of each axis and ``interior`` between elements."""
    shape = tuple(l_ + h + n + max(n - 1, 0) * m for n, l_, h, m in zip(x.shape, lo, hi, interior, strict=True))
    out = np.full(shape, value, dtype=x.dtype)
    out[tuple(slice(l_, l_ + n + max(n - 1, 0) * m, m + 1) for n, l_, m in zip(x.shape, lo, interior, strict=True))] = x
    return out


@register("pad")
def _pad(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    x, value = args
    p = stmt.params
    return [_pad_array(x, value, p["lo"], p["hi"], p["interior"])]


@register("concatenate")
def _concatenate(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    return [np.concatenate(args, axis=stmt.params["axis"])]


@register("matmul")
def _matmul(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    return [np.matmul(*args)]
