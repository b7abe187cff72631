"""The CUDA backend: the plan's kernels as CUDA C++, compiled by NVRTC, run through the CUDA driver API.

Programs are planned (fused) as for the native backend (:mod:`pyaccad.opt`); each kernel becomes a
``__global__`` function of one module (:mod:`.skeletons`, sharing the native backend's element printer,
:mod:`pyaccad.backends.clike`), compiled to CUBINs for the GPU's architecture (:mod:`.nvrtc`; in groups, in
parallel worker processes, cached on disk a kernel at a time: :mod:`.cubins`) and launched by a host schedule
that also runs ``awhile``/``acond`` (:mod:`.program`, :mod:`.runtime`). Kernels that run row by row (a
softmax's row maximum, sum and division) are one kernel, a block per row, their row-local values in shared
memory (:mod:`.rows`). No cffi: the GPU machines have none.

Without a GPU, ``acc.backends()["cuda"]`` says why (no cuda-bindings, no driver, no device), and
``acc.lower(f, *args, backend="cuda")`` still prints every kernel's CUDA C++ and compiles it with NVRTC
(for :data:`.nvrtc.DEFAULT_ARCH`), so a laptop can read and check the GPU code. With
``PYACCAD_CUDA_EMULATE=1`` the backend runs its kernels on the CPU instead (:mod:`.emulator`: g++, one
thread at a time), for testing and debugging the GPU code without a GPU.

>>> BACKEND.name
'cuda'
"""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from pyaccad.errors import BackendUnavailable
from pyaccad.ir import Program


class CudaBackend:
    """``compile(program)`` → an executable running it on the GPU (NumPy in, NumPy out)."""

    name = "cuda"

    def unavailable_reason(self) -> str | None:
        # find_spec("cuda.bindings") raises, rather than answering None, when the parent package is absent too
        if importlib.util.find_spec("cuda") is None or importlib.util.find_spec("cuda.bindings") is None:
            return "cuda-bindings is not installed (pip install 'pyaccad[cuda]')"
        from pyaccad.backends.cuda import nvrtc

        try:
            nvrtc.version()
            if emulated():
                from pyaccad.backends.cuda import emulator

                return emulator.unavailable_reason()
            from pyaccad.backends.cuda import driver

            driver.default_device()
        except BackendUnavailable as exc:
            return str(exc).removeprefix("cuda: ")
        return None

    def compile(self, program: Program) -> Any:
        from pyaccad.backends.cuda.program import generate
        from pyaccad.backends.cuda.runtime import Executable

        return Executable(device(), generate(program))

    def device_put(self, array: Any) -> Any:
        """A copy of ``array`` on the device (``acc.device_put``)."""
        from pyaccad.backends.cuda.arrays import DeviceArray

        return DeviceArray.put(device(), array)

    def describe(self, program: Program) -> str:
        """The plan, then the CUDA C++ of its kernels, compiled by NVRTC (an error if it does not compile).

        Works without a GPU: only NVRTC is needed.
        """
        from pyaccad.backends.cuda.cubins import compile_module
        from pyaccad.backends.cuda.program import generate
        from pyaccad.backends.cuda.rows import LIMITS
        from pyaccad.opt.fusion import plan_program
        from pyaccad.opt.kernels import describe_plan
        from pyaccad.opt.rows import group_rows

        module = generate(program)
        compile_module(module.source)
        kernels = module.source[module.source.index('extern "C"') :] if module.kernels else ""
        plan = describe_plan(group_rows(plan_program(program), LIMITS))
        return f"{plan}\ncuda kernels (compiled by NVRTC):\n{kernels}"


def emulated() -> bool:
    """Whether ``$PYACCAD_CUDA_EMULATE`` asks for the CPU emulator instead of the GPU."""
    return os.environ.get("PYACCAD_CUDA_EMULATE", "") not in ("", "0")


_EMULATED: list[Any] = []


def device() -> Any:
    """The device programs run on: the GPU, or the emulator (one per process) under ``PYACCAD_CUDA_EMULATE``."""
    if emulated():
        from pyaccad.backends.cuda.emulator import EmulatedDevice

        if not _EMULATED:
            _EMULATED.append(EmulatedDevice())
        return _EMULATED[0]
    from pyaccad.backends.cuda.driver import default_device

    return default_device()


BACKEND = CudaBackend()
