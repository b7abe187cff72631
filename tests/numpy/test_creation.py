"""``pyaccad.numpy``'s array constructors against NumPy's."""

from __future__ import annotations

import jax
import jax.numpy as jjnp
import numpy as np
import pytest
from helpers import assert_close, assert_within, unit_roundoff
from hypothesis import given
from hypothesis import strategies as st
from numpy_cases import B, floats, shapes

import pyaccad as acc
import pyaccad.numpy as jnp
from pyaccad import ad


@given(shape=shapes, dtype=st.sampled_from([None, "float32", "int32", "int64", "bool"]))
def test_zeros_ones_full_empty_and_likes(shape: tuple[int, ...], dtype: str | None) -> None:
    assert_close(acc.run(lambda: jnp.zeros(shape, dtype=dtype), backend=B), np.zeros(shape, dtype))
    assert_close(acc.run(lambda: jnp.ones(shape, dtype=dtype), backend=B), np.ones(shape, dtype))
    assert_close(acc.run(lambda: jnp.empty(shape, dtype=dtype), backend=B), np.zeros(shape, dtype))
    assert_close(acc.run(lambda: jnp.full(shape, 3), backend=B), np.full(shape, 3))
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    for name in ("zeros_like", "ones_like"):
        assert_close(acc.run(getattr(jnp, name), x, backend=B), getattr(np, name)(x))
    assert_close(acc.run(lambda x: jnp.full_like(x, 2.5), x, backend=B), np.full_like(x, 2.5))
    assert_close(acc.run(lambda x: jnp.zeros_like(x, dtype="int32"), x, backend=B), np.zeros_like(x, "int32"))


@given(n=st.integers(0, 5), m=st.one_of(st.none(), st.integers(0, 5)), k=st.integers(-3, 3))
def test_eye_identity(n: int, m: int | None, k: int) -> None:
    assert_close(acc.run(lambda: jnp.eye(n, m, k=k), backend=B), np.eye(n, m, k=k))
    assert_close(acc.run(lambda: jnp.identity(n, dtype="int32"), backend=B), np.identity(n, dtype="int32"))


@given(
    start=st.integers(-5, 5),
    stop=st.integers(-5, 10),
    step=st.integers(-3, 3).filter(bool),
    scale=st.sampled_from([1, 0.25, 0.1]),
)
def test_arange(start: int, stop: int, step: int, scale: float) -> None:
    assert_close(acc.run(lambda: jnp.arange(stop), backend=B), np.arange(stop))
    assert_close(acc.run(lambda: jnp.arange(start, stop, step), backend=B), np.arange(start, stop, step))
    if scale != 1:
        want = np.arange(start * scale, stop * scale, step * scale)
        got = acc.run(lambda: jnp.arange(start * scale, stop * scale, step * scale), backend=B)
        # start + i*step: two roundings of numbers below 20 in float64.
        assert_within(got, want, 4 * 20 * unit_roundoff("float64"), dtype="float64")


@given(start=st.floats(-5, 5), stop=st.floats(-5, 5), num=st.integers(0, 7), endpoint=st.booleans())
def test_linspace(start: float, stop: float, num: int, endpoint: bool) -> None:
    got = acc.run(lambda: jnp.linspace(start, stop, num, endpoint=endpoint), backend=B)
    want = np.linspace(start, stop, num, endpoint=endpoint)
    assert_within(got, want, 8 * 10 * unit_roundoff("float64"), dtype="float64")  # a division, a product, a sum
    if endpoint and num > 1:
        assert got[-1] == stop and got[0] == start


@pytest.mark.parametrize("name", ["tril", "triu"])
@given(data=st.data())
def test_tril_triu_and_their_gradient(name: str, data: st.DataObject) -> None:
    shape = data.draw(st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 4)))
    x, k = data.draw(floats(shape, -3, 3)), data.draw(st.integers(-4, 4))
    assert_close(acc.run(lambda x: getattr(jnp, name)(x, k=k), x, backend=B), getattr(np, name)(x, k=k))
    w = np.cos(np.arange(x.size)).reshape(shape)
    got = ad.grad(lambda x: (getattr(jnp, name)(x, k=k) * x * w).sum())(x)
    want = jax.grad(lambda x: (getattr(jjnp, name)(x, k=k) * x * w).sum())(x)
    assert_close(got, np.asarray(want))


def test_asarray_and_errors() -> None:
    assert_close(acc.run(lambda: jnp.asarray([[1, 2]], dtype="float32"), backend=B), np.float32([[1, 2]]))
    with pytest.raises(acc.ShapeError, match="arange: stop must be a Python number"):
        acc.run(lambda n: jnp.arange(n), np.array(3), backend=B)
    with pytest.raises(acc.ShapeError, match="tril: needs an array of rank >= 2"):
        acc.run(jnp.tril, np.ones(3), backend=B)
