"""A small JAX program — an MLP training step with a Python-float learning rate, float32 data, ``has_aux``
and integer-array indexing — run unchanged but for its imports, on JAX and on pyaccad, with equal results.

The program (parameters made with ``jnp.zeros`` outside any traced function, a jitted step) is one source
text executed twice: once after ``import jax.numpy as jnp; from jax import grad,
jit``, once after ``import pyaccad.numpy as jnp; from pyaccad import jit; from pyaccad.ad import grad``.
The learning rate is a Python float the step closes over (a literal, weak in JAX, taking the parameters'
float32 in both) and one passed as a static argument; a learning rate passed as a *traced* argument is
not used here (pyaccad makes it a float64 array, which float32 parameters then refuse: issue 15, item 4).
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from helpers import assert_close

jax.config.update("jax_enable_x64", True)  # as the other JAX comparisons: JAX's defaults are then NumPy's

PROGRAM = """
LEARNING_RATE = 0.1


def init(weights):
    return [(w, jnp.zeros(w.shape[1], dtype=jnp.float32)) for w in weights]


def predict(params, x):
    for w, b in params[:-1]:
        x = jnp.tanh(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def loss(params, x, labels):
    logits = predict(params, x)
    peak = jnp.max(logits, axis=1, keepdims=True)
    log_probs = logits - peak - jnp.log(jnp.sum(jnp.exp(logits - peak), axis=1, keepdims=True))
    picked = log_probs[jnp.arange(labels.shape[0]), labels]
    accuracy = jnp.mean(jnp.argmax(logits, axis=1) == labels)
    return -jnp.mean(picked), {"accuracy": accuracy, "confidence": jnp.exp(picked)}


@jit
def update(params, x, labels, batch):
    grads, aux = grad(loss, has_aux=True)(params, x[batch], labels[batch])
    new = [(w - LEARNING_RATE * dw, b - LEARNING_RATE * db) for (w, b), (dw, db) in zip(params, grads)]
    return new, aux


def scaled_update(params, x, labels, batch, lr):
    grads, aux = grad(loss, has_aux=True)(params, x[batch], labels[batch])
    return [(w - lr * dw, b - lr * db) for (w, b), (dw, db) in zip(params, grads)], aux


scaled_update = jit(scaled_update, static_argnums=4)
"""

IMPORTS = {
    "jax": "import jax.numpy as jnp\nfrom jax import grad, jit\n",
    "pyaccad": "import pyaccad.numpy as jnp\nfrom pyaccad import jit\nfrom pyaccad.ad import grad\n",
}


def _load(library: str) -> dict:
    namespace: dict = {}
    exec(compile(IMPORTS[library] + PROGRAM, f"<mlp for {library}>", "exec"), namespace)  # noqa: S102
    return namespace


def _data() -> tuple[list[np.ndarray], np.ndarray, np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(15)
    sizes = [8, 16, 16, 3]
    weights = [
        rng.normal(0, 1 / np.sqrt(m), (m, n)).astype(np.float32) for m, n in zip(sizes[:-1], sizes[1:], strict=True)
    ]
    x = rng.normal(size=(64, 8)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0.5)  # int64: argmax's dtype (int32 needs item 4)
    batches = [rng.permutation(64)[:16] for _ in range(3)]
    return weights, x, labels, batches


def _train(library: str, step: str) -> tuple[list, list]:
    program = _load(library)
    weights, x, labels, batches = _data()
    params = program["init"](weights)  # jnp.zeros outside any traced function: run at once, as JAX does
    auxes = []
    for batch in batches:
        if step == "update":
            params, aux = program["update"](params, x, labels, batch)
        else:
            params, aux = program["scaled_update"](params, x, labels, batch, 0.05)
        auxes.append(aux)
    return params, auxes


@pytest.mark.parametrize("step", ["update", "scaled_update"])
def test_mlp_training_step_ports_from_jax_unchanged(step: str, backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYACCAD_BACKEND", backend)
    ours, our_aux = _train("pyaccad", step)
    with jax.default_device(jax.devices("cpu")[0]):
        theirs, their_aux = _train("jax", step)
    for (w, b), (jw, jb) in zip(ours, theirs, strict=True):
        # float32 arithmetic on both sides, sums reassociated differently: helpers.TOLERANCES for float32.
        assert_close(w, np.asarray(jw))
        assert_close(b, np.asarray(jb))
    for aux, jaux in zip(our_aux, their_aux, strict=True):
        assert_close(aux["confidence"], np.asarray(jaux["confidence"]))
        # The mean of booleans is float64 as in NumPy (JAX makes it float32); the value is a count over 16.
        assert_close(aux["accuracy"], np.asarray(jaux["accuracy"]), dtype="float64")
    assert any(float(aux["accuracy"]) > 0 for aux in our_aux)
