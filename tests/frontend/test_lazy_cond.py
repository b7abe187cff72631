"""``cond`` with values as branches is lazy, as in accelerate, on every backend and in every derivative.

``acc.cond(i > j, ic[kk, ix], 0.0)``: Python reads ``ic`` before ``cond`` is called, but the read is
used only by the ``then`` branch, so it runs only where ``i > j``. The arrays below are built so that the
read is out of bounds where the branch is not taken: a stray read raises ``IndexOutOfBounds`` (interp
and native both check). Every result is compared with a NumPy loop written from the definition.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

import pyaccad as acc
from pyaccad import ad
from pyaccad.frontend import trace

K, D = 2, 4
RNG = np.random.default_rng(0)

# Where element (i, j), i > j, of the strictly lower triangle is stored in a row of ``ic`` (width, position).
LAYOUTS = {
    # The layout (D diagonal entries first, then the lower triangle row by row): the read is out of
    # bounds for some untaken (i, j), e.g. (D - 1, D - 1).
    "packed": (D + D * (D - 1) // 2, lambda i, j: D + i * (i - 1) // 2 + j),
    # Out of bounds (negative) exactly where i <= j, the untaken branch.
    "exact": ((D - 1) * D, lambda i, j: (i - j - 1) * D + j),
}
LOWER = [(i, j) for i in range(D) for j in range(i)]


@pytest.fixture(params=sorted(LAYOUTS))
def layout(request):
    width, position = LAYOUTS[request.param]
    untaken = [position(i, j) for i in range(D) for j in range(i, D)]
    out_of_bounds = [p < 0 or p >= width for p in untaken]
    assert all(out_of_bounds) if request.param == "exact" else any(out_of_bounds)
    assert all(0 <= position(i, j) < width for i, j in LOWER)
    return width, position


def tril(position):
    """The strictly lower triangles of a (K, D, D) batch, read from their packed rows ``ic`` with a value branch."""
    return lambda ic: acc.generate((K, D, D), lambda kk, i, j: acc.cond(i > j, ic[kk, position(i, j)], 0.0))


def tril_reference(ic: np.ndarray, position) -> np.ndarray:
    out = np.zeros((*ic.shape[:-1], D, D))
    for i, j in LOWER:
        out[..., i, j] = ic[..., position(i, j)]
    return out


def scatter_reference(w: np.ndarray, width: int, position) -> np.ndarray:
    """The gradient of ``Σ tril(ic) · w`` with respect to ``ic``: ``w`` scattered to where it was read from."""
    out = np.zeros((K, width))
    for i, j in LOWER:
        out[:, position(i, j)] += w[:, i, j]
    return out


def test_value_branch_reads_only_where_taken(backend, layout):
    width, position = layout
    ic = RNG.standard_normal((K, width))
    assert_close(acc.jit(tril(position), backend=backend)(ic), tril_reference(ic, position))


def test_gradient_is_the_scatter_of_the_weights(backend, layout):
    width, position = layout
    ic, w = RNG.standard_normal((K, width)), RNG.standard_normal((K, D, D))
    loss = lambda ic: (tril(position)(ic) * w).sum()
    assert_close(acc.jit(ad.grad(loss), backend=backend)(ic), scatter_reference(w, width, position))


def test_jvp_vmap_jacobian_and_hessian_stay_lazy(backend, layout):
    width, position = layout
    f = tril(position)
    ic, t = RNG.standard_normal((K, width)), RNG.standard_normal((K, width))
    out, out_tan = acc.jit(lambda x, dx: ad.jvp(f, (x,), (dx,)), backend=backend)(ic, t)
    assert_close(out, tril_reference(ic, position))
    assert_close(out_tan, tril_reference(t, position))  # f is linear
    batch = RNG.standard_normal((3, K, width))
    assert_close(acc.jit(ad.vmap(f), backend=backend)(batch), tril_reference(batch, position))
    basis = np.eye(K * width).reshape(K * width, K, width)
    expected = np.stack([tril_reference(e, position) for e in basis], axis=-1).reshape(K, D, D, K, width)
    assert_close(acc.jit(ad.jacobian(f, mode="rev"), backend=backend)(ic), expected)
    # Σ w · tril(ic)²: each entry of ic is read at most once, so the Hessian is diagonal, 2 w where it is read.
    w = RNG.standard_normal((K, D, D))
    hessian = acc.jit(ad.hessian(lambda x: (f(x) * f(x) * w).sum()), backend=backend)(ic)
    assert_close(hessian, np.diag(2 * scatter_reference(w, width, position).ravel()).reshape(K, width, K, width))


@pytest.mark.parametrize("use", ["outside", "both branches", "predicate"])
def test_a_read_used_beyond_one_branch_is_still_evaluated(backend, use):
    # As in accelerate: a value the program needs whichever branch is taken is read, and an out-of-bounds read fails.
    width, position = LAYOUTS["exact"]
    uses = {
        "outside": lambda v, i, j: acc.cond(i > j, v, 0.0) + v,
        "both branches": lambda v, i, j: acc.cond(i > j, v, -v),
        "predicate": lambda v, i, j: acc.cond((i > j) & (v > 100.0), 1.0, 0.0),
    }[use]
    f = lambda ic: acc.generate((K, D, D), lambda kk, i, j: uses(ic[kk, position(i, j)], i, j))
    with pytest.raises(acc.IndexOutOfBounds, match="out of bounds") as info:
        acc.jit(f, backend=backend)(RNG.standard_normal((K, width)))
    assert "test_lazy_cond.py" in str(info.value)  # the user's line


def nested(a, b, c):
    """Seven elements: a[0..1], then b[0..1], then c[0..2]; each read is out of bounds where its branch is not taken."""
    return acc.generate((7,), lambda i: acc.cond(i < 4, acc.cond(i < 2, a[i], b[i - 2]), c[i - 4]))


def test_nested_conds(backend):
    a, b, c = RNG.standard_normal(2), RNG.standard_normal(2), RNG.standard_normal(3)
    assert_close(acc.jit(nested, backend=backend)(a, b, c), np.concatenate([a, b, c]))
    w = RNG.standard_normal(7)
    grads = acc.jit(ad.grad(lambda a, b, c: (nested(a, b, c) * w).sum(), argnums=(0, 1, 2)), backend=backend)(a, b, c)
    for got, want in zip(grads, (w[:2], w[2:4], w[4:]), strict=True):
        assert_close(got, want)


def smooth(a):
    """Interior points become ``(2 a[i+1] + a[i-1]) / 3`` (several statements, two reads out of bounds at the ends)."""
    n = a.shape[0]
    return acc.generate((n,), lambda i: acc.cond((i > 0) & (i < n - 1), (a[i + 1] * 2.0 + a[i - 1]) / 3.0, a[i]))


def test_a_value_of_several_statements(backend):
    a, w = RNG.standard_normal(5), RNG.standard_normal(5)
    expected = a.copy()
    expected[1:-1] = (2 * a[2:] + a[:-2]) / 3
    assert_close(acc.jit(smooth, backend=backend)(a), expected)
    grad = w * 0.0
    grad[[0, -1]] = w[[0, -1]]
    grad[2:] += 2 * w[1:-1] / 3
    grad[:-2] += w[1:-1] / 3
    assert_close(acc.jit(ad.grad(lambda a: (smooth(a) * w).sum()), backend=backend)(a), grad)


def test_lambda_branches_still_work_and_trace_like_values(backend):
    width, position = LAYOUTS["exact"]
    by_lambda = lambda ic: acc.generate(
        (K, D, D), lambda kk, i, j: acc.cond(i > j, lambda: ic[kk, position(i, j)], lambda: 0.0)
    )
    ic = RNG.standard_normal((K, width))
    assert_close(acc.jit(by_lambda, backend=backend)(ic), tril_reference(ic, position))
    assert acc.lower(by_lambda, ic) == acc.lower(tril(position), ic)


def test_array_level_values_sink_into_acond(backend):
    # shifted reads x[i + 2], out of bounds for i > 0: computed only when the acond takes the branch that uses it.
    def f(x):
        shifted = acc.generate((3,), lambda i: x[i + 2])
        return acc.cond(x.sum() > 100.0, shifted, x * 2.0)

    x = RNG.standard_normal(3)
    assert_close(acc.jit(f, backend=backend)(x), 2 * x)
    with pytest.raises(acc.IndexOutOfBounds):  # taken: the read runs, and fails, as in accelerate
        acc.jit(f, backend=backend)(x + 100.0)


def test_value_branch_in_a_loop_body(backend):
    # s1 += a[s0 + 1] while s0 < 2, read out of bounds on the last trip (s0 = 2) unless the branch guards it.
    a = RNG.standard_normal(3)

    def f(a):
        body = lambda s: (s[0] + 1, acc.cond(s[0] < 2, s[1] + a[s[0] + 1], s[1]))
        return acc.generate((1,), lambda i: acc.while_(lambda s: s[0] < 3, body, (i, 0.0))[1])

    assert_close(acc.jit(f, backend=backend)(a), np.array([a[1] + a[2]]))


def test_a_loop_used_by_one_branch_runs_only_there(backend):
    # Element i sums a[i] + a[i + 1] in a while_ loop: a[3] is out of bounds for i = 2, where the branch is not taken.
    a = RNG.standard_normal(3)

    def f(a):
        def element(i):
            total = acc.while_(lambda s: s[0] < 2, lambda s: (s[0] + 1, s[1] + a[i + s[0]]), (0, 0.0))[1]
            return acc.cond(i < 2, total, -1.0)

        return acc.generate((3,), element)

    assert_close(acc.jit(f, backend=backend)(a), np.array([a[0] + a[1], a[1] + a[2], -1.0]))


def test_traced_programs_hold_the_read_inside_the_branch():
    width, position = LAYOUTS["exact"]
    lam = trace(tril(position), np.zeros((K, width))).program.stmts[0].params["lam"]
    assert [s.prim.name for s in lam.stmts] == ["gt", "cond"]
    assert "index" in [s.prim.name for s in lam.stmts[-1].params["then_"].stmts]
