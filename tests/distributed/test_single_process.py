"""``pyaccad.distributed`` as one process (outside ``mpirun``): a world of one, no MPI needed or started."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from helpers import assert_close

import pyaccad as acc
from pyaccad import ad
from pyaccad import distributed as dist
from pyaccad.backends.cuda.arrays import DeviceArray
from pyaccad.backends.cuda.emulator import EmulatedDevice


def test_outside_mpirun_the_world_has_one_rank_and_importing_starts_no_mpi() -> None:
    code = "import sys, pyaccad, pyaccad.distributed as d; print(d.rank(), d.size(), 'mpi4py' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.split() == ["0", "1", "False"]


@pytest.mark.parametrize("n, parts", [(7, 3), (6, 3), (2, 4), (0, 2)])
def test_shards_are_contiguous_nearly_equal_and_cover_the_array(n: int, parts: int) -> None:
    data = np.arange(n * 2).reshape(n, 2)
    shards = [dist.shard(data, rank=r, size=parts) for r in range(parts)]
    np.testing.assert_array_equal(np.concatenate(shards), data)
    lengths = [len(s) for s in shards]
    assert max(lengths) - min(lengths) <= 1 and lengths == sorted(lengths, reverse=True)


def test_shard_along_another_axis_and_this_processes_share() -> None:
    data = np.arange(12).reshape(3, 4)
    np.testing.assert_array_equal(dist.shard(data, axis=1, rank=1, size=2), data[:, 2:])
    np.testing.assert_array_equal(dist.shard(data), data)


@pytest.mark.parametrize("kwargs, message", [({"axis": 2}, "axis 2 is out of range"), ({"rank": 3}, "rank 3")])
def test_shard_rejects_bad_axes_and_ranks(kwargs: dict, message: str) -> None:
    with pytest.raises(acc.ArgumentError, match=message):
        dist.shard(np.zeros((3, 4)), **kwargs)


def test_allreduce_of_one_rank_returns_new_arrays_of_the_same_values_dtypes_and_structure() -> None:
    tree = {"w": np.arange(6.0).reshape(2, 3), "n": np.int32(4), "b": (np.float32([1.5]), np.ones(2))}
    out = dist.allreduce(tree)
    assert sorted(out) == ["b", "n", "w"] and isinstance(out["b"], tuple)
    for got, want in [(out["w"], tree["w"]), (out["n"], np.asarray(tree["n"])), *zip(out["b"], tree["b"], strict=True)]:
        assert_close(got, want)
        assert not np.shares_memory(got, want)
    mean = dist.allreduce({"w": tree["w"], "b": tree["b"]}, "mean")
    for got, want in [(mean["w"], tree["w"]), *zip(mean["b"], tree["b"], strict=True)]:
        assert_close(got, want)


def test_allreduce_rejects_unknown_ops_and_integer_means() -> None:
    with pytest.raises(acc.ArgumentError, match="op must be one of"):
        dist.allreduce([np.ones(2)], op="max")
    with pytest.raises(acc.DTypeError, match="leaf 1 has dtype int64; op 'mean' takes float arrays"):
        dist.allreduce([np.ones(2), np.arange(2)], op="mean")


def test_device_arrays_are_staged_and_come_back_on_their_device() -> None:
    device = EmulatedDevice()
    tree = [DeviceArray.put(device, np.arange(3.0)), np.ones(2)]
    for out in (dist.allreduce(tree), dist.broadcast(tree)):
        assert isinstance(out[0], DeviceArray) and out[0].device is device
        assert_close(out[0].to_numpy(), np.arange(3.0))
        assert_close(np.asarray(out[1]), np.ones(2))


def test_broadcast_of_one_rank_is_the_tree() -> None:
    tree = {"a": [np.zeros(2)]}
    assert dist.broadcast(tree) is tree


def loss(w: acc.Array, x: acc.Array, y: acc.Array) -> acc.Array:
    return ((x @ w - y) ** 2).mean()


def test_value_and_grad_dp_of_one_rank_is_value_and_grad() -> None:
    rng = np.random.default_rng(0)
    w, x, y = rng.standard_normal(3), rng.standard_normal((5, 3)), rng.standard_normal(5)
    got = dist.value_and_grad_dp(loss)(w, x, y)
    want = acc.jit(ad.value_and_grad(loss))(w, x, y)
    assert_close(got[0], want[0])
    assert_close(got[1], want[1])
    residual = x @ w - y  # NumPy's gradient of the mean square
    assert_close(got[1], 2 * x.T @ residual / len(y))


@pytest.mark.parametrize(
    "args, nums, message",
    [
        ((np.zeros(2), np.zeros((3, 2)), np.zeros(4)), None, r"different lengths \[3, 4\]"),
        ((np.zeros(2), np.zeros((0, 2)), np.zeros(0)), None, "shard is empty"),
        ((np.zeros(2), np.zeros((3, 2)), np.float64(1.0)), None, "batch argument 2 holds a scalar"),
        ((np.zeros(2), np.zeros((3, 2)), np.zeros(3)), [5], "batch argument 5 of 3 is missing"),
    ],
)
def test_data_parallel_rejects_batches_it_cannot_weight(args: tuple, nums: list | None, message: str) -> None:
    with pytest.raises(acc.ArgumentError, match=message):
        dist.value_and_grad_dp(loss, batch_argnums=nums)(*args)


def test_data_parallel_rejects_unknown_reductions() -> None:
    with pytest.raises(acc.ArgumentError, match="reduce must be 'mean' or 'sum'"):
        dist.data_parallel(lambda x: x, 0, reduce="max")


def test_value_and_grad_dp_on_the_gpu_returns_device_arrays(cuda: str) -> None:
    rng = np.random.default_rng(1)
    w, x, y = rng.standard_normal(3), rng.standard_normal((5, 3)), rng.standard_normal(5)
    on_gpu = [acc.device_put(a, backend=cuda) for a in (w, x, y)]
    value, grad = dist.value_and_grad_dp(loss, backend=cuda)(*on_gpu)
    assert isinstance(value, DeviceArray) and isinstance(grad, DeviceArray)
    assert_close(grad.to_numpy(), 2 * x.T @ (x @ w - y) / len(y))
    assert_close(value.to_numpy(), np.mean((x @ w - y) ** 2))
