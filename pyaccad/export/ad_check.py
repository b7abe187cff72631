"""Cross-checking pyaccad's gradient against Haskell's ``ad`` package (``Numeric.AD.grad``).

:func:`check_ad` exports a scalar function as plain Haskell generic in its
number type (:func:`pyaccad.export.targets.export_generic`, in ``Double``), compiles a
program that prints ``Numeric.AD.grad`` of it at the given arguments, runs it,
and compares with ``pyaccad.ad.grad``: an independent implementation of
reverse mode (``ad``'s tape of a Haskell program) against ours (a
transformation of the IR). ``python -m pyaccad check-ad FILE.py:FUNC --arg
f64[10] ...`` is the same from the command line. GHC must see the ``ad`` and
``vector`` packages (:mod:`pyaccad.export.ghc`: ``$PYACCAD_GHC_ENV``).

The result says both gradients, their largest difference and whether it is within the tolerance:

>>> import numpy as np
>>> AdCheck(np.array([1.0, 2.0]), np.array([1.0, 2.0 + 1e-12]), 1e-12, 2e-9).ok
True
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pyaccad.errors import BackendUnavailable, Error
from pyaccad.export import ghc
from pyaccad.export.generic import GenericExportError
from pyaccad.export.syntax import literal_text
from pyaccad.export.targets import export_generic
from pyaccad.ir import FLOAT64

RTOL = 1e-9
"""The default tolerance, relative to the largest gradient component: both sides compute in float64 with the
same operations, in orders that may differ (sums), so they agree to some ulps times the length of the sums."""


@dataclass(frozen=True)
class AdCheck:
    """pyaccad's gradient, ``ad``'s, their largest difference, and the tolerance it was compared with."""

    pyaccad: np.ndarray
    ad: np.ndarray
    max_difference: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_difference <= self.tolerance


def check_ad(f: Callable[..., Any], *args: Any, rtol: float = RTOL) -> AdCheck:
    """``pyaccad.ad.grad(f)`` and ``Numeric.AD.grad`` of ``f``'s export at ``args`` (float arrays), compared.

    The gradient is with respect to every argument, flattened and concatenated in order. Raises
    :class:`~pyaccad.errors.BackendUnavailable` when GHC or ``ad`` is missing, and the export's error when
    ``f`` is outside the generic target (see :mod:`pyaccad.export.generic`).
    """
    from pyaccad import ad

    arrays = [np.asarray(a, dtype=np.float64) for a in args]
    for module in ("Numeric.AD", "Data.Vector"):
        missing = ghc.missing_module(module)
        if missing is not None:
            raise BackendUnavailable(f"check_ad: {missing}")
    source = export_generic(f, *arrays, module="Checked", name="checked")
    if "checkedFlat ::" not in source:
        raise GenericExportError("check_ad: the function must take float arrays and return one scalar")
    flat = np.concatenate([a.reshape(-1) for a in arrays])
    values = ", ".join(literal_text(v, FLOAT64) for v in flat.tolist())
    main = "\n".join(
        [
            "module Main (main) where",
            "import Numeric.AD (grad)",
            "import Checked (checkedFlat)",
            "main :: IO ()",
            f"main = print (grad checkedFlat [{values}] :: [Double])",
        ]
    )
    with tempfile.TemporaryDirectory(prefix="pyaccad-check-ad-") as folder:
        program = Path(folder) / "check"
        ghc.compile_modules("check_ad", {"Checked": source, "Main": main}, Path(folder), ["-O1"], program)
        ran = subprocess.run([str(program)], capture_output=True, text=True, timeout=ghc.GHC_TIMEOUT_S)
    if ran.returncode != 0:
        raise Error(f"check_ad: the compiled Haskell program failed: {ran.stderr.strip()[-2000:]}")
    theirs = np.array(_parse_doubles(ran.stdout))
    grads = ad.grad(f, argnums=tuple(range(len(arrays))))(*arrays)
    ours = np.concatenate([np.asarray(g, dtype=np.float64).reshape(-1) for g in grads])
    difference = float(np.max(np.abs(ours - theirs), initial=0.0))
    return AdCheck(ours, theirs, difference, rtol * max(float(np.max(np.abs(ours), initial=0.0)), 1.0))


def _parse_doubles(text: str) -> list[float]:
    """Haskell's ``show`` of a ``[Double]``: ``[1.0,-2.5e-3,Infinity,NaN]``."""
    words = {"Infinity": np.inf, "-Infinity": -np.inf, "NaN": np.nan}
    items = [t for t in text.strip().strip("[]").split(",") if t]
    return [words[t] if t in words else float(t) for t in items]
