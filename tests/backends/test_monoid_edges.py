"""Folds, scans and scatters of every monoid the backends special-case, on edge-case data, against NumPy.

The native backend starts a recognised monoid's accumulators (``+ * min max && ||``,
``pyaccad.ir.monoids.MONOIDS``) from its identity, and the interpreter hands the same lambdas to
NumPy's ufuncs (``Monoid.ufunc``). A wrong identity shows only on data
where it is not absorbed: all-true for ``and``, all-false for ``or``, all ``-inf`` (or the least
integer) for ``max``, and so on. So each monoid runs on such fills, on the opposite extremes, on random
data and (``max``/``min``) on NaNs, through every path: a fold along each axis (outer axes: column
blocks; the last axis longer and shorter than the 16 lanes), with and without an initial value, on an
empty and a single-element axis, reduced to rank 0 (sliced in parallel above 2**18 elements), all four
scans along each axis and on a long rank-1 array (the two-pass scan), and a scatter (``permute``, in
chunks on native). The data are exactly representable and the operations exact (integers wrap, float
sums of small integers, products of powers of two), so every path must agree with NumPy exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from helpers import assert_close

import pyaccad as acc
from pyaccad.frontend import trace
from pyaccad.ir.monoids import MONOIDS as RECOGNISED
from pyaccad.ir.monoids import monoid_of

RNG = np.random.default_rng(5)
BIG = (1 << 18) + 7  # above the parallel threshold: split reductions, two-pass scans, chunked scatters

# name -> (combine, NumPy ufunc, dtypes): max and min between them meet each float and integer dtype.
MONOIDS: dict[str, tuple[Callable[[Any, Any], Any], np.ufunc, tuple[str, ...]]] = {
    "add": (lambda a, b: a + b, np.add, ("float64", "int32")),
    "mul": (lambda a, b: a * b, np.multiply, ("float32", "int64")),
    "maximum": (acc.maximum, np.maximum, ("float32", "int64")),
    "minimum": (acc.minimum, np.minimum, ("float64", "int32")),
    "and": (lambda a, b: a & b, np.logical_and, ("bool",)),
    "or": (lambda a, b: a | b, np.logical_or, ("bool",)),
}
CASES = [(name, dtype) for name, (_, _, dtypes) in MONOIDS.items() for dtype in dtypes]


def test_the_table_holds_every_monoid_the_backends_recognise() -> None:
    assert sorted(MONOIDS) == sorted(RECOGNISED)
    for name, (combine, ufunc, dtypes) in MONOIDS.items():
        x = np.zeros(3, dtypes[0])
        (stmt,) = [s for s in trace(lambda a, f=combine: acc.fold1(f, a), x).program.stmts if s.prim.name == "fold"]
        found = monoid_of(stmt.params["lam"])
        assert found is not None and found.name == name and found.ufunc is ufunc


def _extremes(dtype: np.dtype) -> tuple[Any, Any]:
    """The least and greatest values of ``dtype``."""
    if dtype.kind == "f":
        return -np.inf, np.inf
    info = np.iinfo(dtype)
    return info.min, info.max


def _fills(name: str, dtype: np.dtype) -> dict[str, Any]:
    """Constant fills: the value a wrong identity is not absorbed by, and the opposite extreme."""
    if name == "and":
        return {"all true": True, "all false": False}
    if name == "or":
        return {"all false": False, "all true": True}
    low, high = _extremes(dtype)
    if name == "maximum":
        return {"all lowest": low, "all highest": high}
    if name == "minimum":
        return {"all highest": high, "all lowest": low}
    if name == "add":
        return {"all zero": -0.0 if dtype.kind == "f" else 0, "all greatest": high if dtype.kind == "i" else 2.0**60}
    return {"all one": 1, "all minus two": -2}  # mul: powers of two stay exact


def _random(name: str, dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """Random data on which ``name`` is exact (integers may wrap around)."""
    if dtype.kind == "b":
        return RNG.random(shape) < 0.5
    if dtype.kind == "i":
        if name in ("add", "mul"):  # any value: sums and products wrap around (odd factors: no zero products)
            low, high = _extremes(dtype)
            values = RNG.integers(low, high, size=shape, dtype=dtype, endpoint=True)
            return values | 1 if name == "mul" else values
        return RNG.integers(-(2**40), 2**40, size=shape).astype(dtype)  # max/min: wraps to anything
    if name == "mul":  # powers of two: exact while no product leaves the normal range, so ±1 for long arrays
        factors = [-1.0, 1.0] if np.prod(shape) > 100 else [-2.0, -1.0, -0.5, 0.5, 1.0, 2.0]
        return RNG.choice(np.array(factors, dtype), size=shape)
    if name == "add":
        return RNG.choice(np.array([-0.0, 0.0, -3.0, 1.0, 5.0, -8.0], dtype), size=shape)
    return RNG.choice(np.array([-np.inf, np.inf, -0.0, 0.0, -1.5, 2.5, 1e30], dtype), size=shape)


def _nans(dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
    """Random values with NaNs in some places: a NaN wins every max and min."""
    out = _random("maximum", dtype, shape)
    out[RNG.random(shape) < 0.1] = np.nan
    return out


def _program(combine: Callable[[Any, Any], Any]) -> Callable[..., dict[str, Any]]:
    """Every fold, scan and scatter path of ``combine`` (see the module docstring), keyed by a name."""

    def f(x: Any, y: Any, e: Any, one: Any, big: Any, z: Any) -> dict[str, Any]:
        out = {}
        for axis in range(3):  # (2, 3, 17): column folds along axes 0 and 1; along 2, 16 lanes and a tail
            out[f"fold1 x axis {axis}"] = acc.fold1(combine, x, axis=axis)
            out[f"fold x axis {axis}"] = acc.fold(combine, z, x, axis=axis)
        out["fold_all x"] = acc.fold_all(combine, z, x)
        out["fold1 y axis 1"] = acc.fold1(combine, y, axis=1)  # 5 elements: fewer than the lanes
        for axis in range(2):
            out[f"scanl1 y axis {axis}"] = acc.scanl1(combine, y, axis=axis)
            out[f"scanr1 y axis {axis}"] = acc.scanr1(combine, y, axis=axis)
            out[f"scanl y axis {axis}"] = acc.scanl(combine, z, y, axis=axis)
            out[f"scanr y axis {axis}"] = acc.scanr(combine, z, y, axis=axis)
        out["fold e axis 1"] = acc.fold(combine, z, e, axis=1)  # (3, 0): empty rows give z
        out["fold e axis 0"] = acc.fold(combine, z, e, axis=0)
        out["fold_all e"] = acc.fold_all(combine, z, e)
        out["scanl e axis 1"] = acc.scanl(combine, z, e, axis=1)
        out["scanr e axis 1"] = acc.scanr(combine, z, e, axis=1)
        out["fold1 one axis 0"] = acc.fold1(combine, one, axis=0)  # (1, 4): single elements
        out["scanr1 one axis 0"] = acc.scanr1(combine, one, axis=0)
        out["fold_all big"] = acc.fold_all(combine, z, big)
        out["scanl1 big"] = acc.scanl1(combine, big)
        out["scanr big"] = acc.scanr(combine, z, big)
        out["permute big"] = acc.permute(lambda new, old: combine(new, old), acc.fill((7,), z), lambda i: (i % 7,), big)
        return out

    return f


def _reference(ufunc: np.ufunc, x: np.ndarray, y: np.ndarray, e: np.ndarray, one: np.ndarray, big: np.ndarray, z):
    """What :func:`_program` computes, with NumPy's reductions and accumulations (monoids: any order)."""
    dtype = x.dtype

    def fold1(a: np.ndarray, axis: int) -> np.ndarray:
        return ufunc.reduce(a, axis=axis, dtype=dtype)

    def fold(a: np.ndarray, axis: int) -> np.ndarray:  # accelerate's fold: f z (fold1 f xs), z when empty
        if a.shape[axis] == 0:
            return np.full(np.delete(a.shape, axis), z, dtype)
        return ufunc(z, fold1(a, axis)).astype(dtype)

    def scan1(a: np.ndarray, axis: int, reverse: bool) -> np.ndarray:
        if reverse:
            return np.flip(ufunc.accumulate(np.flip(a, axis), axis=axis, dtype=dtype), axis)
        return ufunc.accumulate(a, axis=axis, dtype=dtype)

    def scan(a: np.ndarray, axis: int, reverse: bool) -> np.ndarray:  # z at the start (scanl) or end (scanr)
        edge = np.full(tuple(1 if i == axis else n for i, n in enumerate(a.shape)), z, dtype)
        inner = ufunc(z, scan1(a, axis, reverse)).astype(dtype) if a.shape[axis] else a
        return np.concatenate([inner, edge] if reverse else [edge, inner], axis=axis)

    out = {}
    for axis in range(3):
        out[f"fold1 x axis {axis}"] = fold1(x, axis)
        out[f"fold x axis {axis}"] = fold(x, axis)
    out["fold_all x"] = fold(x.reshape(-1), 0)
    out["fold1 y axis 1"] = fold1(y, 1)
    for axis in range(2):
        out[f"scanl1 y axis {axis}"] = scan1(y, axis, False)
        out[f"scanr1 y axis {axis}"] = scan1(y, axis, True)
        out[f"scanl y axis {axis}"] = scan(y, axis, False)
        out[f"scanr y axis {axis}"] = scan(y, axis, True)
    out["fold e axis 1"], out["fold e axis 0"], out["fold_all e"] = fold(e, 1), fold(e, 0), fold(e.reshape(-1), 0)
    out["scanl e axis 1"], out["scanr e axis 1"] = scan(e, 1, False), scan(e, 1, True)
    out["fold1 one axis 0"], out["scanr1 one axis 0"] = fold1(one, 0), scan1(one, 0, True)
    out["fold_all big"], out["scanl1 big"], out["scanr big"] = fold(big, 0), scan1(big, 0, False), scan(big, 0, True)
    scattered = np.full(7, z, dtype)
    ufunc.at(scattered, np.arange(big.size) % 7, big)
    out["permute big"] = scattered
    return out


SHAPES = {"x": (2, 3, 17), "y": (3, 5), "e": (3, 0), "one": (1, 4), "big": (BIG,)}


def _datasets(name: str, dtype: np.dtype) -> list[tuple[str, dict[str, np.ndarray], Any]]:
    """(label, inputs, z): constant fills (z the same value), random data, and NaNs for max/min."""
    sets = []
    for label, value in _fills(name, dtype).items():
        sets.append((label, {k: np.full(s, value, dtype) for k, s in SHAPES.items()}, dtype.type(value)))
    sets.append(("random", {k: _random(name, dtype, s) for k, s in SHAPES.items()}, _random(name, dtype, (1,))[0]))
    if dtype.kind == "f" and name in ("maximum", "minimum"):
        sets.append(("nans", {k: _nans(dtype, s) for k, s in SHAPES.items()}, dtype.type(1.0)))
    return sets


@pytest.mark.parametrize(("name", "dtype"), CASES, ids=[f"{n}-{d}" for n, d in CASES])
def test_monoid_edge_cases_agree_with_numpy(name: str, dtype: str, backend: str) -> None:
    combine, ufunc, _ = MONOIDS[name]
    run = acc.jit(_program(combine), backend=backend)  # one compilation for every dataset
    for label, inputs, z in _datasets(name, np.dtype(dtype)):
        got = run(*inputs.values(), z)
        with np.errstate(all="ignore"):  # NaNs meeting NaNs, products overflowing to infinity
            want = _reference(ufunc, *inputs.values(), z)
        assert sorted(got) == sorted(want)
        for key, value in want.items():
            try:
                assert_close(got[key], value)
            except AssertionError as exc:
                raise AssertionError(f"{name} {dtype}, {label} data: {key}: {exc}") from None
