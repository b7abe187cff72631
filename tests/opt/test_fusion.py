"""Fusion: kernel counts of typical programs, and fused programs still compute the same thing."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_within, available_backends, gamma, sum_bound, unit_roundoff

import pyaccad as acc
from pyaccad import ad
from pyaccad.frontend import trace
from pyaccad.ir import verify
from pyaccad.opt import optimize
from pyaccad.opt.fusion import MAX_DEPTH, plan_program

X = np.linspace(-1, 1, 12).astype(np.float32)
M = np.linspace(-1, 1, 12).reshape(3, 4).astype(np.float32)


def plan(fn, *args):
    program = optimize(trace(fn, *args).program, "native")
    verify(program)
    return plan_program(program)


def kinds(fn, *args):
    return [k.kind for k in plan(fn, *args).kernels]


def test_fold_of_zip_with_map_is_one_kernel():
    def f(a, b):
        return acc.fold_all(lambda p, q: p + q, 0.0, acc.map(acc.sin, acc.zip_with(lambda u, v: u * v, a, b)))

    assert kinds(f, X, X) == ["fold"]


def test_elementwise_chains_and_index_maps_fuse_into_one_map():
    def f(a):
        t = acc.transpose(acc.reshape(a, (4, 3)))
        return acc.exp(t[::-1, 1:]) * acc.broadcast_to(a[:3].reshape(3, 1), (3, 3)) + 1.0

    p = plan(f, X)
    assert [k.kind for k in p.kernels] == ["map"]
    assert {"transpose", "reshape", "slice", "exp", "broadcast_in_dim"} <= {s.prim.name for s in p.kernels[0].fused}


def test_generate_and_backpermute_fuse_into_a_scan():
    def f(a):
        g = acc.generate((12,), lambda i: acc.cast(i, "float32"))
        return acc.scanl(lambda p, q: p + q, 0.0, acc.backpermute((12,), lambda i: (11 - i,), a) * g)

    assert kinds(f, X) == ["scan"]


def test_sibling_reductions_share_one_pass():
    def f(a):
        s = a.sum(axis=1)
        mx = acc.fold1(acc.maximum, acc.exp(a), axis=1)
        return s, mx, acc.fold(lambda p, q: p * q, 1.0, a * 2.0, axis=1)

    p = plan(f, M)
    assert [k.kind for k in p.kernels] == ["fold"] and len(p.kernels[0].roots) == 3


def test_dependent_reductions_stay_separate_kernels():
    def f(a):  # log-sum-exp: the sum depends on the max
        m = acc.fold1(acc.maximum, a, axis=1)
        return acc.log(acc.fold(lambda p, q: p + q, 0.0, acc.exp(a - m.reshape(3, 1)), axis=1)) + m

    assert kinds(f, M) == ["fold", "fold", "map"]


def test_expensive_value_read_by_two_kernels_is_computed_once():
    def f(a):
        e = acc.map(lambda v: acc.exp(acc.sin(acc.cos(v))), a)
        return acc.scanl1(lambda p, q: p + q, e), acc.fold1(acc.maximum, e)

    assert kinds(f, X) == ["map", "scan", "fold"]


def test_output_values_are_written_by_one_horizontal_map():
    assert kinds(lambda a: (acc.sin(a), acc.cos(a) * 2.0, a + 1.0), X) == ["map"]


def test_control_bodies_are_planned_too():
    def f(a):
        return acc.awhile(lambda s: acc.unit(acc.the(s.sum()) < 100.0), lambda s: s * 2.0 + 1.0, a)

    p = plan(f, np.abs(X))
    assert [k.kind for k in p.kernels] == ["while"]
    assert [k.kind for k in p.kernels[0].bodies["cond"].kernels] == ["fold", "map"]
    assert [k.kind for k in p.kernels[0].bodies["body"].kernels] == ["map"]


def test_lower_shows_the_kernels():
    text = acc.lower(lambda a: (a * 2.0).sum(), X, backend="native")
    assert "kernels:" in text and "1. fold" in text


# The compiled backends here, which the random programs below compare with interp (their reference); named
# `backend` so that the suite's hooks treat them as the `backend` fixture's (tests/conftest.py).
COMPILED = [name for name in available_backends() if name != "interp"]


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("seed", range(20))
def test_random_programs_match_interp(seed, backend):
    from program_gen import random_inputs, random_program

    from pyaccad.backends import get_backend

    program = random_program(seed, n_steps=14)
    inputs = random_inputs(seed)
    with np.errstate(all="ignore"):
        expected = get_backend("interp").compile(program)(inputs)
    for candidate in (program, optimize(program, backend)):
        actual = get_backend(backend).compile(candidate)(inputs)
        for got, want in zip(actual, expected, strict=True):
            assert got.dtype == want.dtype and got.shape == want.shape
            np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_gradient_of_elementwise_workload_is_one_kernel():

    def f(x):
        return (acc.sin(x) * x).sum()

    assert kinds(ad.grad(f), X) == ["map"]
    # value and gradient together: the reduction and the map share nothing but the input, two kernels
    assert sorted(kinds(ad.value_and_grad(f), X)) == ["fold", "map"]


def test_nested_shifted_reads_do_not_blow_up_the_kernel():
    def smooth(a):
        for _ in range(8):  # each level reads the previous one at three shifted indices
            a = acc.concatenate([a[:1], (a[:-2] + a[1:-1] + a[2:]) / 3.0, a[-1:]])
        return a

    p = plan(smooth, X)
    assert max(len(k.fused) for k in p.kernels) < 60 and len(p.kernels) > 1
    # the same sums and divisions in the same order, each rounded once (no multiply-add is fused): the same bits
    np.testing.assert_array_equal(acc.run(smooth, X, backend="native"), acc.run(smooth, X, backend="interp"))


def test_fold_of_a_transpose_reads_the_source_in_memory_order():
    cube = np.arange(24.0).reshape(2, 3, 4)

    def f(a):
        return acc.fold(lambda p, q: p + q, 0.0, acc.transpose(a, (0, 2, 1)), axis=2)

    (kernel,) = plan(f, cube).kernels
    assert kernel.roots[0].params["axis"] == 1 and kernel.roots[0].args[0].shape == (2, 3, 4)
    np.testing.assert_array_equal(acc.run(f, cube, backend="native"), cube.sum(axis=1))  # integers: exact


def test_fold_of_an_elementwise_op_on_transposes_folds_the_untransposed_op():
    # reverse mode writes -transpose(y) and transpose(y) * transpose(z): fold them as transposes of -y and y * z
    cube, other = np.arange(24.0).reshape(2, 3, 4), np.linspace(-1, 1, 24).reshape(2, 3, 4)

    def f(a, b):
        swap = (0, 2, 1)
        return (
            acc.fold(lambda p, q: p + q, 0.0, -acc.transpose(a, swap), axis=2),
            acc.fold(lambda p, q: p + q, 0.0, acc.transpose(a, swap) * acc.transpose(b, swap), axis=2),
        )

    (kernel,) = plan(f, cube, other).kernels  # both folds now walk (2, 3, 4) along axis 1: one shared pass
    assert all(r.params["axis"] == 1 and r.args[0].shape == (2, 3, 4) for r in kernel.roots)
    assert "transpose" not in {s.prim.name for s in kernel.fused}
    neg, prod = acc.run(f, cube, other, backend="native")
    np.testing.assert_array_equal(neg, -cube.sum(axis=1))  # integers: exact
    terms = np.abs(cube * other).sum(axis=1)  # 3 products rounded once each, summed with the fold's 0.0
    bound = 2 * unit_roundoff(np.float64) * terms + sum_bound(terms * (1 + unit_roundoff(np.float64)), 4, np.float64)
    assert_within(prod, (cube * other).sum(axis=1), bound, np.float64)


@pytest.mark.parametrize("backend", COMPILED)
@pytest.mark.parametrize("seed", range(12))
def test_random_program_gradients_match_interp(seed, backend):
    from program_gen import random_inputs, random_program

    from pyaccad.frontend.tracing import call_program

    program = random_program(seed, n_steps=10)
    a, b = random_inputs(seed)
    grad = ad.grad(lambda x, y: sum(out.sum() for out in call_program(program, [x, y])), argnums=(0, 1))
    with np.errstate(all="ignore"):
        expected = acc.jit(grad, backend="interp")(a, b)
    actual = acc.jit(grad, backend=backend)(a, b)
    for got, want in zip(actual, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)


@pytest.fixture(params=["interp", "native", "cuda", "accelerate"])
def any_backend(request: pytest.FixtureRequest) -> str:
    """Every backend, the cuda one on its CPU emulator where there is no GPU; skips the ones that cannot run."""
    if request.param == "cuda":
        return request.getfixturevalue("cuda")
    reason = acc.backends()[request.param]
    if reason is not None:
        pytest.skip(f"backend {request.param!r} is unavailable here: {reason}")
    return request.param


def test_two_whiles_sharing_one_body_program_each_get_their_own_buffers(any_backend):
    """A rewrite that copies a ``while`` with other arguments keeps its ``cond`` and ``body`` programs (the same
    values, made in each copy): each copy is emitted with buffers of its own. Found by the random programs'
    duplicated statements: the second loop's body wrote to the first loop's state, out of its C scope."""
    from pyaccad.backends import get_backend
    from pyaccad.ir import Stmt, Var
    from pyaccad.ir.rewrite import rebuild_program

    def f(x, y):
        return acc.awhile(lambda s: s[0] < 3, lambda s: (s[0] + 1, s[1] * 0.5 + y, s[2] * 0.25 + s[1]), (0, x, y))

    rng = np.random.default_rng(7)
    x, y = rng.uniform(1, 2, (3, 4)), rng.uniform(1, 2, (3, 4))
    program = trace(f, x, y).program
    (loop,) = [s for s in program.stmts if s.prim.name == "while"]
    twin = Stmt(
        loop.prim, (loop.args[0], loop.args[2], loop.args[1]), dict(loop.params), tuple(Var(v.type) for v in loop.outs)
    )
    shared = rebuild_program(program, [*program.stmts, twin], (*loop.outs[1:], *twin.outs[1:]))
    verify(shared)

    def reference(a, b):  # the same additions and products, in the same order, positive: relative error gamma(6)
        for _ in range(3):
            a, b = a * 0.5 + y, b * 0.25 + a
        return [a, b]

    expected = [*reference(x, y), *reference(y, x)]
    for candidate in (shared, optimize(shared, any_backend)):
        got = get_backend(any_backend).compile(candidate)([x, y])
        for value, want in zip(got, expected, strict=True):
            np.testing.assert_allclose(value, want, rtol=gamma(6, np.float64), atol=0)


STEPS, RATE = 10_000, 1.0001


def _recurrence(a):
    """An unrolled recurrence of :data:`STEPS` steps: a chain of 20,000 element-wise operations, and a sum."""
    for _ in range(STEPS):
        a = a * RATE + 0.5
    return a.sum()


def test_a_chain_ten_thousand_operations_long_is_cut_every_max_depth_producers():
    # An unrolled recurrence this long used to overflow Python's recursion limit in the emitters: fusion now
    # cuts a delayed chain every MAX_DEPTH producers, so neither gcc nor NVRTC sees a 10,000-deep expression.
    # (The plan does not depend on the backend: the test below runs the chain on each, this one plans it once.)
    p = plan(_recurrence, np.linspace(-1, 1, 5))
    assert max(len(k.fused) for k in p.kernels) <= 2 * MAX_DEPTH + 2 and len(p.kernels) > STEPS // MAX_DEPTH


def test_a_chain_ten_thousand_operations_long_compiles_and_differentiates(any_backend):
    x = np.linspace(-1, 1, 5)
    want = x.copy()
    for _ in range(STEPS):
        want = want * RATE + 0.5
    # every step rounds twice (no multiply-add is fused), and so does the reference: 4·steps roundings apart
    bound = gamma(4 * STEPS + 5, "float64") * abs(want).sum()
    assert_within(acc.run(_recurrence, x, backend=any_backend), want.sum(), bound)
    grad = acc.run(ad.grad(_recurrence), x, backend=any_backend)
    assert_within(grad, np.full(5, RATE**STEPS), gamma(2 * STEPS, "float64") * RATE**STEPS)


def _sigmoid_read_thrice(a):
    e = 1.0 / (1.0 + acc.exp(-a))  # the division recomputes the exp with it
    plus = lambda p, q: p + q  # noqa: E731
    return acc.scanl1(plus, e), acc.scanr1(plus, e), acc.fold1(plus, e)


def test_loop_bodies_count_what_a_shared_value_recomputes_below_it():
    """Outside loops a shared value costs its own expensive operations (the division: 1, read by three kernels:
    recomputed); inside a loop body also those of the delayed producers it recomputes (the exp: 2, written once)."""
    assert kinds(_sigmoid_read_thrice, X) == ["scan", "scan", "fold"]

    def f(a):
        return acc.awhile(
            lambda s: acc.unit(acc.the(s[2]) < 100.0), lambda s: _sigmoid_read_thrice(s[0] + s[1]), (a, a, a.sum())
        )

    (loop,) = plan(f, X).kernels[-1:]
    assert [k.kind for k in loop.bodies["body"].kernels] == ["map", "scan", "scan", "fold"]
