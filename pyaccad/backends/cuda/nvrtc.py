"""NVRTC (``cuda-bindings``): one CUDA C++ translation unit to one CUBIN.

CUBIN for one architecture, never PTX: a driver older than NVRTC may not load NVRTC's PTX, while a
CUBIN for the device's own architecture always loads. Without a GPU (CI, a laptop) the architecture is
:data:`DEFAULT_ARCH`, so every generated kernel can still be compiled and checked. ``--fmad=false``
keeps ``a * b + c`` two roundings, as the native backend does (``-ffp-contract=off``), so results do not
depend on which multiply-adds the compiler fused. ``-minimal`` leaves out what the generated code never
uses (textures, the device runtime, launches from the device): a third less of NVRTC's fixed cost per
translation unit, which :mod:`.cubins` pays once per group of kernels.

A module's kernels are compiled in groups, in parallel and cached one by one: :mod:`.cubins`.

>>> OPTIONS
('--std=c++17', '--fmad=false', '-minimal')
"""

from __future__ import annotations

from functools import cache

from pyaccad.errors import BackendUnavailable, CompileError

DEFAULT_ARCH = "sm_90"
"""The architecture compiled for when no device says its own (Hopper, the GPUs this backend is tuned for)."""
OPTIONS = ("--std=c++17", "--fmad=false", "-minimal")
FILENAME = "pyaccad.cu"
"""The name NVRTC gives the translation unit in its log (``pyaccad.cu(12): error: ...``)."""


class Rejected(Exception):
    """NVRTC did not compile the translation unit; ``log`` is its log (named by the caller, which knows the
    kernels)."""

    def __init__(self, status: object, log: str) -> None:
        super().__init__(log)
        self.status, self.log = status, log


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


def compile_source(source: str, arch: str = DEFAULT_ARCH) -> bytes:
    """The CUBIN of the translation unit ``source`` for ``arch``, compiled now (no cache); Rejected with NVRTC's
    log when it does not compile, CompileError when NVRTC fails otherwise.

    >>> len(compile_source('extern "C" __global__ void k(int *x) { x[0] = 1; }')) > 0
    True
    """
    nvrtc = _nvrtc()
    ok = nvrtc.nvrtcResult.NVRTC_SUCCESS
    err, program = nvrtc.nvrtcCreateProgram(source.encode(), FILENAME.encode(), 0, [], [])
    if err != ok:
        raise CompileError(f"cuda: NVRTC could not take the program: {err}")
    try:
        options = [f"--gpu-architecture={arch}".encode(), *(o.encode() for o in OPTIONS)]
        (err,) = nvrtc.nvrtcCompileProgram(program, len(options), options)
        if err != ok:
            raise Rejected(err, _log(nvrtc, program))
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
