"""``ad.jacobian`` (fwd, rev, auto), ``ad.hessian`` and ``ad.hessian_product`` on interp, against central finite
differences in float64 and against JAX (x64) where JAX is importable."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pyaccad as acc
from pyaccad import ad
from pyaccad.frontend.tracing import trace
from pyaccad.ir import verify


def run(f: Callable, *args: np.ndarray):
    verify(trace(f, *args).program)
    return acc.jit(f, backend="interp")(*args)


def finite_jacobian(f: Callable, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of ``f`` (run on interp) at ``x``: shape out.shape + x.shape."""
    fx = np.asarray(run(f, x))
    jac = np.zeros(fx.shape + x.shape)
    for k in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[k] = eps
        jac[(...,) + k] = (np.asarray(run(f, x + step)) - np.asarray(run(f, x - step))) / (2 * eps)
    return jac


def _add(a, b):
    return a + b


def _jax_while(cond, body, x):
    import jax

    return jax.lax.while_loop(cond, body, x)


def _cumsum(x):
    return acc.scanl1(lambda a, b: a + b, x)


W = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]])

# (name, pyaccad function, jax function of jnp, input shape)
CASES: list[tuple[str, Callable, Callable, tuple[int, ...]]] = [
    ("elementwise", lambda x: acc.sin(x) * x + acc.exp(-x), lambda jnp, x: jnp.sin(x) * x + jnp.exp(-x), (3,)),
    ("matmul", lambda x: acc.tanh(acc.use(W) @ x), lambda jnp, x: jnp.tanh(W @ x), (3,)),
    ("matrix-in-out", lambda x: acc.transpose(x * x) @ x, lambda jnp, x: (x * x).T @ x, (2, 3)),
    ("fold", lambda x: acc.fold(lambda a, b: a * b, 1.0, x), lambda jnp, x: jnp.prod(x, axis=-1), (2, 3)),
    ("scan", lambda x: _cumsum(x * x), lambda jnp, x: jnp.cumsum(x * x), (4,)),
    ("reverse-slice", lambda x: acc.reverse(x)[1:] * x[:-1], lambda jnp, x: x[::-1][1:] * x[:-1], (4,)),
    (
        "stencil",
        lambda x: acc.stencil(lambda n: n[0] * n[2] - n[1], x, 3, boundary="clamp"),
        lambda jnp, x: jnp.concatenate([x[:1], x[:-1]]) * jnp.concatenate([x[1:], x[-1:]]) - x,
        (4,),
    ),
    ("scalar-out", lambda x: (x * x).sum() + x.max(), lambda jnp, x: (x * x).sum() + x.max(), (5,)),
    (
        "gather-scatter",
        lambda x: acc.permute(_add, acc.fill(2, 0.0), lambda i: (i % 2,), acc.backpermute((3,), lambda i: (3 - i,), x)),
        lambda jnp, x: jnp.zeros(2).at[np.arange(3) % 2].add(x[3 - np.arange(3)]),
        (4,),
    ),
    (
        "awhile",
        lambda x: acc.awhile(lambda s: (s * s).sum() < 10.0, lambda s: s * 1.5 + 0.25, x),
        lambda jnp, x: _jax_while(lambda s: (s * s).sum() < 10.0, lambda s: s * 1.5 + 0.25, x),
        (2,),
    ),
    (
        "acond",
        lambda x: acc.acond(x.sum() > 0.0, lambda v: v * v, lambda v: -v, x),
        lambda jnp, x: jnp.where(x.sum() > 0.0, x * x, -x),
        (3,),
    ),
]
IDS = [c[0] for c in CASES]


def _input(shape: tuple[int, ...], seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1.0, 1.0, shape)


@pytest.mark.parametrize(("name", "f", "jf", "shape"), CASES, ids=IDS)
def test_fwd_equals_rev_equals_finite_differences(name: str, f: Callable, jf: Callable, shape: tuple) -> None:
    x = _input(shape)
    fwd = run(ad.jacobian(f, mode="fwd"), x)
    rev = run(ad.jacobian(f, mode="rev"), x)
    auto = run(ad.jacobian(f), x)
    expected = finite_jacobian(f, x)
    assert fwd.shape == rev.shape == auto.shape == expected.shape
    np.testing.assert_allclose(fwd, rev, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(auto, fwd, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fwd, expected, rtol=1e-6, atol=1e-6)


@pytest.fixture(scope="module")
def jax():
    jax = pytest.importorskip("jax", reason="JAX is the reference for these tests")
    jax.config.update("jax_enable_x64", True)
    return jax


@pytest.mark.parametrize(("name", "f", "jf", "shape"), CASES, ids=IDS)
def test_jacobian_matches_jax(jax, name: str, f: Callable, jf: Callable, shape: tuple) -> None:
    x = _input(shape, seed=1)
    expected = np.asarray(jax.jacfwd(lambda v: jf(jax.numpy, v))(x))  # jacfwd: JAX cannot reverse while_loop
    for mode in ("fwd", "rev"):
        np.testing.assert_allclose(run(ad.jacobian(f, mode=mode), x), expected, rtol=1e-12, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(st.lists(st.integers(1, 3), max_size=2), st.integers(0, 2**32 - 1))
def test_block_shapes_and_values_for_drawn_shapes(shape: list[int], seed: int) -> None:
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, tuple(shape))
    f = lambda x: acc.sin(x) * x.sum() + x * x  # noqa: E731
    fwd, rev = run(ad.jacobian(f, mode="fwd"), x), run(ad.jacobian(f, mode="rev"), x)
    assert fwd.shape == rev.shape == x.shape * 2
    np.testing.assert_allclose(fwd, rev, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(fwd, finite_jacobian(f, x), rtol=1e-6, atol=1e-6)


def test_argnums_and_output_pytrees(jax) -> None:
    def f(x, y):
        return {"p": x * y.sum(), "q": acc.sin(x)[0]}

    def jf(x, y):
        return {"p": x * y.sum(), "q": jax.numpy.sin(x)[0]}

    x, y = _input((3,)), _input((2,), seed=2)
    for mode in ("fwd", "rev"):
        got = run(ad.jacobian(f, argnums=(0, 1), mode=mode), x, y)
        expected = jax.jacobian(jf, argnums=(0, 1))(x, y)
        for key in ("p", "q"):
            for k in range(2):
                np.testing.assert_allclose(got[key][k], np.asarray(expected[key][k]), rtol=1e-12, atol=1e-12)


def _energy(x):
    return (acc.sin(x) * acc.reverse(x)).sum() + (x * x * x).sum() * x[0]


def _energy_jax(jnp, x):
    return (jnp.sin(x) * x[::-1]).sum() + (x * x * x).sum() * x[0]


@settings(max_examples=10, deadline=None)
@given(st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_hessian_symmetric_and_products(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x, v = rng.uniform(-1.0, 1.0, n), rng.uniform(-1.0, 1.0, n)
    hess = run(ad.hessian(_energy), x)
    assert hess.shape == (n, n)
    np.testing.assert_allclose(hess, hess.T, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(hess, finite_jacobian(ad.grad(_energy), x), rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(run(ad.hessian_product(_energy), x, v), hess @ v, rtol=1e-12, atol=1e-12)


def test_hessian_matches_jax(jax) -> None:
    x = _input((2, 2), seed=3)
    f = lambda x: (acc.tanh(x @ x) * x).sum()  # noqa: E731
    expected = np.asarray(jax.hessian(lambda v: (jax.numpy.tanh(v @ v) * v).sum())(x))
    hess = run(ad.hessian(f), x)
    assert hess.shape == (2, 2, 2, 2)
    np.testing.assert_allclose(hess, expected, rtol=1e-12, atol=1e-12)
    v = _input((2, 2), seed=4)
    product = run(ad.hessian_product(f), x, v)
    np.testing.assert_allclose(product, np.tensordot(expected, v, axes=2), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["fwd", "rev"])
def test_one_batched_program_whatever_the_basis_size(mode: str) -> None:
    f = lambda x: acc.sin(x) * x.sum()  # noqa: E731
    sizes = {len(trace(ad.jacobian(f, mode=mode), np.zeros(n)).program.stmts) for n in (2, 30)}
    assert len(sizes) == 1


def test_jacobian_errors() -> None:
    with pytest.raises(acc.NotDifferentiable, match="jacobian: argument 0 has dtype int64"):
        run(ad.jacobian(lambda x: x * 2), np.arange(3))
    with pytest.raises(acc.Error, match="mode must be one of"):
        ad.jacobian(lambda x: x, mode="sideways")
    with pytest.raises(acc.Error, match="argnums is empty"):
        ad.jacobian(lambda x: x, argnums=())
    with pytest.raises(acc.Error, match="argnums 2 is out of range for 1 arguments"):
        run(ad.jacobian(lambda x: x, argnums=2), np.zeros(2))


def test_hessian_with_argnums_tuple_matches_jax(jax) -> None:
    def f(x, y, np_=acc):
        return (np_.sin(x) * y.sum() * x).sum()

    x, y = _input((2,), seed=5), _input((3,), seed=6)
    got = run(ad.hessian(f, argnums=(0, 1)), x, y)
    want = jax.hessian(lambda a, b: f(a, b, jax.numpy), argnums=(0, 1))(x, y)
    for a in range(2):
        for b in range(2):
            np.testing.assert_allclose(got[a][b], np.asarray(want[a][b]), rtol=1e-12, atol=1e-12)


def test_pytree_arguments_give_pytrees_of_blocks(jax) -> None:
    def f(params, x, np_=acc):
        return np_.tanh(x @ params["w"] + params["b"])

    params = {"w": _input((3, 2), seed=7), "b": _input((2,), seed=8)}
    x = _input((4, 3), seed=9)
    want = jax.jacobian(lambda p, v: f(p, v, jax.numpy), argnums=(0, 1))(params, x)
    for mode in ("fwd", "rev", "auto"):
        got = run(ad.jacobian(f, argnums=(0, 1), mode=mode), params, x)
        for key in ("w", "b"):
            np.testing.assert_allclose(got[0][key], np.asarray(want[0][key]), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(got[1], np.asarray(want[1]), rtol=1e-12, atol=1e-12)
