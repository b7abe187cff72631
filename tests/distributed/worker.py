"""What the tests run under ``mpirun``: a few steps of data-parallel training, or a deliberate failure.

``python worker.py train OUT``: three gradient-descent steps of a float64 two-layer network on a batch of
23 rows (uneven over 2 or 3 ranks), each rank on its shard through ``dist.value_and_grad_dp``, parameters
broadcast from rank 0; rank 0 writes the final parameters and losses to OUT (``.npz``).
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


def train(out: Path) -> None:
    params, x, y = problem()
    params = dist.broadcast(params if dist.rank() == 0 else None)
    step = dist.value_and_grad_dp(loss)
    losses = []
    for _ in range(STEPS):
        value, grads = step(params, dist.shard(x), dist.shard(y))
        params = [p - LR * g for p, g in zip(params, grads, strict=True)]
        losses.append(float(value))
    if dist.rank() == 0:
        np.savez(out, *params, losses=np.array(losses))


def main() -> None:
    mode = sys.argv[1]
    if mode == "train":
        train(Path(sys.argv[2]))
    elif mode == "raise":
        if dist.rank() == 1:
            raise RuntimeError("rank 1 gave up on purpose")
        dist.allreduce([np.ones(3)])
    elif mode == "mismatch":
        dist.allreduce([np.ones(3 + dist.rank())])


if __name__ == "__main__":
    main()
