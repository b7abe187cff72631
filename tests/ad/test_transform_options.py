"""Transform and jit conveniences: ``static_argnums``/``static_argnames``, keyword arguments through
``grad``/``vmap``/``jit``, ``has_aux``, ``argnums`` on ``hessian_product``; references are closed forms and JAX."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close

import pyaccad as acc
from pyaccad import ad

jax.config.update("jax_enable_x64", True)

X = np.array([0.5, -1.25, 2.0])
W = np.array([1.5, 0.25, -0.75])


def test_static_argnums_select_a_program_and_retrace(backend: str) -> None:
    f = acc.jit(lambda n, x: acc.fill((n,), 1.0) * x, backend=backend, static_argnums=0)
    assert_close(f(3, np.array(2.0)), np.full(3, 2.0))
    assert_close(f(5, np.array(2.0)), np.full(5, 2.0))
    assert_close(f(3, np.array(4.0)), np.full(3, 4.0))
    assert f.trace_count == 2
    steps = acc.jit(lambda x, steps=1: _repeat(x, steps), backend=backend, static_argnames="steps")
    assert_close(steps(X, steps=3), X * 8)
    assert_close(steps(X), X * 2)
    negative = acc.jit(lambda x, n: x * n, backend=backend, static_argnums=-1)
    assert_close(negative(X, 4), X * 4)


def _repeat(x, steps):
    for _ in range(steps):  # a Python loop: `steps` must be a Python int
        x = x * 2.0
    return x


def test_static_arguments_must_be_hashable_and_in_range() -> None:
    with pytest.raises(acc.ArgumentError, match=r"static argument 1 must be hashable.*list \[1, 2\]"):
        acc.jit(lambda x, shape: x, static_argnums=1)(X, [1, 2])
    with pytest.raises(acc.ArgumentError, match="static_argnums 2 is out of range for 2 positional"):
        acc.jit(lambda x, n: x, static_argnums=2)(X, 1)


def test_keyword_arguments_pass_through_grad_vmap_and_jit() -> None:
    loss = lambda w, x, scale=1.0: (w * w * x).sum() * scale  # noqa: E731
    # A Python keyword is a constant (each value compiles anew), an array keyword is traced; neither is differentiated.
    assert_close(ad.grad(loss)(W, X, scale=3.0), 6 * W * X)
    assert_close(ad.grad(loss)(W, X, scale=np.array(0.5)), W * X)
    assert_close(acc.jit(ad.grad(loss))(W, x=X), 2 * W * X)
    value, g = ad.value_and_grad(loss, argnums=1)(W, X, scale=2.0)
    assert_close(value, np.array(2 * (W * W * X).sum()))
    assert_close(g, 2 * W * W)
    # vmap maps array keywords over axis 0 (as jax.vmap) and passes Python ones unchanged.
    batch = np.arange(6.0).reshape(2, 3)
    got = ad.vmap(lambda a, b=None, k=1.0: (a * b).sum() * k, in_axes=(None,))(X, b=batch, k=2.0)
    assert_close(got, 2 * batch @ X)
    assert_close(ad.jacobian(lambda x, k=1.0: x * k)(X, k=3.0), 3 * np.eye(3))


def test_has_aux_matches_jax() -> None:
    def loss(w, x):
        y = w * x
        return (y * y).sum(), {"pred": y, "peak": y.max()}

    def jax_loss(w, x):
        y = w * x
        return (y * y).sum(), {"pred": y, "peak": y.max()}

    g, aux = ad.grad(loss, has_aux=True)(W, X)
    want_g, want_aux = jax.grad(jax_loss, has_aux=True)(W, X)
    assert_close(g, np.asarray(want_g))
    assert_close(aux["pred"], np.asarray(want_aux["pred"]))
    assert_close(aux["peak"], np.asarray(want_aux["peak"]))
    (value, aux2), g2 = ad.value_and_grad(loss, has_aux=True)(W, X)
    (want_value, _), want_g2 = jax.value_and_grad(jax_loss, has_aux=True)(W, X)
    assert_close(value, np.asarray(want_value))
    assert_close(g2, np.asarray(want_g2))
    assert_close(aux2["pred"], W * X)


def test_has_aux_with_integer_aux_and_inside_a_trace_and_a_lambda() -> None:
    f = lambda w: ((w * w).sum(), acc.cast(w > 0.0, "int32"))  # noqa: E731
    g, count = acc.jit(ad.grad(f, has_aux=True), backend="interp")(W)
    assert_close(g, 2 * W)
    assert_close(count, (W > 0).astype(np.int32))
    inner = lambda a: acc.map(lambda v: ad.grad(lambda p: (p * p * p, p + 1.0), has_aux=True)(v)[0], a)  # noqa: E731
    assert_close(acc.run(inner, X, backend="interp"), 3 * X * X)


def test_has_aux_needs_a_pair_and_a_scalar_value() -> None:
    with pytest.raises(acc.ShapeError, match="must return a pair"):
        ad.grad(lambda x: (x.sum(), x, x), has_aux=True)(X)
    with pytest.raises(acc.ShapeError, match="one float scalar"):
        ad.grad(lambda x: (x * 2.0, x), has_aux=True)(X)


def test_hessian_product_argnums_against_jax() -> None:
    f = lambda w, x: (acc.sin(w) * w * x * x).sum()  # noqa: E731
    jax_f = lambda w, x: (jnp.sin(w) * w * x * x).sum()  # noqa: E731
    v_w, v_x = np.array([1.0, -2.0, 0.5]), np.array([0.25, 1.0, -1.0])
    want_x = jax.jvp(lambda x: jax.grad(jax_f, 1)(W, x), (X,), (v_x,))[1]
    assert_close(ad.hessian_product(f, argnums=1)(W, X, v_x), np.asarray(want_x))
    want_w = jax.jvp(lambda w: jax.grad(jax_f, 0)(w, X), (W,), (v_w,))[1]
    assert_close(ad.hessian_product(f)(W, X, v_w), np.asarray(want_w))
    got = ad.hessian_product(f, argnums=(0, 1))(W, X, (v_w, v_x))
    want = jax.jvp(lambda w, x: jax.grad(jax_f, (0, 1))(w, x), (W, X), (v_w, v_x))[1]
    for a, b in zip(got, want, strict=True):
        assert_close(a, np.asarray(b))
