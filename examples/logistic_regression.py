"""L2-regularised logistic regression written with accelerate's combinators only, fitted in one program.

The loss uses ``generate`` (with indexing into free arrays), ``fold``,
``zip_with``, ``map`` and ``fold_all``, as one would write it in accelerate; the
whole gradient descent is one ``awhile`` whose body calls ``ad.grad`` of that
loss, so it compiles to a single program. Checks: the gradient against its
NumPy formula ``Xᵀ(σ(Xw) − y)/n + λw``, and the fitted weights against the
optimum found by Newton's method in NumPy (strong convexity bounds the
distance by ``‖∇f(w)‖ / λ``).

    python examples/logistic_regression.py [--small] [--backend B]
"""

from __future__ import annotations

import numpy as np
from _example import arguments, check

import pyaccad as acc
from pyaccad import ad

LAMBDA = 0.01  # the L2 penalty; also the strong-convexity constant of the loss


def add(a: acc.Exp, b: acc.Exp) -> acc.Exp:
    """The folds' combining function (associative, as ``fold`` requires)."""
    return a + b


def loss(w: acc.Array, x: acc.Array, y: acc.Array) -> acc.Array:
    """``mean(softplus(x·w) − y (x·w)) + λ/2 ‖w‖²``, with softplus written stably."""
    n, d = x.shape
    z = acc.fold(add, 0.0, acc.generate((n, d), lambda i, j: x[i, j] * w[j]))  # z = X w, one fold per row
    softplus = lambda v: acc.maximum(v, 0.0) + acc.log1p(acc.exp(-acc.abs(v)))
    data = acc.fold_all(add, 0.0, acc.zip_with(lambda zi, yi: softplus(zi) - yi * zi, z, y))
    penalty = acc.fold_all(add, 0.0, acc.map(lambda wj: wj * wj, w))
    return acc.zip_with(lambda s, p: s / n + 0.5 * LAMBDA * p, data, penalty)


def fit(x: acc.Array, y: acc.Array, step: acc.Array, iterations: int) -> acc.Array:
    """Gradient descent with the rank-0 array ``step`` (1/L), ``iterations`` steps inside one ``awhile``."""

    def body(state):
        w, k = state
        g = ad.grad(loss)(w, x, y)
        return acc.zip_with(lambda wj, gj: wj - step[()] * gj, w, g), acc.map(lambda i: i + 1, k)

    start = (acc.fill((x.shape[1],), 0.0, x.dtype), acc.unit(0))
    return acc.awhile(lambda state: acc.map(lambda i: i < iterations, state[1]), body, start)[0]


def numpy_gradient(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = 1.0 / (1.0 + np.exp(-(x @ w)))
    return x.T @ (p - y) / len(y) + LAMBDA * w


def numpy_newton(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        hessian = (x.T * (p * (1 - p))) @ x / len(y) + LAMBDA * np.eye(len(w))
        w -= np.linalg.solve(hessian, numpy_gradient(w, x, y))
    return w


def main() -> None:
    args = arguments(__doc__)
    n, d, iterations = (300, 5, 400) if args.small else (20_000, 30, 800)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d))
    w_true = rng.standard_normal(d)
    y = (rng.random(n) < 1.0 / (1.0 + np.exp(-(x @ w_true)))).astype(np.float64)

    w_probe = rng.standard_normal(d)
    g = ad.grad(loss)(w_probe, x, y)
    want = numpy_gradient(w_probe, x, y)
    err = np.max(np.abs(g - want))
    check("gradient = Xᵀ(σ(Xw) − y)/n + λw", err <= 1e-12 * (1 + np.max(np.abs(want))), f"max error {err:.1e}")

    # the loss's Hessian is at most L = λ_max(XᵀX)/(4n) + λ: steps of 1/L decrease it monotonically
    step = 1.0 / (np.linalg.eigvalsh(x.T @ x / n).max() / 4 + LAMBDA)
    w = acc.run(lambda a, b, s: fit(a, b, s, iterations), x, y, np.float64(step))
    w_star = numpy_newton(x, y)
    residual = np.linalg.norm(numpy_gradient(w, x, y))
    distance = np.linalg.norm(w - w_star)
    check("gradient descent converged", residual < 1e-8, f"‖∇f(w)‖ = {residual:.1e}")
    check(
        "fitted weights = Newton's optimum (NumPy)",
        distance <= residual / LAMBDA + 1e-10,
        f"‖w − w*‖ = {distance:.1e}, bound {residual / LAMBDA:.1e}",
    )
    accuracy = np.mean((x @ w > 0) == (y > 0.5))
    print(f"{n} examples, {d} features: training accuracy {accuracy:.1%}")


if __name__ == "__main__":
    main()
