"""``stop_gradient``, ``custom_vjp``, ``checkpoint`` and loop reads under every composition of transforms.

Each construct has a per-example function ``f: R^n -> R`` and an independent JAX twin (or closed form);
every pair and triple of transforms (grad∘vmap, vmap∘grad, jvp∘vmap, jacobian∘vmap, hessian,
vmap∘vmap∘grad, grad∘vmap∘vmap, grad∘grad) must agree with JAX. Forward mode through a ``custom_vjp``
raises :class:`acc.NotDifferentiable` (JAX raises too), and ``jacobian(mode="auto")`` takes reverse mode
for it. Values are float64 of order 1 through a few dozen operations: rounding stays below 1e-13
relative, so ``rtol=1e-9`` can only fail on a wrong derivative.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from ad_checks import traced_run

import pyaccad as acc
from pyaccad import ad

jax = pytest.importorskip("jax", reason="JAX is not installed: the custom-rule agreement tests need it")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

RNG = np.random.default_rng(7)
N, B = 3, 2  # example size, batch size


@ad.custom_vjp
def sin_3(x):  # a deliberately false rule: reverse mode must use it, not sin's derivative
    return acc.sin(x)


sin_3.defvjp(lambda x: (acc.sin(x), acc.cos(x)), lambda cos_x, ct: (3.0 * cos_x * ct,))


@jax.custom_vjp
def sin_3_jax(x):
    return jnp.sin(x)


sin_3_jax.defvjp(lambda x: (jnp.sin(x), jnp.cos(x)), lambda cos_x, ct: (3.0 * cos_x * ct,))


@ad.custom_vjp
def clip_grad(x):  # a rule that is not even linear in the cotangent
    return x


clip_grad.defvjp(lambda x: (x, None), lambda _, ct: (acc.minimum(ct, 1.0),))


@jax.custom_vjp
def clip_grad_jax(x):
    return x


clip_grad_jax.defvjp(lambda x: (x, None), lambda _, ct: (jnp.minimum(ct, 1.0),))


def _loop_reads(x):  # per lane v: v · x[0] · x[1], read inside a while_ loop of the lambda
    step = lambda s: (s[0] * x[s[1]], s[1] + 1)  # noqa: E731
    return acc.map(lambda v: acc.while_(lambda s: s[1] < 2, step, (v, np.int64(0)))[0], x)


@dataclass(frozen=True)
class Construct:
    fn: Callable  # pyaccad, R^N -> R
    twin: Callable  # JAX, the same function
    forward: bool = True  # forward mode through it is defined


CONSTRUCTS = {
    "stop_gradient": Construct(
        lambda x: (x * ad.stop_gradient(acc.sin(x)) * x).sum(),
        lambda x: (x * jax.lax.stop_gradient(jnp.sin(x)) * x).sum(),
    ),
    "custom_vjp": Construct(lambda x: (sin_3(x) * x).sum(), lambda x: (sin_3_jax(x) * x).sum(), forward=False),
    "custom_vjp_nonlinear": Construct(
        lambda x: (clip_grad(x * x) * 5.0).sum(), lambda x: (clip_grad_jax(x * x) * 5.0).sum(), forward=False
    ),
    "checkpoint": Construct(
        lambda x: ad.checkpoint(lambda v: acc.sin(acc.sin(v)) * v)(x).sum() * x[0],
        lambda x: jax.checkpoint(lambda v: jnp.sin(jnp.sin(v)) * v)(x).sum() * x[0],
    ),
    "loop_reads": Construct(lambda x: (_loop_reads(x) * x).sum(), lambda x: (x * x * x[0] * x[1]).sum()),
}


def _sum_of(f: Callable, vmap: Callable) -> Callable:
    return lambda xs: vmap(f)(xs).sum()


def _compositions(f: Callable, ad_or_jax) -> dict[str, Callable]:
    """Each composition as a function of a batch ``xs`` (or ``xss``), built from the module's transforms."""
    grad, vmap, hess = ad_or_jax.grad, ad_or_jax.vmap, ad_or_jax.hessian
    return {
        "grad_vmap": grad(_sum_of(f, vmap)),
        "vmap_grad": vmap(grad(f)),
        "hessian": vmap(hess(f)),
        "vmap_vmap_grad": vmap(vmap(grad(f))),
        "grad_vmap_vmap": grad(lambda xss: vmap(vmap(f))(xss).sum()),
        "grad_grad": vmap(grad(lambda x: (grad(f)(x) * x).sum())),
    }


class _Jax:
    grad, vmap, hessian = staticmethod(jax.grad), staticmethod(jax.vmap), staticmethod(jax.hessian)


NESTED = {"vmap_vmap_grad", "grad_vmap_vmap"}  # these take a batch of batches


@pytest.mark.parametrize("composition", list(_compositions(lambda x: x, ad)))
@pytest.mark.parametrize("name", list(CONSTRUCTS))
def test_transform_compositions_agree_with_jax(name: str, composition: str) -> None:
    c = CONSTRUCTS[name]
    xs = RNG.uniform(-1.5, 1.5, size=(B, B, N) if composition in NESTED else (B, N))
    got = traced_run(_compositions(c.fn, ad)[composition], xs)
    want = _compositions(c.twin, _Jax)[composition](jnp.asarray(xs))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", list(CONSTRUCTS))
def test_jacobian_of_vmap_agrees_with_jax(name: str) -> None:
    c = CONSTRUCTS[name]
    xs = RNG.uniform(-1.5, 1.5, size=(B, N))
    want = jax.jacrev(jax.vmap(c.twin))(jnp.asarray(xs))
    modes = ["auto", "rev", "fwd"] if c.forward else ["auto", "rev"]
    for mode in modes:
        np.testing.assert_allclose(traced_run(ad.jacobian(ad.vmap(c.fn), mode=mode), xs), want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", list(CONSTRUCTS))
def test_jvp_of_vmap_agrees_with_jax_or_refuses(name: str) -> None:
    c = CONSTRUCTS[name]
    xs, ts = RNG.uniform(-1.5, 1.5, size=(2, B, N))
    run = lambda: traced_run(lambda xs, ts: ad.jvp(ad.vmap(c.fn), (xs,), (ts,))[1], xs, ts)  # noqa: E731
    if not c.forward:
        with pytest.raises(acc.NotDifferentiable, match="forward-mode"):
            run()
        return
    want = jax.jvp(jax.vmap(c.twin), (jnp.asarray(xs),), (jnp.asarray(ts),))[1]
    np.testing.assert_allclose(run(), want, rtol=1e-9, atol=1e-12)


def test_the_reported_vmap_cases() -> None:
    """The issue's examples: both gave the derivative of the body instead of the rule's."""
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    f = lambda x: ad.vmap(lambda r: (r * ad.stop_gradient(r)).sum())(x).sum()  # noqa: E731
    np.testing.assert_array_equal(ad.grad(f)(x), x)
    clipped = lambda x: ad.vmap(lambda r: (clip_grad(r) * 5.0).sum())(x).sum()  # noqa: E731
    np.testing.assert_array_equal(ad.grad(clipped)(x), np.ones_like(x))


@pytest.mark.parametrize(
    "forward",
    [
        lambda x: ad.jacobian(lambda v: sin_3(v), mode="fwd")(x),
        lambda x: ad.jvp(sin_3, (x,), (x,))[1],
        lambda x: ad.linearize(sin_3, x)[1](x),
        lambda x: acc.map(ad.diff(sin_3), x),
        lambda x: acc.map(ad.grad(lambda v: sin_3(v)), x),
        lambda x: ad.grad(lambda x: acc.map(lambda v: sin_3(v), x).sum())(x),
    ],
    ids=["jacobian_fwd", "jvp", "linearize", "diff_in_map", "grad_in_map", "grad_of_map"],
)
def test_forward_mode_through_custom_vjp_is_refused(forward: Callable) -> None:
    """Never the body's derivative in place of the user's rule: forward mode raises, naming the function."""
    with pytest.raises(acc.NotDifferentiable, match="custom_vjp sin_3: forward-mode"):
        traced_run(forward, RNG.uniform(-1.0, 1.0, size=N))


def test_jacobian_auto_takes_reverse_mode_for_custom_vjp() -> None:
    x = RNG.uniform(-1.0, 1.0, size=N)  # square: auto would pick forward mode
    np.testing.assert_allclose(traced_run(ad.jacobian(sin_3), x), np.diag(3 * np.cos(x)), rtol=1e-12)


def test_custom_vjp_errors_name_the_problem() -> None:
    x = RNG.uniform(-1.0, 1.0, size=N)

    @ad.custom_vjp
    def no_rule(v):
        return v * 2.0

    with pytest.raises(acc.NotDifferentiable, match="call .defvjp"):
        ad.grad(lambda v: no_rule(v).sum())(x)

    def closes_over(v):
        @ad.custom_vjp
        def scaled(u):
            return u * v  # v carries a derivative: the rule cannot give its cotangent

        scaled.defvjp(lambda u: (u * v, None), lambda _, ct: (ct * v,))
        return scaled(v).sum()

    with pytest.raises(acc.NotDifferentiable, match="closes over"):
        ad.grad(closes_over)(x)

    @ad.custom_vjp
    def two_args(u, w):
        return u * w

    two_args.defvjp(lambda u, w: (u * w, (u, w)), lambda res, ct: (ct * res[1],))  # one cotangent for two
    with pytest.raises(acc.ShapeError, match="a tuple of 2 cotangents"):
        ad.grad(lambda v: two_args(v, v).sum())(x)


def test_custom_vjp_with_pytree_arguments_none_cotangents_and_integer_outputs() -> None:
    @ad.custom_vjp
    def f(p, k):
        return p["a"] * p["b"], k + 1

    f.defvjp(lambda p, k: (f(p, k), p), lambda p, ct: ({"a": 2.0 * ct[0] * p["b"], "b": None}, None))
    a, b = RNG.uniform(-1.0, 1.0, size=(2, N))
    loss = lambda p: f(p, np.int64(3))[0].sum()  # noqa: E731
    got = traced_run(ad.grad(loss), {"a": a, "b": b})
    np.testing.assert_allclose(got["a"], 2.0 * b, rtol=1e-12)
    np.testing.assert_array_equal(got["b"], np.zeros(N))


def test_custom_vjp_batched_over_a_shared_argument_sums_its_cotangents() -> None:
    """An argument every example shares gets Σ over the batch of the per-example cotangents (as JAX)."""
    xs = RNG.uniform(-1.0, 1.0, size=(B, N))
    w = RNG.uniform(-1.0, 1.0, size=N)

    @ad.custom_vjp
    def scale(x, w):
        return x * w

    scale.defvjp(lambda x, w: (x * w, (x, w)), lambda r, ct: (ct * r[1] * 2.0, ct * r[0] * 2.0))

    @jax.custom_vjp
    def scale_jax(x, w):
        return x * w

    scale_jax.defvjp(lambda x, w: (x * w, (x, w)), lambda r, ct: (ct * r[1] * 2.0, ct * r[0] * 2.0))
    got = traced_run(ad.grad(lambda xs, w: ad.vmap(scale, in_axes=(0, None))(xs, w).sum(), argnums=(0, 1)), xs, w)
    want = jax.grad(lambda xs, w: jax.vmap(scale_jax, in_axes=(0, None))(xs, w).sum(), argnums=(0, 1))(xs, w)
    for g, e in zip(got, want, strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12)


@pytest.mark.parametrize("name", list(CONSTRUCTS))
def test_compiled_backends_agree(name: str, backend: str) -> None:
    c = CONSTRUCTS[name]
    xs = RNG.uniform(-1.5, 1.5, size=(B, N))
    want = jax.vmap(jax.grad(c.twin))(jnp.asarray(xs))
    np.testing.assert_allclose(acc.jit(ad.vmap(ad.grad(c.fn)), backend=backend)(xs), want, rtol=1e-9, atol=1e-12)
