"""``python -m pyaccad.bench --ranks``: the mlp workload's gradient, data-parallel over 1, 2, ... MPI ranks.

The batch of the ``mlp`` workload (docs/WORKLOADS.md) is split over the ranks
with ``dist.shard``; each rank times, per step, its compiled
``ad.value_and_grad`` on its shard and then the allreduce that averages the
loss and gradients (``pyaccad.distributed``, one message per dtype), between
barriers so that every rank's step starts together. Each rank count is one
``mpirun -n K`` job on this machine (loopback, one OpenMP thread per rank, so
1 rank is the single-core baseline); rank 0 reports the medians. The allreduce
time includes waiting for the slowest rank, so its share also measures load
imbalance. Needs ``mpi4py`` and ``mpirun`` (``pip install 'pyaccad[mpi]'``).

>>> print(ranks_table([RanksRow(1, 256, 10.0, 0.05), RanksRow(2, 128, 5.5, 0.5)]))
ranks  rows/rank  step_ms  grad_ms  allreduce_ms  allreduce_share  speedup
1      256        10.050   10.000   0.050         0.5%             1.00
2      128        6.000    5.500    0.500         8.3%             1.68
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import asdict, dataclass

import numpy as np

from pyaccad.bench.report import text_table

HANG = 600  # seconds; against a hang only


@dataclass(frozen=True)
class RanksRow:
    """Rank 0's medians over the timed steps of one job of ``ranks`` processes (ms)."""

    ranks: int
    rows_per_rank: int
    grad_ms: float
    allreduce_ms: float

    @property
    def step_ms(self) -> float:
        return self.grad_ms + self.allreduce_ms


def ranks_table(rows: list[RanksRow]) -> str:
    """One line per rank count: the step split into gradient and allreduce, and the speedup over the first."""
    base = rows[0].step_ms if rows else 1.0
    lines = [
        (r.ranks, r.rows_per_rank, f"{r.step_ms:.3f}", f"{r.grad_ms:.3f}", f"{r.allreduce_ms:.3f}")
        + (f"{r.allreduce_ms / r.step_ms:.1%}", f"{base / r.step_ms:.2f}")
        for r in rows
    ]
    header = ("ranks", "rows/rank", "step_ms", "grad_ms", "allreduce_ms", "allreduce_share", "speedup")
    return text_table(header, lines)


def measure(ranks: list[int], size: str, backend: str, repeat: int) -> list[RanksRow]:
    """One ``mpirun -n K`` job per K in ``ranks``; raises RuntimeError with its output if a job fails."""
    from pyaccad.distributed.comm import mpirun_command

    rows = []
    for k in ranks:
        child = [sys.executable, "-m", "pyaccad.bench.ranks", size, backend, str(repeat)]
        argv, env = mpirun_command(k, *child)
        done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=HANG)
        if done.returncode != 0:
            raise RuntimeError(f"mpirun -n {k} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        rows.append(RanksRow(**json.loads(done.stdout.strip().splitlines()[-1])))
    return rows


def _child(size: str, backend: str, repeat: int) -> None:
    """One rank of a job: time ``repeat`` steps after 3 warm-up steps; rank 0 prints the row as JSON."""
    from pyaccad import ad
    from pyaccad import distributed as dist
    from pyaccad.api import jit
    from pyaccad.bench.registry import WORKLOADS
    from pyaccad.distributed.collectives import reduce_tree
    from pyaccad.distributed.comm import world

    workload = WORKLOADS["mlp"]
    params, (x, labels) = workload.inputs(size)
    x, labels = dist.shard(x), dist.shard(labels)
    gradient = jit(ad.value_and_grad(workload.pyaccad), backend)
    comm = world()
    grad_ms, reduce_ms = [], []
    for k in range(3 + repeat):
        if comm is not None:
            comm.Barrier()
        start = time.perf_counter()
        out = gradient(params, x, labels)
        middle = time.perf_counter()
        reduce_tree(out, "mean", weight=len(labels))
        end = time.perf_counter()
        if k >= 3:
            grad_ms.append(1000 * (middle - start))
            reduce_ms.append(1000 * (end - middle))
    if dist.rank() == 0:
        row = RanksRow(dist.size(), len(labels), float(np.median(grad_ms)), float(np.median(reduce_ms)))
        print(json.dumps(asdict(row)))


if __name__ == "__main__":
    _child(sys.argv[1], sys.argv[2], int(sys.argv[3]))
