"""``heat``: the explicit 1-D heat equation, ``T`` steps from ``u₀`` with clamped ends, in ``acc.awhile``.

One step is ``u ← u + ¼ (u[i−1] − 2u[i] + u[i+1])`` (a 3-point stencil whose
out-of-range neighbours are the end values); the objective is
``f(u₀) = Σ (u_T − target)²``. ``T`` comes as the length of the data array
``clock`` (never read): the bench's data are arrays. The JAX peer is a ``lax.scan``, PyTorch's a
Python loop.

>>> import numpy as np, pyaccad as acc
>>> params, data = WORKLOAD.inputs("tiny")
>>> value = acc.run(pyaccad_f, params, *data, backend="interp")
>>> bool(np.isclose(value, reference(params, *data), rtol=1e-5))
True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

import pyaccad as acc
from pyaccad.bench.registry import Inputs, Workload


def make_inputs(size: Mapping[str, int], rng: np.random.Generator) -> Inputs:
    u0 = rng.uniform(0.0, 1.0, size["n"]).astype(np.float32)
    target = rng.uniform(0.0, 1.0, size["n"]).astype(np.float32)
    return (u0,), (target, np.zeros(size["steps"], np.bool_))


def _steps(clock: Any) -> int:
    """``T``, the length of ``clock`` (the bench passes data as arrays; JAX's scan needs ``T`` static)."""
    return int(clock.shape[0])


def reference(params: tuple, target: np.ndarray, clock: np.ndarray) -> float:
    """The objective in float64 NumPy (for tests)."""
    u = np.asarray(params[0], np.float64)
    for _ in range(_steps(clock)):
        padded = np.concatenate([u[:1], u, u[-1:]])
        u = u + 0.25 * (padded[:-2] - 2.0 * u + padded[2:])
    return float(np.sum((u - target) ** 2))


def pyaccad_f(params: tuple, target: Any, clock: Any) -> Any:
    (u0,) = params
    steps = _steps(clock)

    def step(state: tuple) -> tuple:
        t, u = state
        return t + 1, acc.stencil(lambda n: n[1] + 0.25 * (n[0] - 2.0 * n[1] + n[2]), u, 3, boundary="clamp")

    _, u = acc.awhile(lambda s: s[0] < steps, step, (np.int64(0), u0))
    d = u - target
    return (d * d).sum()


def jax_f() -> Callable[..., Any]:
    import jax
    import jax.numpy as jnp

    def f(params: tuple, target: Any, clock: Any) -> Any:
        (u0,) = params

        def step(u: Any, _: Any) -> tuple:
            padded = jnp.concatenate([u[:1], u, u[-1:]])
            return u + 0.25 * (padded[:-2] - 2.0 * u + padded[2:]), None

        u, _ = jax.lax.scan(step, u0, None, length=_steps(clock))
        return jnp.sum((u - target) ** 2)

    return f


def torch_f() -> Callable[..., Any]:
    import torch

    def f(params: tuple, target: Any, clock: Any) -> Any:
        (u,) = params
        for _ in range(_steps(clock)):
            padded = torch.cat([u[:1], u, u[-1:]])
            u = u + 0.25 * (padded[:-2] - 2.0 * u + padded[2:])
        return torch.sum((u - target) ** 2)

    return f


WORKLOAD = Workload(
    name="heat",
    definition="1-D heat equation, T steps of a clamped 3-point stencil in awhile, f = sum((u_T - target)^2)",
    sizes={"tiny": {"n": 16, "steps": 7}, "small": {"n": 4096, "steps": 1000}, "large": {"n": 2**20, "steps": 1000}},
    make_inputs=make_inputs,
    pyaccad=pyaccad_f,
    jax=jax_f,
    torch=torch_f,
)
