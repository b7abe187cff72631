"""Reverse mode through a lambda's ``while_`` under each ``checkpoint`` policy (``ad.lambdas.loop_reads``).

The lanes' loops are reversed together: from a tape of every lane's states (``checkpoint=None`` or ``1``),
from every third state (``3``), or by bisection (``"bisect"``, and the fallback when the trips do not fit
``PYACCAD_LOOP_TAPE_MB``). References: JAX's forward-mode Jacobian of the ``vmap`` of its
``while_loop`` (JAX has no reverse mode through a dynamic trip count) and central finite differences;
the policies against each other, to the rounding of the body's trips.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from ad_checks import finite_difference_grad
from helpers import gamma

import pyaccad as acc
from pyaccad import ad
from pyaccad.ad.transpose_rules import loop as transpose_loop
from pyaccad.frontend import trace
from pyaccad.ir import Program, verify

jax = pytest.importorskip("jax", reason="JAX is not installed: the JAX agreement tests need it")
jax.config.update("jax_enable_x64", True)
jnp = jax.numpy

POLICIES = [None, 1, 3, "bisect"]
LANES = 5
TRIPS = [5 + 9 * i for i in range(LANES)]  # lane i runs 5 + 9·i trips: 41 at most


def _body(m: Any, x: Any, i: Any, s: Any) -> Any:  # contracting: long loops keep finite, non-zero gradients
    v, k = s
    return 0.5 * v + m.tanh(v * x[k % 4] + 0.3 * x[i % 4]), k + 1


def _lanes(checkpoint: object = None) -> Callable[[Any], Any]:
    def f(x: Any) -> Any:
        def per(i: Any) -> Any:
            cond = lambda s: s[1] < 5 + 9 * i  # noqa: E731
            return acc.while_(cond, lambda s: _body(acc, x, i, s), (x[i % 4], np.int64(0)), checkpoint)[0]

        return (acc.generate((LANES,), per) ** 2).sum()

    return f


def _lanes_jax(x: Any) -> Any:
    def per(i: Any) -> Any:
        return jax.lax.while_loop(lambda s: s[1] < 5 + 9 * i, lambda s: _body(jnp, x, i, s), (x[i % 4], 0))[0]

    return (jax.vmap(per)(jnp.arange(LANES)) ** 2).sum()


def _grad(f: Callable[[Any], Any], backend: str, x: np.ndarray) -> np.ndarray:
    verify(trace(ad.grad(f), x).program)
    return acc.jit(ad.grad(f), backend=backend)(x)


X = np.array([0.31, 0.77, 0.52, 0.64])


@pytest.mark.parametrize("checkpoint", POLICIES)
def test_each_policy_matches_jax(backend: str, checkpoint: object) -> None:
    np.testing.assert_allclose(_grad(_lanes(checkpoint), backend, X), jax.jacfwd(_lanes_jax)(X), rtol=1e-10)


def test_the_tape_matches_finite_differences() -> None:
    got = _grad(_lanes(), "interp", X)
    np.testing.assert_allclose(got, finite_difference_grad(_lanes(), X), rtol=1e-6, atol=1e-8)


def test_the_policies_agree_to_rounding(backend: str) -> None:
    """The policies take each state from the tape or recompute it with the same operations: the gradients
    differ only by the rounding of a state's recomputation, 4 roundings a trip (a contracting loop does not
    amplify them)."""
    taped = _grad(_lanes(), backend, X)
    for checkpoint in POLICIES[1:]:
        got = _grad(_lanes(checkpoint), backend, X)
        np.testing.assert_allclose(got, taped, rtol=float(gamma(4 * max(TRIPS), np.float64)), atol=0)


def _permutes_overwriting(program: Program) -> list[Any]:
    """The results of the ``permute`` statements that overwrite (a tape's slots), nested programs included."""
    found = []
    for stmt in program.stmts:
        combine = stmt.params.get("combine") if stmt.prim.name == "permute" else None
        if combine is not None and combine.outputs == combine.inputs[:1]:
            found += stmt.outs
        for sub in stmt.subprograms():
            found += _permutes_overwriting(sub)
    return found


def _tape_bytes(f: Callable[[Any], Any]) -> int:
    program = trace(ad.grad(f), X).program
    return sum(v.type.size * v.type.dtype.itemsize for v in _permutes_overwriting(program))


@pytest.mark.parametrize(("checkpoint", "taped"), [(None, 1024), (1, 1024), (3, 1024), ("bisect", 0)])
def test_the_policy_decides_the_tape(checkpoint: object, taped: int) -> None:
    """A tape of 1024 slots, each the states of the 5 lanes (a float64 and an int64 counter each)."""
    assert _tape_bytes(_lanes(checkpoint)) == taped * LANES * 16


@pytest.mark.parametrize(("stride", "slots"), [(1, 8), (3, 8), (1, 48), (3, 16)])
def test_a_tiny_budget_bounds_the_tape_and_falls_back_to_bisection(
    backend: str, stride: int, slots: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A budget of ``slots`` trips' states: 41 trips do not fit 8 slots (8·3 with every third state stored),
    so bisection reverses them; they fit 48 slots (16·3)."""
    monkeypatch.setattr(transpose_loop, "DEFAULT_CHECKPOINT", stride)
    budget = slots * LANES * 16
    monkeypatch.setenv("PYACCAD_LOOP_TAPE_MB", str(budget / 2**20))
    assert _tape_bytes(_lanes()) == budget
    np.testing.assert_allclose(_grad(_lanes(), backend, X), jax.jacfwd(_lanes_jax)(X), rtol=1e-10)


def test_no_budget_means_bisection_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYACCAD_LOOP_TAPE_MB", "0")
    assert _tape_bytes(_lanes()) == 0
    np.testing.assert_allclose(_grad(_lanes(), "interp", X), jax.jacfwd(_lanes_jax)(X), rtol=1e-10)


def _nested(outer: object, inner: object) -> Callable[[Any], Any]:
    def f(x: Any) -> Any:
        def per(v: Any) -> Any:  # outer trip j runs an inner loop of j + 1 + (v > 0.5) trips reading x
            def run_inner(s: Any) -> Any:
                cond = lambda r: r[1] < s[1] + 1 + acc.cast(v > 0.5, np.int64)  # noqa: E731
                body = lambda r: (r[0] * x[r[1] % 4] + acc.sin(s[0]) * 0.3, r[1] + 1)  # noqa: E731
                return acc.while_(cond, body, (s[0], np.int64(0)), inner)[0]

            body = lambda s: (run_inner(s) * 0.8, s[1] + 1)  # noqa: E731
            return acc.while_(lambda s: s[1] < 4, body, (v, np.int64(0)), outer)[0]

        return (acc.map(per, x) ** 2).sum()

    return f


def _nested_jax(x: Any) -> Any:
    def per(v: Any) -> Any:
        def run_inner(s: Any) -> Any:
            body = lambda r: (r[0] * x[r[1] % 4] + jnp.sin(s[0]) * 0.3, r[1] + 1)  # noqa: E731
            return jax.lax.while_loop(lambda r: r[1] < s[1] + 1 + (v > 0.5), body, (s[0], 0))[0]

        return jax.lax.while_loop(lambda s: s[1] < 4, lambda s: (run_inner(s) * 0.8, s[1] + 1), (v, 0))[0]

    return (jax.vmap(per)(x) ** 2).sum()


@pytest.mark.parametrize(("outer", "inner"), [(None, None), (None, "bisect"), ("bisect", 2), ("bisect", "bisect")])
def test_nested_loops_under_each_policy_match_jax(backend: str, outer: object, inner: object) -> None:
    want = jax.jacfwd(_nested_jax)(X)
    np.testing.assert_allclose(_grad(_nested(outer, inner), backend, X), want, rtol=1e-10)


def test_nested_loops_match_finite_differences() -> None:
    got = _grad(_nested(None, None), "interp", X)
    np.testing.assert_allclose(got, finite_difference_grad(_nested(None, None), X), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("checkpoint", [0, -2, 1.5, True, "tape"])
def test_a_bad_policy_is_an_argument_error(checkpoint: object) -> None:
    with pytest.raises(acc.ArgumentError, match=r"while_: checkpoint must be .* got"):
        acc.run(_lanes(checkpoint), X, backend="interp")


@pytest.mark.parametrize("checkpoint", [None, "bisect"])
def test_the_cuda_backend_runs_each_policy(cuda: str, checkpoint: object) -> None:
    """The tape's slot writes (run in place) and the bisection's stack on the cuda backend (or its emulator)."""
    np.testing.assert_allclose(_grad(_lanes(checkpoint), cuda, X), jax.jacfwd(_lanes_jax)(X), rtol=1e-10)
