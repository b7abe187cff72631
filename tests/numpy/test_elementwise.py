"""``pyaccad.numpy``'s element-wise functions against NumPy (values, hypothesis-drawn broadcast shapes) and
their derivatives against JAX's."""

from __future__ import annotations

import jax
import jax.numpy as jjnp
import numpy as np
import pytest
from helpers import assert_close
from hypothesis import given
from hypothesis import strategies as st
from numpy_cases import DERIVATIVE_RTOL, B, broadcast_pair, element_rtol, floats, ints, shapes

import pyaccad as acc
import pyaccad.numpy as jnp
from pyaccad import ad

# name -> (domain low, high); NumPy's and JAX's functions have the same name, but for sigmoid.
UNARY = {
    "sin": (-3, 3),
    "cos": (-3, 3),
    "tan": (-1.4, 1.4),
    "arcsin": (-0.9, 0.9),
    "arccos": (-0.9, 0.9),
    "arctan": (-5, 5),
    "sinh": (-3, 3),
    "cosh": (-3, 3),
    "tanh": (-3, 3),
    "arcsinh": (-5, 5),
    "arccosh": (1.1, 5),
    "arctanh": (-0.9, 0.9),
    "exp": (-3, 3),
    "expm1": (-3, 3),
    "exp2": (-5, 5),
    "log": (0.1, 5),
    "log1p": (-0.9, 5),
    "log2": (0.1, 5),
    "log10": (0.1, 5),
    "sqrt": (0.1, 5),
    "square": (-5, 5),
    "reciprocal": (0.5, 5),
    "abs": (-5, 5),
    "absolute": (-5, 5),
    "negative": (-5, 5),
    "positive": (-5, 5),
    "sign": (-5, 5),
    "floor": (-5, 5),
    "ceil": (-5, 5),
    "trunc": (-5, 5),
    "rint": (-5, 5),
    "round": (-5, 5),
    "sigmoid": (-5, 5),
}
BINARY = {
    "add": (-5, 5),
    "subtract": (-5, 5),
    "multiply": (-5, 5),
    "divide": (0.5, 5),
    "true_divide": (0.5, 5),
    "power": (0.5, 3),
    "minimum": (-5, 5),
    "maximum": (-5, 5),
    "arctan2": (0.5, 5),
    "mod": (0.5, 5),
    "remainder": (0.5, 5),
    "floor_divide": (0.5, 5),
}
COMPARISONS = ["equal", "not_equal", "less", "less_equal", "greater", "greater_equal"]
PIECEWISE_CONSTANT = {"sign", "floor", "ceil", "trunc", "rint", "round", "floor_divide"}


def _numpy(name: str):
    return (lambda x: 1 / (1 + np.exp(-x))) if name == "sigmoid" else getattr(np, name)


def _jax(name: str):
    return jax.nn.sigmoid if name == "sigmoid" else getattr(jjnp, name)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary_against_numpy(name: str, dtype: str, data: st.DataObject) -> None:
    lo, hi = UNARY[name]
    x = data.draw(floats(data.draw(shapes), lo, hi, dtype))
    want = _numpy(name)(x.astype(np.float64)).astype(dtype)
    assert_close(acc.run(getattr(jnp, name), x, backend=B), want, rtol=element_rtol(dtype), atol=0)


@pytest.mark.parametrize("name", sorted(set(UNARY) - PIECEWISE_CONSTANT))
@given(data=st.data())
def test_unary_derivative_against_jax(name: str, data: st.DataObject) -> None:
    lo, hi = UNARY[name]
    x = data.draw(floats(data.draw(shapes), lo, hi))
    if name in ("abs", "absolute"):
        x = np.where(x == 0, 0.5, x)  # at the kink JAX takes 1 for the derivative and we take sign(0) = 0
    w = np.linspace(-1.0, 2.0, x.size).reshape(x.shape)
    got = ad.grad(lambda x: (getattr(jnp, name)(x) * w).sum())(x)
    want = jax.grad(lambda x: (_jax(name)(x) * w).sum())(x)
    assert_close(got, np.asarray(want), rtol=DERIVATIVE_RTOL, atol=1e-300)


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_against_numpy_with_broadcasting(name: str, data: st.DataObject) -> None:
    lo, hi = BINARY[name]
    sa, sb = data.draw(broadcast_pair())
    a, b = data.draw(floats(sa, lo, hi)), data.draw(floats(sb, lo, hi))
    assert_close(acc.run(getattr(jnp, name), a, b, backend=B), getattr(np, name)(a, b), rtol=element_rtol("float64"))
    jumps = name in ("mod", "remainder") and np.any(np.mod(a, b) < 1e-6 * b)  # a jump: no derivative there
    if name not in PIECEWISE_CONSTANT and not jumps:
        got = ad.grad(lambda a, b: getattr(jnp, name)(a, b).sum(), argnums=(0, 1))(a, b)
        want = jax.grad(lambda a, b: getattr(jjnp, name)(a, b).sum(), argnums=(0, 1))(a, b)
        for g, w in zip(got, want, strict=True):
            assert_close(g, np.asarray(w), rtol=DERIVATIVE_RTOL, atol=1e-300)


@pytest.mark.parametrize("name", ["add", "subtract", "multiply", "mod", "remainder", "floor_divide", "divide"])
@given(data=st.data())
def test_integer_arithmetic_as_numpy(name: str, data: st.DataObject) -> None:
    sa, sb = data.draw(broadcast_pair())
    a, b = data.draw(ints(sa)), data.draw(ints(sb, 1, 9)) * data.draw(st.sampled_from([1, -1]))
    want = getattr(np, name)(a, b)  # divide: float64 from integers, as NumPy
    assert_close(acc.run(getattr(jnp, name), a, b, backend=B), want)


@pytest.mark.parametrize("name", COMPARISONS)
@given(data=st.data())
def test_comparisons_and_logic(name: str, data: st.DataObject) -> None:
    sa, sb = data.draw(broadcast_pair())
    a, b = data.draw(ints(sa, -2, 2)), data.draw(ints(sb, -2, 2))
    assert_close(acc.run(getattr(jnp, name), a, b, backend=B), getattr(np, name)(a, b))
    for logic in ("logical_and", "logical_or", "logical_xor"):
        assert_close(acc.run(getattr(jnp, logic), a, b, backend=B), getattr(np, logic)(a, b))
    assert_close(acc.run(jnp.logical_not, a, backend=B), np.logical_not(a))


@given(data=st.data())
def test_clip_where_and_float_predicates(data: st.DataObject) -> None:
    x = data.draw(floats(data.draw(shapes), -5, 5))
    lo, hi = sorted(data.draw(st.lists(st.floats(-5, 5), min_size=2, max_size=2)))
    assert_close(acc.run(lambda x: jnp.clip(x, lo, hi), x, backend=B), np.clip(x, lo, hi))
    assert_close(acc.run(lambda x: jnp.clip(x, a_max=hi), x, backend=B), np.clip(x, None, hi))
    assert_close(acc.run(lambda x: jnp.where(x > lo, x, -x), x, backend=B), np.where(x > lo, x, -x))
    special = np.concatenate([x.ravel(), [np.nan, np.inf, -np.inf]])
    for name in ("isnan", "isinf", "isfinite"):
        assert_close(acc.run(getattr(jnp, name), special, backend=B), getattr(np, name)(special))
    g = ad.grad(lambda x: jnp.clip(x, lo, hi).sum())(x)
    assert_close(g, np.asarray(jax.grad(lambda x: jjnp.clip(x, lo, hi).sum())(x)))


def test_one_argument_where_is_refused() -> None:
    with pytest.raises(acc.ShapeError, match="where\\(condition\\) with one argument gives the indices"):
        acc.run(lambda x: jnp.where(x > 0), np.ones(2), backend=B)


def test_integers_take_float64_in_float_functions() -> None:
    n = np.array([1, 2, 4])
    assert_close(acc.run(jnp.sqrt, n, backend=B), np.sqrt(n), rtol=element_rtol("float64"))
    assert_close(acc.run(jnp.log2, n, backend=B), np.log2(n), rtol=element_rtol("float64"))
    assert_close(acc.run(jnp.square, n, backend=B), np.square(n))
    assert_close(acc.run(lambda n: jnp.round(jnp.divide(n, 7), 1), n, backend=B), np.round(n / 7, 1))
