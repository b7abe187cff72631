"""Float ``matmul`` on the GPU through cuBLAS: one strided batched GEMM per product, every status checked.

cuBLAS is column-major; a row-major ``C = A @ B`` (``m × n``) is, read column-major, ``Cᵀ = Bᵀ Aᵀ``, so the
call swaps the operands (:func:`gemm_call`): ``B``'s memory is ``Bᵀ`` column-major, with leading dimension
``n``, and so on. An operand that is a delayed swap of its source's last two axes (:func:`matrix_transpose_source`)
is passed as that source with the transpose flag, as the native backend's BLAS does.

The library is located by ``cuda.pathfinder`` (``load_nvidia_dynamic_lib("cublas")``: the ``nvidia-cublas``
wheel, or the CUDA toolkit's) and called through ``ctypes``: one handle per device context, on the stream the
backend launches its kernels on (the legacy default stream), in ``CUBLAS_DEFAULT_MATH`` mode: full FP32
(and FP64) arithmetic, no TF32 tensor cores. A failing call is a
:class:`~pyaccad.backends.cuda.errors.DeviceError` naming the call and cuBLAS's status.

Without a GPU the emulator (:mod:`.emulator`) runs the same :class:`GemmCall` with NumPy, reading the host
memory exactly as the column-major arguments say: the operand swap is tested everywhere, cuBLAS itself only
on a GPU.

>>> call = gemm_call("float32", 1, 2, 3, 4, False, False, a=100, b=200, c=300)
>>> (call.ops, call.m, call.n, call.k, call.first, call.first_ld, call.second, call.second_ld, call.ldc)
(('N', 'N'), 4, 2, 3, 200, 4, 100, 3, 4)
"""

from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np

from pyaccad.backends.cuda.errors import DeviceError
from pyaccad.errors import ResourceError

STATUS = {
    0: "CUBLAS_STATUS_SUCCESS",
    1: "CUBLAS_STATUS_NOT_INITIALIZED",
    3: "CUBLAS_STATUS_ALLOC_FAILED",
    7: "CUBLAS_STATUS_INVALID_VALUE",
    8: "CUBLAS_STATUS_ARCH_MISMATCH",
    11: "CUBLAS_STATUS_MAPPING_ERROR",
    13: "CUBLAS_STATUS_EXECUTION_FAILED",
    14: "CUBLAS_STATUS_INTERNAL_ERROR",
    15: "CUBLAS_STATUS_NOT_SUPPORTED",
    16: "CUBLAS_STATUS_LICENSE_ERROR",
}
"""cuBLAS's statuses (``cublas_api.h``), for messages."""
_ALLOC_FAILED = 3
_OPS = {"N": 0, "T": 1}  # cublasOperation_t
_DEFAULT_MATH = 0  # cublasMath_t: CUBLAS_DEFAULT_MATH, no TF32
_INT_MAX = 2**31 - 1


@dataclass(frozen=True)
class GemmCall:
    """The arguments of ``cublas[SD]gemmStridedBatched`` for one row-major batched product (pointers are device
    addresses): ``C[q] = op(first[q]) · op(second[q])``, all column-major, ``q < batch``."""

    dtype: str
    ops: tuple[str, str]
    m: int
    n: int
    k: int
    first: int
    first_ld: int
    first_stride: int
    second: int
    second_ld: int
    second_stride: int
    c: int
    ldc: int
    c_stride: int
    batch: int


def gemm_call(
    dtype: Any, batch: int, m: int, k: int, n: int, a_transposed: bool, b_transposed: bool, a: int, b: int, c: int
) -> GemmCall:
    """The cuBLAS call computing row-major ``C = A @ B`` (``m × k`` by ``k × n``, ``batch`` times), ``A`` at
    address ``a`` (or, ``a_transposed``, its ``k × m`` source there), ``B`` likewise, ``C`` at ``c``.

    Column-major, ``C``'s memory is ``Cᵀ = Bᵀ Aᵀ`` (``n × m``, leading dimension ``n``): ``B``'s memory is ``Bᵀ``
    (``n × k``, leading dimension ``n``) unless it is stored as its source ``S`` (``n × k`` row-major, read
    column-major ``k × n`` = ``B``: transposed once more, leading dimension ``k``); the same for ``A``."""
    first_ld = k if b_transposed else n
    second_ld = m if a_transposed else k
    for name, value in (("m", m), ("n", n), ("k", k), ("batch", batch)):
        if value > _INT_MAX:
            raise DeviceError(f"cuda: matmul: {name} = {value} exceeds cuBLAS's 32-bit sizes")
    return GemmCall(
        str(np.dtype(dtype)),
        ("T" if b_transposed else "N", "T" if a_transposed else "N"),
        n,
        m,
        k,
        b,
        max(1, first_ld),
        k * n,
        a,
        max(1, second_ld),
        m * k,
        c,
        max(1, n),
        m * n,
        batch,
    )


@cache
def library() -> ctypes.CDLL:
    """cuBLAS, located by ``cuda.pathfinder`` (DeviceError saying what to install when it is not found)."""
    try:
        from cuda.pathfinder import load_nvidia_dynamic_lib

        loaded = load_nvidia_dynamic_lib("cublas")
    except Exception as exc:  # no cuda-pathfinder, or no cuBLAS where it looks
        raise DeviceError(
            f"cuda: matmul needs cuBLAS, which cuda.pathfinder could not load ({type(exc).__name__}: {exc}); "
            "pip install nvidia-cublas-cu12 (or install the CUDA toolkit)"
        ) from exc
    if loaded.abs_path is None:  # already loaded by someone else: reuse that handle
        return ctypes.CDLL("libcublas", handle=loaded._handle_uint)
    return ctypes.CDLL(loaded.abs_path)


def check(status: int, what: str, lib: Any = None) -> None:
    """Raise unless ``status`` is ``CUBLAS_STATUS_SUCCESS``: ResourceError when cuBLAS ran out of device memory,
    else DeviceError naming ``what`` and the status (cuBLAS's own description when it has one).

    >>> check(0, "cublasCreate_v2")
    >>> check(7, "cublasSgemmStridedBatched")
    Traceback (most recent call last):
      ...
    pyaccad.backends.cuda.errors.DeviceError: cuda: cublasSgemmStridedBatched failed: CUBLAS_STATUS_INVALID_VALUE (7)
    """
    if status == 0:
        return
    name = STATUS.get(status, "an unknown cuBLAS status")
    described = _describe(lib, status)
    message = f"cuda: {what} failed: {name} ({status}){': ' + described if described else ''}"
    if status == _ALLOC_FAILED:
        raise ResourceError(f"cuda: out of device memory: {what} failed: {name}")
    raise DeviceError(message)


def _describe(lib: Any, status: int) -> str:
    """cuBLAS's own text for ``status`` (``cublasGetStatusString``, cuBLAS 11.4 on), or nothing."""
    describe = getattr(lib, "cublasGetStatusString", None) if lib is not None else None
    if describe is None:
        return ""
    describe.restype, describe.argtypes = ctypes.c_char_p, [ctypes.c_int]
    text = describe(status)
    return text.decode(errors="replace") if text else ""


class Blas:
    """cuBLAS for one device context: its handle (made on first use, in ``CUBLAS_DEFAULT_MATH`` mode, on the
    legacy default stream the kernels use) and the strided batched GEMMs."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.handle: ctypes.c_void_p | None = None

    def _handle(self) -> tuple[ctypes.CDLL, ctypes.c_void_p]:
        lib = library()
        with self.lock:
            if self.handle is None:
                handle = ctypes.c_void_p()
                check(lib.cublasCreate_v2(ctypes.byref(handle)), "cublasCreate_v2", lib)
                check(lib.cublasSetMathMode(handle, _DEFAULT_MATH), "cublasSetMathMode", lib)
                check(lib.cublasSetStream_v2(handle, ctypes.c_void_p(0)), "cublasSetStream_v2", lib)
                self.handle = handle
        return lib, self.handle

    def gemm(self, call: GemmCall) -> None:
        """Run ``call`` (the caller has made the context current)."""
        lib, handle = self._handle()
        scalar = ctypes.c_float if call.dtype == "float32" else ctypes.c_double
        name = "cublasSgemmStridedBatched" if call.dtype == "float32" else "cublasDgemmStridedBatched"
        one, zero = scalar(1), scalar(0)
        pointer, size, long = ctypes.c_void_p, ctypes.c_int, ctypes.c_longlong
        status = getattr(lib, name)(
            handle,
            size(_OPS[call.ops[0]]),
            size(_OPS[call.ops[1]]),
            size(call.m),
            size(call.n),
            size(call.k),
            ctypes.byref(one),
            pointer(call.first),
            size(call.first_ld),
            long(call.first_stride),
            pointer(call.second),
            size(call.second_ld),
            long(call.second_stride),
            ctypes.byref(zero),
            pointer(call.c),
            size(call.ldc),
            long(call.c_stride),
            size(call.batch),
        )
        check(status, name, lib)


def emulate(call: GemmCall) -> None:
    """``call`` on host memory with NumPy, reading each operand as column-major with its leading dimension and
    batch stride, exactly as cuBLAS would (the emulator's stand-in for it)."""
    dtype = np.dtype(call.dtype)

    def matrix(address: int, op: str, rows: int, cols: int, ld: int, stride: int, q: int) -> np.ndarray:
        stored_rows, stored_cols = (rows, cols) if op == "N" else (cols, rows)
        start = address + q * stride * dtype.itemsize
        count = (stored_cols - 1) * ld + stored_rows if stored_rows and stored_cols else 0
        flat = np.frombuffer((ctypes.c_char * (count * dtype.itemsize)).from_address(start), dtype)
        stored = np.lib.stride_tricks.as_strided(
            flat, (stored_rows, stored_cols), (dtype.itemsize, ld * dtype.itemsize), writeable=False
        )
        return stored if op == "N" else stored.T

    for q in range(call.batch):
        left = matrix(call.first, call.ops[0], call.m, call.k, call.first_ld, call.first_stride, q)
        right = matrix(call.second, call.ops[1], call.k, call.n, call.second_ld, call.second_stride, q)
        start = call.c + q * call.c_stride * dtype.itemsize
        flat = np.frombuffer((ctypes.c_char * (call.ldc * call.n * dtype.itemsize)).from_address(start), dtype)
        out = np.lib.stride_tricks.as_strided(flat, (call.m, call.n), (dtype.itemsize, call.ldc * dtype.itemsize))
        out[...] = left @ right
