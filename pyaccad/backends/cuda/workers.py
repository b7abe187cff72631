"""Translation units compiled by NVRTC in worker processes, one process per unit, all at once.

NVRTC holds the GIL while it compiles, so threads would take turns; processes do not. Each worker is
``python -m pyaccad.backends.cuda.workers`` (this module, imported from the same ``pyaccad`` as the
caller's): it reads one length-prefixed pickled ``(source, arch)`` from its stdin, compiles it with
:func:`.nvrtc.compile_source` and writes one pickled ``("cubin", bytes)`` or ``("rejected", log)`` to its
stdout. Every worker is started before any is sent its source, so their interpreters start together.

A worker ignores SIGINT: Ctrl-C interrupts the caller, whose ``finally`` kills the workers still running,
so none is left behind; on Linux a caller killed outright (no ``finally`` runs) takes its workers with it
(``PR_SET_PDEATHSIG``). A worker that dies is a CompileError with its exit status and stderr.

How many workers: :func:`count`. ``PYACCAD_CUDA_COMPILE_WORKERS`` sets it (1: compile in this process).

>>> count() >= 1
True
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

from pyaccad.errors import ArgumentError, CompileError

_PACKAGE_ROOT = str(Path(__file__).resolve().parents[3])  # the folder holding the caller's pyaccad


def count() -> int:
    """Worker processes to compile with: ``$PYACCAD_CUDA_COMPILE_WORKERS``, else the cores this process may use,
    shared among pytest-xdist's workers when it runs under them (each compiles its own programs)."""
    given = os.environ.get("PYACCAD_CUDA_COMPILE_WORKERS", "").strip()
    if given:
        if not given.isdigit() or int(given) < 1:
            raise ArgumentError(f"cuda: PYACCAD_CUDA_COMPILE_WORKERS={given!r} is not a whole number of processes >= 1")
        return int(given)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    sharing = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1)
    return max(1, cores // max(1, sharing))


def compile_all(sources: list[str], arch: str) -> list[tuple[str, bytes | str]]:
    """Each of ``sources`` compiled in its own worker process: ``("cubin", bytes)`` or ``("rejected", log)``."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [_PACKAGE_ROOT, os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-m", "pyaccad.backends.cuda.workers", str(os.getpid())]
    workers: list[subprocess.Popen] = []
    try:
        pipe = subprocess.PIPE
        for _ in sources:
            workers.append(subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=pipe, env=env))
        for worker, source in zip(workers, sources, strict=True):
            try:
                _send(worker.stdin, (source, arch))
            except BrokenPipeError:  # it died before reading: its exit status and stderr say why
                pass
        return [_result(worker) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.wait()


def _send(pipe, value: object) -> None:
    data = pickle.dumps(value)
    pipe.write(len(data).to_bytes(8, "little") + data)
    pipe.flush()


def _result(worker: subprocess.Popen) -> tuple[str, bytes | str]:
    out, err = worker.communicate()
    if worker.returncode != 0 or not out:
        detail = err.decode(errors="replace").strip()[-2000:]
        raise CompileError(f"cuda: an NVRTC worker process failed (exit status {worker.returncode}):\n{detail}")
    return pickle.loads(out)  # our own child's answer


def main() -> None:
    """The worker: one translation unit from stdin, its CUBIN or NVRTC's log to stdout."""
    from pyaccad.backends.cuda.nvrtc import Rejected, compile_source

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the caller handles Ctrl-C and ends its workers
    _die_with(int(sys.argv[1]))
    stdin = sys.stdin.buffer
    header = stdin.read(8)
    if len(header) < 8:  # the caller ended before sending anything
        return
    source, arch = pickle.loads(stdin.read(int.from_bytes(header, "little")))
    try:
        answer: tuple[str, bytes | str] = ("cubin", compile_source(source, arch))
    except Rejected as exc:
        answer = ("rejected", exc.log)
    sys.stdout.buffer.write(pickle.dumps(answer))


def _die_with(caller: int) -> None:
    """This process killed when ``caller`` dies (Linux), and ended now if it already has."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != caller:
        sys.exit(0)


if __name__ == "__main__":
    main()
