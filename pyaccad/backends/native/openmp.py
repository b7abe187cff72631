"""How long the native backend's idle OpenMP threads spin before they sleep.

GCC's OpenMP runtime (libgomp) lets a thread with no work spin-wait for
``$GOMP_SPINCOUNT`` iterations before it sleeps: 300,000 by default, several
milliseconds on a CPU whose ``pause`` takes ~140 cycles (Skylake and later).
So after every call of a native program its worker threads kept cores busy
for milliseconds, taking them from whatever ran next: a bridge (accelerate)
call in the same process ran 2.5× slower right after a native one (1.43
against 3.67 ms, BENCHMARKS.md), and on a machine where another process kept
a core busy, a thread waiting at a barrier spun through the time slice its
preempted partner needed (mlp primal: 2.5–2.7 ms on average, 0.38 quiet).

libgomp reads the variable once, when it is loaded, which is when the first
native library is: :func:`dlopen` sets :data:`SPIN_COUNT` while it loads one,
then restores the environment, so child processes and other libraries see
the user's. A user's own ``$GOMP_SPINCOUNT`` or ``$OMP_WAIT_POLICY`` is left
alone, and where libgomp is already loaded (by another extension) its setting
stays.

>>> env = {}
>>> with short_spin(env):
...     env["GOMP_SPINCOUNT"]
'10000'
>>> env
{}
>>> env = {"OMP_WAIT_POLICY": "active"}
>>> with short_spin(env):
...     "GOMP_SPINCOUNT" in env
False
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import Any

from pyaccad.backends.native.ffi import ffi

SPIN_COUNT = "10000"
"""Spins before an idle thread sleeps: 0.1–1 ms, far longer than the gaps between one call's parallel regions
(so a quiet machine keeps its speed: mlp primal 0.38 ms either way), far shorter than libgomp's default. Under one
busy core the mlp primal averaged 1.05–1.27 ms against 2.5–2.7 (BENCHMARKS.md, "OpenMP's idle threads")."""

_USER_CHOICES = ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")
_lock = threading.Lock()


@contextmanager
def short_spin(environ: MutableMapping[str, str] = os.environ) -> Iterator[None]:
    """Within the block, ``$GOMP_SPINCOUNT`` is :data:`SPIN_COUNT` unless the user chose a spin or wait policy."""
    if any(name in environ for name in _USER_CHOICES):
        yield
        return
    environ["GOMP_SPINCOUNT"] = SPIN_COUNT
    try:
        yield
    finally:
        del environ["GOMP_SPINCOUNT"]


def dlopen(path: str) -> Any:
    """``ffi.dlopen(path)`` under :func:`short_spin`: whichever native library loads libgomp first (one without
    OpenMP constructs may not link it) loads it with the short spin."""
    with _lock, short_spin():
        return ffi.dlopen(path)
