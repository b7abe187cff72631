"""Export a program and its gradient as accelerate Haskell, and run them with GHC where it can.

The program is the energy of a discretised elastic string in a periodic
potential, ``E(u) = Σ (u[i] − u[i−1])² + Σ cos(u[i])`` (a ``stencil``, a
``map`` and two folds); its gradient comes from ``ad.grad``. Both are written
as Haskell modules (``acc.export_haskell``) to ``--out``. Then:

- where GHC can see the ``accelerate`` package (``$PYACCAD_GHC_ENV``: a package
  database directory or a GHC environment file), a ``Main`` runs both with
  accelerate's interpreter and the values are compared with pyaccad's;
- else, where ``ghc`` is on the PATH, GHC parses the modules (the imports
  cannot be resolved, so nothing runs) and it says so;
- else it says that nothing was checked by GHC.

Checks: pyaccad's gradient against finite differences, and GHC's results
against pyaccad's where GHC runs them.

    python examples/export_haskell.py [--small] [--backend B] [--out DIR]
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
from _example import arguments, central_differences, check

import pyaccad as acc
from pyaccad import ad


def energy(u: acc.Array) -> acc.Array:
    stretch = acc.stencil(lambda nb: nb[1] - nb[0], u, 3, "clamp")  # u[i] − u[i−1]; 0 at the clamped left end
    return (stretch * stretch).sum() + acc.cos(u).sum()


def numpy_energy(u: np.ndarray) -> float:
    return float(np.sum(np.diff(u) ** 2) + np.sum(np.cos(u)))


def ghc_package_flags() -> list[str] | None:
    """GHC's flags for the packages in ``$PYACCAD_GHC_ENV``, or None where it is unset."""
    env = os.environ.get("PYACCAD_GHC_ENV")
    if not env:
        return None
    return ["-package-db", env] if Path(env).is_dir() else ["-package-env", env]


def parse_check(folder: Path, modules: list[str]) -> None:
    """GHC's one-shot mode parses the whole file before resolving imports: only missing modules may fail."""
    for module in modules:
        done = subprocess.run(
            ["ghc", "-c", "-fno-code", f"{module}.hs"], cwd=folder, capture_output=True, text=True, timeout=300
        )
        parsed = done.returncode == 0 or done.stderr.count("error:") == done.stderr.count("Could not find module")
        detail = "its imports unresolved" if parsed else done.stderr.strip()[:2000]
        check(f"GHC parses {module}.hs", parsed, detail)


def run_with_accelerate(folder: Path, flags: list[str], u: np.ndarray) -> dict[str, np.ndarray]:
    """Compile a Main running both modules with accelerate's interpreter on ``u``; their printed results."""
    values = ", ".join(repr(float(v)) for v in u)
    (folder / "Main.hs").write_text(
        "\n".join(
            [
                "module Main (main) where",
                "",
                "import Data.Array.Accelerate (Z (..), (:.) (..), fromList, toList, use)",
                "import Data.Array.Accelerate.Interpreter (run)",
                "import Energy (energy)",
                "import EnergyGrad (energyGrad)",
                "",
                "main :: IO ()",
                "main = do",
                f"  let u = use (fromList (Z :. {len(u)}) [{values}])",
                '  putStrLn ("energy " ++ show (toList (run (energy u))))',
                '  putStrLn ("energyGrad " ++ show (toList (run (energyGrad u))))',
                "",
            ]
        )
    )
    built = subprocess.run(
        ["ghc", *flags, "-O0", "-outputdir", "build", "-o", "main", "Main.hs"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=900,
    )
    check("GHC compiles the exported modules against accelerate", built.returncode == 0, built.stderr[-2000:] or "ok")
    ran = subprocess.run([str(folder / "main")], capture_output=True, text=True, timeout=300, check=True)
    found = dict(re.match(r"(\w+) \[(.*)\]", line).groups() for line in ran.stdout.splitlines())
    return {name: np.array([float(v) for v in text.split(",")]) for name, text in found.items()}


def main() -> None:
    args = arguments(
        __doc__,
        lambda parser: parser.add_argument(
            "--out", type=Path, default=Path("build/export_example"), help="where the modules go"
        ),
    )
    n = 6 if args.small else 64
    u = np.sin(np.linspace(0.0, 3.0, n)) * 2.0

    gradient = ad.grad(energy)
    value, grad = acc.run(energy, u), gradient(u)
    err = np.max(np.abs(grad - central_differences(numpy_energy, u)))
    check("pyaccad's gradient = finite differences", err <= 1e-7, f"max error {err:.1e}")

    folder = args.out
    folder.mkdir(parents=True, exist_ok=True)
    sources = {
        "Energy": acc.export_haskell(energy, u, module="Energy", name="energy"),
        "EnergyGrad": acc.export_haskell(gradient, u, module="EnergyGrad", name="energyGrad"),
    }
    for module, source in sources.items():
        (folder / f"{module}.hs").write_text(source)
    print(f"wrote {', '.join(f'{m}.hs' for m in sources)} to {folder.resolve()}; the gradient module:\n")
    print(sources["EnergyGrad"])

    flags = ghc_package_flags()
    if shutil.which("ghc") is None:
        print("ghc is not on the PATH: the modules were written but not checked by GHC")
    elif flags is None:
        print("$PYACCAD_GHC_ENV is unset (GHC cannot see accelerate): parse-checking the modules only")
        parse_check(folder, list(sources))
    else:
        results = run_with_accelerate(folder, flags, u)
        for name, want in (("energy", np.atleast_1d(value)), ("energyGrad", grad)):
            err = np.max(np.abs(results[name] - want))
            check(f"accelerate's {name} = pyaccad's", err <= 1e-12 * (1 + np.max(np.abs(want))), f"{err:.1e}")


if __name__ == "__main__":
    main()
