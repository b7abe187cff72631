"""Data parallelism: every rank runs the compiled function on its shard, and the results are averaged.

A loss that is a mean over its batch has, over the union of the ranks' shards, the mean of the ranks'
losses weighted by their shard sizes, and so has its gradient (the gradient is linear in the per-example
terms). :func:`data_parallel` wraps any function whose results are such means; :func:`value_and_grad_dp`
is ``ad.value_and_grad``, compiled, wrapped so.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import distributed as dist
>>> loss = lambda w, x: ((x @ w) ** 2).mean()
>>> x = np.arange(6.0).reshape(3, 2)
>>> value, grad = dist.value_and_grad_dp(loss)(np.ones(2), dist.shard(x))
>>> float(value), grad
(35.666666666666664, array([30.66666667, 40.66666667]))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pyaccad.distributed.collectives import reduce_tree
from pyaccad.errors import ArgumentError, with_location
from pyaccad.frontend.pytree import flatten


def data_parallel(
    fn: Callable[..., Any], batch_argnums: int | Sequence[int] = (), reduce: str = "mean"
) -> Callable[..., Any]:
    """``fn`` run on each rank's shard, its results combined across ranks on every rank.

    ``batch_argnums`` are the positional arguments that hold this rank's shard of the batch (axis 0 of each
    of their arrays, one length for all). ``reduce="mean"``: ``fn``'s results are means over its batch and
    come back as the mean over all ranks' batches, each rank weighted by its number of rows; ``"sum"``:
    summed over ranks. Outside ``mpirun`` it is ``fn``.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import distributed as dist
    >>> mean_sq = dist.data_parallel(acc.jit(lambda x: (x * x).mean()), batch_argnums=0)
    >>> float(mean_sq(dist.shard(np.arange(4.0))))
    3.5
    """
    nums = (batch_argnums,) if isinstance(batch_argnums, int) else tuple(batch_argnums)
    if reduce not in ("mean", "sum"):
        raise ArgumentError(with_location(f"data_parallel: reduce must be 'mean' or 'sum', got {reduce!r}"))

    def parallel(*args: Any) -> Any:
        rows = batch_rows(args, nums)
        if reduce == "mean" and rows == 0:
            raise ArgumentError(with_location("data_parallel: this rank's shard is empty (fewer rows than ranks)"))
        result = fn(*args)
        return reduce_tree(result, "sum") if reduce == "sum" else reduce_tree(result, "mean", weight=rows)

    parallel.__name__ = f"data_parallel({getattr(fn, '__name__', 'fn')})"
    return parallel


def value_and_grad_dp(
    f: Callable[..., Any],
    argnums: int | Sequence[int] = 0,
    batch_argnums: int | Sequence[int] | None = None,
    backend: str | None = None,
) -> Callable[..., Any]:
    """``acc.jit(ad.value_and_grad(f, argnums), backend)`` run data-parallel: ``f`` is a mean over its
    batch, each rank passes its shard, and every rank gets the loss and gradient of the whole batch.

    ``batch_argnums`` (default: every positional argument not in ``argnums``) hold the shards.

    >>> import numpy as np
    >>> from pyaccad import distributed as dist
    >>> vg = dist.value_and_grad_dp(lambda w, x: (x * w).mean())
    >>> vg(np.float64(2.0), dist.shard(np.array([1.0, 3.0])))
    (array(4.), array(2.))
    """
    from pyaccad import ad
    from pyaccad.api import jit

    compiled = jit(ad.value_and_grad(f, argnums), backend)
    differentiated = {argnums} if isinstance(argnums, int) else set(argnums)
    if batch_argnums is not None:
        return data_parallel(compiled, batch_argnums)

    def default_batch(*args: Any) -> Any:
        return data_parallel(compiled, [k for k in range(len(args)) if k not in differentiated])(*args)

    return default_batch


def batch_rows(args: Sequence[Any], nums: Sequence[int]) -> int:
    """The common length of axis 0 of the arrays in ``args[k]`` for ``k`` in ``nums``."""
    lengths = {}
    for k in nums:
        if not -len(args) <= k < len(args):
            raise ArgumentError(with_location(f"data_parallel: batch argument {k} of {len(args)} is missing"))
        for leaf in flatten(args[k])[0]:
            shape = np.shape(leaf)
            if not shape:
                raise ArgumentError(
                    with_location(f"data_parallel: batch argument {k} holds a scalar; its arrays need a batch axis")
                )
            lengths[shape[0]] = k
    if len(lengths) > 1:
        raise ArgumentError(
            with_location(f"data_parallel: the batch arguments' arrays have different lengths {sorted(lengths)}")
        )
    if not lengths:
        raise ArgumentError(with_location("data_parallel: no batch arguments, so no shard size to weight by"))
    return next(iter(lengths))
