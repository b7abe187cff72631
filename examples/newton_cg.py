"""Newton's method without forming the Hessian: ``ad.hessian_product`` inside conjugate gradients.

Minimises the strictly convex ``f(x) = Σᵢ cosh(aᵢ·x − bᵢ) + λ/2 ‖x‖²``. Each Newton
step solves ``H(x) p = −∇f(x)`` by conjugate gradients, whose only access to ``H``
is the Hessian-vector product ``ad.hessian_product(f)(x, v)`` (forward over
reverse: one gradient's cost, the n×n matrix never built). Checks: ``H v``
against the NumPy formula ``Aᵀ diag(cosh(Ax − b)) A v + λv``, quadratic
convergence, and the minimiser's gradient (NumPy formula) at zero.

    python examples/newton_cg.py [--small] [--backend B]
"""

from __future__ import annotations

import numpy as np
from _example import arguments, check, conjugate_gradients

import pyaccad as acc
from pyaccad import ad

LAMBDA = 0.1


def f(x: acc.Array, a: np.ndarray, b: np.ndarray) -> acc.Array:
    return acc.cosh(a @ x - b).sum() + 0.5 * LAMBDA * (x * x).sum()


def numpy_gradient(x: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return a.T @ np.sinh(a @ x - b) + LAMBDA * x


def main() -> None:
    args = arguments(__doc__)
    n, m = (8, 16) if args.small else (400, 1_000)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, n)) / np.sqrt(n)
    b = rng.standard_normal(m)

    gradient = acc.jit(lambda x: ad.grad(f)(x, a, b))
    hvp = acc.jit(lambda x, v: ad.hessian_product(lambda y: f(y, a, b))(x, v))

    x, v = rng.standard_normal(n), rng.standard_normal(n)
    want = a.T @ (np.cosh(a @ x - b) * (a @ v)) + LAMBDA * v
    err = np.max(np.abs(hvp(x, v) - want))
    check("H v = Aᵀ diag(cosh(Ax − b)) A v + λv", err <= 1e-12 * (1 + np.max(np.abs(want))), f"max error {err:.1e}")

    x = np.zeros(n)
    norms = [np.linalg.norm(numpy_gradient(x, a, b))]
    for it in range(30):
        g = gradient(x)
        # the inner tolerance tightens with ‖g‖ (a forcing term), which keeps the convergence quadratic
        step = conjugate_gradients(lambda p, x=x: hvp(x, p), -g, tol=min(0.1, np.linalg.norm(g)))
        x = x + step
        norms.append(np.linalg.norm(numpy_gradient(x, a, b)))
        print(f"Newton step {it + 1}: ‖∇f‖ = {norms[-1]:.2e}")
        if norms[-1] < 1e-10 * norms[0]:
            break
    check("converged: ∇f(x) = 0 (NumPy formula)", norms[-1] < 1e-10 * norms[0], f"‖∇f‖ = {norms[-1]:.1e}")
    # quadratic convergence: near the minimum ‖∇f‖ is about squared by each step (checked with slack:
    # the power 1.5 and a factor 10), so few steps are needed
    close = [r for r in norms if r < 1e-2 * norms[0]]
    fast = all(later <= 10 * earlier**1.5 for earlier, later in zip(close, close[1:], strict=False))
    check("quadratic convergence near the minimum", fast and len(norms) <= 15, f"{len(norms) - 1} Newton steps")


if __name__ == "__main__":
    main()
