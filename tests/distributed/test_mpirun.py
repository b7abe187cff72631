"""Data-parallel training under ``mpirun -n 2`` and ``-n 3`` (uneven shards) on this machine, loopback only,
against one process over the whole batch; a raising rank and mismatched trees stop every rank.

Each job runs ``worker.py`` with a generous timeout, against a hang only. Skipped, saying why, where
``mpi4py`` or ``mpirun`` is missing (``pip install 'pyaccad[mpi]'`` installs both).
"""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import worker
from helpers import gamma

from pyaccad import ad
from pyaccad.api import jit
from pyaccad.bench.cli import main as bench
from pyaccad.distributed.comm import find_mpirun, mpirun_command

HANG = 300  # seconds; a job takes a few
WORKER = Path(__file__).with_name("worker.py")
ROOT = Path(__file__).parents[2]

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("mpi4py") is None or find_mpirun() is None,
    reason="needs mpi4py and mpirun: pip install 'pyaccad[mpi]'",
)


def mpirun(ranks: int, *args: str, script: Path = WORKER) -> subprocess.CompletedProcess:
    argv, env = mpirun_command(ranks, sys.executable, str(script), *args)
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=HANG, cwd=ROOT)


def single_process() -> tuple[list[np.ndarray], list[float], list[np.ndarray]]:
    """The same steps in this process over the whole batch; also each step's sum of |per-row terms| of the
    gradient, for the bound."""
    params, x, y = worker.problem()
    step = jit(ad.value_and_grad(worker.loss))
    per_row = jit(ad.value_and_grad(lambda p, xr, yr: worker.loss(p, xr, yr)))
    losses, abs_sums = [], [np.zeros_like(p) for p in params]
    for _ in range(worker.STEPS):
        for r in range(worker.ROWS):  # |g_r| / ROWS summed: what reordering the mean's sum can err by
            rows = per_row(params, x[r : r + 1], y[r : r + 1])[1]
            abs_sums = [s + np.abs(g) / worker.ROWS for s, g in zip(abs_sums, rows, strict=True)]
        value, grads = step(params, x, y)
        params = [p - worker.LR * g for p, g in zip(params, grads, strict=True)]
        losses.append(float(value))
    return params, losses, abs_sums


@pytest.mark.parametrize("ranks", [2, 3])
def test_data_parallel_steps_match_one_process(ranks: int, tmp_path: Path) -> None:
    out = tmp_path / "params.npz"
    done = mpirun(ranks, "train", str(out))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    got = np.load(out)
    want, losses, abs_sums = single_process()
    # Summed in another order (per shard, then across ranks, with a weight multiplied and divided out), each
    # gradient element is within a few gamma_n of sum |terms|; the parameters step by LR times that, and the
    # tanh network amplifies earlier steps' differences only mildly over 3 steps (factor 10 of headroom).
    bound = [10 * worker.STEPS * worker.LR * gamma(worker.ROWS + 4, "float64") * s for s in abs_sums]
    for k, (p, b) in enumerate(zip(want, bound, strict=True)):
        assert np.all(np.abs(got[f"arr_{k}"] - p) <= b + 1e-300), (k, got[f"arr_{k}"] - p, b)
    np.testing.assert_allclose(got["losses"], losses, rtol=10 * gamma(worker.ROWS + 4, "float64"))


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
