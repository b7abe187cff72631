"""``take``, ``take_along_axis``, ``sort`` and ``argsort`` against NumPy, gradients against JAX."""

from __future__ import annotations

import jax
import jax.numpy as jjnp
import numpy as np
import pytest
from helpers import assert_close
from hypothesis import given
from hypothesis import strategies as st
from numpy_cases import B, floats, ints, nonempty_shapes

import pyaccad as acc
import pyaccad.numpy as jnp
from pyaccad import ad


@given(data=st.data())
def test_take(data: st.DataObject) -> None:
    x = data.draw(floats(data.draw(nonempty_shapes), -3, 3))
    axis = data.draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1)))
    n = x.size if axis is None else x.shape[axis]
    idx = data.draw(ints(data.draw(st.sampled_from([(), (2,), (2, 3)])), -n, n - 1))
    got = acc.run(lambda x, i: jnp.take(x, i, axis=axis), x, idx, backend=B)
    assert_close(got, np.take(x, idx, axis=axis))
    w = np.cos(np.arange(got.size)).reshape(got.shape)
    g = ad.grad(lambda x: (jnp.take(x, idx, axis=axis) * w).sum())(x)
    assert_close(g, np.asarray(jax.grad(lambda x: (jjnp.take(x, idx, axis=axis) * w).sum())(x)))


@given(data=st.data())
def test_take_along_axis(data: st.DataObject) -> None:
    x = data.draw(floats(data.draw(nonempty_shapes), -3, 3))
    axis = data.draw(st.integers(-x.ndim, x.ndim - 1))
    n = x.shape[axis]
    shape = tuple(data.draw(st.sampled_from([d, 1])) for d in x.shape)
    shape = tuple(data.draw(st.integers(1, 3)) if i == axis % x.ndim else d for i, d in enumerate(shape))
    idx = data.draw(ints(shape, -n, n - 1))
    got = acc.run(lambda x, i: jnp.take_along_axis(x, i, axis=axis), x, idx, backend=B)
    assert_close(got, np.take_along_axis(x, idx, axis=axis))
    w = np.sin(np.arange(got.size)).reshape(got.shape)
    g = ad.grad(lambda x: (jnp.take_along_axis(x, idx, axis=axis) * w).sum())(x)
    want = jax.grad(lambda x: (jjnp.take_along_axis(x, idx, axis=axis, mode="clip") * w).sum())(x)
    assert_close(g, np.asarray(want))


@given(data=st.data(), kind=st.sampled_from(["float", "int", "bool"]))
def test_sort_and_argsort_stable_nan_last(data: st.DataObject, kind: str) -> None:
    shape = data.draw(nonempty_shapes)
    x = data.draw(ints(shape, -2, 2))  # a small range: many ties, which a stable sort keeps in order
    if kind == "float":
        x = x * 0.5
        x.flat[data.draw(st.integers(0, x.size - 1))] = np.nan
    elif kind == "bool":
        x = x > 0
    axis = data.draw(st.one_of(st.none(), st.integers(-x.ndim, x.ndim - 1)))
    assert_close(acc.run(lambda x: jnp.sort(x, axis=axis), x, backend=B), np.sort(x, axis=axis))
    assert_close(acc.run(lambda x: jnp.argsort(x, axis=axis), x, backend=B), np.argsort(x, axis=axis, kind="stable"))


@given(data=st.data())
def test_sort_gradient_against_jax(data: st.DataObject) -> None:
    x = data.draw(floats(data.draw(nonempty_shapes), -3, 3).filter(lambda a: len(np.unique(a)) == a.size))
    w = np.cos(np.arange(x.size)).reshape(x.shape)
    g = ad.grad(lambda x: (jnp.sort(x, axis=0) * w).sum())(x)
    assert_close(g, np.asarray(jax.grad(lambda x: (jjnp.sort(x, axis=0) * w).sum())(x)))


def test_selection_errors() -> None:
    with pytest.raises(acc.DTypeError, match="take: indices must be integers, got float64"):
        acc.run(lambda x: jnp.take(x, np.array([0.5])), np.ones(2), backend=B)
    with pytest.raises(acc.IndexOutOfBounds):
        acc.run(lambda x, i: jnp.take(x, i), np.ones(2), np.array([2]), backend=B)
