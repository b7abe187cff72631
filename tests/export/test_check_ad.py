"""``check_ad`` and ``python -m pyaccad check-ad``: pyaccad's gradient against Haskell's ``Numeric.AD.grad``.

Where GHC sees the ``ad`` package (``$PYACCAD_GHC_ENV``), the workloads' gradients agree with ``ad``'s and
the command line says so; everywhere, a missing ``ad`` (or GHC) is a clear ``BackendUnavailable`` and exit
status 2, and a function outside the generic target is the export's error.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import require_haskell_modules
from programs import GENERIC_WORKLOADS

import pyaccad as acc
from pyaccad.export import GenericExportError, check_ad

ROOT = Path(__file__).parents[2]
SCRIPT = """\
import pyaccad as acc

def energy(x, y):
    return (acc.sin(x) * y + acc.exp(-x * x)).sum()
"""


def _require_ad() -> None:
    require_haskell_modules("Numeric.AD", "Data.Vector", why="ad is unavailable here")


@pytest.mark.parametrize("name, fn, args", GENERIC_WORKLOADS, ids=[w[0] for w in GENERIC_WORKLOADS])
def test_workload_gradients_agree_with_numeric_ad(name, fn, args):
    _require_ad()
    result = check_ad(fn, *args)
    assert result.ok, (name, result)
    assert result.pyaccad.shape == result.ad.shape == (sum(np.size(a) for a in args),)


def test_the_command_line_prints_both_gradients(tmp_path):
    _require_ad()
    (tmp_path / "energy.py").write_text(SCRIPT)
    command = [sys.executable, "-m", "pyaccad", "check-ad", f"{tmp_path / 'energy.py'}:energy"]
    ran = subprocess.run([*command, "--arg", "f64[4]", "--arg", "f64[4]"], capture_output=True, text=True, cwd=ROOT)
    assert ran.returncode == 0, ran.stderr
    assert "Numeric.AD.grad: [" in ran.stdout and ran.stdout.strip().endswith("agree")


def test_missing_ad_is_named_and_exits_2(tmp_path, monkeypatch):
    monkeypatch.setenv("PYACCAD_GHC_ENV", str(tmp_path))  # an empty package database: no ad in it
    with pytest.raises(acc.BackendUnavailable, match="Numeric.AD|GHC is not installed"):
        check_ad(lambda x: (x * x).sum(), np.ones(3))
    (tmp_path / "energy.py").write_text(SCRIPT)
    command = [sys.executable, "-m", "pyaccad", "check-ad", f"{tmp_path / 'energy.py'}:energy", "--arg", "f64[2]"]
    ran = subprocess.run([*command, "--arg", "f64[2]"], capture_output=True, text=True, cwd=ROOT)
    assert ran.returncode == 2 and ("Numeric.AD" in ran.stderr or "GHC is not installed" in ran.stderr)


def test_a_function_outside_the_generic_target_is_the_exports_error():
    _require_ad()
    with pytest.raises(GenericExportError, match="one scalar"):
        check_ad(lambda x: x * 2.0, np.ones(3))
