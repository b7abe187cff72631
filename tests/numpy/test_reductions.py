"""``pyaccad.numpy``'s reductions and scans against NumPy (hypothesis-drawn shapes and axes), gradients against JAX."""

from __future__ import annotations

import jax
import jax.numpy as jjnp
import numpy as np
import pytest
from helpers import assert_close, assert_within, sum_bound
from hypothesis import given
from hypothesis import strategies as st
from numpy_cases import DERIVATIVE_RTOL, B, floats, ints, nonempty_shapes

import pyaccad as acc
import pyaccad.numpy as jnp
from pyaccad import ad


@st.composite
def axis_of(draw: st.DrawFn, ndim: int, allow_tuple: bool = True) -> int | tuple[int, ...] | None:
    """None, one axis (maybe negative) or a tuple of distinct axes of an array of rank ``ndim``."""
    one = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), unique=True, min_size=1, max_size=ndim).map(tuple)
    return draw(st.one_of(st.none(), one, several) if allow_tuple else st.one_of(st.none(), one))


@pytest.mark.parametrize("name", ["sum", "prod", "mean", "max", "min", "amax", "amin", "var", "std"])
@given(data=st.data())
def test_float_reductions(name: str, data: st.DataObject) -> None:
    x = data.draw(floats(data.draw(nonempty_shapes), -3, 3))
    axis, keepdims = data.draw(axis_of(x.ndim)), data.draw(st.booleans())
    got = acc.run(lambda x: getattr(jnp, name)(x, axis=axis, keepdims=keepdims), x, backend=B)
    want = getattr(np, name)(x, axis=axis, keepdims=keepdims)
    if name in ("max", "min", "amax", "amin"):
        assert_close(got, want)  # exact: a choice, no rounding
    else:
        # At most x.size roundings of sums or products of terms bounded by 3**size (prod) or 9 (var); in float64.
        scale = np.prod(np.maximum(np.abs(x), 1.0)) if name == "prod" else 9.0 * x.size
        assert_within(got, want, 8 * sum_bound(scale, x.size + 2, "float64"), dtype="float64")
    if name in ("sum", "mean", "max", "min", "var", "std", "prod"):
        w = np.cos(np.arange(np.size(want))).reshape(np.shape(want))
        g = ad.grad(lambda x: (getattr(jnp, name)(x, axis=axis, keepdims=keepdims) * w).sum())(x)
        want_g = jax.grad(lambda x: (getattr(jjnp, name)(x, axis=axis, keepdims=keepdims) * w).sum())(x)
        if name in ("max", "min") and len(np.unique(x)) < x.size:
            return  # ties: JAX splits the gradient between equal maxima, we give it to one (both are subgradients)
        if name == "std" and np.any(np.asarray(want) == 0):
            return  # sqrt at 0 has no derivative
        assert_close(g, np.asarray(want_g), rtol=1e-9, atol=1e-12)  # prod/var: sums of many products


@pytest.mark.parametrize("name", ["sum", "prod", "max", "min", "any", "all"])
@given(data=st.data())
def test_integer_and_boolean_reductions(name: str, data: st.DataObject) -> None:
    x = data.draw(ints(data.draw(nonempty_shapes), -2, 2))
    axis, keepdims = data.draw(axis_of(x.ndim)), data.draw(st.booleans())
    for arg in (x, x > 0):
        if name in ("max", "min") and arg.dtype == bool:
            continue
        got = acc.run(lambda a: getattr(jnp, name)(a, axis=axis, keepdims=keepdims), arg, backend=B)
        assert_close(got, getattr(np, name)(arg, axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@given(data=st.data())
def test_argmax_argmin_first_occurrence_and_nan(name: str, data: st.DataObject) -> None:
    x = data.draw(ints(data.draw(nonempty_shapes), -2, 2)).astype(np.float64)  # small range: many ties
    if data.draw(st.booleans()):
        x.flat[data.draw(st.integers(0, x.size - 1))] = np.nan
    axis, keepdims = data.draw(axis_of(x.ndim, allow_tuple=False)), data.draw(st.booleans())
    got = acc.run(lambda x: getattr(jnp, name)(x, axis=axis, keepdims=keepdims), x, backend=B)
    assert_close(got, getattr(np, name)(x, axis=axis, keepdims=keepdims))


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@given(data=st.data())
def test_scans(name: str, data: st.DataObject) -> None:
    x = data.draw(floats(data.draw(nonempty_shapes), -2, 2))
    axis = data.draw(axis_of(x.ndim, allow_tuple=False))
    got = acc.run(lambda x: getattr(jnp, name)(x, axis=axis), x, backend=B)
    assert_within(got, getattr(np, name)(x, axis=axis), 8 * sum_bound(2.0**x.size * x.size, x.size, "float64"))
    ints_x = np.round(x).astype(np.int64)
    assert_close(
        acc.run(lambda x: getattr(jnp, name)(x, axis=axis), ints_x, backend=B), getattr(np, name)(ints_x, axis=axis)
    )
    w = np.sin(np.arange(got.size)).reshape(got.shape)
    g = ad.grad(lambda x: (getattr(jnp, name)(x, axis=axis) * w).sum())(x)
    want = jax.grad(lambda x: (getattr(jjnp, name)(x, axis=axis) * w).sum())(x)
    assert_close(g, np.asarray(want), rtol=DERIVATIVE_RTOL * 1e3, atol=1e-12)  # cumprod: long products


def test_empty_argmax_is_an_error_and_empty_scans_are_empty() -> None:
    with pytest.raises(acc.ShapeError, match="argmax: attempt to get argmax of an empty sequence"):
        acc.run(jnp.argmax, np.zeros(0), backend=B)
    assert_close(acc.run(jnp.cumsum, np.zeros((2, 0)), backend=B), np.zeros(0))
