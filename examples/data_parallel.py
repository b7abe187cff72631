"""Data-parallel training: each process holds a shard of the data, the gradients are averaged over MPI.

The pattern of ``pyaccad.distributed`` (docs/distributed.md): every process
builds (or loads) only its shard of the dataset with ``dist.shard``, takes the
initial parameters from rank 0 with ``dist.broadcast``, and runs full-batch
gradient descent on L2-regularised logistic regression with
``dist.value_and_grad_dp``, which runs the compiled gradient on the shard and
averages the gradients and the loss across processes, weighted by shard size.
As one process (``python examples/data_parallel.py``) it is ordinary training;
under ``mpirun -n K`` (``pip install 'pyaccad[mpi]'``) the same script splits
the data K ways. Checks, on every rank: the first gradient against its NumPy
formula over the whole dataset (float64; the bound of a reordered sum), every
rank holding the same parameters, and the fit against Newton's method in
NumPy (strong convexity bounds the distance by ``‖∇f(w)‖ / λ``).

    python examples/data_parallel.py [--small] [--backend B]
    mpirun -n 2 python examples/data_parallel.py --small
"""

from __future__ import annotations

import numpy as np
from _example import arguments, check

import pyaccad as acc
from pyaccad import distributed as dist

LAMBDA = 0.01  # the L2 penalty; also the strong-convexity constant of the loss
STEP = 1.0  # below 2/L: L <= max‖x_i‖²/4 + λ, and the data's rows have norm about 1


def loss(w: acc.Array, x: acc.Array, y: acc.Array) -> acc.Array:
    """``mean(softplus(x·w) − y (x·w)) + λ/2 ‖w‖²``; a mean over the rows, as ``value_and_grad_dp`` requires."""
    z = x @ w
    softplus = acc.maximum(z, 0.0) + acc.log1p(acc.exp(-acc.abs(z)))
    return (softplus - y * z).mean() + 0.5 * LAMBDA * (w * w).sum()


def dataset(rows: int, dim: int) -> tuple[np.ndarray, np.ndarray]:
    """The whole dataset (every rank makes the same one from the seed; a real job would read its shard)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows, dim)) / np.sqrt(dim)
    y = (rng.random(rows) < 1 / (1 + np.exp(-3 * x @ rng.standard_normal(dim)))).astype(np.float64)
    return x, y


def numpy_gradient(w: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return x.T @ (1 / (1 + np.exp(-(x @ w))) - y) / len(y) + LAMBDA * w


def newton(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    w = np.zeros(x.shape[1])
    for _ in range(30):
        p = 1 / (1 + np.exp(-(x @ w)))
        hessian = (x.T * (p * (1 - p))) @ x / len(y) + LAMBDA * np.eye(len(w))
        w -= np.linalg.solve(hessian, numpy_gradient(w, x, y))
    return w


def main() -> None:
    args = arguments(__doc__)
    rows, dim, steps = (1_001, 8, 300) if args.small else (20_011, 16, 500)
    x, y = dataset(rows, dim)
    x_mine, y_mine = dist.shard(x), dist.shard(y)  # uneven where K does not divide the rows
    w = dist.broadcast(np.zeros(dim) if dist.rank() == 0 else None)
    gradient = dist.value_and_grad_dp(loss)
    say = print if dist.rank() == 0 else lambda *_: None
    say(f"{rows} rows of dimension {dim} over {dist.size()} process(es); this one holds {len(y_mine)}")

    value, grad = gradient(w, x_mine, y_mine)
    want = numpy_gradient(w, x, y)
    # Both are sums of the same n terms |x_ij (p_i - y_i)| / n in different orders: each within gamma_n of the
    # sum of absolute values (a few more roundings for the weights and the division; 2n is ample).
    gamma = 2 * rows * np.finfo(np.float64).eps / (1 - 2 * rows * np.finfo(np.float64).eps)
    bound = 2 * gamma * (np.abs(x).T @ np.abs(1 / (1 + np.exp(-(x @ w))) - y)) / rows
    check("the data-parallel gradient is the whole dataset's", np.all(np.abs(grad - want) <= bound), "float64")
    for _ in range(steps):
        value, grad = gradient(w, x_mine, y_mine)
        w = w - STEP * grad
    same = dist.allreduce(np.float64(np.array_equal(w, dist.broadcast(w))))  # 1 from every rank that agrees
    check("every process holds the same parameters", same == dist.size(), f"{dist.size()} process(es)")
    distance, limit = np.linalg.norm(w - newton(x, y)), np.linalg.norm(numpy_gradient(w, x, y)) / LAMBDA
    check("the fit is Newton's optimum", distance <= limit, f"distance {distance:.1e} <= {limit:.1e}, loss {value:.4f}")


if __name__ == "__main__":
    main()
