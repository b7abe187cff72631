"""``logsumexp_rows``: ``f(A) = Σᵢ log Σⱼ exp(Aᵢⱼ)``, computed stably (the row maximum subtracted).

>>> import numpy as np, pyaccad as acc
>>> (a,), () = WORKLOAD.inputs("tiny")
>>> value = acc.run(lambda a: pyaccad_f((a,)), a)
>>> peak = a.max(axis=1, keepdims=True)
>>> bool(np.isclose(value, np.sum(np.log(np.exp(a - peak).sum(axis=1)) + peak[:, 0]), rtol=1e-4))
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from pyaccad import nn
from pyaccad.bench.registry import Inputs, Workload


def make_inputs(size: Mapping[str, int], rng: np.random.Generator) -> Inputs:
    a = rng.standard_normal((size["rows"], size["cols"])).astype(np.float32)
    return (a,), ()


def pyaccad_f(params: tuple) -> Any:
    (a,) = params
    return nn.logsumexp(a, axis=1).sum()


def jax_f() -> Callable[..., Any]:
    import jax.numpy as jnp
    from jax.scipy.special import logsumexp

    def f(params: tuple) -> Any:
        (a,) = params
        return jnp.sum(logsumexp(a, axis=1))

    return f


def torch_f() -> Callable[..., Any]:
    import torch

    def f(params: tuple) -> Any:
        (a,) = params
        return torch.sum(torch.logsumexp(a, dim=1))

    return f


WORKLOAD = Workload(
    name="logsumexp_rows",
    definition="f(A) = sum_i log sum_j exp(A_ij), A ~ N(0, 1)",
    sizes={
        "tiny": {"rows": 6, "cols": 5},
        "small": {"rows": 1024, "cols": 1024},
        "large": {"rows": 16384, "cols": 4096},
    },
    make_inputs=make_inputs,
    pyaccad=pyaccad_f,
    jax=jax_f,
    torch=torch_f,
)
