"""Compiling CUDA C++ to CUBIN with NVRTC (``cuda-bindings``), cached on disk.

CUBIN for one architecture, never PTX: a driver older than NVRTC may not load NVRTC's PTX, while a
CUBIN for the device's own architecture always loads. Without a GPU (CI, a laptop) the architecture is
:data:`DEFAULT_ARCH`, so every generated kernel can still be compiled and checked. ``--fmad=false``
keeps ``a * b + c`` two roundings, as the native backend does (``-ffp-contract=off``), so results do not
depend on which multiply-adds the compiler fused. ``--split-compile=0`` lets NVRTC optimise the kernels of
a module on every core at once: a reverse-mode loop's module of ~200 kernels took 7.4 s on one core.

CUBINs live in the backends' store (:mod:`pyaccad.store`) as
``$PYACCAD_CACHE_DIR/cuda/KEY.cubin``, the key a hash of the source, NVRTC's version, the architecture
and the options, with the source beside them.

>>> OPTIONS
('--std=c++17', '--fmad=false', '--split-compile=0')
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from pyaccad.errors import BackendUnavailable, CompileError
from pyaccad.store import Store

DEFAULT_ARCH = "sm_90"
"""The architecture compiled for when no device says its own (Hopper, the GPUs this backend is tuned for)."""
OPTIONS = ("--std=c++17", "--fmad=false", "--split-compile=0")
STORE = Store("cuda", ".cubin")


def _nvrtc():
    try:
        from cuda.bindings import nvrtc
    except ImportError as exc:  # the cuda extra is not installed
        raise BackendUnavailable(
            f"cuda: NVRTC is not installed ({exc}); pip install 'pyaccad[cuda]' (cuda-bindings, nvidia-cuda-nvrtc)"
        ) from exc
    return nvrtc


@cache
def version() -> str:
    """NVRTC's version, as ``major.minor`` (raises BackendUnavailable when NVRTC cannot be loaded)."""
    nvrtc = _nvrtc()
    try:
        err, major, minor = nvrtc.nvrtcVersion()
    except Exception as exc:  # the library itself is missing: cuda-bindings finds it at first use
        raise BackendUnavailable(f"cuda: NVRTC cannot be loaded: {exc}") from exc
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        raise BackendUnavailable(f"cuda: NVRTC cannot be loaded: {err}")
    return f"{major}.{minor}"


def compile_cubin(source: str, arch: str = DEFAULT_ARCH) -> bytes:
    """The CUBIN of ``source`` for ``arch`` (``sm_90``), from the cache or compiled now; CompileError with
    NVRTC's log when it does not compile."""
    key = hashlib.sha256("\0".join([source, version(), arch, *OPTIONS]).encode()).hexdigest()[:32]
    found = STORE.find(key)
    if found is not None:
        return found.read_bytes()

    def make(tmp: Path, companions: dict[str, Path]) -> None:
        companions[".cu"].write_text(source)
        tmp.write_bytes(_compile(source, arch))

    return STORE.publish(key, make, companions=(".cu",)).read_bytes()


def _compile(source: str, arch: str) -> bytes:
    nvrtc = _nvrtc()
    ok = nvrtc.nvrtcResult.NVRTC_SUCCESS
    err, program = nvrtc.nvrtcCreateProgram(source.encode(), b"pyaccad.cu", 0, [], [])
    if err != ok:
        raise CompileError(f"cuda: NVRTC could not take the program: {err}")
    try:
        options = [f"--gpu-architecture={arch}".encode(), *(o.encode() for o in OPTIONS)]
        (err,) = nvrtc.nvrtcCompileProgram(program, len(options), options)
        if err != ok:
            raise CompileError(f"cuda: NVRTC rejected the generated CUDA C++ ({err}):\n{_log(nvrtc, program)}")
        err, size = nvrtc.nvrtcGetCUBINSize(program)
        cubin = b" " * size
        (err,) = nvrtc.nvrtcGetCUBIN(program, cubin)
        if err != ok:
            raise CompileError(f"cuda: NVRTC gave no CUBIN: {err}")
        return cubin
    finally:
        nvrtc.nvrtcDestroyProgram(program)


def _log(nvrtc, program) -> str:
    _, size = nvrtc.nvrtcGetProgramLogSize(program)
    log = b" " * size
    nvrtc.nvrtcGetProgramLog(program, log)
    return log.decode(errors="replace").rstrip("\x00 \n")
