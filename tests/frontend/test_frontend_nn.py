"""``pyaccad.nn`` against NumPy formulas (computed in float64 from their definitions)."""

from __future__ import annotations

import numpy as np
import pytest
from frontend_helpers import run_checked

import pyaccad as acc
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


def np_adam(params, grads, m, v, t, lr, b1=0.9, b2=0.999, eps=1e-8):
    """Adam as written in Kingma & Ba (2015), Algorithm 1, in float64."""
    m = [b1 * mi + (1 - b1) * g for mi, g in zip(m, grads, strict=True)]
    v = [b2 * vi + (1 - b2) * g * g for vi, g in zip(v, grads, strict=True)]
    new = [
        p - lr * (mi / (1 - b1**t)) / (np.sqrt(vi / (1 - b2**t)) + eps) for p, mi, vi in zip(params, m, v, strict=True)
    ]
    return new, m, v


def test_adam_matches_the_paper_over_several_steps():
    rng = np.random.default_rng(2)
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    state = nn.adam_init(params)
    ref, m, v = [params["b"], params["w"]], [np.zeros(2), np.zeros((3, 2))], [np.zeros(2), np.zeros((3, 2))]
    for t in range(1, 4):
        grads = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
        params, state = run_checked(lambda p, g, s: nn.adam(p, g, s, lr=0.05), params, grads, state)
        ref, m, v = np_adam(ref, [grads["b"], grads["w"]], m, v, t, 0.05)
        np.testing.assert_allclose(params["b"], ref[0], rtol=1e-12)
        np.testing.assert_allclose(params["w"], ref[1], rtol=1e-12)
    np.testing.assert_allclose(state[0], 0.9**3, rtol=1e-15)


def test_adam_keeps_float32_and_takes_a_traced_learning_rate():
    params = [np.ones(4, np.float32)]
    grads = [np.full(4, 2.0, np.float32)]
    new, state = run_checked(nn.adam, params, grads, nn.adam_init(params), np.float32(0.5))
    assert new[0].dtype == np.float32 and state[0].dtype == np.float32
    # The first step moves each parameter by lr (m / (1 - b1) = g, sqrt(v / (1 - b2)) = |g|), up to eps.
    # 0.999 rounded to float32 errs by u = 2^-24 relatively, and 1 - 0.999 magnifies that by 1 / 0.001
    # (halved by the square root); a few more roundings add a few u.
    u = np.finfo(np.float32).eps / 2
    np.testing.assert_allclose(new[0], 0.5, rtol=u / 0.001 + 8 * u)


def test_adam_rejects_bad_inputs():
    with pytest.raises(acc.ArgumentError, match="adam_init.*int64"):
        nn.adam_init([np.arange(3)])
    params = [np.ones(2), np.ones(2)]
    with pytest.raises(acc.ShapeError, match="adam: grads"):
        acc.run(nn.adam, params, [np.ones(2)], nn.adam_init(params), backend="interp")
