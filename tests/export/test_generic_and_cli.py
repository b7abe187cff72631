"""The generic (Numeric.AD) target and the command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from programs import f32

import pyaccad as acc
from pyaccad.export import GenericExportError, export_generic


def elementwise(x):
    return (acc.sin(x) * x).sum()


def logsumexp_rows(a):
    m = a.max(axis=1)
    return (acc.log(acc.exp(a - m[:, None]).sum(axis=1)) + m).sum()


def mlp(w1, b1, w2, b2, x):
    h = acc.tanh(x @ w1 + b1)
    z = h @ w2 + b2
    return -(z[:, 0] - acc.log(acc.exp(z).sum(axis=1))).mean()


def _gmm():
    sys.path.insert(0, str(Path(__file__).parents[2] / "hs"))
    from regenerate import WORKLOADS as HS_WORKLOADS

    fn, args, _ = HS_WORKLOADS["Gmm"]
    return fn, args


WORKLOADS = [
    ("gmm", *_gmm()),
    ("elementwise", elementwise, (f32(5),)),
    ("logsumexpRows", logsumexp_rows, (f32(3, 4),)),
    ("mlp", mlp, (f32(4, 3), f32(3), f32(3, 2), f32(2), f32(5, 4))),
]


def test_workloads_export_generically_and_parse(hs_parse):
    sources = {}
    for name, fn, args in WORKLOADS:
        module = "G" + name[0].upper() + name[1:]
        sources[module] = export_generic(fn, *args, module=module, name=name)
        assert f"{name}Flat :: RealFloat a => [a] -> a" in sources[module]
    hs_parse(sources)


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: acc.erf(x).sum(),
        lambda x: acc.scanl1(lambda a, b: a + b, x),
        lambda x: acc.permute(lambda a, b: a + b, acc.fill(2, 0.0), lambda i: (i % 2,), x),
    ],
)
def test_unsupported_programs_raise_a_typed_error(fn):
    with pytest.raises(GenericExportError, match="export_generic"):
        export_generic(fn, np.ones(4))
    assert issubclass(GenericExportError, acc.Error)


def test_cli_exports_with_arg_specs_and_example_args_convention(tmp_path, hs_parse):
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
    hs_parse({"NormSq": with_specs, "Norm": conventional, "NormG": generic})


def test_cli_rejects_a_bad_spec(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "pyaccad", "export", "x.py:f", "--arg", "f16[3]"], capture_output=True, text=True
    )
    assert result.returncode != 0 and "not a spec like f32[3,4]" in result.stderr
