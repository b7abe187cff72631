"""The three implementations the bench compares, each prepared once per workload and size.

:func:`prepare` converts the shared NumPy inputs once (outside any timing) and
returns two zero-argument callables, ``primal`` and ``grad``, each of which
runs the workload once and waits for the result:

* ``pyaccad`` — ``acc.jit(f, backend)`` and ``acc.jit(ad.grad(f), backend)``;
  results come back as NumPy arrays, so a call has finished when it returns;
* ``jax`` — ``jax.jit(f)`` and ``jax.jit(jax.grad(f))`` on arrays put on the
  default device once, ending with ``jax.block_until_ready``; float64 inputs
  (``lstm``) switch on ``jax_enable_x64`` so that JAX computes in their dtype;
* ``torch`` — eager PyTorch on tensors sharing the NumPy inputs' memory: the
  primal under ``torch.no_grad()``, the gradient with ``torch.autograd.grad``
  (CPU execution is synchronous; on a GPU ``torch.cuda.synchronize`` ends it).

The gradient is with respect to the whole ``params`` tuple, as one pytree.

>>> from pyaccad.bench.registry import WORKLOADS
>>> run = prepare("pyaccad", WORKLOADS["elementwise"], "tiny", backend="interp")
>>> float(run.primal()) > 0
True
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from pyaccad.bench.registry import Workload

IMPLS = ("pyaccad", "jax", "torch")


@dataclass(frozen=True)
class Prepared:
    """One implementation of one workload, ready to call: each call runs once and waits for the result."""

    impl: str
    primal: Callable[[], Any]
    grad: Callable[[], Any]
    to_numpy: Callable[[Any], list[np.ndarray]]


def unavailable(impl: str) -> str | None:
    """None when ``impl`` can run here, else why not.

    >>> unavailable("pyaccad") is None
    True
    """
    if impl not in IMPLS:
        return f"unknown implementation {impl!r}; choose from {', '.join(IMPLS)}"
    if impl != "pyaccad" and importlib.util.find_spec(impl) is None:
        return f"{impl} is not importable here"
    return None


def _leaves(tree: Any) -> list[Any]:
    if isinstance(tree, (tuple, list)):
        return [leaf for item in tree for leaf in _leaves(item)]
    return [tree]


def prepare(impl: str, workload: Workload, size: str, backend: str | None = None) -> Prepared:
    """``impl``'s version of ``workload`` at ``size``, with its inputs converted (``backend`` is pyaccad's)."""
    params, data = workload.inputs(size)
    return {"pyaccad": _pyaccad, "jax": _jax, "torch": _torch}[impl](workload, params, data, backend)


def _pyaccad(workload: Workload, params: tuple, data: tuple, backend: str | None) -> Prepared:
    import pyaccad as acc
    from pyaccad import ad

    primal = acc.jit(workload.pyaccad, backend=backend)
    grad = acc.jit(ad.grad(workload.pyaccad), backend=backend)
    return Prepared(
        "pyaccad",
        lambda: primal(params, *data),
        lambda: grad(params, *data),
        lambda tree: [np.asarray(x) for x in _leaves(tree)],
    )


def _jax(workload: Workload, params: tuple, data: tuple, backend: str | None) -> Prepared:
    import jax

    f = workload.jax()
    if any(a.dtype == np.float64 for a in (*params, *data)):
        jax.config.update("jax_enable_x64", True)  # else JAX would compute in float32
    device_params = tuple(jax.device_put(p) for p in params)
    device_data = tuple(jax.device_put(d) for d in data)
    primal, grad = jax.jit(f), jax.jit(jax.grad(f))
    return Prepared(
        "jax",
        lambda: jax.block_until_ready(primal(device_params, *device_data)),
        lambda: jax.block_until_ready(grad(device_params, *device_data)),
        lambda tree: [np.asarray(x) for x in _leaves(tree)],
    )


def _torch(workload: Workload, params: tuple, data: tuple, backend: str | None) -> Prepared:
    import torch

    f = workload.torch()
    leaf_params = tuple(torch.from_numpy(p).requires_grad_() for p in params)
    tensors = tuple(torch.from_numpy(d) for d in data)

    def primal() -> Any:
        with torch.no_grad():
            return f(leaf_params, *tensors)

    def grad() -> Any:
        return torch.autograd.grad(f(leaf_params, *tensors), leaf_params)

    return Prepared("torch", primal, grad, lambda tree: [x.detach().numpy() for x in _leaves(tree)])
