"""The accelerate export: every primitive has a rule, every exported program parses, goldens pin a few.

Goldens live in ``tests/export/golden/NAME.hs``. They are never rewritten by the test;
after an intended change of the printer, regenerate them with

    python tests/export/regenerate_goldens.py

and review the diff.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
from programs import CASES, GOLDEN, gradient_of, module_name

import pyaccad as acc
from pyaccad.export import ExportError, export_haskell
from pyaccad.export.rules import NO_ACCELERATE, RULES
from pyaccad.frontend import trace
from pyaccad.ir import PRIMITIVES

GOLDEN_DIR = __import__("pathlib").Path(__file__).parent / "golden"


def test_every_primitive_has_an_export_rule():
    assert sorted(set(PRIMITIVES) - set(RULES)) == []


def test_the_cases_use_every_primitive():
    used = set()

    def walk(program):
        for stmt in program.stmts:
            used.add(stmt.prim.name)
            for sub in stmt.subprograms():
                walk(sub)

    for case in CASES:
        walk(trace(case.fn, *case.args).program)
    assert sorted(set(PRIMITIVES) - used) == NO_ACCELERATE


@pytest.mark.parametrize("name", NO_ACCELERATE)
def test_primitives_without_an_accelerate_counterpart_raise_naming_themselves(name):
    from pyaccad import linalg

    a, b = np.eye(2), np.ones((2, 1))
    calls = {
        "cholesky": lambda a, b: linalg.cholesky(a),
        "solve": linalg.solve,
        "triangular_solve": linalg.triangular_solve,
    }
    with pytest.raises(ExportError, match=f"export: {name} has no accelerate counterpart"):
        export_haskell(calls[name], a, b)


@pytest.fixture(scope="module")
def exported():
    # As traced (optimized=False): the goldens pin the printer, not the optimiser's current choices.
    return {
        module_name(c.name): export_haskell(c.fn, *c.args, module=module_name(c.name), name=c.name, optimized=False)
        for c in CASES
    }


def test_every_exported_module_parses(exported, hs_parse):
    hs_parse(exported)


def test_blas_flag_prints_accelerate_blas(hs_parse):
    src = export_haskell(
        lambda a, b: a @ b,
        np.ones((2, 3), np.float32),
        np.ones((3, 4), np.float32),
        module="Blas",
        name="mm",
        blas=True,
    )
    assert "import qualified Data.Array.Accelerate.Numeric.LinearAlgebra as BLAS" in src
    assert "a BLAS.<> b" in src
    hs_parse({"Blas": src})


def test_signature_and_names_follow_the_user(exported):
    src = exported["ScatterAdd"]
    assert "scatterAdd :: Acc (Vector Float, Vector Int) -> Acc (Vector Float, Vector Float)" in src
    assert "scatterAdd (T2 v idx) =" in src
    assert "permute (+)" in src and "Just_ (I1 (idx ! I1 i))" in src


def test_one_binding_per_line_and_no_unused_bindings(exported):
    for name, src in exported.items():
        body = src[src.index(" =\n") :] if " =\n" in src else ""
        bound = re.findall(r"^      (\w+) = ", body, flags=re.M)
        for var in bound:
            uses = re.findall(rf"\b{var}\b", body)
            assert len(uses) >= 2, f"{name}: {var} is bound but never used"


@pytest.mark.parametrize("name", GOLDEN)
def test_golden(name, exported):
    path = GOLDEN_DIR / f"{module_name(name)}.hs"
    assert path.exists(), f"missing golden {path}; run python tests/export/regenerate_goldens.py"
    assert exported[module_name(name)] == path.read_text()


def test_bad_names_raise_export_error():
    with pytest.raises(ExportError, match="module name"):
        export_haskell(lambda x: x, np.ones(2), module="lower")
    with pytest.raises(ExportError, match="function name"):
        export_haskell(lambda x: x, np.ones(2), name="map")
    with pytest.raises(ExportError, match="function name"):
        export_haskell(lambda x: x, np.ones(2), name="orderedBits32")  # a helper an export may print
    assert issubclass(ExportError, acc.Error)


def test_hlint_finds_no_parse_errors(exported, tmp_path):
    if shutil.which("hlint") is None:
        pytest.skip("hlint is not installed (Debian package 'hlint')")
    for name, src in exported.items():
        (tmp_path / f"{name}.hs").write_text(src)
    result = subprocess.run(["hlint", "--no-exit-code", str(tmp_path)], capture_output=True, text=True)
    assert "Parse error" not in result.stdout, result.stdout


def test_optimized_programs_and_gradients_parse(hs_parse):
    sources = {}
    for case in CASES:
        for suffix, fn in [("", case.fn), ("Grad", gradient_of(case))]:
            if fn is not None:
                module = f"{module_name(case.name)}{suffix}Opt"
                sources[module] = export_haskell(fn, *case.args, module=module, name=f"{case.name}{suffix}")
    hs_parse(sources)


def test_float_mod_is_bracketed_as_an_argument():
    # float mod is the helper modFloat, applied: `modFloat v * 2.0 3.0` would apply it to v alone. (Printed as
    # accelerate's mod', which has no fixity declaration, `v * 2.0 `mod'` 3.0` once meant v * (2.0 `mod'` 3.0).)
    src = export_haskell(lambda x: acc.map(lambda v: (v * 2.0) % 3.0, x), np.ones(3, np.float32))
    assert "modFloat (v * 2.0) 3.0" in src


def test_bool_literals_print_as_exp_bools():
    # The Prelude's True is a Bool, not an Exp Bool: `v > 0.0 && True` is a type error for GHC.
    def fn(x):
        return acc.map(lambda v: (v > 0.0) & True, x), acc.fold(lambda p, q: p | q, False, x > 0.5)

    src = export_haskell(fn, np.ones((2, 3), np.float32), optimized=False)
    body = src[src.index("f ::") :]
    assert "&& True_" in body and "fold (||) False_" in body
    assert not re.search(r"\b(True|False)\b", body)


def test_acond_branches_of_several_bindings_keep_their_layout(hs_parse):
    # A branch's `let` bindings must stand in one column, or Haskell's layout rule splits the block.
    def fn(x, y):
        return acc.acond(x.sum() > y.sum(), lambda a, b: (a * 2.0, b * 3.0), lambda a, b: (a, b - 1.0), x, y)

    src = export_haskell(fn, np.ones(3, np.float32), np.ones(3, np.float32), module="Branches")
    lines = src.splitlines()
    first = next(k for k, line in enumerate(lines) if "(let " in line)
    column = lines[first].index("(let ") + len("(let ")
    assert lines[first + 1][column - 1] == " " and lines[first + 1][column] != " ", "\n".join(lines[first : first + 2])
    hs_parse({"Branches": src})


def test_a_pads_filled_value_prints_as_its_literal():
    # a slice's transpose pads with zeros: the zero is read in the generate's lambda as a literal, not as
    # `the` of a filled one-element array (accelerate would run that array as a kernel of its own)
    from pyaccad import ad

    grad = ad.grad(lambda x: (acc.sin(x[1:3]) * x[2:4]).sum())
    source = export_haskell(grad, np.ones(5, np.float32), module="M", name="f")
    assert source.count("? (") == 2 and source.count(", 0.0))") == 2
    body = source[source.index("f x =") :]
    assert "fill" not in body and "the " not in body
