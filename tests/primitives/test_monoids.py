"""The monoids every stage recognises (:mod:`pyaccad.ir.monoids`): recognition, and each identity checked
against NumPy's ufunc on the extremes of every dtype the monoid takes."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import lam, prim

from pyaccad.ir.monoids import MONOIDS, monoid_of, monoids

F64 = ("float64", "float64")


def test_recognition() -> None:
    assert monoid_of(lam(lambda a, b: prim("add", b, a), *F64)).ufunc is np.add  # either order
    assert monoid_of(lam(lambda a, b: prim("minimum", a, b), *F64)).ufunc is np.minimum
    assert monoid_of(lam(lambda a, b: prim("add", a, a), *F64)) is None
    assert monoid_of(lam(lambda a, b: prim("sub", a, b), *F64)) is None
    assert monoid_of(lam(lambda a, b: a + b * 1.0, *F64)) is None
    assert monoid_of(lam(lambda a, b: a, *F64)) is None  # overwrite: recognised as "first", not a monoid
    assert monoids(lam(lambda a, b: a, *F64)) == ["first"]
    pair = lam(lambda a, c, b, d: (prim("mul", a, b)[0], prim("maximum", d, c)[0]), *F64, *F64)
    assert monoids(pair) == ["mul", "maximum"]


def _samples(dtype: np.dtype) -> np.ndarray:
    if dtype == np.bool_:
        return np.array([False, True])
    if dtype.kind == "f":
        info = np.finfo(dtype)
        return np.array([-np.inf, info.min, -1.5, -0.0, 0.0, info.tiny, 2.5, info.max, np.inf], dtype=dtype)
    info = np.iinfo(dtype)
    return np.array([info.min, info.min + 1, -1, 0, 1, info.max - 1, info.max], dtype=dtype)


TAKES = {
    "add": ("float32", "float64", "int32", "int64"),
    "mul": ("float32", "float64", "int32", "int64"),
    "maximum": ("float32", "float64", "int32", "int64"),
    "minimum": ("float32", "float64", "int32", "int64"),
    "and": ("bool",),
    "or": ("bool",),
}


@pytest.mark.parametrize(("name", "dtype"), [(n, d) for n, ds in TAKES.items() for d in ds])
def test_identity_leaves_every_value_unchanged(name: str, dtype: str) -> None:
    monoid, dt = MONOIDS[name], np.dtype(dtype)
    e = np.asarray(monoid.identity(dt), dtype=dt)
    xs = _samples(dt)
    for got in (monoid.ufunc(e, xs), monoid.ufunc(xs, e)):
        np.testing.assert_array_equal(got, xs)  # (as values: 0.0 + -0.0 is 0.0)


def test_every_recognised_monoid_is_tabled() -> None:
    assert set(TAKES) == set(MONOIDS)
