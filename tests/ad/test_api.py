"""The public transforms of ``pyaccad.ad``: calling conventions, NumPy and traced use, nesting, control, errors."""

from __future__ import annotations

import numpy as np
import pytest
from ad_checks import check_against_fd, finite_difference_grad, grad_of, traced_run

import pyaccad as acc
from pyaccad import ad


@pytest.fixture
def interp_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Transforms called with NumPy arrays run on the default backend: make it the interpreter here."""
    monkeypatch.setenv("PYACCAD_BACKEND", "interp")


@pytest.mark.parametrize("x", [-2.0, 0.0, 0.5, 3.0, 1e3])
def test_no_perturbation_confusion(x: float) -> None:
    f = lambda x: ad.grad(lambda x: x * ad.grad(lambda y: x + y)(x))(x)  # noqa: E731  d/dx (x · d/dy (x + y)) = 1
    assert traced_run(f, np.array(x)) == 1.0
    inside = lambda a: acc.map(ad.diff(lambda u: u * ad.diff(lambda v: u + v)(u)), a)  # noqa: E731
    np.testing.assert_array_equal(traced_run(inside, np.array([x, x])), [1.0, 1.0])


def test_numpy_calls_run_compiled(interp_default: None) -> None:
    x = np.array([0.5, 1.0])
    np.testing.assert_allclose(ad.grad(lambda x: (acc.sin(x) * x).sum())(x), np.cos(x) * x + np.sin(x))
    y, y_tan = ad.jvp(lambda x: x * x, (x,), (np.ones(2),))
    np.testing.assert_allclose(y_tan, 2 * x)
    y, f_jvp = ad.linearize(lambda x: acc.exp(x), x)
    np.testing.assert_allclose(f_jvp(np.array([1.0, 2.0])), np.exp(x) * [1.0, 2.0])
    np.testing.assert_allclose(f_jvp(np.array([0.0, 1.0])), np.exp(x) * [0.0, 1.0])
    y, pullback = ad.vjp(lambda a, b: (a * b, a + b), x, 2 * x)
    a_ct, b_ct = pullback((np.ones(2), np.ones(2)))
    np.testing.assert_allclose(a_ct, 2 * x + 1)
    np.testing.assert_allclose(b_ct, x + 1)


def test_argnums_pytrees_value_and_grad_grad_with(interp_default: None) -> None:
    x = np.array([1.0, 2.0])
    grads = ad.grad(lambda d: (d["a"] * d["b"]).sum())({"a": x, "b": 3 * x})
    np.testing.assert_allclose(grads["a"], 3 * x)
    value, (ga, gb) = ad.value_and_grad(lambda a, b: (a * b * b).sum(), argnums=(0, 1))(x, x)
    assert value == 9.0
    np.testing.assert_allclose(gb, 2 * x * x)
    np.testing.assert_allclose(ad.grad(lambda a, b: (a * b).sum(), argnums=-1)(x, 2 * x), x)
    np.testing.assert_allclose(ad.grad_with(lambda v, dv: v - 0.1 * dv, lambda v: (v * v).sum())(x), 0.8 * x)


def test_grad_and_vjp_inside_lambdas() -> None:
    f = lambda a: acc.map(lambda v: ad.grad(lambda p, q: p * q * q, argnums=(0, 1))(v, v)[1], a)  # noqa: E731
    np.testing.assert_allclose(traced_run(f, np.array([0.5, 2.0])), 2 * np.array([0.5, 2.0]) ** 2)
    g = lambda a: acc.map(lambda v: ad.vjp(lambda p: acc.sin(p), v)[1](2.0)[0], a)  # noqa: E731
    np.testing.assert_allclose(traced_run(g, np.array([0.5, 2.0])), 2 * np.cos([0.5, 2.0]))


def test_integer_inputs_and_outputs() -> None:
    with pytest.raises(acc.NotDifferentiable, match="dtype int64"):
        traced_run(ad.grad(lambda n: acc.cast(n, "float64") * 2.0), np.int64(3))
    with pytest.raises(acc.ShapeError, match="one float scalar"):
        traced_run(ad.grad(lambda x: x * 2.0), np.ones(2))
    # An integer argument next to a float one has a zero cotangent; integer results a zero tangent.
    (x_ct, n_ct) = traced_run(
        lambda x, n: ad.vjp(lambda a, m: a * acc.cast(m, "float64"), x, n)[1](np.ones(2)), np.ones(2), np.array([2, 3])
    )
    np.testing.assert_array_equal(x_ct, [2.0, 3.0])
    np.testing.assert_array_equal(n_ct, [0, 0])
    np.testing.assert_array_equal(traced_run(lambda x: ad.jvp(lambda a: acc.floor(a), (x,), (x,))[1], np.ones(2)), 0)


def test_jax_conventions_at_non_differentiable_points() -> None:
    at = lambda f, x: traced_run(ad.grad(f), np.array(x))  # noqa: E731
    assert at(lambda x: acc.abs(x), 0.0) == 0.0
    assert at(lambda x: acc.maximum(x, 1.0), 1.0) == 0.5
    assert at(lambda x: acc.floor(x) * 1.0, 2.0) == 0.0
    assert at(lambda x: acc.sqrt(x * x + 1.0), 0.0) == 0.0
    np.testing.assert_allclose(grad_of(lambda x: x.max(), np.array([1.0, 3.0, 3.0])), [0.0, 0.5, 0.5])


def test_stop_gradient_custom_vjp_checkpoint() -> None:
    x = np.array([0.3, 1.2])
    np.testing.assert_allclose(grad_of(lambda x: (x * ad.stop_gradient(x)).sum(), x), x)

    @ad.custom_vjp
    def scaled_sin(v):
        return acc.sin(v)

    scaled_sin.defvjp(lambda v: (acc.sin(v), acc.cos(v)), lambda cos_v, g: (3.0 * cos_v * g,))
    np.testing.assert_allclose(grad_of(lambda x: scaled_sin(x).sum(), x), 3 * np.cos(x))
    with pytest.raises(acc.NotDifferentiable, match="custom_vjp scaled_sin: forward-mode"):
        traced_run(lambda x: ad.jvp(scaled_sin, (x,), (x,))[1], x)
    deep = ad.checkpoint(lambda v: acc.sin(acc.sin(v)) * v)
    np.testing.assert_allclose(
        grad_of(lambda x: deep(x).sum(), x), np.cos(np.sin(x)) * np.cos(x) * x + np.sin(np.sin(x))
    )


def test_awhile_with_data_dependent_trip_count() -> None:
    def f(x):  # doubles the state until its sum passes 10: the trip count depends on x
        s, _ = acc.awhile(lambda s: s[0].sum() < 10.0, lambda s: (s[0] * 2.0 + s[1] * x, s[1] * 0.5), (x, x))
        return (s * s).sum()

    check_against_fd(f, np.array([0.31, 0.77]))


def test_linear_function_checks_its_arguments() -> None:
    def bad(x):
        _, f_jvp = ad.linearize(lambda v: v * v, x)
        return f_jvp(x, x)

    with pytest.raises(acc.ShapeError, match="expected 1"):
        traced_run(bad, np.ones(2))


NESTED_CONTROL = {
    "acond_in_awhile": lambda a: acc.awhile(
        lambda s: s[1] < 2,
        lambda s: (acc.acond(s[0].sum() > 0.1234, lambda: acc.sin(s[0]) * a, lambda: s[0]), s[1] + 1),
        (a, np.int64(0)),
    )[0].sum(),
    "awhile_in_awhile": lambda a: acc.awhile(
        lambda s: s[1] < 2,
        lambda s: (acc.awhile(lambda r: r[1] < 2, lambda r: (r[0] * a, r[1] + 1), (s[0], np.int64(0)))[0], s[1] + 1),
        (a, np.int64(0)),
    )[0].sum(),
    "awhile_in_acond": lambda a: acc.acond(
        a.sum() > 0.1234,
        lambda: acc.awhile(lambda s: s[1] < 3, lambda s: (acc.tanh(s[0] * a), s[1] + 1), (a, np.int64(0)))[0],
        lambda: a,
    ).sum(),
    "checkpoint_in_awhile": lambda a: acc.awhile(
        lambda s: s[1] < 2, lambda s: (ad.checkpoint(lambda v: acc.sin(v) * a)(s[0]), s[1] + 1), (a, np.int64(0))
    )[0].sum(),
}


@pytest.mark.parametrize("name", list(NESTED_CONTROL))
def test_nested_control_flow_matches_finite_differences(name: str) -> None:
    check_against_fd(NESTED_CONTROL[name], np.array([0.6, 1.1]))


EDGE = {  # name: (function, input): degenerate extents and single precision
    "empty_fold_product": (lambda a: acc.fold(lambda p, q: p * q, 1.0, a, axis=0).sum(), np.zeros((0, 3))),
    "empty_scan_general": (
        lambda a: acc.scanl(lambda p, q: acc.log(acc.exp(p) + acc.exp(q)), 1.0, a, 0).sum(),
        np.zeros((0, 2)),
    ),
    "size_one_axis_fold": (
        lambda a: acc.fold1(lambda p, q: acc.log(acc.exp(p) + acc.exp(q)), a).sum(),
        np.ones((2, 1)),
    ),
    "size_one_stencil": (lambda a: acc.stencil(lambda n: n[0] * n[2], a, 3, "mirror").sum(), np.array([2.0])),
}


@pytest.mark.parametrize("name", list(EDGE))
def test_degenerate_extents(name: str) -> None:
    f, x = EDGE[name]
    g = grad_of(f, x)
    assert g.shape == x.shape
    if x.size:
        np.testing.assert_allclose(g, finite_difference_grad(f, x), rtol=1e-5, atol=1e-7)


def test_single_precision_gradients_are_single_precision() -> None:
    x = np.array([0.5, 1.5, 2.5], np.float32)
    g = grad_of(lambda a: acc.fold1(lambda p, q: acc.log(acc.exp(p) + acc.exp(q)), acc.sin(a) * a), x)
    assert g.dtype == np.float32
    y = np.sin(x.astype(np.float64)) * x
    want = np.exp(y) / np.exp(y).sum() * (np.cos(x) * x + np.sin(x))
    np.testing.assert_allclose(g, want, rtol=1e-5)


def test_tangents_and_cotangents_take_the_primal_dtype() -> None:
    x = np.float32([0.0, 1.0])
    y_tan = traced_run(lambda x: ad.jvp(acc.sin, (x,), (1.0,))[1], x)  # a number: filled, as float32
    assert y_tan.dtype == np.float32
    np.testing.assert_allclose(y_tan, np.cos(x))
    (x_ct,) = traced_run(lambda x: ad.vjp(acc.sin, x)[1](np.ones(2)), x)  # float64 cotangent, float32 input
    assert x_ct.dtype == np.float32
    with pytest.raises(acc.ShapeError, match="pullback: got shape"):
        traced_run(lambda x: ad.vjp(acc.sin, x)[1](np.ones(3)), x)
