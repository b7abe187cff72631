"""What the tests run under ``mpirun``: a few steps of data-parallel training, or a deliberate failure.

``python mpi_worker.py train OUT [BACKEND]``: three gradient-descent steps of a float64 two-layer network on a
batch of 23 rows (uneven over 2 or 3 ranks), each rank on its shard through ``dist.value_and_grad_dp``,
parameters broadcast from rank 0; rank 0 writes the first step's gradients, the final parameters and the
losses to OUT (``.npz``). With BACKEND ``cuda`` the parameters and shards are device arrays, so every
collective stages them through the host.
``raise``: rank 1 raises before the first reduction. ``mismatch``: rank 1 reduces a differently shaped tree.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import pyaccad as acc
from pyaccad import distributed as dist

ROWS, STEPS, LR = 23, 3, 0.1


def loss(params: list, x: acc.Array, y: acc.Array) -> acc.Array:
    w1, b1, w2 = params
    return ((acc.tanh(x @ w1 + b1) @ w2 - y) ** 2).mean()


def problem() -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    params = [rng.standard_normal((4, 5)), rng.standard_normal(5), rng.standard_normal(5)]
    return params, rng.standard_normal((ROWS, 4)), rng.standard_normal(ROWS)


def train(out: Path, backend: str | None) -> None:
    params, x, y = problem()
    put = (lambda a: acc.device_put(a, backend=backend)) if backend == "cuda" else np.asarray
    params = dist.broadcast([put(p) for p in params] if dist.rank() == 0 else None)
    x_mine, y_mine = put(dist.shard(x)), put(dist.shard(y))
    step = dist.value_and_grad_dp(loss, backend=backend)
    update = acc.jit(lambda p, g: [a - LR * b for a, b in zip(p, g, strict=True)], backend=backend)
    losses, first = [], None
    for _ in range(STEPS):
        value, grads = step(params, x_mine, y_mine)
        first = grads if first is None else first
        params = update(params, grads)
        losses.append(float(np.asarray(value)))
    if dist.rank() == 0:
        host = [np.asarray(p) for p in params]
        np.savez(out, *host, *[np.asarray(g) for g in first], losses=np.array(losses))


def main() -> None:
    mode = sys.argv[1]
    if mode == "train":
        train(Path(sys.argv[2]), sys.argv[3] if len(sys.argv) > 3 else None)
    elif mode == "raise":
        if dist.rank() == 1:
            raise RuntimeError("rank 1 gave up on purpose")
        dist.allreduce([np.ones(3)])
    elif mode == "mismatch":
        dist.allreduce([np.ones(3 + dist.rank())])


if __name__ == "__main__":
    main()
