"""The benchmark registry: one :class:`Workload` per module, each with its pyaccad, JAX and PyTorch versions.

A workload module defines its input generator and the same objective three
times, each as ``f(params, *data) -> scalar`` where ``params`` is a tuple of
arrays (the gradient is taken with respect to all of them, as one pytree) and
``data`` are the arrays that are not differentiated. The JAX and PyTorch
versions are built by factories so that importing the bench imports neither.
Adding a workload is one new module and one line in :data:`MODULES`.

>>> from pyaccad.bench.registry import WORKLOADS
>>> sorted(WORKLOADS)
['elementwise', 'gmm', 'heat', 'logsumexp_rows', 'lstm', 'mlp']
>>> params, data = WORKLOADS["elementwise"].inputs("tiny")
>>> params[0].dtype, params[0].shape
(dtype('float32'), (64,))
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

Arrays = tuple[np.ndarray, ...]
Inputs = tuple[Arrays, Arrays]

MODULES = ("elementwise", "logsumexp_rows", "mlp", "gmm", "lstm", "heat")
"""The workload modules of :mod:`pyaccad.bench`, in report order."""

SIZES = ("tiny", "small", "large")
"""``small`` (CPU) and ``large`` (GPU) are docs/WORKLOADS.md's; ``tiny`` is for tests on the interpreter."""


@dataclass(frozen=True)
class Workload:
    """One benchmark: its inputs at each size and its objective in pyaccad, JAX and PyTorch."""

    name: str
    definition: str
    sizes: Mapping[str, Mapping[str, int]]
    make_inputs: Callable[[Mapping[str, int], np.random.Generator], Inputs]
    pyaccad: Callable[..., Any]
    jax: Callable[[], Callable[..., Any]]
    torch: Callable[[], Callable[..., Any]]

    def inputs(self, size: str) -> Inputs:
        """``(params, data)`` at ``size``, drawn from ``numpy.random.default_rng(0)`` in docs/WORKLOADS.md order."""
        return self.make_inputs(self.sizes[size], np.random.default_rng(0))


def _load() -> dict[str, Workload]:
    return {name: importlib.import_module(f"pyaccad.bench.{name}").WORKLOAD for name in MODULES}


WORKLOADS: dict[str, Workload] = _load()
"""Every workload, by name, in report order."""
