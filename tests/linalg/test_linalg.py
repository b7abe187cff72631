"""``acc.linalg`` (``pyaccad.linalg``): values against NumPy on every backend, NaNs for failed factorisations,
broadcasting and vector right-hand sides, vmap against a Python loop, and the errors.

Matrices are drawn well conditioned and each result is held to its error bound
(:mod:`linalg_reference`); NumPy in float64 is the reference.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_within, unit_roundoff
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from linalg_reference import (
    cholesky_bound,
    draw_dominant,
    draw_rhs,
    draw_spd,
    solve_bound,
    stored,
    triangular_bound,
)

import pyaccad as acc
from pyaccad import ad, linalg
from pyaccad.export import ExportError

DTYPES = st.sampled_from([np.dtype("float32"), np.dtype("float64")])


def _run(fn, backend: str, *args: np.ndarray) -> np.ndarray:
    return acc.jit(fn, backend=backend)(*args)


def _check(got: np.ndarray, exact: np.ndarray, bound: np.ndarray, dtype: np.dtype) -> None:
    assert_within(got, exact, stored(bound, exact, dtype), dtype)


@pytest.fixture(scope="session")
def linalg_backend(backend: str) -> str:
    if backend == "accelerate":  # the bridge goes through the export, and accelerate has no LAPACK
        with pytest.raises(ExportError, match="cholesky has no accelerate counterpart"):
            _run(linalg.cholesky, backend, np.eye(2))
        pytest.skip("accelerate has no LAPACK: the export's error is what the test above asserts")
    return backend


@given(data=st.data(), dtype=DTYPES, n=st.integers(1, 5))
@settings(max_examples=10)  # each new shape compiles a program on native
def test_cholesky_matches_numpy(linalg_backend: str, data: st.DataObject, dtype: np.dtype, n: int) -> None:
    batch = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=2))
    a = draw_spd(data.draw, (*batch, n, n)).astype(dtype)
    exact = np.linalg.cholesky(a.astype(np.float64))
    got = _run(linalg.cholesky, linalg_backend, a)
    _check(got, exact, cholesky_bound(a.astype(np.float64), exact, dtype), dtype)
    assert np.all(np.triu(got, 1) == 0)


@given(data=st.data(), dtype=DTYPES, n=st.integers(1, 5), lower=st.booleans(), transpose_a=st.booleans())
@settings(max_examples=10)  # each new shape compiles a program on native
def test_triangular_solve_matches_numpy(
    linalg_backend: str, data: st.DataObject, dtype: np.dtype, n: int, lower: bool, transpose_a: bool
) -> None:
    a = draw_dominant(data.draw, (2, n, n)).astype(dtype)
    b = draw_rhs(data.draw, (n,) if data.draw(st.booleans()) else (data.draw(st.integers(1, 3)), 1, n, 2))
    b = b.astype(dtype)  # a vector, or matrices whose batch axes broadcast against a's
    t = np.tril(a.astype(np.float64)) if lower else np.triu(a.astype(np.float64))
    t = np.swapaxes(t, -1, -2) if transpose_a else t
    exact = np.linalg.solve(t, b.astype(np.float64)[..., None])[..., 0] if b.ndim == 1 else np.linalg.solve(t, b)
    fn = lambda x, y: linalg.triangular_solve(x, y, lower=lower, transpose_a=transpose_a)  # noqa: E731
    t_full = np.broadcast_to(t, (*exact.shape[:-2], n, n)) if b.ndim > 1 else t
    bound = triangular_bound(t_full, exact if b.ndim > 1 else exact[..., None], dtype)
    _check(_run(fn, linalg_backend, a, b), exact, bound if b.ndim > 1 else bound[..., 0], dtype)


@given(data=st.data(), dtype=DTYPES, n=st.integers(1, 5))
@settings(max_examples=10)  # each new shape compiles a program on native
def test_solve_matches_numpy(linalg_backend: str, data: st.DataObject, dtype: np.dtype, n: int) -> None:
    batch = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, min_side=0, max_side=2))
    a = draw_dominant(data.draw, (*batch, n, n)).astype(dtype)
    b = draw_rhs(data.draw, (*batch, n, data.draw(st.integers(1, 3)))).astype(dtype)
    exact = np.linalg.solve(a.astype(np.float64), b.astype(np.float64)) if a.size else np.zeros(b.shape)
    _check(_run(linalg.solve, linalg_backend, a, b), exact, solve_bound(a, exact, dtype), dtype)


def test_a_batch_large_enough_to_split_over_threads(linalg_backend: str) -> None:
    # 3000 systems of 8: past the native backend's threshold for running the batch on every thread
    rng = np.random.default_rng(2)
    a = draw_dominant(rng, (3000, 8, 8))
    b = draw_rhs(rng, (3000, 8, 3))
    spd = draw_spd(rng, (3000, 8, 8))
    x = np.linalg.solve(a, b)
    _check(_run(linalg.solve, linalg_backend, a, b), x, solve_bound(a, x, a.dtype), a.dtype)
    t = np.tril(a)
    y = np.linalg.solve(t, b)
    _check(_run(linalg.triangular_solve, linalg_backend, a, b), y, triangular_bound(t, y, a.dtype), a.dtype)
    chol = np.linalg.cholesky(spd)
    _check(_run(linalg.cholesky, linalg_backend, spd), chol, cholesky_bound(spd, chol, a.dtype), a.dtype)


def test_vector_right_hand_side_keeps_its_shape(linalg_backend: str) -> None:
    a, b = np.array([[4.0, 1.0], [2.0, 3.0]]), np.array([1.0, 2.0])  # exact in binary: x = (0.1, 0.6)
    got = _run(linalg.solve, linalg_backend, a, b)
    assert_within(got, np.array([0.1, 0.6]), 4 * solve_bound(a, np.array([[0.1], [0.6]]), a.dtype)[:, 0])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_failed_factorisations_give_nans_in_that_matrix_only(linalg_backend: str, dtype: str) -> None:
    # not positive definite / singular, between two good matrices: the good ones are unaffected
    a = np.stack([4 * np.eye(2), np.array([[1.0, 2.0], [2.0, 1.0]]), np.zeros((2, 2)), 9 * np.eye(2)]).astype(dtype)
    chol = _run(linalg.cholesky, linalg_backend, a)
    assert np.isnan(chol[1:3]).all() and not np.isnan(chol[[0, 3]]).any()
    np.testing.assert_array_equal(chol[[0, 3]], np.stack([2 * np.eye(2), 3 * np.eye(2)]).astype(dtype))
    x = _run(linalg.solve, linalg_backend, a, np.ones(2, dtype))
    assert np.isnan(x[2]).all() and not np.isnan(x[[0, 1, 3]]).any()
    np.testing.assert_array_equal(x[[0, 3]], np.array([[0.25, 0.25], [1 / 9, 1 / 9]], dtype))


def test_cholesky_symmetrizes_its_input_unless_told_not_to(linalg_backend: str) -> None:
    a = np.array([[4.0, 6.0], [2.0, 5.0]])  # symmetrised: [[4, 4], [4, 5]]; its lower triangle: [[4, ·], [2, 5]]
    # every step of both factorisations is exact in binary (square roots of 4 and 1, halvings)
    np.testing.assert_array_equal(_run(linalg.cholesky, linalg_backend, a), [[2.0, 0.0], [2.0, 1.0]])
    got = _run(lambda x: linalg.cholesky(x, symmetrize_input=False), linalg_backend, a)
    np.testing.assert_array_equal(got, [[2.0, 0.0], [1.0, 2.0]])


def test_vmap_over_any_axis_matches_a_loop(linalg_backend: str) -> None:
    rng = np.random.default_rng(0)
    a = rng.uniform(-1, 1, (3, 4, 3)) + 6 * np.eye(3)[:, None, :]  # the batch on axis 1
    b = rng.uniform(-1, 1, (3, 2))
    got = _run(ad.vmap(linalg.solve, in_axes=(1, None)), linalg_backend, a, b)
    want = np.stack([np.linalg.solve(a[:, i], b) for i in range(4)])
    bound = np.stack([solve_bound(a[:, i], want[i], np.float64) for i in range(4)])
    assert_within(got, want, 2 * bound)
    chol = _run(ad.vmap(linalg.cholesky), linalg_backend, a.transpose(1, 0, 2) @ a.transpose(1, 2, 0))
    spd = a.transpose(1, 0, 2) @ a.transpose(1, 2, 0)
    exact = np.linalg.cholesky(spd)
    assert_within(chol, exact, 2 * cholesky_bound(spd, exact, np.float64))


@pytest.mark.parametrize(
    ("call", "args", "error", "message"),
    [
        (linalg.cholesky, (np.ones((2, 3)),), acc.ShapeError, r"cholesky: needs square matrices .* \(2, 3\)"),
        (linalg.cholesky, (np.eye(2, dtype=np.int64),), acc.DTypeError, "cholesky: needs float32 or float64"),
        (linalg.solve, (np.eye(2), np.ones(3)), acc.ShapeError, r"solve: shapes \(2, 2\) and \(3,\) do not fit"),
        (linalg.solve, (np.eye(2), np.ones(2, np.float32)), acc.DTypeError, "solve: operands must share a dtype"),
        (linalg.solve, (np.ones(2), np.ones(2)), acc.ShapeError, r"solve: a must be a matrix"),
        (
            lambda a, b: linalg.triangular_solve(a, b, lower=1),
            (np.eye(2), np.ones(2)),
            acc.ArgumentError,
            "triangular_solve: lower must be True or False, got 1",
        ),
        (
            linalg.solve,
            (np.ones((2, 2, 2)), np.ones((3, 2, 1))),
            acc.ShapeError,
            "solve: batch axes of shapes .* cannot be broadcast",
        ),
    ],
)
def test_bad_input_is_an_error_naming_the_operation_and_line(call, args, error, message) -> None:
    with pytest.raises(error, match=message) as info:
        acc.run(lambda *xs: call(*xs), *args, backend="interp")
    assert "test_linalg.py" in str(info.value)


CUDA_CASES = {
    "cholesky": (linalg.cholesky, lambda rng: [rng.uniform(-1, 1, (3, 4, 4))]),
    "solve": (linalg.solve, lambda rng: [rng.uniform(-1, 1, (3, 4, 4)), rng.uniform(-1, 1, (3, 4, 2))]),
    "triangular_solve": (linalg.triangular_solve, lambda rng: [rng.uniform(-1, 1, (3, 4, 4)), rng.uniform(-1, 1, 4)]),
    "triangular_solve-upper-transposed": (
        lambda a, b: linalg.triangular_solve(a, b, lower=False, transpose_a=True),
        lambda rng: [rng.uniform(-1, 1, (4, 4)), rng.uniform(-1, 1, (4, 3))],
    ),
}


@pytest.mark.parametrize("name", sorted(CUDA_CASES))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_cuda_kernels_match_the_interpreter(cuda: str, name: str, dtype: str) -> None:
    fn, make = CUDA_CASES[name]
    args = make(np.random.default_rng(1))
    args[0] = args[0] @ np.swapaxes(args[0], -1, -2) + 4 * np.eye(4)  # positive definite, diagonally dominant-ish
    args = [x.astype(dtype) for x in args]
    want = _run(fn, "interp", *[x.astype(np.float64) for x in args])
    a = args[0].astype(np.float64)
    scale = np.max(np.linalg.cond(a, np.inf)) * 4 * 4 * (float(unit_roundoff(dtype)) + 2.0**-53)
    assert_within(_run(fn, cuda, *args), want, 4 * scale * (np.abs(want) + 1), dtype)


def test_cuda_failures_give_nans(cuda: str) -> None:
    a = np.stack([4 * np.eye(2), -np.eye(2), np.zeros((2, 2))])
    chol = _run(linalg.cholesky, cuda, a)
    np.testing.assert_array_equal(chol[0], 2 * np.eye(2))
    assert np.isnan(chol[1:]).all()
    x = _run(linalg.solve, cuda, a, np.ones(2))
    np.testing.assert_array_equal(x[:2], [[0.25, 0.25], [-1.0, -1.0]])
    assert np.isnan(x[2]).all()


def test_cuda_solve_names_its_size_limit(cuda: str) -> None:
    from pyaccad.backends.cuda.linalg import MAX_SOLVE

    n = MAX_SOLVE + 1
    with pytest.raises(acc.CompileError, match=f"solve of {n}×{n} matrices.*at most {MAX_SOLVE}"):
        _run(linalg.solve, cuda, np.eye(n), np.ones(n))
