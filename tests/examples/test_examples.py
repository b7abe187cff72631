"""Every example in ``examples/`` runs in its ``--small`` mode, and the main job at reduced size.

The examples check their own results against independent references (NumPy,
finite differences) and exit with status 1 when a check fails, so a run that
succeeds and reports its checks passed is the assertion. Each runs in a
subprocess, as a user runs it, with a generous timeout only against hangs.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from pyaccad.backends import availability

EXAMPLES = Path(__file__).parents[2] / "examples"
HANG = 900  # seconds; a hang, not a slow machine: each example takes seconds
SELF_CHECKING = sorted(
    p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_") and p.stem not in ("quickstart", "train_digits")
)
# the default backend where it runs here, else the reference interpreter
BACKEND = "native" if availability()["native"] is None else "interp"


def run_example(name: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--backend", BACKEND, *args],
        capture_output=True,
        text=True,
        timeout=HANG,
        cwd=EXAMPLES.parent,
    )
    assert done.returncode == 0, f"{name} exited with {done.returncode}:\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
    return done.stdout


def test_the_examples_are_all_here():
    assert SELF_CHECKING == [
        "data_parallel",
        "export_haskell",
        "fit_gmm",
        "heat_inverse",
        "logistic_regression",
        "newton_cg",
        "per_example_gradients",
    ]


@pytest.mark.parametrize("name", SELF_CHECKING)
def test_example_passes_its_checks(name: str, tmp_path: Path) -> None:
    extra = ("--out", str(tmp_path)) if name == "export_haskell" else ()
    out = run_example(name, "--small", *extra)
    checks = re.findall(r"^(ok|FAILED): ", out, flags=re.MULTILINE)
    assert len(checks) >= 2 and set(checks) == {"ok"}, out
    if name == "export_haskell":  # the modules are there, whether or not GHC could check them here
        grad = (tmp_path / "EnergyGrad.hs").read_text()
        assert "energyGrad :: Acc (Vector Double) -> Acc (Vector Double)" in grad
        assert "energy :: Acc (Vector Double) -> Acc (Scalar Double)" in (tmp_path / "Energy.hs").read_text()


def test_quickstart_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "quickstart.py")], capture_output=True, text=True, timeout=HANG
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert "== map/fold: dot product" in done.stdout


def test_main_job_learns_and_plots(tmp_path: Path) -> None:
    import matplotlib.image

    plot = tmp_path / "loss.png"
    out = run_example("train_digits", "--epochs", "2", "--require-accuracy", "0.5", "--plot", str(plot))
    accuracy = float(re.search(r"test accuracy ([\d.]+)%", out).group(1)) / 100
    assert accuracy > 0.5, out  # chance is 10 %; two epochs reach about 90 %
    assert f"loss curves: {plot.resolve()}" in out
    image = matplotlib.image.imread(plot)
    assert image.shape[:2] == (400, 640)  # figsize 6.4 x 4 inches at 100 dpi


def test_main_job_fails_below_the_required_accuracy(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "train_digits.py"), "--backend", BACKEND, "--epochs", "1", "--hidden", "4"]
        + ["--require-accuracy", "1.01", "--plot", str(tmp_path / "loss.png")],
        capture_output=True,
        text=True,
        timeout=HANG,
    )
    assert done.returncode == 1 and "below the required" in done.stderr, done.stderr[-4000:]
