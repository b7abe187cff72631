"""Per-example gradients with ``ad.vmap`` of ``ad.grad``, and a Jacobian in both modes.

For the model ``ŷ = tanh(x·w)`` with squared error, ``ad.vmap(ad.grad(loss),
in_axes=(None, 0, 0))`` gives one gradient per example (what differential
privacy clips, or what gradient-variance estimates need) in one program, not a
Python loop. Then the Jacobian of ``x ↦ softmax(Wx)`` in forward and in reverse
mode. Checks: per-example gradients against the NumPy formula
``(tanh(z) − y)(1 − tanh²(z)) x``, their mean against ``ad.grad`` of the mean
loss, and the Jacobians against central finite differences.

    python examples/per_example_gradients.py [--small] [--backend B]
"""

from __future__ import annotations

import numpy as np
from _example import arguments, central_differences, check

import pyaccad as acc
from pyaccad import ad, nn


def loss(w: acc.Array, x: acc.Array, y: acc.Array) -> acc.Array:
    """Squared error of one example: ``x`` has shape (features,), ``y`` is a scalar."""
    return 0.5 * (acc.tanh((x * w).sum()) - y) ** 2


def main() -> None:
    args = arguments(__doc__)
    n, d = (16, 4) if args.small else (4_096, 64)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, d)) / np.sqrt(d)
    y = rng.uniform(-1, 1, n)
    w = rng.standard_normal(d)

    per_example = acc.jit(ad.vmap(ad.grad(loss), in_axes=(None, 0, 0)))(w, x, y)
    z = np.tanh(x @ w)
    want = ((z - y) * (1 - z * z))[:, None] * x
    err = np.max(np.abs(per_example - want))
    check(f"{n} per-example gradients = NumPy formula", err <= 1e-14 * d, f"max error {err:.1e}")

    mean_loss = lambda w, x, y: ad.vmap(loss, in_axes=(None, 0, 0))(w, x, y).mean()
    err = np.max(np.abs(per_example.mean(axis=0) - ad.grad(mean_loss)(w, x, y)))
    check("their mean = ad.grad of the mean loss", err <= 1e-14 * d, f"max error {err:.1e}")

    classes = 3 if args.small else 10
    weights = rng.standard_normal((classes, d))
    probabilities = lambda v: nn.softmax(weights @ v)
    point = rng.standard_normal(d)
    columns = [
        central_differences(lambda v, i=i: float(np.exp(weights @ v)[i] / np.exp(weights @ v).sum()), point)
        for i in range(classes)
    ]
    reference = np.stack(columns)  # (classes, d): row i is the gradient of output i
    for mode in ("fwd", "rev"):
        jac = ad.jacobian(probabilities, mode=mode)(point)
        err = np.max(np.abs(jac - reference))
        check(f"Jacobian ({mode} mode, {jac.shape}) = finite differences", err <= 1e-8, f"max error {err:.1e}")


if __name__ == "__main__":
    main()
