"""One program per family of ``pyaccad.numpy`` (element-wise, creation, shapes, reductions and scans,
contractions, selection, advanced indexing and ``.at``), and its gradient, on every available backend,
against NumPy and JAX; the hypothesis tests of each family run on the interpreter."""

from __future__ import annotations

import jax
import jax.numpy as jjnp
import numpy as np
from helpers import assert_close

import pyaccad as acc
import pyaccad.numpy as jnp
from pyaccad import ad

jax.config.update("jax_enable_x64", True)

RNG = np.random.default_rng(15)
X = RNG.uniform(-2, 2, (3, 4))
Y = RNG.uniform(-2, 2, (4, 5))
IDX = np.array([2, 0, 2])


def program(np_, sigmoid, x, y, idx):
    """The same NumPy code for NumPy, JAX and pyaccad (``np_`` is the module, ``sigmoid`` its logistic function)."""
    a = np_.clip(np_.square(np_.sin(x)) + np_.exp2(x) * sigmoid(x), -5, 5)
    b = np_.cumsum(np_.einsum("ij,jk->ik", a, y), axis=1) + np_.tril(np_.ones((3, 5)))
    c = np_.concatenate([np_.expand_dims(np_.mean(b, axis=0), 0), np_.sort(b, axis=1)], axis=0)
    d = np_.take_along_axis(c, np_.argsort(c, axis=1), axis=1)[1:] + np_.dot(x, y)[idx][:, np_.arange(5) % 3]
    return np_.sum(d * np_.linspace(0.0, 1.0, 5)) + np_.max(np_.var(x, axis=1))


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_one_program_per_family_on_every_backend(backend: str) -> None:
    got = acc.run(lambda x, y, i: program(jnp, jnp.sigmoid, x, y, i), X, Y, IDX, backend=backend)
    assert_close(got, np.asarray(program(np, _sigmoid, X, Y, IDX)), rtol=1e-10)  # a few dozen terms, float64
    g = acc.jit(ad.grad(lambda x, y: program(jnp, jnp.sigmoid, x, y, IDX), argnums=(0, 1)), backend=backend)(X, Y)
    want = jax.grad(lambda x, y: program(jjnp, jax.nn.sigmoid, x, y, IDX), argnums=(0, 1))(X, Y)
    for a, b in zip(g, want, strict=True):
        assert_close(a, np.asarray(b), rtol=1e-10, atol=1e-12)


def test_at_updates_on_every_backend(backend: str) -> None:
    def f(x, i):
        return x.at[i].add(1.0).at[i, 1:].max(0.5).at[0].set(-1.0).at[np.array([1, 1])].multiply(2.0)

    got = acc.run(f, X, IDX, backend=backend)
    assert_close(got, np.asarray(f(jjnp.asarray(X), IDX)))
    g = acc.jit(ad.grad(lambda x: (f(x, IDX) * X).sum()), backend=backend)(X)
    assert_close(g, np.asarray(jax.grad(lambda x: (f(x, IDX) * X).sum())(X)))
