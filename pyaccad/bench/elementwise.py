"""``elementwise``: ``f(x) = Σᵢ sin(xᵢ)·xᵢ`` with ``x ~ U(-3, 3)`` — a pure bandwidth test.

>>> import numpy as np, pyaccad as acc
>>> (x,), () = WORKLOAD.inputs("tiny")
>>> value = acc.run(lambda x: pyaccad_f((x,)), x)
>>> bool(np.isclose(value, np.sum(np.sin(x) * x), rtol=1e-4))
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

import pyaccad as acc
from pyaccad.bench.registry import Inputs, Workload


def make_inputs(size: Mapping[str, int], rng: np.random.Generator) -> Inputs:
    x = rng.uniform(-3.0, 3.0, size["n"]).astype(np.float32)
    return (x,), ()


def pyaccad_f(params: tuple) -> Any:
    (x,) = params
    return (acc.sin(x) * x).sum()


def jax_f() -> Callable[..., Any]:
    import jax.numpy as jnp

    def f(params: tuple) -> Any:
        (x,) = params
        return jnp.sum(jnp.sin(x) * x)

    return f


def torch_f() -> Callable[..., Any]:
    import torch

    def f(params: tuple) -> Any:
        (x,) = params
        return torch.sum(torch.sin(x) * x)

    return f


WORKLOAD = Workload(
    name="elementwise",
    definition="f(x) = sum(sin(x) * x), x ~ U(-3, 3)",
    sizes={"tiny": {"n": 64}, "small": {"n": 2**22}, "large": {"n": 2**26}},
    make_inputs=make_inputs,
    pyaccad=pyaccad_f,
    jax=jax_f,
    torch=torch_f,
)
