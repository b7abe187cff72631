"""Advanced indexing (``x[idx]`` with integer arrays) against NumPy, and ``x.at[idx]`` updates and all their
gradients against JAX, for hypothesis-drawn arrays and keys mixing slices, ints, ``None``, ``...`` and arrays."""

from __future__ import annotations

import jax
import jax.numpy as jjnp
import numpy as np
import pytest
from helpers import assert_close
from hypothesis import given
from hypothesis import strategies as st
from numpy_cases import B, floats, nonempty_shapes

import pyaccad as acc
from pyaccad import ad

UPDATES = ["set", "add", "multiply", "min", "max"]


@st.composite
def advanced_key(draw: st.DrawFn, shape: tuple[int, ...]) -> tuple[object, ...]:
    """A key with at least one integer array: per axis a slice, an int or an index array (broadcastable shapes)."""
    index_shape = draw(st.sampled_from([(), (2,), (3,), (2, 1), (1, 3)]))
    items: list[object] = []
    kinds = draw(st.lists(st.sampled_from(["slice", "int", "array"]), min_size=len(shape), max_size=len(shape)))
    if "array" not in kinds:
        kinds[draw(st.integers(0, len(shape) - 1))] = "array"
    used = draw(st.integers(1, len(shape)))  # index the first `used` axes, leave the rest to NumPy's default
    for kind, d in zip(kinds[:used], shape[:used], strict=True):
        if kind == "slice":
            start, stop = draw(st.one_of(st.none(), st.integers(-d, d))), draw(st.one_of(st.none(), st.integers(-d, d)))
            items.append(slice(start, stop, draw(st.sampled_from([None, 1, 2, -1]))))
        elif kind == "int":
            items.append(draw(st.integers(-d, d - 1)))
        else:
            shp = draw(st.sampled_from([index_shape, index_shape[-1:]]))
            items.append(
                np.array(
                    draw(st.lists(st.integers(-d, d - 1), min_size=int(np.prod(shp)), max_size=int(np.prod(shp))))
                ).reshape(shp)
            )
    if used < len(shape) and draw(st.booleans()):
        items.append(Ellipsis)
    return tuple(items)


def _traced_key(key: tuple[object, ...], arrays: tuple[object, ...]) -> tuple[object, ...]:
    """The key with its index arrays replaced by the traced ones, in order."""
    it = iter(arrays)
    return tuple(next(it) if isinstance(k, np.ndarray) else k for k in key)


def _index_arrays(key: tuple[object, ...]) -> tuple[np.ndarray, ...]:
    return tuple(k for k in key if isinstance(k, np.ndarray))


@given(data=st.data())
def test_gather_against_numpy_and_its_gradient_against_jax(data: st.DataObject) -> None:
    x = data.draw(floats(data.draw(nonempty_shapes), -3, 3))
    key = data.draw(advanced_key(x.shape))
    want = x[key]
    got = acc.run(lambda x, *ix: x[_traced_key(key, ix)], x, *_index_arrays(key), backend=B)
    assert_close(got, want)
    assert_close(acc.run(lambda x: x[key], x, backend=B), want)  # NumPy index arrays, embedded
    w = np.cos(np.arange(want.size)).reshape(want.shape)
    g = ad.grad(lambda x: (x[key] * w).sum())(x)
    assert_close(g, np.asarray(jax.grad(lambda x: (x[key] * w).sum())(x)))


@pytest.mark.parametrize("how", UPDATES)
@given(data=st.data())
def test_at_updates_against_jax(how: str, data: st.DataObject) -> None:
    x = data.draw(floats(data.draw(nonempty_shapes), -3, 3))
    key = data.draw(advanced_key(x.shape))
    target_shape = x[key].shape
    v = data.draw(floats(target_shape[data.draw(st.integers(0, len(target_shape))) :], -3, 3))  # broadcast
    positions = np.arange(x.size).reshape(x.shape)[key]
    positions = np.broadcast_to(positions, np.broadcast_shapes(positions.shape, v.shape))
    unique = len(np.unique(positions)) == positions.size
    if how == "set" and not unique:
        return  # which duplicate wins is unspecified (as in JAX)
    got = acc.run(lambda x, v, *ix: getattr(x.at[_traced_key(key, ix)], how)(v), x, v, *_index_arrays(key), backend=B)
    want = getattr(jjnp.asarray(x).at[key], how)(v)
    assert_close(got, np.asarray(want), rtol=1e-12, atol=1e-12)  # multiply/add of duplicates: another order
    if how in ("min", "max", "multiply") and not unique:
        # min/max: JAX and we may send the gradient of tied duplicates to different ones (both subgradients);
        # multiply: JAX differentiates only unique indices.
        return
    w = np.sin(np.arange(x.size)).reshape(x.shape)
    g = ad.grad(lambda x, v: (getattr(x.at[key], how)(v) * w).sum(), argnums=(0, 1))(x, v)
    options = {"unique_indices": True} if how == "multiply" else {}
    want_g = jax.grad(lambda x, v: (getattr(x.at[key], how)(v, **options) * w).sum(), argnums=(0, 1))(x, v)
    for a, b in zip(g, want_g, strict=True):
        assert_close(a, np.asarray(b), rtol=1e-12, atol=1e-12)


def test_basic_keys_through_at_and_scalars() -> None:
    x = np.arange(12.0).reshape(3, 4)
    got = acc.run(lambda x: (x.at[1:, ::2].set(0.0), x.at[..., 1].add(1.0), x.at[None, 0].get()), x, backend=B)
    j = jjnp.asarray(x)
    for a, b in zip(got, (j.at[1:, ::2].set(0.0), j.at[..., 1].add(1.0), j.at[None, 0].get()), strict=True):
        assert_close(a, np.asarray(b))
    ints = np.arange(4)
    assert_close(acc.run(lambda a: a.at[np.array([0, 0, 3])].add(5), ints, backend=B), np.array([10, 1, 2, 8]))


def test_boolean_masks_and_errors() -> None:
    x = np.arange(6.0).reshape(2, 3)
    mask = np.array([[True, False, True], [False, True, False]])
    assert_close(acc.run(lambda x: x[mask], x, backend=B), x[mask])  # a NumPy mask: its nonzero() indices
    with pytest.raises(acc.ShapeError, match="traced boolean mask would give an array whose shape depends on the data"):
        acc.run(lambda x, m: x[m], x, mask, backend=B)
    with pytest.raises(acc.DTypeError, match="index arrays must hold integers, got float64"):
        acc.run(lambda x: x[np.array([0.5])], x, backend=B)
    with pytest.raises(acc.IndexOutOfBounds):
        acc.run(lambda x, i: x[i], x, np.array([2]), backend=B)
    with pytest.raises(acc.DTypeError, match="at\\[...\\].add: the values have dtype int64, the array float64"):
        acc.run(lambda x: x.at[0].add(np.array([1, 2, 3])), x, backend=B)
