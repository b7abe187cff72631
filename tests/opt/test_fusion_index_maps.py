"""Folds and scans of fused index maps, on every backend, against NumPy.

Fusion delays index maps (``transpose``, ``slice``, ``reverse``, ``broadcast_in_dim``, ``backpermute``,
``reshape``, ``concatenate``) into the fold or scan that reads them, and rewrites a fold of a transpose as
a fold of its source when the kept axes stay in order (:func:`pyaccad.opt.fusion._folds_through_transposes`).
These tests fold every permutation of rank-2 and rank-3 arrays (and a sample of rank 4, chosen to include
kept axes in and out of order) along every axis, and fold and scan each other index map along every axis.
The data are integers, so every result is exact and must equal NumPy's. Axis sizes are all different, so
a result laid out in the wrong order of axes has the wrong values, not just the wrong shape.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from helpers import assert_close

import pyaccad as acc
from pyaccad.frontend import trace
from pyaccad.opt import optimize
from pyaccad.opt.fusion import plan_program

RNG = np.random.default_rng(3)
SHAPES = {2: (3, 5), 3: (2, 3, 4), 4: (2, 3, 4, 5)}
RANK4_PERMS = [(0, 1, 3, 2), (1, 0, 2, 3), (3, 2, 1, 0), (2, 0, 3, 1), (1, 3, 0, 2), (0, 3, 1, 2), (2, 3, 0, 1)]
PERMS = {2: list(itertools.permutations(range(2))), 3: list(itertools.permutations(range(3))), 4: RANK4_PERMS}


def _last(p: Any, q: Any) -> Any:
    return q  # associative, not commutative: fold1 gives the last element along the axis


def _transposed_folds(a: Any, b: Any, rank: int) -> dict[str, Any]:
    out = {}
    for perm in PERMS[rank]:
        t, u = acc.transpose(a, perm), acc.transpose(b, perm)
        for axis in range(rank):
            out[f"sum {perm} axis {axis}"] = acc.fold(lambda p, q: p + q, 0, t, axis=axis)
            out[f"last {perm} axis {axis}"] = acc.fold1(_last, t, axis=axis)
            out[f"sum of products {perm} axis {axis}"] = acc.fold(lambda p, q: p + q, 0, t * u, axis=axis)
    return out


def _transposed_folds_numpy(a: np.ndarray, b: np.ndarray, rank: int) -> dict[str, np.ndarray]:
    out = {}
    for perm in PERMS[rank]:
        t, u = np.transpose(a, perm), np.transpose(b, perm)
        for axis in range(rank):
            out[f"sum {perm} axis {axis}"] = t.sum(axis=axis)
            out[f"last {perm} axis {axis}"] = np.take(t, -1, axis=axis)
            out[f"sum of products {perm} axis {axis}"] = (t * u).sum(axis=axis)
    return out


def _agree(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert sorted(got) == sorted(want)
    for key, value in want.items():
        try:
            assert_close(got[key], value)
        except AssertionError as exc:
            raise AssertionError(f"{key}: {exc}") from None


@pytest.mark.parametrize("rank", [2, 3, 4])
def test_folds_of_every_transpose_along_every_axis(rank: int, backend: str) -> None:
    a, b = (RNG.integers(-50, 50, size=SHAPES[rank]) for _ in range(2))
    _agree(
        acc.jit(lambda x, y: _transposed_folds(x, y, rank), backend=backend)(a, b), _transposed_folds_numpy(a, b, rank)
    )


def test_the_transpose_cases_include_folds_read_in_memory_order_and_folds_that_are_not() -> None:
    """Both sides of the rewrite's guard are exercised: some folds become folds of the source, others keep
    their transpose (their kept axes would come out in another order)."""
    a = np.zeros(SHAPES[3], np.int64)
    program = optimize(trace(lambda x, y: _transposed_folds(x, y, 3), a, a).program, "native")
    folds = [s for k in plan_program(program).kernels if k.kind == "fold" for s in k.roots]
    sources = {s.args[0].shape == SHAPES[3] for s in folds}  # a fold of the source reads it untransposed
    assert sources == {True, False}


# Index maps of a (3, 4, 5) array, with their NumPy twins.
INDEX_MAPS = {
    "slice": (lambda x: x[1:, ::2, 1:4], lambda x: x[1:, ::2, 1:4]),
    "negative steps": (lambda x: x[::-1, 1:, ::-2], lambda x: x[::-1, 1:, ::-2]),
    "reverse": (lambda x: acc.reverse(x, axis=(0, 2)), lambda x: x[::-1, :, ::-1]),
    "broadcast": (lambda x: acc.broadcast_to(x[:, 1:2, :], (3, 4, 5)), lambda x: np.broadcast_to(x[:, 1:2], (3, 4, 5))),
    "broadcast new axis": (
        lambda x: acc.broadcast_to(acc.reshape(x[:, 0, :], (3, 1, 5)), (3, 6, 5)),
        lambda x: np.broadcast_to(x[:, :1, :], (3, 6, 5)),
    ),
    "backpermute": (
        lambda x: acc.backpermute((5, 3, 4), lambda i, j, k: (2 - j, (k + 1) % 4, 4 - i), x),
        lambda x: np.transpose(x[::-1, [1, 2, 3, 0], ::-1], (2, 0, 1)),
    ),
    "transpose then slice": (
        lambda x: acc.transpose(x, (2, 0, 1))[1:, :, ::2],
        lambda x: np.transpose(x, (2, 0, 1))[1:, :, ::2],
    ),
    "reshape": (lambda x: acc.reshape(x, (5, 3, 4)), lambda x: x.reshape(5, 3, 4)),
    "concatenate": (lambda x: acc.concatenate([x, x[:, :2]], axis=1), lambda x: np.concatenate([x, x[:, :2]], axis=1)),
}


def _scans_and_folds(x: Any, maps: dict[str, Any], ops: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for name, index_map in maps.items():
        y = index_map(x)
        for axis in range(3):
            for op, reduction in ops.items():
                out[f"{name}: {op} axis {axis}"] = reduction(y, axis)
    return out


ACC = {
    "fold": lambda y, axis: acc.fold(lambda p, q: p + q, 0, y, axis=axis),
    "scanl1": lambda y, axis: acc.scanl1(lambda p, q: p + q, y, axis=axis),
    "scanr": lambda y, axis: acc.scanr(lambda p, q: p + q, 0, y, axis=axis),  # exclusive, from the end
}


def _scanr_numpy(y: np.ndarray, axis: int) -> np.ndarray:
    inclusive = np.flip(np.cumsum(np.flip(y, axis), axis=axis), axis)
    return np.concatenate([inclusive, np.zeros_like(np.take(y, [0], axis=axis))], axis=axis)


NUMPY = {
    "fold": lambda y, axis: y.sum(axis=axis),
    "scanl1": lambda y, axis: np.cumsum(y, axis=axis),
    "scanr": _scanr_numpy,
}


def test_folds_and_scans_of_index_maps_along_every_axis(backend: str) -> None:
    x = RNG.integers(-50, 50, size=(3, 4, 5))
    traced = {name: maps[0] for name, maps in INDEX_MAPS.items()}
    twins = {name: maps[1] for name, maps in INDEX_MAPS.items()}
    got = acc.jit(lambda a: _scans_and_folds(a, traced, ACC), backend=backend)(x)  # one program: one compilation
    _agree(got, _scans_and_folds(x, twins, NUMPY))
