"""Data-parallel training under ``mpirun -n 2`` and ``-n 3`` (uneven shards) on this machine, loopback only,
against one process over the whole batch; a raising rank and mismatched trees stop every rank.

Each job runs ``mpi_worker.py`` with a generous timeout, against a hang only. Skipped, saying why, where
``mpi4py`` or ``mpirun`` is missing (``pip install 'pyaccad[mpi]'`` installs both).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import mpi_worker as worker
import numpy as np
import pytest
from helpers import gamma

from pyaccad import ad
from pyaccad.api import jit
from pyaccad.bench.cli import main as bench
from pyaccad.distributed.comm import find_mpirun, mpirun_command

HANG = 300  # seconds; a job takes a few
WORKER = Path(__file__).with_name("mpi_worker.py")
ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None or find_mpirun() is None,
    reason="needs mpi4py and mpirun: pip install 'pyaccad[mpi]'",
)


def mpirun(ranks: int, *args: str, script: Path = WORKER) -> subprocess.CompletedProcess:
    argv, env = mpirun_command(ranks, sys.executable, str(script), *args)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=HANG, cwd=ROOT)


def single_process() -> dict[str, list]:
    """The same steps in this process over the whole batch: the final parameters, the losses, the first step's
    gradients, and for each step's gradient the sum over the rows of |that row's term| (``|g_r| / n``)."""
    params, x, y = worker.problem()
    step = jit(ad.value_and_grad(worker.loss))
    out: dict[str, list] = {"losses": [], "grads": [], "abs_sums": []}
    for _ in range(worker.STEPS):
        rows = [step(params, x[r : r + 1], y[r : r + 1])[1] for r in range(worker.ROWS)]
        out["abs_sums"].append([sum(np.abs(g[k]) for g in rows) / worker.ROWS for k in range(len(params))])
        value, grads = step(params, x, y)
        out["grads"].append(grads)
        params = [p - worker.LR * g for p, g in zip(params, grads, strict=True)]
        out["losses"].append(float(value))
    return out | {"params": params}


# Each gradient element is a mean of ROWS per-row terms (each a product chain through dot products of length
# at most 5), summed in another order under mpirun (per shard, then across ranks, the shard's weight multiplied
# in and divided out: 3 roundings more): both results are within gamma_{ROWS+8} * sum|terms| of the exact one.
GAMMA = gamma(worker.ROWS + 8, "float64")


def check_against_one_process(got: np.lib.npyio.NpzFile) -> None:
    want = single_process()
    leaves = len(want["params"])
    for k in range(leaves):  # the first step starts from the same (broadcast) parameters on every rank
        error = np.abs(got[f"arr_{leaves + k}"] - want["grads"][0][k])
        assert np.all(error <= 2 * GAMMA * want["abs_sums"][0][k]), (k, error)
    # Later steps start from parameters that differ by LR times that much; over 3 steps of this small tanh
    # network that difference grows by far less than the factor 10 allowed here.
    total = [sum(step[k] for step in want["abs_sums"]) for k in range(leaves)]
    for k in range(leaves):
        error = np.abs(got[f"arr_{k}"] - want["params"][k])
        assert np.all(error <= 10 * 2 * GAMMA * worker.LR * total[k]), (k, error)
    np.testing.assert_allclose(got["losses"], want["losses"], rtol=10 * 2 * GAMMA)


@pytest.mark.parametrize("ranks", [2, 3])
def test_data_parallel_steps_match_one_process(ranks: int, tmp_path: Path) -> None:
    done = mpirun(ranks, "train", str(tmp_path / "out.npz"))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    check_against_one_process(np.load(tmp_path / "out.npz"))


def test_device_arrays_are_staged_through_the_host_across_ranks(cuda: str, tmp_path: Path) -> None:
    done = mpirun(2, "train", str(tmp_path / "out.npz"), cuda)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    check_against_one_process(np.load(tmp_path / "out.npz"))


def test_a_raising_rank_stops_every_rank() -> None:
    done = mpirun(2, "raise")
    assert done.returncode != 0
    assert "rank 1 gave up on purpose" in done.stderr
    assert "rank 1 of 2 raised RuntimeError" in done.stderr


def test_mismatched_trees_are_an_error_on_every_rank() -> None:
    done = mpirun(2, "mismatch")
    assert done.returncode != 0
    assert "ArgumentError: allreduce: the ranks passed different pytrees" in done.stderr
    assert "rank 0: op sum, tree [*], leaves [float64[3]]; rank 1: op sum, tree [*], leaves [float64[4]]" in (
        done.stderr
    )


def test_the_example_passes_its_checks_on_every_one_of_three_ranks() -> None:
    done = mpirun(3, "--small", script=ROOT / "examples" / "data_parallel.py")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    checks = re.findall(r"^(ok|FAILED): ", done.stdout, flags=re.MULTILINE)
    assert len(checks) == 3 * 3 and set(checks) == {"ok"}, done.stdout
    assert "over 3 process(es); this one holds 334" in done.stdout  # 1001 rows: 334, 334, 333


def test_the_main_job_trains_under_two_ranks_and_rank_0_alone_reports(tmp_path: Path) -> None:
    plot = tmp_path / "loss.png"
    args = ("--epochs", "2", "--require-accuracy", "0.5", "--plot", str(plot))
    done = mpirun(2, *args, script=ROOT / "examples" / "train_digits.py")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "2 process(es)" in done.stdout and done.stdout.count("test accuracy") == 1, done.stdout
    assert float(re.search(r"test accuracy ([\d.]+)%", done.stdout).group(1)) > 50  # chance is 10 %
    assert plot.exists()


def test_the_bench_times_the_mlp_gradient_over_one_and_three_ranks(capsys: pytest.CaptureFixture) -> None:
    assert bench(["--ranks", "1,3", "--size", "tiny", "--repeat", "2", "--backend", "interp"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].split() == [
        "ranks",
        "rows/rank",
        "step_ms",
        "grad_ms",
        "allreduce_ms",
        "allreduce_share",
        "speedup",
    ]
    rows = [line.split() for line in lines[2:]]
    assert [(r[0], r[1]) for r in rows] == [("1", "5"), ("3", "2")]  # the tiny batch of 5 rows: 2, 2, 1
