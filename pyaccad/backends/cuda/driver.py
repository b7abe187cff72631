"""The GPU through the CUDA driver API (``cuda-bindings``): memory, modules, launches; every status checked.

:class:`Device` is what the runtime (:mod:`.runtime`) drives; tests drive the same runtime with a device
that runs the generated code on the CPU. It uses the device's *primary* context
(``cuDevicePrimaryCtxRetain``), the one JAX and PyTorch use too, so they share a process with pyaccad.
Pointers are plain ints (``CUdeviceptr`` values). A failing driver call is a
:class:`~pyaccad.backends.cuda.errors.DeviceError` carrying the driver's name and description of the status.
A float ``matmul`` runs on cuBLAS (:mod:`.cublas`), with one handle per device.

>>> BLOCK, MAX_BLOCKS
(256, 65536)
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from pyaccad.backends.cuda.cubins import compile_module
from pyaccad.backends.cuda.cublas import Blas, GemmCall
from pyaccad.backends.cuda.errors import DeviceError
from pyaccad.backends.cuda.grids import geometry
from pyaccad.errors import BackendUnavailable, ResourceError
from pyaccad.resources import describe_bytes


def _driver() -> Any:
    try:
        from cuda.bindings import driver
    except ImportError as exc:
        raise BackendUnavailable(f"cuda: cuda-bindings is not installed ({exc}); pip install 'pyaccad[cuda]'") from exc
    return driver


def _check(result: Any, what: str) -> Any:
    """The values of a driver call's result after its status; DeviceError naming ``what`` unless it succeeded."""
    driver = _driver()
    status, *values = result if isinstance(result, tuple) else (result,)
    if status == driver.CUresult.CUDA_ERROR_OUT_OF_MEMORY:
        raise ResourceError(f"cuda: out of device memory: {what} failed")
    if status != driver.CUresult.CUDA_SUCCESS:
        _, name = driver.cuGetErrorName(status)
        _, text = driver.cuGetErrorString(status)
        raise DeviceError(f"cuda: {what} failed: {name.decode() if name else status}: {text.decode() if text else ''}")
    return values[0] if len(values) == 1 else tuple(values)


class Device:
    """The first GPU, in its primary context. Construct it once (:func:`default_device`)."""

    def __init__(self) -> None:
        driver = _driver()
        try:
            _check(driver.cuInit(0), "cuInit")
        except (DeviceError, RuntimeError, OSError) as exc:  # no driver library, or no usable device
            raise BackendUnavailable(f"cuda: no usable NVIDIA driver or GPU here ({exc})") from exc
        except Exception as exc:  # cuda-bindings reports a missing libcuda with its own exception types
            raise BackendUnavailable(f"cuda: no NVIDIA driver here ({type(exc).__name__}: {exc})") from exc
        if _check(driver.cuDeviceGetCount(), "cuDeviceGetCount") == 0:
            raise BackendUnavailable("cuda: the NVIDIA driver sees no GPU")
        self.driver = driver
        self.device = _check(driver.cuDeviceGet(0), "cuDeviceGet")
        self.context = _check(driver.cuDevicePrimaryCtxRetain(self.device), "cuDevicePrimaryCtxRetain")
        attribute = driver.CUdevice_attribute
        major = _check(
            driver.cuDeviceGetAttribute(attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, self.device),
            "cuDeviceGetAttribute",
        )
        minor = _check(
            driver.cuDeviceGetAttribute(attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, self.device),
            "cuDeviceGetAttribute",
        )
        self.arch = f"sm_{major}{minor}"
        name = _check(driver.cuDeviceGetName(256, self.device), "cuDeviceGetName")
        self.name = name.split(b"\0", 1)[0].decode()
        self.lock = threading.Lock()
        self.blas: Blas | None = None  # cuBLAS, on the first float matmul
        self.modules: dict[str, _Loaded] = {}  # by source: a program traced again at a new shape loads nothing
        self.loading = threading.Lock()

    def _current(self) -> None:
        _check(self.driver.cuCtxSetCurrent(self.context), "cuCtxSetCurrent")

    def alloc(self, nbytes: int) -> int:
        self._current()
        return int(
            _check(self.driver.cuMemAlloc(max(1, nbytes)), f"cuMemAlloc({nbytes} bytes, {describe_bytes(nbytes)})")
        )

    def free(self, pointer: int) -> None:
        self._current()
        _check(self.driver.cuMemFree(pointer), "cuMemFree")

    def upload(self, pointer: int, array: np.ndarray) -> None:
        data = np.ascontiguousarray(array)
        if data.nbytes:
            self._current()
            _check(self.driver.cuMemcpyHtoD(pointer, data.ctypes.data, data.nbytes), "cuMemcpyHtoD")

    def download(self, pointer: int, out: np.ndarray) -> np.ndarray:
        if out.nbytes:
            self._current()
            _check(self.driver.cuMemcpyDtoH(out.ctypes.data, pointer, out.nbytes), "cuMemcpyDtoH")
        return out

    def copy(self, dst: int, src: int, nbytes: int) -> None:
        if nbytes:
            self._current()
            _check(self.driver.cuMemcpyDtoD(dst, src, nbytes), "cuMemcpyDtoD")

    def zero(self, pointer: int, nbytes: int) -> None:
        if nbytes:
            self._current()
            _check(self.driver.cuMemsetD8(pointer, 0, nbytes), "cuMemsetD8")

    def load(self, source: str) -> Any:
        """The loaded module of ``source`` (compiled by NVRTC for this device's architecture), loaded once: the
        kernels read every extent at run time, so a new batch size gives the same source."""
        with self.loading:
            if source not in self.modules:
                compiled = compile_module(source, self.arch)
                self._current()
                modules = []
                for cubin in compiled.cubins:
                    data = np.frombuffer(cubin, np.uint8)
                    modules.append(_check(self.driver.cuModuleLoadData(data.ctypes.data), "cuModuleLoadData"))
                self.modules[source] = _Loaded(self, modules, compiled.functions)
            return self.modules[source]

    def launch(
        self, module: Any, kernel: str, items: int, args: tuple[int, ...], threads: int = 0, grid: tuple[int, ...] = ()
    ) -> None:
        """Run ``kernel`` on pointer arguments: with enough threads for ``items`` work items (grid-stride loops), or,
        given ``threads`` (a cooperative kernel's block size), one block per block work unit, up to :data:`MAX_BLOCKS`
        (its blocks loop over the rest); given ``grid`` ``(nz, ny, nx)``, on a 3-D grid (:func:`.grids.geometry`)."""
        block = threads or BLOCK
        blocks = max(1, min(items if threads else (items + BLOCK - 1) // BLOCK, MAX_BLOCKS))
        (gx, gy, gz), (bx, by, bz) = geometry(grid, BLOCK, MAX_BLOCKS) if grid else ((blocks, 1, 1), (block, 1, 1))
        values = [np.array([a], dtype=np.uint64) for a in args]
        params = np.array([v.ctypes.data for v in values], dtype=np.uint64)
        self._current()
        _check(
            self.driver.cuLaunchKernel(module.function(kernel), gx, gy, gz, bx, by, bz, 0, 0, params.ctypes.data, 0),
            f"cuLaunchKernel({kernel})",
        )

    def gemm(self, call: GemmCall) -> None:
        """A strided batched GEMM through cuBLAS (:mod:`.cublas`: one handle for this device's context)."""
        with self.lock:  # one handle for the context, whichever thread multiplies first
            if self.blas is None:
                self.blas = Blas()
        self._current()
        self.blas.gemm(call)

    def synchronize(self) -> None:
        self._current()
        _check(self.driver.cuCtxSynchronize(), "cuCtxSynchronize")


BLOCK = 256
"""Threads per block of a grid-stride launch (a cooperative kernel names its own)."""
MAX_BLOCKS = 1 << 16
"""Blocks at most per launch (grid-stride loops cover the rest): plenty to fill 132 SMs."""


class _Loaded:
    """A program's loaded modules (one per CUBIN, :class:`.cubins.Compiled`) and its kernels' functions, each
    kernel found in its module under its name there (looked up once each)."""

    def __init__(self, device: Device, modules: list[Any], places: dict[str, tuple[int, str]]) -> None:
        self.device, self.modules, self.places = device, modules, places
        self.functions: dict[str, Any] = {}

    def function(self, name: str) -> Any:
        if name not in self.functions:
            n, there = self.places[name]
            self.functions[name] = _check(
                self.device.driver.cuModuleGetFunction(self.modules[n], there.encode()),
                f"cuModuleGetFunction({name}: {there})",
            )
        return self.functions[name]


_DEFAULT: list[Device] = []
_DEFAULT_LOCK = threading.Lock()


def default_device() -> Device:
    """The process's device (made on first use; BackendUnavailable with the reason when there is none)."""
    with _DEFAULT_LOCK:
        if not _DEFAULT:
            _DEFAULT.append(Device())
        return _DEFAULT[0]
