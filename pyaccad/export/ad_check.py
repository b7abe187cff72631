"""Cross-checking pyaccad's gradient against Haskell's ``ad`` package (``Numeric.AD.grad``).

:func:`check_ad` exports a scalar function as plain Haskell generic in its
number type (:func:`pyaccad.export.export_generic`, in ``Double``), compiles a
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
from pyaccad.export.generic import GenericExportError, generic_module_source
from pyaccad.export.syntax import literal_text
from pyaccad.export.targets import traced_programs
from pyaccad.ir import FLOAT64, Program, Stmt

RTOL = 1e-9
"""The default tolerance, relative to the largest gradient component: both sides compute in float64 with the
same operations, in orders that may differ (sums), so they agree to some ulps times the length of the sums."""


@dataclass(frozen=True)
class AdCheck:
    """pyaccad's gradient, ``ad``'s, their largest difference, and the tolerance it was compared with.

    ``own_derivative`` names the first rule by which ``f`` defines its own derivative (``stop_gradient``,
    ``custom_vjp``, and where), or is None: ``Numeric.AD`` differentiates what ``f`` computes, ``pyaccad.ad.grad``
    follows the rule, so a difference may be by design (a ``stop_gradient`` on a log-sum-exp's shift changes
    nothing; one on a factor does).
    """

    pyaccad: np.ndarray
    ad: np.ndarray
    max_difference: float
    tolerance: float
    own_derivative: str | None = None

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
    program, printed = traced_programs(f, tuple(arrays))
    own = _own_derivative(program)  # in the traced program: the optimised one has the rules' bodies spliced in
    source = generic_module_source(printed, "Checked", "checked")
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
        # -O0: GHC's optimiser costs more than it saves on these one-shot programs: the benchmark workloads
        # checked 1.3-2.2x sooner from source to answer (gmm 7.7 -> 3.6 s, lstm 9.4 -> 4.2 s, load 13-15), and a
        # 200 x 10 Gram matrix's log-sum-exp 8.2 -> 6.7 s, ``ad``'s own code being compiled already
        ghc.compile_modules("check_ad", {"Checked": source, "Main": main}, Path(folder), ["-O0"], program)
        ran = subprocess.run([str(program)], capture_output=True, text=True, timeout=ghc.GHC_TIMEOUT_S)
    if ran.returncode != 0:
        raise Error(f"check_ad: the compiled Haskell program failed: {ran.stderr.strip()[-2000:]}")
    theirs = np.array(_parse_doubles(ran.stdout))
    grads = ad.grad(f, argnums=tuple(range(len(arrays))))(*arrays)
    ours = np.concatenate([np.asarray(g, dtype=np.float64).reshape(-1) for g in grads])
    same = (ours == theirs) | (np.isnan(ours) & np.isnan(theirs))  # equal infinities and NaNs agree
    with np.errstate(invalid="ignore"):
        difference = float(np.max(np.where(same, 0.0, np.abs(ours - theirs)), initial=0.0))
    largest = float(np.max(np.abs(ours[np.isfinite(ours)]), initial=0.0))
    note = None if own is None else f"{own.params['rule']}{' at ' + own.source if own.source else ''}"
    return AdCheck(ours, theirs, difference, rtol * max(largest, 1.0), note)


def _own_derivative(program: Program) -> Stmt | None:
    """The first ``custom_rule`` (``stop_gradient``, ``custom_vjp``) of ``program`` or of a lambda inside it."""
    for stmt in program.stmts:
        if stmt.prim.name == "custom_rule":
            return stmt
        for sub in stmt.subprograms():
            found = _own_derivative(sub)
            if found is not None:
                return found
    return None


def _parse_doubles(text: str) -> list[float]:
    """Haskell's ``show`` of a ``[Double]``: ``[1.0,-2.5e-3,Infinity,NaN]``."""
    words = {"Infinity": np.inf, "-Infinity": -np.inf, "NaN": np.nan}
    items = [t for t in text.strip().strip("[]").split(",") if t]
    return [words[t] if t in words else float(t) for t in items]
