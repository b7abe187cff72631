"""``pyaccad.numpy``'s shape functions against NumPy (hypothesis-drawn shapes and axes), and their gradients."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close
from hypothesis import given
from hypothesis import strategies as st
from numpy_cases import B, nonempty_shapes, shapes

import pyaccad as acc
import pyaccad.numpy as jnp
from pyaccad import ad


def _data(shape: tuple[int, ...]) -> np.ndarray:
    return np.arange(int(np.prod(shape)), dtype=np.float64).reshape(shape) * 0.5 - 1.0


@given(data=st.data())
def test_axis_functions(data: st.DataObject) -> None:
    x = _data(data.draw(nonempty_shapes))
    nd = x.ndim
    a, b = data.draw(st.integers(-nd, nd - 1)), data.draw(st.integers(-nd, nd - 1))
    new = data.draw(st.integers(-nd - 1, nd))
    perm = tuple(data.draw(st.permutations(range(nd))))
    cases = {
        "expand_dims": (lambda x: jnp.expand_dims(x, new), np.expand_dims(x, new)),
        "expand_dims2": (lambda x: jnp.expand_dims(x, (0, -1)), np.expand_dims(x, (0, -1))),
        "squeeze": (jnp.squeeze, np.squeeze(x)),
        "swapaxes": (lambda x: jnp.swapaxes(x, a, b), np.swapaxes(x, a, b)),
        "moveaxis": (lambda x: jnp.moveaxis(x, a, b), np.moveaxis(x, a, b)),
        "transpose": (lambda x: jnp.transpose(x, perm), np.transpose(x, perm)),
        "flip": (jnp.flip, np.flip(x)),
        "flip_axis": (lambda x: jnp.flip(x, a), np.flip(x, a)),
        "ravel": (jnp.ravel, np.ravel(x)),
        "reshape": (lambda x: jnp.reshape(x, (-1, x.shape[-1])), np.reshape(x, (-1, x.shape[-1]))),
        "stack": (lambda x: jnp.stack([x, x], axis=new), np.stack([x, x], axis=new)),
        "concatenate": (lambda x: jnp.concatenate([x, x], axis=a), np.concatenate([x, x], axis=a)),
        "vstack": (lambda x: jnp.vstack([x, x]), np.vstack([x, x])),
        "hstack": (lambda x: jnp.hstack([x, x]), np.hstack([x, x])),
        "atleast_2d": (jnp.atleast_2d, np.atleast_2d(x)),
        "broadcast_to": (lambda x: jnp.broadcast_to(x, (2, *x.shape)), np.broadcast_to(x, (2, *x.shape))),
    }
    for fn, want in cases.values():
        got = acc.run(fn, x, backend=B)
        assert_close(got, want)
        # A structural function moves elements: the gradient of sum(f(x) * w) at an element of x is the sum of
        # the weights of the outputs it went to, found by running f on the element numbers.
        w = np.cos(np.arange(got.size)).reshape(got.shape)
        g = ad.grad(lambda x, fn=fn, w=w: (fn(x) * w).sum())(x)
        sources = acc.run(fn, np.arange(x.size, dtype=np.float64).reshape(x.shape), backend=B).astype(int)
        assert_close(g, np.bincount(sources.ravel(), weights=w.ravel(), minlength=x.size).reshape(x.shape))


@given(shape=shapes)
def test_shape_ndim_size(shape: tuple[int, ...]) -> None:
    x = np.zeros(shape)
    seen = {}

    def f(t):
        seen.update(shape=jnp.shape(t), ndim=jnp.ndim(t), size=jnp.size(t))
        return t

    acc.run(f, x, backend=B)
    assert seen == {"shape": shape, "ndim": len(shape), "size": x.size}
    assert jnp.shape(x) == shape and jnp.shape([[1, 2]]) == (1, 2)


def test_errors_name_the_function() -> None:
    with pytest.raises(acc.ShapeError, match="squeeze: cannot remove axis 0 of extent 2"):
        acc.run(lambda x: jnp.squeeze(x, 0), np.zeros((2, 1)), backend=B)
    with pytest.raises(acc.ShapeError, match="stack: arrays must have one shape"):
        acc.run(lambda x: jnp.stack([x, x[:1]]), np.zeros(2), backend=B)
