"""NumPy's own functions called on traced arrays dispatch to ``pyaccad.numpy`` (``__array_ufunc__`` and
``__array_function__``), or fail naming what to use."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

import pyaccad as acc
from pyaccad import ad

B = "interp"
X = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])


def test_ufuncs_methods_and_functions_dispatch() -> None:
    got = acc.run(
        lambda a: (
            np.sin(a),
            np.exp(a).sum(),
            np.sum(a, axis=0),
            np.mean(a, axis=1, keepdims=True),
            np.maximum(a, 0.0),
            np.ones(3) * a + np.arange(3.0),
            np.arange(3.0) < a,
            np.add.reduce(a, axis=1),
            np.multiply.accumulate(a, axis=0),
            np.stack([a, a]),
            np.where(a > 0, a, -a),
            np.einsum("ij->j", a),
            np.clip(a, -0.5, 0.5),
            np.argmax(a, axis=1),
        ),
        X,
        backend=B,
    )
    want = (
        np.sin(X),
        np.exp(X).sum(),
        np.sum(X, axis=0),
        np.mean(X, axis=1, keepdims=True),
        np.maximum(X, 0.0),
        np.ones(3) * X + np.arange(3.0),
        np.arange(3.0) < X,
        np.add.reduce(X, axis=1),
        np.multiply.accumulate(X, axis=0),
        np.stack([X, X]),
        np.where(X > 0, X, -X),
        np.einsum("ij->j", X),
        np.clip(X, -0.5, 0.5),
        np.argmax(X, axis=1),
    )
    for g, w in zip(got, want, strict=True):
        assert_close(g, w)


def test_numpy_scalars_meet_traced_arrays_as_literals() -> None:
    x = X.astype(np.float32)
    got = acc.run(
        lambda a: (np.float32(2) * a, np.float64(2) + a, np.int64(1) < a, acc.map(lambda v: np.float64(3) * v, a)),
        x,
        backend=B,
    )
    for g, w in zip(got, (2 * x, 2 + x, 1 < x, 3 * x), strict=True):
        assert_close(g, w)


def test_numpy_calls_differentiate_and_work_in_lambdas() -> None:
    g = ad.grad(lambda a: np.sum(np.sin(a) * a))(X)
    assert_close(g, np.cos(X) * X + np.sin(X))
    assert_close(acc.run(lambda a: acc.map(lambda v: np.tanh(v) * 2.0, a), X, backend=B), np.tanh(X) * 2)


def test_pyaccad_numpy_runs_at_once_outside_traced_functions() -> None:
    import pyaccad.numpy as jnp

    assert_close(jnp.zeros((2, 2), dtype="float32"), np.zeros((2, 2), np.float32))
    assert_close(jnp.einsum("ij->j", X), X.sum(0))
    assert_close(jnp.sum([1, 2, 3]), np.array(6))
    assert_close(jnp.sort(X[0]), np.sort(X[0]))
    assert jnp.shape(X) == (2, 3)


def test_what_pyaccad_lacks_fails_naming_the_alternative() -> None:
    with pytest.raises(acc.Error, match="pyaccad.numpy has no 'numpy.median'; write it with pyaccad.numpy"):
        acc.run(lambda a: np.median(a), X, backend=B)
    with pytest.raises(acc.Error, match="pyaccad.numpy has no 'numpy.fft.fft'"):
        acc.run(lambda a: np.fft.fft(a), X, backend=B)
    with pytest.raises(acc.ArgumentError, match="out= is not supported on traced arrays"):
        acc.run(lambda a: np.sin(a, out=np.zeros_like(X)), X, backend=B)
    with pytest.raises(acc.ArgumentError, match="got an unexpected keyword argument 'initial'"):
        acc.run(lambda a: np.sum(a, initial=1.0), X, backend=B)
    with pytest.raises(acc.Error, match="numpy.add.outer on a traced array is not supported"):
        acc.run(lambda a: np.add.outer(a, a), X, backend=B)
