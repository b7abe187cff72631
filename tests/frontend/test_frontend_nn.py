"""``pyaccad.nn`` against NumPy formulas (computed in float64 from their definitions)."""

from __future__ import annotations

import numpy as np
import pytest
from frontend_helpers import run_checked

from pyaccad import nn

X = np.random.default_rng(1).standard_normal((4, 5))


def np_logsumexp(x, axis, keepdims=False):
    return np.log(np.sum(np.exp(x), axis=axis, keepdims=keepdims))


def test_relu_and_sigmoid():
    np.testing.assert_array_equal(run_checked(nn.relu, X), np.maximum(X, 0))
    np.testing.assert_allclose(run_checked(nn.sigmoid, X), 1 / (1 + np.exp(-X)), rtol=1e-12)
    out = run_checked(nn.sigmoid, X.astype(np.float32))
    assert out.dtype == np.float32


@pytest.mark.parametrize("axis", [0, 1, -1, None, (0, 1)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_logsumexp(axis, keepdims):
    out = run_checked(lambda x: nn.logsumexp(x, axis=axis, keepdims=keepdims), X)
    np.testing.assert_allclose(out, np_logsumexp(X, axis, keepdims), rtol=1e-12)


def test_logsumexp_is_stable_for_large_and_infinite_inputs():
    big = np.array([[1000.0, 1000.0], [-np.inf, -np.inf]])
    out = run_checked(lambda x: nn.logsumexp(x, axis=1), big)
    np.testing.assert_allclose(out, [1000.0 + np.log(2.0), -np.inf])


@pytest.mark.parametrize("axis", [0, -1])
def test_softmax_and_log_softmax(axis):
    expected = np.exp(X) / np.exp(X).sum(axis=axis, keepdims=True)
    np.testing.assert_allclose(run_checked(lambda x: nn.softmax(x, axis=axis), X), expected, rtol=1e-12)
    np.testing.assert_allclose(run_checked(lambda x: nn.log_softmax(x, axis=axis), X), np.log(expected), rtol=1e-12)
    np.testing.assert_allclose(run_checked(lambda x: nn.softmax(x * 1000.0, axis=axis), X).sum(axis=axis), 1.0)


@pytest.mark.parametrize("label_dtype", [np.int32, np.int64])
def test_cross_entropy(label_dtype):
    labels = np.array([0, 4, 2, 2], label_dtype)
    log_probs = X - np_logsumexp(X, axis=1, keepdims=True)
    expected = -np.mean(log_probs[np.arange(4), labels])
    np.testing.assert_allclose(run_checked(nn.cross_entropy, X, labels), expected, rtol=1e-12)
