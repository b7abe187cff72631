"""``lstm``: the ADBench LSTM objective, a recurrent loop of ``c − 1`` steps in ``acc.awhile``.

Layer ``i`` has weights ``w = main[i, :4b]``, biases ``β = main[i, 4b:]``,
state ``h = state[2i]``, ``cell = state[2i+1]``. One step with input ``x``
(``x = seq[t] · extra[0]`` for layer 0, the previous layer's new ``h`` after)::

    forget = σ(x·w[0:b]   + β[0:b])      ingate = σ(h·w[b:2b]  + β[b:2b])
    outgate = σ(x·w[2b:3b] + β[2b:3b])   change = tanh(h·w[3b:] + β[3b:])
    cell ← cell·forget + ingate·change;  h ← outgate·tanh(cell)
    ypred = h_last·extra[1] + extra[2];   lse = log(Σ exp(ypred) + 2)
    f = −(1 / ((c−1)·b)) Σ_{t=0}^{c−2} Σ seq[t+1]·(ypred_t − lse_t)

The loop state is the step, the ``2l`` rows of the state and the running sum;
``seq[t]`` is read inside the loop with a ``backpermute``. The JAX peer scans
over ``seq`` with ``lax.scan``, PyTorch's is a Python loop.

>>> import numpy as np, pyaccad as acc
>>> params, data = WORKLOAD.inputs("tiny")
>>> value = acc.run(pyaccad_f, params, *data, backend="interp")
>>> bool(np.isclose(value, reference(params, *data), rtol=1e-10))
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
    layers, count, width = size["l"], size["c"], size["b"]
    main = 0.5 * rng.standard_normal((layers, 8 * width))
    extra = 0.5 * rng.standard_normal((3, width))
    state = 0.5 * rng.standard_normal((2 * layers, width))
    seq = rng.uniform(0.0, 1.0, (count, width))
    return (main, extra), (state, seq)


def _step(main: Any, extra: Any, rows: list, x: Any, sigmoid: Callable, tanh: Callable) -> tuple[list, Any]:
    """One time step through every layer, written once for NumPy, pyaccad, JAX and PyTorch: the new state rows
    and ``ypred``."""
    width = extra.shape[1]
    new = []
    for i in range(len(rows) // 2):
        w, beta = main[i, : 4 * width], main[i, 4 * width :]
        h, cell = rows[2 * i], rows[2 * i + 1]

        def gate(k: int, v: Any, w: Any = w, beta: Any = beta) -> Any:
            return v * w[k * width : (k + 1) * width] + beta[k * width : (k + 1) * width]

        forget, ingate, outgate = sigmoid(gate(0, x)), sigmoid(gate(1, h)), sigmoid(gate(2, x))
        cell = cell * forget + ingate * tanh(gate(3, h))
        h = outgate * tanh(cell)
        new += [h, cell]
        x = h
    return new, x * extra[1] + extra[2]


def reference(params: tuple, state: np.ndarray, seq: np.ndarray) -> float:
    """The objective in NumPy (for tests)."""
    main, extra = params
    rows, total = list(state), 0.0
    for t in range(seq.shape[0] - 1):
        rows, ypred = _step(main, extra, rows, seq[t] * extra[0], lambda v: 1 / (1 + np.exp(-v)), np.tanh)
        total += float(np.sum(seq[t + 1] * (ypred - np.log(np.sum(np.exp(ypred)) + 2))))
    return -total / ((seq.shape[0] - 1) * seq.shape[1])


def pyaccad_f(params: tuple, state: Any, seq: Any) -> Any:
    main, extra = params
    count, width = seq.shape

    def row(t: Any) -> Any:
        return acc.backpermute((width,), lambda j: (t, j), seq)

    def body(s: tuple) -> tuple:
        t, rows, total = s
        rows, ypred = _step(main, extra, list(rows), row(t) * extra[0], nn.sigmoid, acc.tanh)
        lse = acc.log(acc.exp(ypred).sum() + 2.0)
        return t + 1, tuple(rows), total + (row(t + 1) * (ypred - lse)).sum()

    init = (np.int64(0), tuple(state[k] for k in range(state.shape[0])), np.float64(0.0))
    _, _, total = acc.awhile(lambda s: s[0] < count - 1, body, init)
    return -total / ((count - 1) * width)


def jax_f() -> Callable[..., Any]:
    import jax
    import jax.numpy as jnp

    def f(params: tuple, state: Any, seq: Any) -> Any:
        main, extra = params

        def body(carry: tuple, pair: tuple) -> tuple:
            rows, total = carry
            x, y = pair
            rows, ypred = _step(main, extra, list(rows), x * extra[0], jax.nn.sigmoid, jnp.tanh)
            lse = jnp.log(jnp.sum(jnp.exp(ypred)) + 2.0)
            return (tuple(rows), total + jnp.sum(y * (ypred - lse))), None

        init = (tuple(state[k] for k in range(state.shape[0])), jnp.zeros((), seq.dtype))
        (_, total), _ = jax.lax.scan(body, init, (seq[:-1], seq[1:]))
        return -total / ((seq.shape[0] - 1) * seq.shape[1])

    return f


def torch_f() -> Callable[..., Any]:
    import torch

    def f(params: tuple, state: Any, seq: Any) -> Any:
        main, extra = params
        rows, total = list(state), 0.0
        for t in range(seq.shape[0] - 1):
            rows, ypred = _step(main, extra, rows, seq[t] * extra[0], torch.sigmoid, torch.tanh)
            total = total + torch.sum(seq[t + 1] * (ypred - torch.log(torch.sum(torch.exp(ypred)) + 2.0)))
        return -total / ((seq.shape[0] - 1) * seq.shape[1])

    return f


WORKLOAD = Workload(
    name="lstm",
    definition="ADBench LSTM objective, c - 1 steps in awhile (float64)",
    sizes={
        "tiny": {"l": 2, "c": 6, "b": 3},
        "small": {"l": 2, "c": 1024, "b": 14},
        "large": {"l": 4, "c": 1024, "b": 4096},
    },
    make_inputs=make_inputs,
    pyaccad=pyaccad_f,
    jax=jax_f,
    torch=torch_f,
)
