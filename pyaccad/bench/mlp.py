"""``mlp``: a 3-layer perceptron with ``tanh`` hidden layers and mean softmax cross-entropy.

``h₁ = tanh(x W₁ + b₁)``, ``h₂ = tanh(h₁ W₂ + b₂)``, ``z = h₂ W₃ + b₃``; the
loss is the batch mean of ``-log_softmax(z)[label]``. Parameters
``Wₖ ~ N(0, 1)/√fan_in``, ``bₖ = 0``; data ``x ~ N(0, 1)``, labels uniform in
``[0, 10)`` (int32; PyTorch gets them as int64, which its loss requires).

>>> import numpy as np, pyaccad as acc
>>> params, (x, labels) = WORKLOAD.inputs("tiny")
>>> [p.shape for p in params]
[(12, 8), (8,), (8, 8), (8,), (8, 10), (10,)]
>>> float(acc.run(pyaccad_f, params, x, labels)) > 0
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
    widths = (size["input"], size["hidden"], size["hidden"], size["classes"])
    params: list[np.ndarray] = []
    for fan_in, fan_out in zip(widths[:-1], widths[1:], strict=True):
        params.append((rng.standard_normal((fan_in, fan_out)) / np.sqrt(fan_in)).astype(np.float32))
        params.append(np.zeros(fan_out, np.float32))
    x = rng.standard_normal((size["batch"], size["input"])).astype(np.float32)
    labels = rng.integers(0, size["classes"], size["batch"]).astype(np.int32)
    return tuple(params), (x, labels)


def pyaccad_f(params: tuple, x: Any, labels: Any) -> Any:
    w1, b1, w2, b2, w3, b3 = params
    h1 = acc.tanh(x @ w1 + b1)
    h2 = acc.tanh(h1 @ w2 + b2)
    return nn.cross_entropy(h2 @ w3 + b3, labels)


def jax_f() -> Callable[..., Any]:
    import jax
    import jax.numpy as jnp

    def f(params: tuple, x: Any, labels: Any) -> Any:
        w1, b1, w2, b2, w3, b3 = params
        h1 = jnp.tanh(x @ w1 + b1)
        h2 = jnp.tanh(h1 @ w2 + b2)
        logp = jax.nn.log_softmax(h2 @ w3 + b3, axis=-1)
        return -jnp.mean(jnp.take_along_axis(logp, labels[:, None], axis=1))

    return f


def torch_f() -> Callable[..., Any]:
    import torch

    def f(params: tuple, x: Any, labels: Any) -> Any:
        w1, b1, w2, b2, w3, b3 = params
        h1 = torch.tanh(x @ w1 + b1)
        h2 = torch.tanh(h1 @ w2 + b2)
        return torch.nn.functional.cross_entropy(h2 @ w3 + b3, labels.long())

    return f


WORKLOAD = Workload(
    name="mlp",
    definition="3-layer tanh MLP, mean softmax cross-entropy",
    sizes={
        "tiny": {"input": 12, "hidden": 8, "classes": 10, "batch": 5},
        "small": {"input": 784, "hidden": 256, "classes": 10, "batch": 256},
        "large": {"input": 784, "hidden": 1024, "classes": 10, "batch": 4096},
    },
    make_inputs=make_inputs,
    pyaccad=pyaccad_f,
    jax=jax_f,
    torch=torch_f,
)
