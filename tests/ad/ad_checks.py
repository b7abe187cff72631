"""Shared checks of the derivative tests: verified derivative programs, finite differences, the dot-product test.

Every derivative a test computes goes through :func:`traced_run`, which
traces the transform at the inputs, runs :func:`pyaccad.ir.verify` on the
program, then runs it on the interpreter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import pyaccad as acc
from pyaccad import ad
from pyaccad.frontend import trace
from pyaccad.ir import verify


def traced_run(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` on the interpreter, after checking its traced program with ``verify``."""
    verify(trace(fn, *args).program)
    return acc.jit(fn, backend="interp")(*args)


def grad_of(f: Callable[..., Any], *args: Any, argnums: int | tuple[int, ...] = 0) -> Any:
    return traced_run(ad.grad(f, argnums), *args)


def value_of(f: Callable[..., Any], *args: Any) -> Any:
    return traced_run(f, *args)


def jvp_of(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> Any:
    return traced_run(lambda p, t: ad.jvp(f, p, t)[1], tuple(primals), tuple(tangents))


def vjp_of(f: Callable[..., Any], primals: Sequence[Any], ct: Any) -> Any:
    return traced_run(lambda p, c: ad.vjp(f, *p)[1](c), tuple(primals), ct)


def finite_difference_grad(f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of a scalar function of one float64 array (evaluated on the interpreter)."""
    run = acc.jit(f, backend="interp")
    flat = x.astype(np.float64).reshape(-1)
    out = np.zeros_like(flat)
    for i in range(flat.size):
        step = np.zeros_like(flat)
        step[i] = eps
        hi = float(run((flat + step).reshape(x.shape)))
        lo = float(run((flat - step).reshape(x.shape)))
        out[i] = (hi - lo) / (2 * eps)
    return out.reshape(x.shape)


def check_against_fd(f: Callable[[Any], Any], x: np.ndarray, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """``grad(f)(x)`` equals central finite differences (``f`` returns a float64 scalar)."""
    np.testing.assert_allclose(grad_of(f, x), finite_difference_grad(f, x), rtol=rtol, atol=atol)


def check_dot_product(f: Callable[[Any], Any], x: np.ndarray, rng: np.random.Generator, rtol: float = 1e-9) -> None:
    """``⟨vjp(u), v⟩ = ⟨u, jvp(v)⟩`` for random ``u``, ``v``: reverse mode is the transpose of forward mode."""
    y = value_of(f, x)
    v = rng.normal(size=x.shape)
    u = rng.normal(size=np.shape(y))
    jv = jvp_of(f, (x,), (v,))
    (uj,) = vjp_of(f, (x,), u)
    np.testing.assert_allclose(np.vdot(uj, v), np.vdot(u, jv), rtol=rtol, atol=rtol)
