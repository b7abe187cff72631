"""The three implementations the bench compares, each prepared once per workload and size.

:func:`prepare` converts the shared NumPy inputs once (outside any timing) and
returns two zero-argument callables, ``primal`` and ``grad``, each of which
runs the workload once and waits for the result:

* ``pyaccad`` — ``acc.jit(f, backend)`` and ``acc.jit(ad.grad(f), backend)``;
  results come back as NumPy arrays, so a call has finished when it returns;
* ``accelerate`` — the same as ``pyaccad`` on the accelerate bridge (``backend="accelerate"``): pyaccad's
  program and derivative, run by GHC-compiled accelerate-llvm-native, side by side with pyaccad's own backend;
* ``jax`` — ``jax.jit(f)`` and ``jax.jit(jax.grad(f))`` on arrays put on the
  default device once, ending with ``jax.block_until_ready``; float64 inputs
  (``lstm``) switch on ``jax_enable_x64`` so that JAX computes in their dtype;
* ``torch`` — eager PyTorch on tensors sharing the NumPy inputs' memory (on the GPU when pyaccad's backend
  is ``cuda``): the primal under ``torch.no_grad()``, the gradient with ``torch.autograd.grad``
  (CPU execution is synchronous; on a GPU ``torch.cuda.synchronize`` ends it).

The gradient is with respect to the whole ``params`` tuple, as one pytree.

>>> from pyaccad.bench.registry import WORKLOADS
>>> run = prepare("pyaccad", WORKLOADS["elementwise"], "tiny")
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

IMPLS = ("pyaccad", "accelerate", "jax", "torch")
OURS = ("pyaccad", "accelerate")  # pyaccad's programs: first calls measured in-process, results checked against JAX


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
    if impl == "accelerate":
        from pyaccad.backends import availability

        return availability()["accelerate"]
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
    if impl == "accelerate":
        return _pyaccad(workload, params, data, "accelerate", impl)
    return {"pyaccad": _pyaccad, "jax": _jax, "torch": _torch}[impl](workload, params, data, backend)


def _pyaccad(workload: Workload, params: tuple, data: tuple, backend: str | None, impl: str = "pyaccad") -> Prepared:
    import pyaccad as acc
    from pyaccad import ad

    primal = acc.jit(workload.pyaccad, backend=backend)
    grad = acc.jit(ad.grad(workload.pyaccad), backend=backend)
    # On the GPU the inputs are put on the device once, as for JAX and PyTorch; results stay there too.
    params = tuple(acc.device_put(p, backend=backend) for p in params)
    data = tuple(acc.device_put(d, backend=backend) for d in data)
    return Prepared(
        impl,
        lambda: primal(params, *data),
        lambda: grad(params, *data),
        lambda tree: [x.to_numpy() if hasattr(x, "to_numpy") else np.asarray(x) for x in _leaves(tree)],
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
    # On the GPU (pyaccad's cuda backend, where PyTorch sees a GPU) the tensors live there, and a call ends with
    # a synchronisation; on the CPU they share the NumPy inputs' memory and execution is synchronous.
    on_gpu = backend == "cuda" and torch.cuda.is_available()
    device = "cuda" if on_gpu else "cpu"
    leaf_params = tuple(torch.from_numpy(p).to(device).requires_grad_() for p in params)
    tensors = tuple(torch.from_numpy(d).to(device) for d in data)

    def done(result: Any) -> Any:
        if on_gpu:
            torch.cuda.synchronize()
        return result

    def primal() -> Any:
        with torch.no_grad():
            return done(f(leaf_params, *tensors))

    def grad() -> Any:
        return done(torch.autograd.grad(f(leaf_params, *tensors), leaf_params))

    return Prepared("torch", primal, grad, lambda tree: [x.detach().cpu().numpy() for x in _leaves(tree)])
