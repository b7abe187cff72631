"""Timing, first-call time and peak memory.

* :func:`time_interleaved`: at least :data:`WARMUP` untimed calls of each
  implementation, then ``repeat`` timed ones of each, interleaved in blocks
  (``time.perf_counter`` around each call, which returns only when the result
  is ready); the median and the minimum in milliseconds.
* :func:`first_call_ms`: the wall time of one call of a function never called
  before — for pyaccad that is trace + optimise + compile (or load from the
  disk cache) + one run.
* :func:`fresh_process`: runs this module as a script in a new Python process
  for one implementation and workload. The child imports only that
  implementation and builds the inputs; then it records its resident set size
  (``rss_before_mb``: interpreter, libraries and inputs), times the first
  gradient call (for pyaccad: with the compile cache the parent filled, i.e. a
  warm cache) and records the peak resident set size during it
  (``peak_first_mb``: compilation included), then runs the gradient
  :data:`WARMUP` more times and records the fastest of those (``run_ms``)
  and the peak during them (``peak_run_mb``: steady state). Peaks are Linux's ``VmHWM``, reset before
  each phase through ``/proc/self/clear_refs``; where that cannot be reset, a
  peak is the process's high-water mark since it started.

>>> calls = []
>>> times = time_interleaved({"sum": lambda: calls.append(sum(range(100)))}, repeat=10)
>>> sorted(times), len(times["sum"]), len(calls)  # (median, minimum) after 3 warm-up and 10 timed calls
(['sum'], 2, 13)
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

WARMUP = 3
"""Untimed calls before timing (docs/WORKLOADS.md asks for at least 3)."""
ROUNDS = 5
"""Blocks each implementation's timed calls are split into, interleaved with the others' (:func:`time_interleaved`)."""


def time_interleaved(
    fns: dict[str, Callable[[], Any]], repeat: int, rounds: int = ROUNDS, warmup: int = WARMUP
) -> dict[str, tuple[float, float]]:
    """``{name: (median_ms, min_ms)}`` of ``repeat`` calls of each function, taken in ``rounds`` interleaved
    blocks (``a a a b b b c c c a a a ...``) after ``warmup`` untimed calls of each.

    A shared machine's speed drifts over seconds; timing the implementations one after the other would put
    that drift into their ratios, interleaving spreads it over all of them alike.

    >>> order = []
    >>> times = time_interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")}, 10, warmup=0)
    >>> sorted(times), "".join(order)  # two calls of each in each of the 5 rounds
    (['a', 'b'], 'aabbaabbaabbaabbaabb')
    """
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    rounds = max(1, min(rounds, repeat))
    for r in range(rounds):
        for name, fn in fns.items():
            for _ in range(repeat * (r + 1) // rounds - repeat * r // rounds):
                start = time.perf_counter()
                fn()
                times[name].append((time.perf_counter() - start) * 1e3)
    return {name: (statistics.median(t), min(t)) for name, t in times.items()}


def first_call_ms(fn: Callable[[], Any]) -> float:
    """Milliseconds taken by one call of ``fn`` (meant for its first call).

    >>> calls = []
    >>> isinstance(first_call_ms(lambda: calls.append(1)), float), calls
    (True, [1])
    """
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1e3


def _status_mb(field: str) -> float | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def peak_rss_mb() -> float:
    """This process's peak resident set size since it started or since :func:`reset_peak`, in MiB.

    >>> peak_rss_mb() > 0
    True
    """
    peak = _status_mb("VmHWM")  # unlike getrusage's ru_maxrss, it starts afresh at exec and can be reset
    return peak if peak is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    """This process's current resident set size in MiB (the peak where the current size is unknown).

    >>> rss_mb() <= peak_rss_mb()
    True
    """
    current = _status_mb("VmRSS")
    return current if current is not None else peak_rss_mb()


def reset_peak() -> None:
    """Restart :func:`peak_rss_mb` from the current size (Linux ≥ 4.0; elsewhere nothing happens)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
    except OSError:
        pass


def fresh_process(impl: str, workload: str, size: str, backend: str | None, timeout: float = 600) -> dict[str, Any]:
    """Measure ``impl``'s gradient of ``workload`` in a new process; returns the child's report (see above)."""
    cmd = [sys.executable, "-m", "pyaccad.bench.measure", impl, workload, size, backend or ""]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=dict(os.environ))
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
        return {"error": lines[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def _child(impl: str, workload: str, size: str, backend: str | None) -> dict[str, Any]:
    from pyaccad.bench.impls import prepare
    from pyaccad.bench.registry import WORKLOADS

    if impl in ("jax", "torch"):
        __import__(impl)  # count the framework's own import in the baseline, not in the run
    run = prepare(impl, WORKLOADS[workload], size, backend)
    before = rss_mb()
    reset_peak()
    first = first_call_ms(run.grad)
    peak_first = peak_rss_mb()
    reset_peak()
    run_ms = min(first_call_ms(run.grad) for _ in range(WARMUP))
    return {
        "first_call_ms": first,
        "run_ms": run_ms,
        "rss_before_mb": before,
        "peak_first_mb": peak_first,
        "peak_run_mb": peak_rss_mb(),
    }


if __name__ == "__main__":
    impl_arg, workload_arg, size_arg, backend_arg = sys.argv[1:5]
    print(json.dumps(_child(impl_arg, workload_arg, size_arg, backend_arg or None)))
