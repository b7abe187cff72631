"""The generic (Numeric.AD) target and the command line."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
from programs import GENERIC_WORKLOADS

import pyaccad as acc
from pyaccad.export import export_generic


def test_workloads_export_generically_and_parse(hs_parse):
    sources = {}
    for name, fn, args in GENERIC_WORKLOADS:
        module = "G" + name[0].upper() + name[1:]
        sources[module] = export_generic(fn, *args, module=module, name=name)
        assert f"{name}Flat :: RealFloat a => [a] -> a" in sources[module]
    hs_parse(sources)


def test_cli_exports_with_arg_specs_and_example_args_convention(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(
        "import numpy as np\n\n"
        "def norm(x, w):\n    return ((x * w) ** 2.0).sum()\n\n"
        "def norm_example_args():\n    return (np.ones(3, np.float32), np.ones(3, np.float32))\n"
    )
    run = lambda *extra: (
        subprocess.run(  # noqa: E731
            [sys.executable, "-m", "pyaccad", "export", f"{script}:norm", "--module", "Norm", *extra],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    with_specs = run("--arg", "f64[2,2]", "--arg", "f64[2,2]", "--name", "normSq")
    assert "normSq :: Acc (Matrix Double, Matrix Double) -> Acc (Scalar Double)" in with_specs
    conventional = run()
    assert "norm :: Acc (Vector Float, Vector Float) -> Acc (Scalar Float)" in conventional
    generic = run("--generic")
    assert "norm :: RealFloat a => Vector a -> Vector a -> a" in generic


def test_cli_prints_extents_for_every_size_or_fixed_at_the_example(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text("def diffs(x):\n    return x[:, 1:] - x[:, :-1]\n")

    def run(*extra: str) -> subprocess.CompletedProcess:
        command = [sys.executable, "-m", "pyaccad", "export", f"{script}:diffs", "--arg", "f32[4,6]", *extra]
        return subprocess.run(command, capture_output=True, text=True)

    every_size, fixed = run().stdout, run("--fixed").stdout
    assert every_size == acc.export_haskell(lambda x: x[:, 1:] - x[:, :-1], np.zeros((4, 6), np.float32), name="diffs")
    assert "-- Written for every size: n = x's axis 0; m = x's axis 1." in every_size
    assert "let I2 n m = shape x" in every_size and "I2 n (m - 1)" in every_size
    assert fixed == acc.export_haskell(
        lambda x: x[:, 1:] - x[:, :-1], np.zeros((4, 6), np.float32), name="diffs", generic=False
    )
    assert "shape x" not in fixed and "Written for every size" not in fixed and "I2 4 5" in fixed
    both = run("--fixed", "--generic")
    assert both.returncode != 0 and "not allowed with argument" in both.stderr


def test_cli_rejects_a_bad_spec(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pyaccad", "export", "x.py:f", "--arg", "c64[3]"], capture_output=True, text=True
    )
    assert result.returncode != 0 and "not a spec like f32[3,4]" in result.stderr
