"""A CPU stand-in for a GPU: the cuda backend's kernels run where there is no GPU (CI, laptops).

``PYACCAD_CUDA_EMULATE=1`` makes the cuda backend run on an :class:`EmulatedDevice` instead of the CUDA
driver: slowly, one thread after another, but through every kernel and every step of the host schedule,
so the GPU code can be tested and debugged on any machine with g++ and NVRTC. The test suite uses it when
there is no GPU. :class:`EmulatedDevice` has the interface of :class:`pyaccad.backends.cuda.driver.Device`.
Its memory is host memory; loading a module compiles the generated CUDA C++ twice: with NVRTC for ``sm_90`` (so every
module the tests generate must compile for the GPU), and with g++ behind a small header that gives C++
what CUDA's device code takes for granted (``blockIdx``/``threadIdx``, ``__global__``, the math overloads,
atomics, ``__longlong_as_double``). A launch then runs every block's every thread, one after the other.

That is a faithful execution of the generated kernels because they never cooperate within a block (no
shared memory, no barriers, no warp shuffles): each work item is independent, or updates its target with
an atomic operation, whose effect one thread at a time is exactly the atomic one. What it cannot show is
timing, occupancy or a race the atomics would not prevent; the GPU runs of the cuda tests do.
"""

from __future__ import annotations

import ctypes
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np

from pyaccad.backends.cuda import nvrtc
from pyaccad.errors import CompileError, ResourceError
from pyaccad.resources import describe_bytes
from pyaccad.store import Store

SHIM = r"""#include <cstdint>
#include <cmath>
#include <cstring>
#include <algorithm>
typedef _Float16 pa_half;  // g++'s IEEE half, converted with rounding to nearest even as the GPU's cvt.rn
struct pa_dim3 { unsigned x, y, z; };
static thread_local pa_dim3 blockIdx, threadIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
using std::sin; using std::cos; using std::tan; using std::asin; using std::acos; using std::atan; using std::sinh;
using std::cosh; using std::tanh; using std::asinh; using std::acosh; using std::atanh; using std::exp;
using std::expm1;
using std::log; using std::log1p; using std::sqrt; using std::fabs; using std::floor; using std::ceil; using std::rint;
using std::trunc; using std::erf; using std::isnan; using std::isinf; using std::pow; using std::atan2; using std::fmod;
using std::copysign;
static inline double __longlong_as_double(int64_t b) { double d; std::memcpy(&d, &b, 8); return d; }
static inline int64_t __double_as_longlong(double d) { int64_t b; std::memcpy(&b, &d, 8); return b; }
static inline float __int_as_float(int b) { float d; std::memcpy(&d, &b, 4); return d; }
static inline int __float_as_int(float d) { int b; std::memcpy(&b, &d, 4); return b; }
template <typename T, typename V> static inline T atomicAdd(T *p, V v) { T old = *p; *p = old + (T)v; return old; }
template <typename T, typename V> static inline T atomicMin(T *p, V v) {
    T old = *p; if ((T)v < old) *p = (T)v; return old;
}
template <typename T, typename U, typename V> static inline T atomicCAS(T *p, U expected, V v) {
    T old = *p; if (old == (T)expected) *p = (T)v; return old;
}
"""

LAUNCHER = """extern "C" void pa_launch_{name}(unsigned blocks, unsigned threads, const int64_t *E, void *const *B,
                                     int64_t *R) {{
    gridDim = {{blocks, 1, 1}}; blockDim = {{threads, 1, 1}};
    for (unsigned b = 0; b < blocks; b++) for (unsigned t = 0; t < threads; t++) {{
        blockIdx = {{b, 0, 0}}; threadIdx = {{t, 0, 0}}; {name}(E, B, R);
    }}
}}"""

BLOCK = 32  # few threads per block: each emulated thread is a call, and the grid-stride loops cover the rest
MAX_BLOCKS = 64
STORE = Store("cuda-emulator", ".so")


def unavailable_reason() -> str | None:
    """None when the emulator can run here, else why not."""
    if shutil.which("g++") is None:
        return "no g++ to compile the CUDA C++ for the CPU"
    try:
        nvrtc.version()
    except Exception as exc:
        return f"NVRTC is not available: {exc}"
    return None


class EmulatedDevice:
    """Host memory, modules compiled by g++, launches as loops (see the module doc).

    >>> import numpy as np
    >>> device = EmulatedDevice()
    >>> p = device.alloc(8)
    >>> device.upload(p, np.arange(2, dtype=np.int32))
    >>> device.download(p, np.empty(2, np.int32))
    array([0, 1], dtype=int32)
    """

    arch = nvrtc.DEFAULT_ARCH
    name = "the CPU emulator (PYACCAD_CUDA_EMULATE)"

    def __init__(self) -> None:
        self.memory: dict[int, np.ndarray] = {}
        self.launches: list[tuple[str, int]] = []  # kernel and work items of every launch, for tests
        self.uploaded: list[int] = []  # the bytes of every copy to the device, for tests

    def alloc(self, nbytes: int) -> int:
        try:
            block = np.zeros(max(1, nbytes) + 64, np.uint8)
        except MemoryError:  # as the driver reports it: the bytes asked of the (emulated) device
            raise ResourceError(
                f"cuda: out of device memory: cuMemAlloc({nbytes} bytes, {describe_bytes(nbytes)}) failed"
            ) from None
        pointer = block.ctypes.data + (-block.ctypes.data % 64)
        self.memory[pointer] = block
        return pointer

    def free(self, pointer: int) -> None:
        del self.memory[pointer]

    def upload(self, pointer: int, array: np.ndarray) -> None:
        data = np.ascontiguousarray(array)
        self.uploaded.append(data.nbytes)
        ctypes.memmove(pointer, data.ctypes.data, data.nbytes)

    def download(self, pointer: int, out: np.ndarray) -> np.ndarray:
        ctypes.memmove(out.ctypes.data, pointer, out.nbytes)
        return out

    def copy(self, dst: int, src: int, nbytes: int) -> None:
        ctypes.memmove(dst, src, nbytes)

    def load(self, source: str) -> ctypes.CDLL:
        nvrtc.compile_cubin(source, self.arch)  # it must compile for the GPU too
        names = re.findall(r'extern "C" __global__ void (\w+)\(', source)
        full = "\n".join([SHIM, source, *(LAUNCHER.format(name=name) for name in names)])
        key = hashlib.sha256(full.encode()).hexdigest()[:32]
        found = STORE.find(key)
        if found is None:

            def make(tmp: Path, companions: dict[str, Path]) -> None:
                companions[".cpp"].write_text(full)
                cmd = ["g++", "-O1", "-std=c++17", "-fPIC", "-shared", "-fno-fast-math", "-ffp-contract=off"]
                result = subprocess.run([*cmd, "-o", str(tmp), str(companions[".cpp"])], capture_output=True, text=True)
                if result.returncode:
                    raise CompileError(f"cuda emulator: g++ rejected the module:\n{result.stderr[:4000]}")

            found = STORE.publish(key, make, companions=(".cpp",))
        return ctypes.CDLL(str(found))

    def launch(self, module: ctypes.CDLL, kernel: str, items: int, args: tuple[int, ...]) -> None:
        blocks = max(1, min((items + BLOCK - 1) // BLOCK, MAX_BLOCKS))
        self.launches.append((kernel, items))
        function = getattr(module, f"pa_launch_{kernel}")
        function(ctypes.c_uint(blocks), ctypes.c_uint(BLOCK), *(ctypes.c_void_p(a) for a in args))

    def synchronize(self) -> None:
        pass
