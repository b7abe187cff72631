"""``ad.vmap`` as users call it: in_axes/out_axes pytrees, nesting, tracing contexts, errors, and composition
with derivatives. References are NumPy (or a Python loop of the unbatched function), run on interp."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pyaccad as acc
from pyaccad.ad.vmap import vmap
from pyaccad.frontend.tracing import trace
from pyaccad.ir import verify


def run(f, *args):
    verify(trace(f, *args).program)
    return acc.jit(f, backend="interp")(*args)


def test_in_axes_pytree_prefix() -> None:
    def f(params, x):
        return params["w"] @ x + params["b"]

    w = np.arange(6.0).reshape(2, 3)
    b = np.array([1.0, -1.0])
    xs = np.arange(12.0).reshape(3, 4)  # four examples, batched along axis 1
    got = run(vmap(f, in_axes=({"w": None, "b": None}, 1)), {"w": w, "b": b}, xs)
    np.testing.assert_allclose(got, (w @ xs).T + b)


def test_out_axes_pytree_and_negative() -> None:
    f = vmap(lambda x: (x * 2.0, {"s": x.sum()}), out_axes=(-1, {"s": 0}))
    xs = np.arange(6.0).reshape(2, 3)
    doubled, sums = run(f, xs)
    np.testing.assert_allclose(doubled, (xs * 2.0).T)
    np.testing.assert_allclose(sums["s"], xs.sum(axis=1))


def test_unbatched_output_is_broadcast_or_kept() -> None:
    c = np.array([1.0, 2.0])
    f = vmap(lambda x, y: (x + 1.0, y * 3.0), in_axes=(0, None), out_axes=(0, None))
    got_x, got_y = run(f, np.zeros(4), c)
    np.testing.assert_allclose(got_x, np.ones(4))
    np.testing.assert_allclose(got_y, c * 3.0)
    broadcast = run(vmap(lambda x, y: y * 3.0, in_axes=(0, None), out_axes=1), np.zeros(4), c)
    np.testing.assert_allclose(broadcast, np.repeat((c * 3.0)[:, None], 4, axis=1))


def test_nested_vmap_is_an_outer_product_of_calls() -> None:
    kernel = lambda x, y: acc.exp(-((x - y) ** 2).sum())  # noqa: E731
    gram = vmap(vmap(kernel, in_axes=(None, 0)), in_axes=(0, None))
    xs, ys = np.random.default_rng(0).normal(size=(3, 2)), np.random.default_rng(1).normal(size=(4, 2))
    expected = np.exp(-((xs[:, None, :] - ys[None, :, :]) ** 2).sum(-1))
    np.testing.assert_allclose(run(gram, xs, ys), expected, rtol=1e-12)


def test_vmap_inside_a_traced_function_with_closures() -> None:
    def f(x, w):
        scale = w.sum()  # an outer, unbatched value used inside the batched function
        return vmap(lambda row: acc.map(lambda v: v * acc.the(scale), row) + w)(x)

    x, w = np.arange(6.0).reshape(3, 2), np.array([1.0, 2.0])
    np.testing.assert_allclose(run(f, x, w), x * 3.0 + w)


def test_numpy_call_runs_on_the_default_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYACCAD_BACKEND", "interp")
    f = vmap(lambda x: acc.fold(lambda a, b: a + b, 0.0, x))
    np.testing.assert_allclose(f(np.arange(6.0).reshape(2, 3)), [3.0, 12.0])
    np.testing.assert_allclose(f(np.arange(4.0).reshape(2, 2)), [1.0, 5.0])  # a new signature re-traces


def test_batched_program_size_does_not_grow_with_the_batch() -> None:
    def f(x, c):
        return acc.generate((3,), lambda i: x[i] * acc.the(c)) + acc.scanl(lambda a, b: a + b, c, x)[1:]

    sizes = [len(trace(vmap(f), np.zeros((n, 3)), np.zeros(n)).program.stmts) for n in (2, 40)]
    assert sizes[0] == sizes[1]


@st.composite
def axes_and_shapes(draw: st.DrawFn) -> tuple[tuple[int, ...], int, int, int]:
    shape = tuple(draw(st.lists(st.integers(0, 3), min_size=1, max_size=3)))
    return (
        shape,
        draw(st.integers(1, 3)),
        draw(st.integers(-len(shape) - 1, len(shape))),
        draw(st.integers(-len(shape) - 1, len(shape))),
    )


@settings(max_examples=25, deadline=None)
@given(axes_and_shapes(), st.integers(0, 2**32 - 1))
def test_in_and_out_axes_move_the_batch(spec: tuple, seed: int) -> None:
    shape, size, in_axis, out_axis = spec
    rng = np.random.default_rng(seed)
    examples = rng.normal(size=(size, *shape))
    fn = lambda x: acc.transpose(acc.sin(x) * 2.0)  # noqa: E731
    got = run(vmap(fn, in_axes=in_axis, out_axes=out_axis), np.moveaxis(examples, 0, in_axis))
    expected = np.stack([np.transpose(np.sin(e) * 2.0) for e in examples])
    np.testing.assert_allclose(got, np.moveaxis(expected, 0, out_axis), rtol=1e-12)


def test_mismatched_batch_sizes_name_vmap_sizes_and_line() -> None:
    with pytest.raises(acc.ShapeError) as info:
        run(vmap(lambda a, b: a + b), np.zeros((2, 3)), np.zeros((4, 3)))
    message = str(info.value)
    assert "vmap" in message and "2" in message and "4" in message and "test_vmap.py" in message


@pytest.mark.parametrize(
    ("in_axes", "out_axes", "fragment"),
    [
        (2, 0, "in_axes axis 2 is out of range"),
        ((0, 0), 0, "in_axes has 2 entries"),
        (None, 0, "no argument"),
        (0, None, "out_axes is None"),
        (0, 3, "out_axes axis 3"),
        ([{"a": 0}], 0, "does not match"),
    ],
)
def test_bad_axes_raise_shape_errors(in_axes, out_axes, fragment: str) -> None:
    with pytest.raises(acc.ShapeError, match=fragment):
        run(vmap(lambda x: x * 2.0, in_axes=in_axes, out_axes=out_axes), np.zeros((2, 3)))


def test_vmap_of_grad_and_grad_of_vmap() -> None:
    from pyaccad.ad import grad

    f = lambda x: (acc.sin(x) * x).sum()  # noqa: E731
    xs = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    expected = np.cos(xs) * xs + np.sin(xs)
    np.testing.assert_allclose(run(vmap(grad(f)), xs), expected, rtol=1e-12)
    total = lambda x: vmap(f)(x).sum()  # noqa: E731
    np.testing.assert_allclose(run(grad(total), xs), expected, rtol=1e-12)
    # vmap of a function whose body calls grad, over a closed-over batched weight
    weighted = vmap(lambda w: grad(lambda x: (w * x * x).sum())(xs[0]))
    np.testing.assert_allclose(run(weighted, xs), 2.0 * xs * xs[0], rtol=1e-12)


def test_per_example_gradients_of_an_mlp_match_jax() -> None:
    jax = pytest.importorskip("jax", reason="JAX is the reference for this test")
    jax.config.update("jax_enable_x64", True)
    jnp = jax.numpy
    rng = np.random.default_rng(0)
    params = {"w1": rng.normal(size=(4, 5)) / 2.0, "b1": np.zeros(5), "w2": rng.normal(size=(5, 3)) / 2.0}
    xs, labels = rng.normal(size=(6, 4)), np.eye(3)[rng.integers(0, 3, 6)]

    def loss(p, x, onehot, np_=acc):
        z = np_.tanh(x @ p["w1"] + p["b1"]) @ p["w2"]
        top = z.max()
        return np_.log(np_.exp(z - top).sum()) + top - (z * onehot).sum()

    from pyaccad.ad import grad

    got = run(vmap(grad(loss), in_axes=(None, 0, 0)), params, xs, labels)
    want = jax.vmap(jax.grad(lambda p, x, y: loss(p, x, y, jnp)), in_axes=(None, 0, 0))(params, xs, labels)
    for key in params:
        np.testing.assert_allclose(got[key], np.asarray(want[key]), rtol=1e-10, atol=1e-12)


def test_batched_programs_agree_on_every_backend(backend: str) -> None:
    """Lane reads, carried lanes, per-lane fallbacks and lockstep loops, compiled by each backend, against
    NumPy one example at a time."""
    from helpers import assert_close

    def f(r, c):
        scanned = acc.scanl(lambda a, b: a + b + acc.the(c), 0.0, r)[1:]
        stenciled = acc.stencil(lambda n: n[0] * acc.the(c) + n[1], r, 3)
        looped = acc.awhile(lambda s: s.sum() < 20.0, lambda s: s * 2.0 + 0.5, acc.abs(r))
        return acc.map(lambda v: v * acc.the(c), r) + scanned + stenciled + looped

    def f_numpy(r, c):
        looped = np.abs(r)
        while looped.sum() < 20.0:  # a trip count per example
            looped = looped * 2.0 + 0.5
        left = np.concatenate([r[:1], r[:-1]])  # the clamped left neighbour
        return r * c + np.cumsum(r + c) + (left * c + r) + looped

    rng = np.random.default_rng(0)
    x, c = rng.normal(size=(3, 4)), rng.normal(size=3)
    want = np.stack([f_numpy(x[k], c[k]) for k in range(3)])
    assert_close(acc.jit(vmap(f), backend=backend)(x, c), want, rtol=1e-12, atol=1e-12)  # a few roundings


def test_vmap_of_derivatives_through_loops_with_per_example_trip_counts() -> None:
    from pyaccad.ad import grad, hessian

    f = lambda x: acc.awhile(lambda s: (s * s).sum() < 10.0, lambda s: s * 1.5 + acc.sin(s), x).sum()  # noqa: E731
    xs = np.array([[0.2, 0.3], [1.0, 2.0], [0.01, 0.02]])  # 3, 1 and 6 iterations
    for transform in (grad, hessian):
        expected = np.stack([run(transform(f), x) for x in xs])
        np.testing.assert_allclose(run(vmap(transform(f)), xs), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("in_axis", [0, 1, 2])
def test_matmul_with_one_fixed_matrix_stacks_the_batch_instead_of_copying(in_axis: int) -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 3))
    stack = rng.normal(size=(5, 3, 3))
    batched = np.moveaxis(stack, 0, in_axis)
    for f, expected in ((lambda b: acc.use(w) @ b, w @ stack), (lambda a: a @ acc.use(w), stack @ w)):
        g = vmap(f, in_axes=in_axis)
        np.testing.assert_allclose(run(g, batched), expected, rtol=1e-12)
        assert "broadcast_in_dim" not in [stmt.prim.name for stmt in trace(g, batched).program.stmts]
