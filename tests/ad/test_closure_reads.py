"""Derivatives of ``fold``/``scan`` operators that read a differentiated array ``w`` of an enclosing scope at
indices computed from their operands, inside ``cond`` branches or a ``while_`` loop
(:mod:`pyaccad.ad.lambdas.closures`).

References: JAX through explicit left-to-right loops (the sequential reading of the fold or scan), and central
finite differences. Each operator is associative for every ``w`` — an associative base operation conjugated by
a ``w``-dependent bijection ``T_w``, ``a ⊕_w b = T_w(T_w⁻¹(a) · T_w⁻¹(b))`` — so the backends may bracket it
as they like (the interpreter folds as a tree, the native backend in slices).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import pyaccad as acc
from pyaccad import ad
from pyaccad.frontend import trace
from pyaccad.ir import verify

jax = pytest.importorskip("jax", reason="JAX is not installed: the JAX agreement tests need it")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

Op = Callable[[Any, Any], Any]


class AccOps:
    """What the operators need from pyaccad, inside a lambda."""

    maximum = staticmethod(acc.maximum)

    @staticmethod
    def pick(p: Any, then_: Callable[[], Any], else_: Callable[[], Any]) -> Any:
        return acc.cond(p, then_, else_)

    @staticmethod
    def looped_sum(w: Any, i: Any, j: Any) -> Any:  # w[i] + w[j], the reads inside a while_ loop
        step = lambda s: (s[0] + w[acc.cond(s[1] == 0, i, j)], s[1] + 1)  # noqa: E731
        return acc.while_(lambda s: s[1] < 2, step, (0.0, np.int64(0)))[0]


class JaxOps:
    """The same, on whole JAX arrays (the references apply the operator to every lane at once)."""

    maximum = staticmethod(jnp.maximum)

    @staticmethod
    def pick(p: Any, then_: Callable[[], Any], else_: Callable[[], Any]) -> Any:
        return jnp.where(p, then_(), else_())

    @staticmethod
    def looped_sum(w: Any, i: Any, j: Any) -> Any:
        return w[i] + w[j]


def shift(ns: Any, w: Any) -> Op:  # T⁻¹(v, i) = (v + w[i], i); base (+, + mod 3): repeated i scatter-collide
    def f(a: Any, b: Any) -> Any:
        (v, i), (u, j) = a, b
        k = (i + j) % 3
        return v + u + w[i] + w[j] - w[k], k

    return f


def scale(ns: Any, w: Any) -> Op:  # T⁻¹(v, i) = (v·w[i], i); base (+, + mod 3)
    def f(a: Any, b: Any) -> Any:
        (v, i), (u, j) = a, b
        k = (i + j) % 3
        return (v * w[i] + u * w[j]) / w[k], k

    return f


def max_cond(ns: Any, w: Any) -> Op:  # T⁻¹(v, i) = (v + w[i], i); base (max, + mod 3); reads in cond branches
    def f(a: Any, b: Any) -> Any:
        (v, i), (u, j) = a, b
        k = (i + j) % 3
        return ns.pick(v + w[i] >= u + w[j], lambda: v + w[i], lambda: u + w[j]) - w[k], k

    return f


def max_index(ns: Any, w: Any) -> Op:  # T⁻¹(v, i) = (v + w[i], i); base (+, max): the index from a maximum
    def f(a: Any, b: Any) -> Any:
        (v, i), (u, j) = a, b
        k = ns.maximum(i, j)
        return v + u + w[i] + w[j] - w[k], k

    return f


def looped(ns: Any, w: Any) -> Op:  # shift, with w[i] + w[j] read inside a while_ loop
    def f(a: Any, b: Any) -> Any:
        (v, i), (u, j) = a, b
        k = (i + j) % 3
        return v + u + ns.looped_sum(w, i, j) - w[k], k

    return f


OPERATORS: dict[str, Callable[[Any, Any], Op]] = {
    "shift": shift,
    "scale": scale,
    "max_cond": max_cond,
    "max_index": max_index,
}

Z = (0.4, 1)  # the initial value of folds and scans that have one


def _along(xs: tuple[Any, ...], axis: int) -> list[tuple[Any, Any]]:
    return [tuple(jnp.take(x, k, axis=axis) for x in xs) for k in range(xs[0].shape[axis])]


def ref_fold(f: Op, xs: tuple[Any, ...], axis: int, init: bool) -> Any:
    items = _along(xs, axis)
    acc_ = tuple(jnp.full(items[0][c].shape, Z[c]) for c in range(2)) if init else items.pop(0)
    for item in items:
        acc_ = f(acc_, item)
    return acc_[0]


def ref_scan(f: Op, xs: tuple[Any, ...], axis: int, init: bool, reverse: bool) -> Any:
    items = _along(xs, axis)
    if reverse:
        items = items[::-1]
    outs = [tuple(jnp.full(items[0][c].shape, Z[c]) for c in range(2))] if init else [items.pop(0)]
    for item in items:
        outs.append(f(item, outs[-1]) if reverse else f(outs[-1], item))
    values = [o[0] for o in (outs[::-1] if reverse else outs)]
    return jnp.stack(values, axis=axis)


# name: (pyaccad combinator over (op, xs), JAX reference over (op, xs), shape of the operands)
COMBINATORS: dict[str, tuple[Callable[[Op, Any], Any], Callable[[Op, Any], Any], tuple[int, ...]]] = {
    "fold1": (lambda f, xs: acc.fold1(f, xs)[0], lambda f, xs: ref_fold(f, xs, 0, False), (7,)),
    "fold": (lambda f, xs: acc.fold(f, Z, xs)[0], lambda f, xs: ref_fold(f, xs, 0, True), (6,)),
    "fold1_axis0": (lambda f, xs: acc.fold1(f, xs, axis=0)[0], lambda f, xs: ref_fold(f, xs, 0, False), (4, 3)),
    "fold_axis1": (lambda f, xs: acc.fold(f, Z, xs, axis=1)[0], lambda f, xs: ref_fold(f, xs, 1, True), (3, 4)),
    "scanl1": (lambda f, xs: acc.scanl1(f, xs)[0], lambda f, xs: ref_scan(f, xs, 0, False, False), (6,)),
    "scanr1": (lambda f, xs: acc.scanr1(f, xs)[0], lambda f, xs: ref_scan(f, xs, 0, False, True), (6,)),
    "scanl": (lambda f, xs: acc.scanl(f, Z, xs)[0], lambda f, xs: ref_scan(f, xs, 0, True, False), (5,)),
    "scanr_axis0": (
        lambda f, xs: acc.scanr(f, Z, xs, axis=0)[0],
        lambda f, xs: ref_scan(f, xs, 0, True, True),
        (4, 3),
    ),
    "scanl1_axis1": (
        lambda f, xs: acc.scanl1(f, xs, axis=1)[0],
        lambda f, xs: ref_scan(f, xs, 1, False, False),
        (3, 4),
    ),
}

# every combinator with a cycle of operators, and every operator with a fold and a scan
CASES = [(combinator, list(OPERATORS)[n % len(OPERATORS)]) for n, combinator in enumerate(COMBINATORS)] + [
    ("fold1", "max_cond"),
    ("scanr1", "max_index"),
    ("fold_axis1", "scale"),
    ("scanl", "max_cond"),
]


class Problem:
    """One combinator and one operator at fixed data: ``value(w, v)`` in pyaccad and ``reference(w, v)`` in JAX."""

    def __init__(self, combinator: str, make: Callable[[Any, Any], Op], seed: int = 0) -> None:
        run, ref, shape = COMBINATORS[combinator]
        rng = np.random.default_rng(seed)
        self.w = rng.uniform(0.5, 1.5, size=3)
        self.v = rng.uniform(0.2, 0.9, size=shape)
        i = rng.integers(0, 3, size=shape).astype(np.int64)
        self.value = lambda w, v: run(make(AccOps, w), (v, i))
        self.reference = lambda w, v: ref(make(JaxOps, w), (v, jnp.asarray(i)))
        self.weights = rng.normal(size=np.shape(self.reference(self.w, self.v)))
        self.loss = lambda w, v: (self.value(w, v) * self.weights).sum()
        self.loss_reference = lambda w, v: jnp.sum(self.reference(w, v) * self.weights)


def _run(backend: str, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` on ``backend``, after checking its traced program with ``verify``."""
    verify(trace(fn, *args).program)
    return acc.jit(fn, backend=backend)(*args)


@pytest.mark.parametrize(("combinator", "operator"), CASES)
def test_values_match_the_sequential_reference(backend: str, combinator: str, operator: str) -> None:
    p = Problem(combinator, OPERATORS[operator])
    np.testing.assert_allclose(_run(backend, p.value, p.w, p.v), p.reference(p.w, p.v), rtol=1e-12)


@pytest.mark.parametrize(("combinator", "operator"), CASES)
def test_grad_matches_jax(backend: str, combinator: str, operator: str) -> None:
    p = Problem(combinator, OPERATORS[operator])
    got = _run(backend, ad.grad(p.loss, argnums=(0, 1)), p.w, p.v)
    want = jax.grad(p.loss_reference, argnums=(0, 1))(p.w, p.v)
    for g, r in zip(got, want, strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize(("combinator", "operator"), CASES)
def test_jvp_matches_jax(backend: str, combinator: str, operator: str) -> None:
    p = Problem(combinator, OPERATORS[operator])
    rng = np.random.default_rng(1)
    tw, tv = rng.normal(size=p.w.shape), rng.normal(size=p.v.shape)
    got = _run(backend, lambda w, v, tw, tv: ad.jvp(p.value, (w, v), (tw, tv))[1], p.w, p.v, tw, tv)
    want = jax.jvp(p.reference, (p.w, p.v), (tw, tv))[1]
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def _fd_grad_w(p: Problem, eps: float = 1e-6) -> np.ndarray:
    run = acc.jit(p.loss, backend="interp")
    steps = np.eye(p.w.size) * eps
    return np.array([(float(run(p.w + s, p.v)) - float(run(p.w - s, p.v))) / (2 * eps) for s in steps])


@pytest.mark.parametrize("combinator", ["fold1", "fold_axis1", "scanr1", "scanl"])
def test_grad_matches_finite_differences(combinator: str) -> None:
    p = Problem(combinator, scale, seed=2)
    got = _run("interp", ad.grad(p.loss), p.w, p.v)
    np.testing.assert_allclose(got, _fd_grad_w(p), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize(("combinator", "operator"), [("fold", "shift"), ("scanr_axis0", "max_cond")])
def test_vjp_is_the_transpose_of_jvp(backend: str, combinator: str, operator: str) -> None:
    p = Problem(combinator, OPERATORS[operator], seed=3)
    rng = np.random.default_rng(4)
    tw, tv = rng.normal(size=p.w.shape), rng.normal(size=p.v.shape)
    u = rng.normal(size=p.weights.shape)
    jv = _run(backend, lambda w, v, tw, tv: ad.jvp(p.value, (w, v), (tw, tv))[1], p.w, p.v, tw, tv)
    uw, uv = _run(backend, lambda w, v, u: ad.vjp(p.value, w, v)[1](u), p.w, p.v, u)
    np.testing.assert_allclose(np.vdot(uw, tw) + np.vdot(uv, tv), np.vdot(u, jv), rtol=1e-10)


@pytest.mark.parametrize("mode", ["fwd", "rev"])
@pytest.mark.parametrize(("combinator", "operator"), [("fold1_axis0", "max_cond"), ("scanl1", "shift")])
def test_jacobian_matches_jax(backend: str, mode: str, combinator: str, operator: str) -> None:
    p = Problem(combinator, OPERATORS[operator], seed=5)
    got = _run(backend, ad.jacobian(p.value, mode=mode), p.w, p.v)
    np.testing.assert_allclose(got, jax.jacobian(p.reference)(p.w, p.v), rtol=1e-10, atol=1e-12)


def test_hessian_matches_jax(backend: str) -> None:  # reverse over forward through the generated programs
    p = Problem("scanl1", scale, seed=8)
    got = _run(backend, ad.jacobian(ad.grad(p.loss), mode="fwd"), p.w, p.v)
    np.testing.assert_allclose(got, jax.hessian(p.loss_reference)(p.w, p.v), rtol=1e-10, atol=1e-12)


def test_selection_by_a_weighted_key(backend: str) -> None:  # a max-like scalar operator: the key reads w[k(a)]
    rng = np.random.default_rng(6)
    w, x = rng.uniform(0.5, 1.5, size=3), rng.uniform(0.1, 0.9, size=8)

    def value(w: Any, x: Any) -> Any:
        key = lambda a: a * w[acc.cast(a * 10.0, "int64") % 3]  # noqa: E731
        return acc.fold1(lambda a, b: acc.cond(key(a) >= key(b), a, b), x) * acc.fold1(lambda a, b: a + b, w)

    def reference(w: Any, x: Any) -> Any:
        key = w[(x * 10.0).astype(int) % 3] * x
        return x[jnp.argmax(key)] * jnp.sum(w)

    got = _run(backend, ad.grad(value, argnums=(0, 1)), w, x)
    for g, r in zip(got, jax.grad(reference, argnums=(0, 1))(w, x), strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-12)


def test_fixed_index_read_inside_a_cond(backend: str) -> None:  # not hoisted: the branch may not be taken
    w, x = np.array([1.3, 0.6]), np.array([0.5, 1.5, 0.8, 1.1])

    def value(w: Any, x: Any) -> Any:  # conjugated product, a ⊕ b = a·b·w0, computed in either branch
        return acc.scanl1(lambda a, b: acc.cond(a > b, lambda: a * b * w[0], lambda: b * w[0] * a), x).sum()

    def reference(w: Any, x: Any) -> Any:
        return jnp.sum(jnp.cumprod(x) * w[0] ** jnp.arange(4))

    got = _run(backend, ad.grad(value, argnums=(0, 1)), w, x)
    for g, r in zip(got, jax.grad(reference, argnums=(0, 1))(w, x), strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-12)


@pytest.mark.parametrize("combinator", ["fold", "scanr1"])
def test_reads_inside_a_while_loop(backend: str, combinator: str) -> None:
    p = Problem(combinator, looped, seed=7)
    tw, tv = np.array([0.3, -1.0, 0.5]), np.linspace(-1.0, 1.0, p.v.size).reshape(p.v.shape)
    got = _run(backend, lambda w, v, tw, tv: ad.jvp(p.value, (w, v), (tw, tv))[1], p.w, p.v, tw, tv)
    np.testing.assert_allclose(got, jax.jvp(p.reference, (p.w, p.v), (tw, tv))[1], rtol=1e-10, atol=1e-12)
    grads = _run(backend, ad.grad(p.loss, argnums=(0, 1)), p.w, p.v)
    for g, r in zip(grads, jax.grad(p.loss_reference, argnums=(0, 1))(p.w, p.v), strict=True):
        np.testing.assert_allclose(g, r, rtol=1e-10, atol=1e-12)
