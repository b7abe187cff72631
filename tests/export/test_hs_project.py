"""The hs/ Haskell project: its generated modules parse and the primal ones are current.

The gradient modules depend on pyaccad.ad as well as the printer, so only their syntax is
checked here; after a change of either, regenerate with ``python hs/regenerate.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

HS = Path(__file__).parents[2] / "hs"
sys.path.insert(0, str(HS))

import regenerate  # noqa: E402

from pyaccad.export import export_haskell  # noqa: E402


def test_generated_modules_parse(hs_parse):
    modules = sorted((HS / "src" / "Workloads").glob("*.hs"))
    assert {m.stem for m in modules} >= {"Elementwise", "ElementwiseGrad", "Gmm", "GmmGrad", "Mlp", "MlpGrad"}
    hs_parse({m.stem: m.read_text() for m in modules})


def test_primal_modules_are_current():
    for name, (fn, args, _) in regenerate.WORKLOADS.items():
        current = export_haskell(fn, *args, module=f"Workloads.{name}", name=name[0].lower() + name[1:], generic=True)
        stored = (HS / "src" / "Workloads" / f"{name}.hs").read_text()
        assert stored == current, f"hs/src/Workloads/{name}.hs is stale: run python hs/regenerate.py"


def test_cabal_file_lists_every_module():
    cabal = (HS / "pyaccad-examples.cabal").read_text()
    for module in (HS / "src" / "Workloads").glob("*.hs"):
        assert f"Workloads.{module.stem}" in cabal
