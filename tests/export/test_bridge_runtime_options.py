"""The GHC runtime's options for the bridge (:mod:`pyaccad.backends.accelerate.entry`'s ``START_C``).

The runtime starts with an allocation area of ``ALLOCATION_AREA_MB`` per capability (GHC 9.0's default is 1 MB,
and every minor collection stops accelerate's workers), unless ``$GHCRTS`` names another: read back from the
runtime a fresh process started, in both cases, with a program's result checked against NumPy's.
"""

from __future__ import annotations

import os
import subprocess
import sys

from helpers import skip_without_bridge

from pyaccad.backends.accelerate.entry import ALLOCATION_AREA_MB

SCRIPT = """
import numpy as np, pyaccad as acc
from pyaccad.backends.accelerate import runtime
assert runtime.allocation_area() is None  # nothing has started the runtime yet
x = np.arange(5.0)
np.testing.assert_array_equal(acc.jit(lambda x: x * 2.0 + 1.0, backend="accelerate")(x), x * 2.0 + 1.0)
print(runtime.allocation_area())
"""


def _allocation_area(ghcrts: str | None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "GHCRTS"}
    if ghcrts is not None:
        env["GHCRTS"] = ghcrts
    ran = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600)
    assert ran.returncode == 0, ran.stderr
    return int(ran.stdout.split()[-1])


def test_the_runtime_starts_with_a_large_allocation_area_unless_ghcrts_says_otherwise():
    skip_without_bridge()
    assert _allocation_area(None) == ALLOCATION_AREA_MB << 20
    assert _allocation_area("-A4m") == 4 << 20
