"""OpenBLAS's kernels for accelerate-blas: its CPU model named from the instruction sets the CPU reports.

accelerate-blas calls OpenBLAS (through blas-hs), and Debian's OpenBLAS picks its
kernels by the CPU model number. Where that number is hidden (a virtual machine
reporting a generic "Intel Xeon Processor"), it falls back to its oldest x86-64
kernels, ``Prescott`` (SSE3): the mlp's 256×784×256 product took 3.0 ms through
the bridge on the 2-core AVX-512 Xeon of BENCHMARKS.md, 0.6 ms with the
``SkylakeX`` kernels. So, before the first bridge library (and with it OpenBLAS)
is loaded, :func:`configure` sets ``$OPENBLAS_CORETYPE`` from the instruction sets
in ``/proc/cpuinfo``: ``SkylakeX`` with AVX-512 (F, BW, DQ, VL), ``Haswell`` with
AVX2 and FMA, else nothing. Nothing is changed where the user set it, or off
x86-64 Linux.

It also sets ``$OPENBLAS_THREAD_TIMEOUT`` to :data:`THREAD_TIMEOUT` (unless the
user did): OpenBLAS's idle threads otherwise spin, yielding, for 2^28 cycles
(about 0.1 s) after each product, and so hold cores that accelerate's workers
(and any other code of the process) need between the products. The bench's
``mlp`` through the bridge, four runs alternated: primal 1.75, 1.67 → 1.37,
1.34 ms, gradient 5.29, 7.21 → 3.99, 5.23 ms; ``gmm``'s gradient 21.6, 21.3 →
18.6, 20.0 ms (BENCHMARKS.md, session 12).

>>> env = {"OPENBLAS_CORETYPE": "Zen"}
>>> configure(env, "flags : avx2 fma avx512f"), env
(False, {'OPENBLAS_CORETYPE': 'Zen', 'OPENBLAS_THREAD_TIMEOUT': '4'})
>>> core_type("flags : sse2 avx2 fma avx512f avx512bw avx512dq avx512vl"), core_type("flags : sse2 avx2 fma")
('SkylakeX', 'Haswell')
"""

from __future__ import annotations

import os
import platform
from collections.abc import MutableMapping
from pathlib import Path

# OpenBLAS's names for its kernel sets, by the instruction sets they need: the first the CPU has all of.
_CORES = (
    ("SkylakeX", {"avx512f", "avx512bw", "avx512dq", "avx512vl"}),
    ("Haswell", {"avx2", "fma"}),
)


def core_type(cpuinfo: str) -> str | None:
    """The OpenBLAS kernel set for the CPU whose ``/proc/cpuinfo`` is ``cpuinfo`` (None: leave OpenBLAS's choice)."""
    flags = {word for line in cpuinfo.splitlines() if line.startswith("flags") for word in line.split()}
    return next((name for name, needs in _CORES if needs <= flags), None)


THREAD_TIMEOUT = "4"
"""OpenBLAS's idle threads spin 2^4 cycles before they sleep (its least; its default 2^28)."""


def configure(environ: MutableMapping[str, str] = os.environ, cpuinfo: str | None = None) -> bool:
    """Set ``$OPENBLAS_CORETYPE`` and ``$OPENBLAS_THREAD_TIMEOUT`` in ``environ`` as the module doc says;
    whether it set the first."""
    environ.setdefault("OPENBLAS_THREAD_TIMEOUT", THREAD_TIMEOUT)
    if "OPENBLAS_CORETYPE" in environ or platform.system() != "Linux" or platform.machine() != "x86_64":
        return False
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return False
    core = core_type(cpuinfo)
    if core is not None:
        environ["OPENBLAS_CORETYPE"] = core
    return core is not None
