"""Fit the benchmarks' Gaussian mixture model (pyaccad.bench.gmm) to data sampled from a known mixture.

The benchmark objective ``f`` (ADBench's) is the log-likelihood ``ℓ`` of the data plus a
Wishart-prior term ``r`` (a negative log-prior); a fit minimises the negative
log-posterior ``r − ℓ = 2r − f``. Its gradient, from ``ad.value_and_grad``, drives
Adam (``pyaccad.nn.adam``) inside one jitted step. Checks: the gradient of ``f``
against central finite differences, and the fit against the truth: a lower
objective than the generating parameters and means within the sampling error.

    python examples/fit_gmm.py [--small] [--backend B]
"""

from __future__ import annotations

import itertools

import numpy as np
from _example import arguments, central_differences, check

import pyaccad as acc
from pyaccad import ad, nn
from pyaccad.bench import gmm


def prior_term(params: tuple[acc.Array, ...]) -> acc.Array:
    """``r``: ½ Σₖ (‖exp(qₖ)‖² + ‖Lₖ‖²) − Σₖ Σ qₖ, the part of the benchmark objective that is not likelihood."""
    _, means, icf = params
    d = means.shape[1]
    q, lower = icf[:, :d], icf[:, d:]
    return 0.5 * ((acc.exp(q) ** 2).sum() + (lower * lower).sum()) - q.sum()


def objective(params: tuple[acc.Array, ...], x: acc.Array) -> acc.Array:
    """The negative log-posterior ``r − ℓ``, per data point."""
    return (2.0 * prior_term(params) - gmm.pyaccad_f(params, x)) / x.shape[0]


def sample(rng: np.random.Generator, k: int, d: int, n: int) -> tuple[np.ndarray, tuple]:
    """``n`` points from a mixture of ``k`` well-separated Gaussians; returns the points and the true parameters."""
    # means around a circle in the first two coordinates, neighbours 6 apart (standard deviations are <= 1)
    angles = 2 * np.pi * np.arange(k) / k
    means = 0.5 * rng.standard_normal((k, d))
    means[:, :2] += 3.0 / np.sin(np.pi / k) * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    scales = rng.uniform(0.5, 1.0, (k, d))  # diagonal covariances: Q = diag(1/scale), L = 0
    weights = rng.dirichlet(np.full(k, 5.0))
    labels = rng.choice(k, size=n, p=weights)
    x = means[labels] + scales[labels] * rng.standard_normal((n, d))
    icf = np.concatenate([-np.log(scales), np.zeros((k, d * (d - 1) // 2))], axis=1)
    return x, (np.log(weights), means, icf)


def spread_out(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` starting means: a random point, then repeatedly the point farthest from those chosen."""
    chosen = [x[rng.integers(len(x))]]
    for _ in range(k - 1):
        distance = np.min([np.sum((x - c) ** 2, axis=1) for c in chosen], axis=0)
        chosen.append(x[np.argmax(distance)])
    return np.array(chosen)


def main() -> None:
    args = arguments(__doc__)
    k, d, n, steps = (3, 2, 600, 300) if args.small else (5, 4, 10_000, 1_000)
    rng = np.random.default_rng(0)
    x, truth = sample(rng, k, d, n)

    start = (np.zeros(k), spread_out(x, k, rng), np.zeros((k, d * (d + 1) // 2)))
    probe = tuple(p + 0.1 * rng.standard_normal(p.shape) for p in start)
    small_x = x[:50]
    grads = ad.grad(gmm.pyaccad_f)(probe, small_x)
    for i, name in enumerate(("alphas", "means", "icf")):
        # the benchmark's float64 NumPy formula, varying one parameter array
        want = central_differences(lambda v, i=i: gmm.reference((*probe[:i], v, *probe[i + 1 :]), small_x), probe[i])
        g = grads[i]
        err = np.max(np.abs(g - want))
        check(f"∂f/∂{name} = finite differences", err <= 1e-5 * (1 + np.max(np.abs(want))), f"max error {err:.1e}")

    @acc.jit
    def step(params, state, x, lr):
        value, g = ad.value_and_grad(objective)(params, x)
        params, state = nn.adam(params, g, state, lr=lr)
        return value, params, state

    params, state = start, nn.adam_init(start)
    for t in range(steps):
        value, params, state = step(params, state, x, 0.05 if t < steps // 2 else 0.01)
    fitted, true_value = float(acc.run(objective, params, x)), float(acc.run(objective, truth, x))
    print(f"negative log-posterior per point: fitted {fitted:.4f}, generating parameters {true_value:.4f}")
    check("the fit explains the data at least as well as the truth", fitted <= true_value, f"{fitted:.4f}")
    # components are found in some order: match them to the true ones by the closest assignment of means
    order = min(itertools.permutations(range(k)), key=lambda p: np.sum((params[1][list(p)] - truth[1]) ** 2))
    error = np.max(np.abs(params[1][list(order)] - truth[1]))
    # each mean is an average of >= n·min(weight) points of standard deviation <= 1: 6 standard errors
    bound = 6.0 / np.sqrt(n * np.exp(truth[0]).min())
    check("fitted means = true means within the sampling error", error <= bound, f"{error:.3f} <= {bound:.3f}")


if __name__ == "__main__":
    main()
