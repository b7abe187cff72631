"""``python -m pyaccad.bench``: the workloads of ``docs/WORKLOADS.md`` in pyaccad, JAX and PyTorch, side by side.

One module per workload (:mod:`~pyaccad.bench.elementwise`,
:mod:`~pyaccad.bench.logsumexp_rows`, :mod:`~pyaccad.bench.mlp`,
:mod:`~pyaccad.bench.gmm`, :mod:`~pyaccad.bench.lstm`, :mod:`~pyaccad.bench.heat`)
holds its input generator and its three versions;
:mod:`~pyaccad.bench.registry` lists them, :mod:`~pyaccad.bench.impls`
prepares each implementation, :mod:`~pyaccad.bench.measure` times and measures
memory, :mod:`~pyaccad.bench.report` prints the tables and
:mod:`~pyaccad.bench.cli` is the command line.

>>> from pyaccad.bench import WORKLOADS
>>> list(WORKLOADS)
['elementwise', 'logsumexp_rows', 'mlp', 'gmm', 'lstm', 'heat']
"""

from pyaccad.bench.registry import WORKLOADS, Workload

__all__ = ["WORKLOADS", "Workload"]
