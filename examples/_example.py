"""What the examples share: running from a checkout, the ``--small``/``--backend`` options, self-checks.

Every example checks its result against an independent reference (NumPy, finite
differences) with :func:`check`, which exits with status 1 on a failure, so the
test suite (tests/examples) only needs to run them.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout, uninstalled


def arguments(doc: str, more: Callable[[argparse.ArgumentParser], None] | None = None) -> argparse.Namespace:
    """Parse ``--small``, ``--backend`` and what ``more`` adds; a chosen backend becomes the default."""
    parser = argparse.ArgumentParser(description=doc.strip().splitlines()[0])
    parser.add_argument("--small", action="store_true", help="a smaller problem, seconds to run (the tests use it)")
    parser.add_argument("--backend", help="native (the default), interp, cuda, ...")
    if more is not None:
        more(parser)
    args = parser.parse_args()
    if args.backend:
        os.environ["PYACCAD_BACKEND"] = args.backend  # read at each call: every default-backend run uses it
    return args


def check(what: str, ok: bool | np.bool_, detail: str) -> None:
    """Print the outcome of one self-check; exit with status 1 if it failed."""
    print(f"{'ok' if ok else 'FAILED'}: {what} ({detail})")
    if not ok:
        sys.exit(1)


def central_differences(f: Callable[[np.ndarray], float], x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """The gradient of scalar ``f`` at float64 ``x`` by central differences, one coordinate at a time."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        step = np.zeros_like(x)
        step[i] = h
        grad[i] = (f(x + step) - f(x - step)) / (2 * h)
    return grad


def conjugate_gradients(matvec: Callable[[np.ndarray], np.ndarray], b: np.ndarray, tol: float) -> np.ndarray:
    """Solve ``A x = b`` for symmetric positive definite ``A`` given as ``matvec``, to ``‖r‖ <= tol ‖b‖``."""
    x = np.zeros_like(b)
    r = b.copy()
    p = r.copy()
    rr = r @ r
    for _ in range(10 * b.size):  # n steps in exact arithmetic; rounding may need a few more
        if np.sqrt(rr) <= tol * np.linalg.norm(b):
            break
        ap = matvec(p)
        alpha = rr / (p @ ap)
        x += alpha * p
        r -= alpha * ap
        rr, rr_old = r @ r, rr
        p = r + (rr / rr_old) * p
    return x
