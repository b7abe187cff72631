"""Collectives over pytrees of arrays: one contiguous buffer and one MPI message per dtype.

A pytree's leaves are grouped by dtype and each group is packed into one contiguous buffer, which MPI
reduces (or broadcasts) in place; the results are views of that buffer, shaped as the leaves. So a model
of 100 float32 arrays costs one message, not 100. Before a reduction, every rank's fingerprint of its tree
(structure, shapes, dtypes, operation) is gathered — one small message — so ranks that pass different trees
get an :class:`~pyaccad.errors.ArgumentError` naming both trees, never a reduction of misaligned buffers.

Leaves in GPU memory (the cuda backend's ``DeviceArray``) are staged: copied to the host, reduced there and
copied back to the same device. On a multi-GPU machine NCCL or a CUDA-aware MPI would reduce the device
buffers directly (docs/distributed.md says how).

>>> import numpy as np
>>> allreduce({"w": np.ones(2), "b": np.float64(3.0)}, op="mean")  # a world of one: the same values
{'b': array(3.), 'w': array([1., 1.])}
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from pyaccad.backends.cuda.arrays import DeviceArray
from pyaccad.distributed.comm import world
from pyaccad.errors import ArgumentError, DTypeError, with_location
from pyaccad.frontend.pytree import TreeDef, flatten, unflatten

OPS = ("sum", "mean")


def rank() -> int:
    """This process's rank, 0 to ``size() - 1`` (0 outside ``mpirun``).

    >>> from pyaccad import distributed as dist
    >>> 0 <= dist.rank() < dist.size()
    True
    """
    return _rank_and_size()[0]


def size() -> int:
    """The number of processes in the job (1 outside ``mpirun``).

    >>> from pyaccad import distributed as dist
    >>> dist.size() >= 1
    True
    """
    return _rank_and_size()[1]


def _rank_and_size() -> tuple[int, int]:
    comm = world()
    return (0, 1) if comm is None else (comm.Get_rank(), comm.Get_size())


def shard(array: Any, axis: int = 0, *, rank: int | None = None, size: int | None = None) -> np.ndarray:
    """This process's share of ``array`` along ``axis``: ``size`` nearly equal contiguous parts, the first
    ``n % size`` of them one longer (``rank``/``size`` default to this process's).

    >>> import numpy as np
    >>> from pyaccad import distributed as dist
    >>> [dist.shard(np.arange(7), rank=r, size=3).tolist() for r in range(3)]
    [[0, 1, 2], [3, 4], [5, 6]]
    """
    data = np.asarray(array)
    own_rank, own_size = _rank_and_size()
    rank, size = own_rank if rank is None else rank, own_size if size is None else size
    if not 0 <= rank < size:
        raise ArgumentError(with_location(f"shard: rank {rank} is not in 0 to {size - 1}"))
    if not -data.ndim <= axis < data.ndim:
        raise ArgumentError(with_location(f"shard: axis {axis} is out of range for an array of shape {data.shape}"))
    n = data.shape[axis]
    base, extra = divmod(n, size)
    start = rank * base + min(rank, extra)
    stop = start + base + (rank < extra)
    return data[(slice(None),) * (axis % data.ndim) + (slice(start, stop),)]


def broadcast(tree: Any, root: int = 0) -> Any:
    """The ``root`` rank's ``tree`` on every rank (what other ranks pass is ignored and may be None).

    Only the tree's structure, shapes and dtypes are pickled; the data goes as one message per dtype.

    >>> import numpy as np
    >>> from pyaccad import distributed as dist
    >>> dist.broadcast([np.zeros(2, np.float32), np.ones(3)])
    [array([0., 0.], dtype=float32), array([1., 1., 1.])]
    """
    comm = world()
    if comm is None:
        return tree
    if comm.Get_rank() == root:
        leaves, treedef = flatten(tree)
        host = [_host(leaf, "broadcast") for leaf in leaves]
        on_device = [isinstance(leaf, DeviceArray) for leaf in leaves]
        comm.bcast((treedef, [(a.shape, a.dtype.str) for a in host], on_device), root=root)
    else:
        treedef, specs, on_device = comm.bcast(None, root=root)
        host = [np.empty(shape, dtype) for shape, dtype in specs]
        leaves = [None] * len(host)
    buffers = _pack(host)
    for buffer in buffers.values():
        comm.Bcast(buffer, root=root)
    results = _unpack(buffers, host)
    return unflatten(treedef, _restage(results, on_device, _devices(leaves)))


def allreduce(tree: Any, op: str = "sum") -> Any:
    """The sum (or mean) over all ranks of ``tree``, leaf by leaf, on every rank; every rank must pass a tree
    of the same structure, shapes and dtypes (else ArgumentError on every rank).

    Leaves are NumPy arrays or scalars of an integer or float dtype (``"mean"``: floats only) or cuda
    ``DeviceArray`` (staged through host memory, returned on their device).

    >>> import numpy as np
    >>> from pyaccad import distributed as dist
    >>> dist.allreduce((np.arange(3.0), np.int32(2)))  # a world of one: the same values, new arrays
    (array([0., 1., 2.]), array(2, dtype=int32))
    """
    return reduce_tree(tree, op)


def reduce_tree(tree: Any, op: str, weight: float | None = None) -> Any:
    """:func:`allreduce`, or with ``weight`` the mean over ranks weighted by each rank's ``weight``.

    The weight rides in one extra element of each dtype's buffer, so a weighted mean is still one message
    per dtype.
    """
    what = "allreduce"
    if op not in OPS:
        raise ArgumentError(with_location(f"{what}: op must be one of {OPS}, got {op!r}"))
    leaves, treedef = flatten(tree)
    host = [_host(leaf, what) for leaf in leaves]
    for k, a in enumerate(host):
        if a.dtype.kind not in "iuf" or (a.dtype.kind != "f" and (op == "mean" or weight is not None)):
            allowed = "float" if op == "mean" or weight is not None else "integer or float"
            raise DTypeError(with_location(f"{what}: leaf {k} has dtype {a.dtype}; op {op!r} takes {allowed} arrays"))
    comm = world()
    if comm is None:
        weight = None  # a world of one: the values as they are, not scaled and unscaled
    else:
        check_same_trees(comm, _fingerprint(treedef, host, op, weight is not None), what)
    buffers = _pack(host, weight)
    for buffer in buffers.values():
        if comm is not None:
            comm.Allreduce(_in_place(), buffer)
        if weight is not None:
            buffer[:-1] /= buffer[-1]
        elif op == "mean" and comm is not None:
            buffer /= comm.Get_size()
    results = _unpack(buffers, host)
    devices = _devices(leaves)
    return unflatten(treedef, _restage(results, [d is not None for d in devices], devices))


def _host(leaf: Any, what: str) -> np.ndarray:
    if isinstance(leaf, DeviceArray):
        return leaf.to_numpy()
    try:
        return np.asarray(leaf)
    except Exception as exc:
        raise ArgumentError(with_location(f"{what}: a leaf of type {type(leaf).__name__} is not an array")) from exc


def _pack(host: Sequence[np.ndarray], weight: float | None = None) -> dict[np.dtype, np.ndarray]:
    """One contiguous buffer per dtype (in order of first appearance), the leaves' elements in leaf order;
    with ``weight``, the elements scaled by it and the weight appended."""
    buffers: dict[np.dtype, np.ndarray] = {}
    for dtype in dict.fromkeys(a.dtype for a in host):
        parts = [a.ravel() for a in host if a.dtype == dtype]
        if weight is not None:
            parts = [np.concatenate(parts) * dtype.type(weight), np.array([weight], dtype)]
        buffers[dtype] = np.concatenate(parts) if parts else np.empty(0, dtype)
    return buffers


def _unpack(buffers: dict[np.dtype, np.ndarray], like: Sequence[np.ndarray]) -> list[np.ndarray]:
    offsets = dict.fromkeys(buffers, 0)
    out = []
    for a in like:
        start = offsets[a.dtype]
        offsets[a.dtype] = start + a.size
        out.append(buffers[a.dtype][start : start + a.size].reshape(a.shape))
    return out


def _devices(leaves: Sequence[Any]) -> list[Any]:
    """The device of each leaf that is a ``DeviceArray``, else None."""
    return [leaf.device if isinstance(leaf, DeviceArray) else None for leaf in leaves]


def _restage(results: list[np.ndarray], on_device: Sequence[bool], devices: Sequence[Any]) -> list[Any]:
    """Results that came from (or, on a broadcast's receiving ranks, go to) the GPU, put back there."""
    out: list[Any] = []
    for result, device_leaf, device in zip(results, on_device, devices, strict=True):
        if not device_leaf:
            out.append(result)
        elif device is not None:
            out.append(DeviceArray.put(device, result))
        else:
            from pyaccad.api import device_put

            out.append(device_put(result, backend="cuda"))
    return out


def _in_place() -> Any:
    from mpi4py import MPI

    return MPI.IN_PLACE


def _fingerprint(treedef: TreeDef, host: Sequence[np.ndarray], op: str, weighted: bool) -> tuple[bytes, str]:
    leaves = ", ".join(f"{a.dtype}{list(a.shape)}" for a in host)
    text = f"op {op}{' (weighted)' if weighted else ''}, tree {treedef}, leaves [{leaves}]"
    return hashlib.blake2b(text.encode(), digest_size=8).digest(), text


def check_same_trees(comm: Any, fingerprint: tuple[bytes, str], what: str) -> None:
    """Raise ArgumentError on every rank unless every rank's fingerprint digest is the same.

    One allgather of 8 bytes per rank; only when they differ are the descriptions gathered, to name them.
    """
    digests = comm.allgather(fingerprint[0])
    if len(set(digests)) == 1:
        return
    texts = comm.allgather(fingerprint[1])
    other = next(r for r, d in enumerate(digests) if d != digests[0])
    raise ArgumentError(
        with_location(
            f"{what}: the ranks passed different pytrees (structure, shapes or dtypes); "
            f"rank 0: {texts[0]}; rank {other}: {texts[other]}"
        )
    )
