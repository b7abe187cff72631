"""Exported programs compiled by GHC against accelerate / ad, run, and compared with pyaccad.

These run only where GHC can see the packages, through a package database directory or a
GHC environment file named by ``$PYACCAD_GHC_ENV``; elsewhere they skip and say why.

1. Every export-test program and its gradient (:func:`programs.gradient_of`), and the
   workloads with their gradients, compiled against ``accelerate``
   and run with ``Data.Array.Accelerate.Interpreter.run`` on the inputs pyaccad's ``interp``
   backend gets; the results agree.
2. ``Numeric.AD.grad`` of the generic export of each workload agrees with ``pyaccad.ad.grad``.
"""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from programs import CASES, GENERIC_WORKLOADS, gradient_of, module_name

import pyaccad as acc
from pyaccad.export import export_generic, export_haskell
from pyaccad.export.syntax import haskell_tuple, literal_text, tuple_tree
from pyaccad.frontend.pytree import flatten

HS_DIR = Path(__file__).parents[2] / "hs"
TOLERANCE = {np.dtype("float32"): 2e-4, np.dtype("float64"): 1e-9}


def _ghc_flags() -> list[str]:
    env = os.environ.get("PYACCAD_GHC_ENV")
    if not env:
        pytest.skip("set $PYACCAD_GHC_ENV to a package db (directory) or GHC environment file with accelerate and ad")
    if shutil.which("ghc") is None:
        pytest.skip("ghc is not installed")
    return ["-package-db", env] if Path(env).is_dir() else ["-package-env", env]


def _require(flags: list[str], package: str, module: str, tmp: Path) -> None:
    probe = tmp / f"Probe{package.capitalize()}.hs"
    probe.write_text(f"import {module} ()\nmain :: IO ()\nmain = return ()\n")
    found = subprocess.run(["ghc", *flags, "-fno-code", str(probe)], capture_output=True, text=True)
    if found.returncode != 0:
        pytest.skip(f"ghc cannot find {package} through $PYACCAD_GHC_ENV: {found.stderr.strip()[:300]}")


def _compile_and_run(flags: list[str], folder: Path, main: str, modules: dict[str, str]) -> str:
    for name, source in modules.items():
        (folder / f"{name}.hs").write_text(source)
    (folder / "Main.hs").write_text(main)
    built = subprocess.run(
        [
            "ghc",
            *flags,
            "-O0",
            "-i" + str(folder),
            "-outputdir",
            str(folder / "build"),
            "-o",
            str(folder / "main"),
            str(folder / "Main.hs"),
        ],
        capture_output=True,
        text=True,
    )
    assert built.returncode == 0, f"GHC rejected the exported modules:\n{built.stdout[-4000:]}{built.stderr[-6000:]}"
    ran = subprocess.run([str(folder / "main")], capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


def _hs_list(a: np.ndarray) -> str:
    return "[" + ", ".join(literal_text(v, a.dtype) for v in a.reshape(-1).tolist()) + "]"


def _hs_array(a: np.ndarray) -> str:
    shape = " :. ".join(["Z", *map(str, a.shape)])
    return f"fromList ({shape}) {_hs_list(a)}"


def _parse_values(text: str) -> np.ndarray:
    items = [t for t in text.strip().strip("[]").split(",") if t]
    words = {"True": 1.0, "False": 0.0, "Infinity": math.inf, "-Infinity": -math.inf, "NaN": math.nan}
    return np.array([words[t] if t in words else float(t) for t in items])


def _accelerate_main(cases: list[tuple[str, str, list[np.ndarray], int]]) -> str:
    lines = [
        "module Main (main) where",
        "",
        "import Data.Array.Accelerate (Z (..), (:.) (..), fromList, toList, use)",
        "import Data.Array.Accelerate.Interpreter (run)",
    ]
    lines += [f"import {module}" for module, _, _, _ in cases]
    lines += ["", "main :: IO ()", "main = do"]
    for _module, function, inputs, n_out in cases:  # past 16 arrays, tuples nest as the exported signature's
        argument = tuple_tree([_hs_array(x) for x in inputs], haskell_tuple)
        outs = [f"o{k}" for k in range(n_out)]
        lines.append(f"  let {tuple_tree(outs, haskell_tuple)} = run ({function} (use ({argument})))")
        lines += [f'  putStrLn ("{function} {k} " ++ show (toList {o}))' for k, o in enumerate(outs)]
    return "\n".join(lines) + "\n"


def _programs():
    """(module, function, fn, args) of every export-test program and every workload's gradient."""
    from pyaccad import ad

    sys.path.insert(0, str(HS_DIR))
    import regenerate

    for case in CASES:
        yield module_name(case.name), case.name, case.fn, case.args
        gradient = gradient_of(case)
        if gradient is not None:
            yield f"{module_name(case.name)}Grad", f"{case.name}Grad", gradient, case.args
    for name, (fn, args, argnums) in regenerate.WORKLOADS.items():
        yield f"Workload{name}", f"workload{name}", fn, args
        yield f"Workload{name}Grad", f"workload{name}Grad", ad.grad(fn, argnums=argnums), args


def test_accelerate_interpreter_agrees_with_interp(tmp_path):
    flags = _ghc_flags()
    _require(flags, "accelerate", "Data.Array.Accelerate.Interpreter", tmp_path)
    modules, cases, expected = {}, [], {}
    for module, function, fn, args in _programs():
        # the Interpreter's bitcast is wrong (accelerate 1.4): float max/min folds as maximum/minimum here;
        # test_bridge.py runs the ordered folds through accelerate-llvm-native
        modules[module] = export_haskell(fn, *args, module=module, name=function, ordered_folds=False)
        inputs = [np.asarray(a) for a in flatten(tuple(args))[0]]
        outputs = flatten(acc.run(fn, *args, backend="interp"))[0]
        cases.append((module, function, inputs, len(outputs)))
        expected.update({f"{function} {k}": np.asarray(o) for k, o in enumerate(outputs)})
    printed = _compile_and_run(flags, tmp_path, _accelerate_main(cases), modules)
    results = dict(re.match(r"(\S+ \d+) (.*)", line).groups() for line in printed.splitlines())
    for key, want in expected.items():
        got = _parse_values(results[key])
        tol = TOLERANCE.get(want.dtype, 0)
        np.testing.assert_allclose(got, want.reshape(-1).astype(float), rtol=tol, atol=tol, err_msg=key)


def test_numeric_ad_grad_agrees_with_pyaccad_grad(tmp_path):
    from pyaccad import ad

    flags = _ghc_flags()
    _require(flags, "ad", "Numeric.AD", tmp_path)
    _require(flags, "vector", "Data.Vector", tmp_path)
    modules, lines, expected = {}, [], {}
    for name, fn, args in GENERIC_WORKLOADS:
        args64 = tuple(a.astype(np.float64) for a in args)
        module = "G" + name[0].upper() + name[1:]
        modules[module] = export_generic(fn, *args64, module=module, name=name)
        flat = np.concatenate([a.reshape(-1) for a in args64])
        lines.append(f'  putStrLn ("{name} " ++ show (grad {name}Flat {_hs_list(flat)} :: [Double]))')
        grads = ad.grad(fn, argnums=tuple(range(len(args))))(*args64)
        expected[name] = np.concatenate([np.asarray(g).reshape(-1) for g in grads])
    main = (
        "\n".join(
            [
                "module Main (main) where",
                "",
                "import Numeric.AD (grad)",
                *[f"import {m}" for m in modules],
                "",
                "main :: IO ()",
                "main = do",
                *lines,
            ]
        )
        + "\n"
    )
    printed = _compile_and_run(flags, tmp_path, main, modules)
    for line in printed.splitlines():
        name, values = line.split(" ", 1)
        np.testing.assert_allclose(_parse_values(values), expected[name], rtol=1e-9, atol=1e-12, err_msg=name)
