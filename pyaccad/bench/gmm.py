"""``gmm``: the ADBench Gaussian mixture objective (γ = 1, m = 1, constants dropped).

For component ``k``: ``qₖ = icf[k, :D]``, ``Qdiagₖ = exp(qₖ)``, ``Lₖ`` strictly
lower triangular holding ``icf[k, D:]`` in the row-major order of
``numpy.tril_indices(D, -1)``, ``Qₖ = diag(Qdiagₖ) + Lₖ``::

    main[i,k] = alphas[k] + Σ qₖ − ½ ‖Qₖ (x[i] − means[k])‖²
    f = Σᵢ logsumexp_k main[i,k] − N · logsumexp(alphas)
        + ½ Σₖ (‖Qdiagₖ‖² + ‖icf[k, D:]‖²) − Σₖ Σ qₖ

In pyaccad, ``Lₖ`` is a ``backpermute`` (a gather, whose derivative is a
scatter-add) from ``icf[:, D:]`` with one zero column appended: entry
``(r, c)`` reads position ``r(r−1)/2 + c`` when ``r > c`` and the zero
otherwise. The products ``Lₖ (x[i] − means[k])`` for all ``i`` are one batched
``matmul`` per component.

>>> import numpy as np, pyaccad as acc
>>> params, (x,) = WORKLOAD.inputs("tiny")
>>> value = acc.run(pyaccad_f, params, x)
>>> bool(np.isclose(value, reference(params, x), rtol=1e-4))
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

import pyaccad as acc
from pyaccad import nn
from pyaccad.bench.registry import Inputs, Workload


def make_inputs(size: Mapping[str, int], rng: np.random.Generator) -> Inputs:
    d, k, n = size["d"], size["k"], size["n"]
    alphas = rng.standard_normal(k).astype(np.float32)
    means = rng.standard_normal((k, d)).astype(np.float32)
    icf = (0.1 * rng.standard_normal((k, d * (d + 1) // 2))).astype(np.float32)
    x = rng.standard_normal((n, d)).astype(np.float32)
    return (alphas, means, icf), (x,)


def reference(params: tuple, x: np.ndarray) -> float:
    """The objective in float64 NumPy, written from the formula (for tests)."""
    alphas, means, icf = (np.asarray(p, np.float64) for p in params)
    k, d = means.shape
    q = icf[:, :d]
    big_l = np.zeros((k, d, d))
    rows, cols = np.tril_indices(d, -1)
    big_l[:, rows, cols] = icf[:, d:]
    big_q = big_l + np.exp(q)[:, :, None] * np.eye(d)
    centred = x[:, None, :] - means[None]  # (N, K, D)
    main = alphas + q.sum(1) - 0.5 * np.sum(np.einsum("krc,nkc->nkr", big_q, centred) ** 2, axis=2)

    def lse(v: np.ndarray, axis: int | None = None) -> np.ndarray:
        top = v.max(axis=axis, keepdims=True)
        return np.squeeze(np.log(np.exp(v - top).sum(axis=axis, keepdims=True)) + top, axis=axis)

    regulariser = 0.5 * (np.sum(np.exp(q) ** 2) + np.sum(icf[:, d:] ** 2)) - q.sum()
    return float(lse(main, 1).sum() - x.shape[0] * lse(alphas) + regulariser)


def pyaccad_f(params: tuple, x: Any) -> Any:
    alphas, means, icf = params
    k, d = means.shape
    q = icf[:, :d]
    qdiag = acc.exp(q)
    lower = icf[:, d:]
    n_lower = d * (d - 1) // 2
    padded = acc.concatenate([lower, acc.fill((k, 1), 0.0, icf.dtype)], axis=1)
    big_l = acc.backpermute(
        (k, d, d), lambda c, r, col: (c, acc.cond(r > col, r * (r - 1) // 2 + col, n_lower)), padded
    )
    centred = acc.transpose(x[None, :, :] - means[:, None, :], (0, 2, 1))  # (K, D, N)
    mahal = qdiag[:, :, None] * centred + big_l @ centred  # Q_k (x_i - mu_k), (K, D, N)
    main = (alphas + q.sum(axis=1))[:, None] - 0.5 * (mahal * mahal).sum(axis=1)  # (K, N)
    n = x.shape[0]
    return (
        nn.logsumexp(main, axis=0).sum()
        - n * nn.logsumexp(alphas)
        + 0.5 * ((qdiag * qdiag).sum() + (lower * lower).sum())
        - q.sum()
    )


def jax_f() -> Callable[..., Any]:
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    def f(params: tuple, x: Any) -> Any:
        alphas, means, icf = params
        k, d = means.shape
        q, lower = icf[:, :d], icf[:, d:]
        qdiag = jnp.exp(q)
        rows, cols = np.tril_indices(d, -1)
        big_l = jnp.zeros((k, d, d), icf.dtype).at[:, rows, cols].set(lower)
        centred = jnp.transpose(x[None, :, :] - means[:, None, :], (0, 2, 1))
        mahal = qdiag[:, :, None] * centred + big_l @ centred
        main = (alphas + q.sum(axis=1))[:, None] - 0.5 * jnp.sum(mahal * mahal, axis=1)
        return (
            jnp.sum(logsumexp(main, axis=0))
            - x.shape[0] * logsumexp(alphas)
            + 0.5 * (jnp.sum(qdiag * qdiag) + jnp.sum(lower * lower))
            - jnp.sum(q)
        )

    return f


def torch_f() -> Callable[..., Any]:
    import torch

    def f(params: tuple, x: Any) -> Any:
        alphas, means, icf = params
        k, d = means.shape
        q, lower = icf[:, :d], icf[:, d:]
        qdiag = torch.exp(q)
        rows, cols = np.tril_indices(d, -1)
        big_l = torch.zeros((k, d, d), dtype=icf.dtype)
        big_l[:, torch.from_numpy(rows), torch.from_numpy(cols)] = lower
        centred = (x[None, :, :] - means[:, None, :]).transpose(1, 2)
        mahal = qdiag[:, :, None] * centred + big_l @ centred
        main = (alphas + q.sum(dim=1))[:, None] - 0.5 * torch.sum(mahal * mahal, dim=1)
        return (
            torch.sum(torch.logsumexp(main, dim=0))
            - x.shape[0] * torch.logsumexp(alphas, dim=0)
            + 0.5 * (torch.sum(qdiag * qdiag) + torch.sum(lower * lower))
            - torch.sum(q)
        )

    return f


WORKLOAD = Workload(
    name="gmm",
    definition="ADBench GMM objective (gamma = 1, m = 1, constants dropped)",
    sizes={
        "tiny": {"d": 3, "k": 4, "n": 7},
        "small": {"d": 10, "k": 25, "n": 10_000},
        "large": {"d": 64, "k": 200, "n": 100_000},
    },
    make_inputs=make_inputs,
    pyaccad=pyaccad_f,
    jax=jax_f,
    torch=torch_f,
)
