"""Agreement with JAX (float64, CPU) on the program table, the four benchmark workloads and nested derivatives.

Each pyaccad program has a JAX twin written independently; gradients (and for the table, JVPs) must agree.
The JAX references run under ``jax.jit`` (one XLA program each, not one dispatch per operation: the file took
42 s instead of 178 s); their errors against pyaccad's stayed the same, at most 5.3e-6 of each tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest
from ad_checks import grad_of, jvp_of, traced_run
from ad_programs import PROGRAMS

import pyaccad as acc
from pyaccad import ad, nn

jax = pytest.importorskip("jax", reason="JAX is not installed: the JAX agreement tests need it")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

RNG = np.random.default_rng(42)
TABLE = [name for name, case in PROGRAMS.items() if case.jax_fn is not None]


def _draw(case) -> np.ndarray:
    return RNG.uniform(case.lo, case.hi, size=case.shape)


def _shape(jax_fn, x: np.ndarray) -> tuple[int, ...]:
    """The shape of ``jax_fn(x)``, from JAX's shape inference (nothing computed)."""
    return jax.eval_shape(jax_fn, x).shape


@pytest.mark.parametrize("name", TABLE)
def test_table_gradient_and_jvp_agree_with_jax(name: str) -> None:
    case = PROGRAMS[name]
    x = _draw(case)
    w = RNG.normal(size=_shape(case.jax_fn, x))
    got = grad_of(lambda x: (case.fn(x) * w).sum(), x)
    want = jax.jit(jax.grad(lambda x: (case.jax_fn(x) * w).sum()))(x)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)
    v = RNG.normal(size=x.shape)
    want = jax.jit(lambda x, v: jax.jvp(case.jax_fn, (x,), (v,))[1])(x, v)
    np.testing.assert_allclose(jvp_of(case.fn, (x,), (v,)), want, rtol=1e-9, atol=1e-12)


def test_table_is_large_enough() -> None:
    assert len(TABLE) + len(WORKLOADS) + len(NESTED) + len(NN) >= 30


# The four workloads of docs/WORKLOADS.md, small sizes.


def elementwise(x):
    return (acc.sin(x) * x).sum()


def elementwise_jax(x):
    return (jnp.sin(x) * x).sum()


def logsumexp_rows(a):
    m = a.max(axis=1, keepdims=True)
    return (acc.log(acc.exp(a - m).sum(axis=1)) + m[:, 0]).sum()


def logsumexp_rows_jax(a):
    return jax.scipy.special.logsumexp(a, axis=1).sum()


def mlp(params, x, onehot):
    w1, b1, w2, b2, w3, b3 = params
    h1 = acc.tanh(x @ w1 + b1)
    h2 = acc.tanh(h1 @ w2 + b2)
    z = h2 @ w3 + b3
    m = z.max(axis=1, keepdims=True)
    log_p = z - m - acc.log(acc.exp(z - m).sum(axis=1, keepdims=True))
    return -(log_p * onehot).sum() / x.shape[0]


def mlp_jax(params, x, onehot):
    w1, b1, w2, b2, w3, b3 = params
    z = jnp.tanh(jnp.tanh(x @ w1 + b1) @ w2 + b2) @ w3 + b3
    return -(jax.nn.log_softmax(z) * onehot).sum() / x.shape[0]


def gmm(alphas, means, icf, x):
    k_, d = means.shape
    n = x.shape[0]
    q = icf[:, :d]
    qmat = acc.generate(
        (k_, d, d),
        lambda k, i, j: acc.cond(  # branches as functions: read only when taken
            i == j, lambda: acc.exp(icf[k, i]), lambda: acc.cond(i > j, lambda: icf[k, d + i * (i - 1) // 2 + j], 0.0)
        ),
    )
    xc = acc.reshape(x, (n, 1, d)) - acc.reshape(means, (1, k_, d))
    qx = (acc.reshape(qmat, (1, k_, d, d)) * acc.reshape(xc, (n, k_, 1, d))).sum(axis=3)
    main = alphas + q.sum(axis=1) - 0.5 * (qx * qx).sum(axis=2)
    m = main.max(axis=1, keepdims=True)
    lse = (acc.log(acc.exp(main - m).sum(axis=1)) + m[:, 0]).sum()
    am = alphas.max()
    lse_alpha = acc.log(acc.exp(alphas - am).sum()) + am
    return lse - n * lse_alpha + 0.5 * ((acc.exp(q) ** 2.0).sum() + (icf[:, d:] ** 2.0).sum()) - q.sum()


def gmm_jax(alphas, means, icf, x):
    k_, d = means.shape
    q = icf[:, :d]
    rows, cols = np.tril_indices(d, -1)
    lower = jnp.zeros((k_, d, d)).at[:, rows, cols].set(icf[:, d:])
    qmat = lower + jax.vmap(jnp.diag)(jnp.exp(q))
    xc = x[:, None, :] - means[None]
    qx = jnp.einsum("kab,nkb->nka", qmat, xc)
    main = alphas + q.sum(1) - 0.5 * (qx**2).sum(2)
    lse = jax.scipy.special.logsumexp
    return (
        lse(main, axis=1).sum()
        - x.shape[0] * lse(alphas)
        + 0.5 * ((jnp.exp(q) ** 2).sum() + (icf[:, d:] ** 2).sum())
        - q.sum()
    )


def _mlp_inputs():
    sizes = [8, 6, 6, 3]
    params = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=False):
        params += [RNG.normal(size=(a, b)) / np.sqrt(a), RNG.normal(size=b) * 0.1]
    x = RNG.normal(size=(5, 8))
    onehot = np.eye(3)[RNG.integers(0, 3, size=5)]
    return (tuple(params), x, onehot)


def _gmm_inputs():
    d, k, n = 3, 4, 6
    return (
        RNG.normal(size=k),
        RNG.normal(size=(k, d)),
        0.1 * RNG.normal(size=(k, d * (d + 1) // 2)),
        RNG.normal(size=(n, d)),
    )


WORKLOADS = {
    "elementwise": (elementwise, elementwise_jax, lambda: (RNG.uniform(-3, 3, size=16),), 0),
    "logsumexp_rows": (logsumexp_rows, logsumexp_rows_jax, lambda: (RNG.normal(size=(4, 5)),), 0),
    "mlp": (mlp, mlp_jax, _mlp_inputs, 0),
    "gmm": (gmm, gmm_jax, _gmm_inputs, (0, 1, 2)),
}


@pytest.mark.parametrize("name", list(WORKLOADS))
def test_workload_gradients_agree_with_jax(name: str) -> None:
    f, f_jax, inputs, argnums = WORKLOADS[name]
    args = inputs()
    got = grad_of(f, *args, argnums=argnums)
    want = jax.jit(jax.grad(f_jax, argnums))(*args)
    for g, w in zip(jax.tree_util.tree_leaves(got), jax.tree_util.tree_leaves(want), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(traced_run(f, *args), jax.jit(f_jax)(*args), rtol=1e-10)


NESTED = {  # name: (pyaccad function of x, JAX function of x)
    "grad_of_grad": (
        lambda x: ad.grad(lambda y: (acc.sin(y) * y * y).sum())(x),
        lambda x: jax.grad(lambda y: (jnp.sin(y) * y * y).sum())(x),
    ),
    "perturbation_confusion": (
        lambda x: ad.grad(lambda u: (u * ad.grad(lambda v: (u + v).sum())(u)).sum())(x),
        lambda x: jax.grad(lambda u: (u * jax.grad(lambda v: (u + v).sum())(u)).sum())(x),
    ),
    "diff_in_lambda": (
        lambda x: acc.map(ad.diff(lambda v: acc.exp(v) * acc.sin(v)), x),
        lambda x: jax.vmap(jax.grad(lambda v: jnp.exp(v) * jnp.sin(v)))(x),
    ),
    "grad_of_diff_in_lambda": (
        lambda x: ad.grad(lambda y: acc.map(ad.diff(lambda v: v * v * v), y).sum())(x),
        lambda x: jax.grad(lambda y: jax.vmap(jax.grad(lambda v: v**3))(y).sum())(x),
    ),
    "closure_over_outer_tracer": (
        lambda x: ad.grad(lambda y: (acc.map(lambda v: v * x[0], y) * y).sum())(x),
        lambda x: jax.grad(lambda y: (y * jax.lax.stop_gradient(x[0]) * y).sum())(x),
    ),
    "jvp_of_grad": (
        lambda x: ad.jvp(ad.grad(lambda y: (acc.tanh(y) ** 3.0).sum()), (x,), (x * 0.0 + 1.0,))[1],
        lambda x: jax.jvp(jax.grad(lambda y: (jnp.tanh(y) ** 3).sum()), (x,), (jnp.ones_like(x),))[1],
    ),
    "grad_of_vjp": (
        lambda x: ad.grad(lambda y: (ad.vjp(acc.sin, y)[1](y)[0] * y).sum())(x),
        lambda x: jax.grad(lambda y: (jax.vjp(jnp.sin, y)[1](y)[0] * y).sum())(x),
    ),
    "third_order": (
        lambda x: ad.grad(lambda a: ad.grad(lambda b: ad.grad(lambda c: (c**4.0).sum())(b).sum())(a).sum())(x),
        lambda x: jax.grad(lambda a: jax.grad(lambda b: jax.grad(lambda c: (c**4).sum())(b).sum())(a).sum())(x),
    ),
}


@pytest.mark.parametrize("name", list(NESTED))
def test_nested_derivatives_agree_with_jax(name: str) -> None:
    f, f_jax = NESTED[name]
    x = RNG.uniform(0.2, 1.5, size=4)
    np.testing.assert_allclose(traced_run(f, x), jax.jit(f_jax)(x), rtol=1e-9, atol=1e-12)


LABELS = np.array([2, 0, 3])
WEIGHTS = RNG.normal(size=(3, 4))
NN = {  # pyaccad.nn and the NumPy-style reductions, against jax.nn
    "relu": (lambda a: (nn.relu(a) * WEIGHTS).sum(), lambda a: (jax.nn.relu(a) * WEIGHTS).sum()),
    "sigmoid": (lambda a: (nn.sigmoid(a) * WEIGHTS).sum(), lambda a: (jax.nn.sigmoid(a) * WEIGHTS).sum()),
    "softmax": (lambda a: (nn.softmax(a) * WEIGHTS).sum(), lambda a: (jax.nn.softmax(a) * WEIGHTS).sum()),
    "log_softmax": (
        lambda a: (nn.log_softmax(a, axis=0) * WEIGHTS).sum(),
        lambda a: (jax.nn.log_softmax(a, axis=0) * WEIGHTS).sum(),
    ),
    "logsumexp": (
        lambda a: (nn.logsumexp(a, axis=1) * WEIGHTS[:, 0]).sum(),
        lambda a: (jax.scipy.special.logsumexp(a, axis=1) * WEIGHTS[:, 0]).sum(),
    ),
    "cross_entropy": (
        lambda a: nn.cross_entropy(a, LABELS),
        lambda a: -jnp.take_along_axis(jax.nn.log_softmax(a), LABELS[:, None], axis=1).mean(),
    ),
    "mean_prod": (lambda a: a.mean(axis=0).prod(), lambda a: a.mean(axis=0).prod()),
    "min_max": (lambda a: (a.min(axis=1) * a.max(axis=0)[:3]).sum(), lambda a: (a.min(1) * a.max(0)[:3]).sum()),
}


@pytest.mark.parametrize("name", list(NN))
def test_nn_gradients_agree_with_jax(name: str) -> None:
    f, f_jax = NN[name]
    a = RNG.normal(size=(3, 4))
    np.testing.assert_allclose(grad_of(f, a), jax.jit(jax.grad(f_jax))(a), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", TABLE)
def test_second_order_forward_over_reverse_agrees_with_jax(name: str) -> None:
    """Hessian-vector products ``jvp(grad f)``: the JVP rules applied to transposed programs."""
    case = PROGRAMS[name]
    x, v = _draw(case), RNG.normal(size=case.shape)
    w = RNG.normal(size=_shape(case.jax_fn, x))
    got = traced_run(lambda x, v: ad.jvp(ad.grad(lambda y: (case.fn(y) * w).sum()), (x,), (v,))[1], x, v)
    want = jax.jit(lambda x, v: jax.jvp(jax.grad(lambda y: (case.jax_fn(y) * w).sum()), (x,), (v,))[1])(x, v)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("name", TABLE)
def test_second_order_reverse_over_reverse_agrees_with_jax(name: str) -> None:
    """``grad(⟨grad f, u⟩)``: transposing the linearized transposed programs."""
    case = PROGRAMS[name]
    x, u = _draw(case), RNG.normal(size=case.shape)
    w = RNG.normal(size=_shape(case.jax_fn, x))
    got = grad_of(lambda x: (ad.grad(lambda y: (case.fn(y) * w).sum())(x) * u).sum(), x)
    want = jax.jit(jax.grad(lambda x: (jax.grad(lambda y: (case.jax_fn(y) * w).sum())(x) * u).sum()))(x)
    np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-10)


def test_mixed_precision_scan_agrees_with_jax_up_to_float32_rounding() -> None:
    """A scan of float32 and float64 components: the recurrence's float32 products round, nothing else."""
    case = PROGRAMS["scan_mixed_precision"]
    x, w = _draw(case), RNG.normal(size=case.shape)

    def twin(x):  # y_i = y_{i-1} · float32(x_i) + x_i, sequentially
        ys, y = [], x[0]
        for i in range(x.shape[0]):
            y = x[0] if i == 0 else y * x[i].astype(jnp.float32).astype(jnp.float64) + x[i]
            ys.append(y)
        return jnp.stack(ys)

    got = grad_of(lambda x: (case.fn(x) * w).sum(), x)
    np.testing.assert_allclose(got, jax.jit(jax.grad(lambda x: (twin(x) * w).sum()))(x), rtol=1e-6)
