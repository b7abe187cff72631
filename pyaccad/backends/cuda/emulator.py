"""A CPU stand-in for a GPU: the cuda backend's kernels run where there is no GPU (CI, laptops).

``PYACCAD_CUDA_EMULATE=1`` makes the cuda backend run on an :class:`EmulatedDevice` instead of the CUDA
driver: slowly, a thread at a time in each block, but through every kernel and every step of the host schedule,
so the GPU code can be tested and debugged on any machine with g++ and NVRTC. The test suite uses it when
there is no GPU. :class:`EmulatedDevice` has the interface of :class:`pyaccad.backends.cuda.driver.Device`.
Its memory is host memory; loading a module compiles the generated CUDA C++ twice: with NVRTC for ``sm_90`` (so every
module the tests generate must compile for the GPU), and with g++ behind a small header (:data:`SHIM`, precompiled
once per cache folder) that gives C++ what CUDA's device code takes for granted (``blockIdx``/``threadIdx``,
``__global__``, the math overloads, atomics, ``__longlong_as_double``, ``__shared__``, ``__syncthreads``, warp
shuffles).

A launch of independent work items (``threads == 0``: grid-stride loops whose threads never meet) runs its blocks one
after another, every thread of a block to its end, one after the other: each work item is independent, or updates its
target with an atomic operation, whose effect one thread at a time is exactly the atomic one. A *cooperative* launch
(a block size given: the kernel shares memory, waits at ``__syncthreads()`` and exchanges values by
``__shfl_*_sync``) runs its blocks at once, each on an OS thread of its own (its ``__shared__`` arrays are
``thread_local``), as a GPU runs its resident blocks: the atomics are real ones, and blocks that exchange values
through global memory (a scan's look-back, :mod:`.scans`) meet in orders that change from run to run. Within a block,
each thread is a fiber (``ucontext``) that runs until it reaches a barrier: a ``__syncthreads()`` releases the block
once every thread waits at one (a thread that ended never arrives), a shuffle (or ``__syncwarp()``) releases its warp
once all 32 lanes wait at one, and shuffles read the values the lanes left. Between barriers the fibers run in turn,
forward and backward on alternate rounds, so code that reads another thread's shared memory without a barrier in
between sees a different order than the one it was written for. A thread waiting on a flag another block sets
(``pa_spin()``, the GPU's ``__nanosleep``) lets the other threads of its block, and the other blocks, run. A barrier
that can never be released (a shuffle or ``__syncthreads()`` some threads skip), or a flag still unset after two
seconds of waits (``PA_WAIT_SECONDS``), stops the launch with a :class:`~pyaccad.backends.cuda.errors.DeviceError`.

A float ``matmul``, a cuBLAS call on the GPU, runs on NumPy here (:meth:`EmulatedDevice.gemm`: the same
column-major arguments, read from host memory as cuBLAS reads device memory); cuBLAS itself runs only on a GPU.

What it cannot show is timing, occupancy, or a race that the CUDA memory model allows but no interleaving at
barriers shows (a read of shared memory racing a write in the same phase is only exposed by the two orders);
the GPU runs of the cuda tests do.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from pyaccad.backends.cuda import nvrtc
from pyaccad.backends.cuda.cubins import compile_module
from pyaccad.backends.cuda.cublas import GemmCall, emulate
from pyaccad.backends.cuda.errors import DeviceError
from pyaccad.backends.cuda.grids import geometry
from pyaccad.errors import CompileError, ResourceError
from pyaccad.resources import describe_bytes
from pyaccad.store import Store, write_atomically

SHIM = r"""#include <cstdint>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>
#include <ucontext.h>
typedef _Float16 pa_half;  // g++'s IEEE half, converted with rounding to nearest even as the GPU's cvt.rn
struct pa_dim3 { unsigned x, y, z; };
static thread_local pa_dim3 blockIdx, threadIdx, blockDim, gridDim;
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static thread_local
using std::sin; using std::cos; using std::tan; using std::asin; using std::acos; using std::atan; using std::sinh;
using std::cosh; using std::tanh; using std::asinh; using std::acosh; using std::atanh; using std::exp;
using std::expm1;
using std::log; using std::log1p; using std::sqrt; using std::fabs; using std::floor; using std::ceil; using std::rint;
using std::trunc; using std::erf; using std::isnan; using std::isinf; using std::pow; using std::atan2; using std::fmod;
using std::copysign;
static inline int __ffs(int x) { return __builtin_ffs(x); }
static inline double __longlong_as_double(int64_t b) { double d; std::memcpy(&d, &b, 8); return d; }
static inline int64_t __double_as_longlong(double d) { int64_t b; std::memcpy(&b, &d, 8); return b; }
static inline float __int_as_float(int b) { float d; std::memcpy(&d, &b, 4); return d; }
static inline int __float_as_int(float d) { int b; std::memcpy(&b, &d, 4); return b; }
/* Atomics as compare-and-swap loops on the bits (any type, floats too): a cooperative launch's blocks run at once. */
template <typename T, typename F> static inline T pa_atomic(T *p, F update) {
    T old, next;
    __atomic_load(p, &old, __ATOMIC_SEQ_CST);
    do next = update(old);
    while (!__atomic_compare_exchange(p, &old, &next, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST));
    return old;
}
template <typename T, typename V> static inline T atomicAdd(T *p, V v) {
    return pa_atomic(p, [v](T old) { return (T)(old + (T)v); });
}
template <typename T, typename V> static inline T atomicMin(T *p, V v) {
    return pa_atomic(p, [v](T old) { return (T)v < old ? (T)v : old; });
}
template <typename T, typename U, typename V> static inline T atomicCAS(T *p, U expected, V v) {
    T want = (T)expected, next = (T)v;
    __atomic_compare_exchange(p, &want, &next, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    return want;
}
/* A block's threads as fibers, each running until it waits at a barrier (see the emulator's doc). */
enum { PA_RUN, PA_BLOCK, PA_WARP, PA_DONE, PA_STUCK };
typedef void (*pa_kernel)(const int64_t *, void *const *, int64_t *);
struct pa_fiber { ucontext_t context; int state; unsigned shuffles; };
struct pa_block {
    ucontext_t host;
    pa_fiber *fibers = nullptr;
    char *stacks = nullptr;
    unsigned room = 0, current = 0;
    unsigned long spins = 0;  /* the waits on a flag since the block's last barrier, and when they began */
    std::chrono::steady_clock::time_point waiting;
    uint64_t lanes[2][1024];  /* the bits each thread offers to a shuffle */
    pa_kernel kernel; const int64_t *E; void *const *B; int64_t *R;
    ~pa_block() { std::free(fibers); std::free(stacks); }
};
static const size_t PA_STACK = 1 << 17;
static thread_local pa_block pa_state;
static void pa_wait(int state) {
    pa_block &b = pa_state;
    pa_fiber &f = b.fibers[b.current];
    f.state = state;
    swapcontext(&f.context, &b.host);
}
static inline void __syncthreads() { pa_state.spins = 0; pa_wait(PA_BLOCK); }
static inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static const int PA_WAIT_SECONDS = 2;  /* far longer than any block of a launch takes to set a flag */
static inline void pa_spin() {  /* a waiter lets the other threads of its block, then the other blocks, run */
    pa_block &b = pa_state;
    if (b.spins++ == 0) b.waiting = std::chrono::steady_clock::now();
    if (b.spins < 64) std::this_thread::yield();
    else std::this_thread::sleep_for(std::chrono::microseconds(50));  /* a long wait: leave the CPU to the others */
    const bool stuck = b.spins % 64 == 0 &&
                       std::chrono::steady_clock::now() - b.waiting > std::chrono::seconds(PA_WAIT_SECONDS);
    pa_wait(stuck ? PA_STUCK : PA_RUN);
}
static inline void __syncwarp(unsigned = 0xffffffffu) { pa_wait(PA_WARP); }
template <typename T> static inline T pa_shuffle(T v, int lane) {  /* lane < 0: the thread's own value */
    static_assert(sizeof(T) <= 8, "a shuffle moves at most 8 bytes");
    /* two sets of slots, used in turn: a lane offers its next value in the other set while a slower lane may still
       read this one, and it cannot get further ahead, as that shuffle waits for every lane */
    pa_block &b = pa_state;
    const unsigned me = threadIdx.x, set = b.fibers[me].shuffles++ & 1;
    uint64_t bits = 0, got;
    std::memcpy(&bits, &v, sizeof(T));
    b.lanes[set][me] = bits;
    pa_wait(PA_WARP);  /* every lane has offered its value */
    got = lane < 0 ? bits : pa_state.lanes[set][(me & ~31u) + (unsigned)lane];
    T out;
    std::memcpy(&out, &got, sizeof(T));
    return out;
}
template <typename T> static inline T __shfl_down_sync(unsigned, T v, unsigned d, int = 32) {
    const unsigned l = threadIdx.x & 31; return pa_shuffle(v, l + d < 32 ? (int)(l + d) : -1);
}
template <typename T> static inline T __shfl_up_sync(unsigned, T v, unsigned d, int = 32) {
    const unsigned l = threadIdx.x & 31; return pa_shuffle(v, l >= d ? (int)(l - d) : -1);
}
template <typename T> static inline T __shfl_xor_sync(unsigned, T v, int m, int = 32) {
    return pa_shuffle(v, (int)((threadIdx.x ^ (unsigned)m) & 31));
}
template <typename T> static inline T __shfl_sync(unsigned, T v, int src, int = 32) { return pa_shuffle(v, src & 31); }
static void pa_fiber_main() {
    pa_block &b = pa_state;
    b.kernel(b.E, b.B, b.R);
    b.fibers[b.current].state = PA_DONE;
}
static bool pa_release(unsigned threads) {
    pa_block &b = pa_state;
    bool released = false;
    for (unsigned lo = 0; lo < threads; lo += 32) {  /* a warp waits at a shuffle: all 32 lanes must */
        const unsigned hi = std::min(threads, lo + 32);
        bool all = true;
        for (unsigned t = lo; t < hi; t++) all = all && b.fibers[t].state == PA_WARP;
        if (all) {
            for (unsigned t = lo; t < hi; t++) b.fibers[t].state = PA_RUN;
            released = true;
        }
    }
    if (released) return true;
    for (unsigned t = 0; t < threads; t++)  /* a thread waiting on a flag (pa_spin) runs again */
        if (b.fibers[t].state == PA_RUN) return true;
    for (unsigned t = 0; t < threads; t++)  /* __syncthreads: every thread of the block waits (none has ended) */
        if (b.fibers[t].state != PA_BLOCK) return false;
    for (unsigned t = 0; t < threads; t++) b.fibers[t].state = PA_RUN;
    return true;
}
/* One block of a cooperative launch, on the calling OS thread (its __shared__ arrays, thread_local, are the block's);
   1 when a barrier can never be released (the threads disagree) or a flag never set. */
static int pa_run_block(pa_kernel kernel, unsigned threads, const int64_t *E, void *const *B, int64_t *R) {
    pa_block &b = pa_state;
    if (b.room < threads) {
        std::free(b.fibers); std::free(b.stacks);
        b.fibers = (pa_fiber *)std::calloc(threads, sizeof(pa_fiber));
        b.stacks = (char *)std::malloc(threads * PA_STACK);
        if (!b.fibers || !b.stacks) std::abort();
        b.room = threads;
    }
    b.kernel = kernel; b.E = E; b.B = B; b.R = R; b.spins = 0;
    for (unsigned t = 0; t < threads; t++) {
        pa_fiber &f = b.fibers[t];
        getcontext(&f.context);
        f.context.uc_stack.ss_sp = b.stacks + t * PA_STACK;
        f.context.uc_stack.ss_size = PA_STACK;
        f.context.uc_link = &b.host;
        makecontext(&f.context, pa_fiber_main, 0);
        f.state = PA_RUN;
        f.shuffles = 0;
    }
    for (bool backward = false;; backward = !backward) {
        for (unsigned k = 0; k < threads; k++) {
            const unsigned t = backward ? threads - 1 - k : k;
            if (b.fibers[t].state != PA_RUN) continue;
            b.current = t;
            threadIdx = {t, 0, 0};
            swapcontext(&b.host, &b.fibers[t].context);
        }
        if (!pa_release(threads)) break;
    }
    for (unsigned t = 0; t < threads; t++)
        if (b.fibers[t].state != PA_DONE) return 1;
    return 0;
}
/* A cooperative launch: every block at once, each on an OS thread of its own, as a GPU runs its resident blocks. */
static int pa_cooperate(pa_kernel kernel, unsigned blocks, unsigned threads, const int64_t *E, void *const *B,
                        int64_t *R) {
    std::atomic<int> failed{0};
    std::vector<std::thread> workers;
    for (unsigned k = 0; k < blocks; k++)
        workers.emplace_back([=, &failed] {
            gridDim = {blocks, 1, 1}; blockDim = {threads, 1, 1}; blockIdx = {k, 0, 0};
            if (pa_run_block(kernel, threads, E, B, R)) failed = 1;
        });
    for (std::thread &w : workers) w.join();
    return failed;
}
"""

LAUNCHER = """extern "C" void pa_launch_{name}(unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                                     unsigned bz, const int64_t *E, void *const *B, int64_t *R) {{
    gridDim = {{gx, gy, gz}}; blockDim = {{bx, by, bz}};
    for (unsigned k = 0; k < gz; k++) for (unsigned j = 0; j < gy; j++) for (unsigned i = 0; i < gx; i++)
        for (unsigned c = 0; c < bz; c++) for (unsigned b = 0; b < by; b++) for (unsigned a = 0; a < bx; a++) {{
            blockIdx = {{i, j, k}}; threadIdx = {{a, b, c}}; {name}(E, B, R);
        }}
}}
extern "C" int pa_cooperate_{name}(unsigned blocks, unsigned threads, const int64_t *E, void *const *B, int64_t *R) {{
    return pa_cooperate({name}, blocks, threads, E, B, R);
}}"""

BLOCK = 32  # few threads per block: each emulated thread is a call, and the grid-stride loops cover the rest
MAX_BLOCKS = 64
MAX_COOPERATIVE_BLOCKS = 8  # a cooperative kernel loops over its blocks' work: few blocks, each switching fibers
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


GXX_FLAGS = ("-O1", "-std=c++17", "-pthread", "-fPIC", "-fno-fast-math", "-ffp-contract=off")
"""g++'s flags for a module, and for the precompiled :data:`SHIM`, which must be built with the same ones."""


def _gxx(what: str, *args: str) -> None:
    result = subprocess.run(["g++", *GXX_FLAGS, *args], capture_output=True, text=True)
    if result.returncode:
        raise CompileError(f"cuda emulator: g++ rejected {what}:\n{result.stderr[:4000]}")


def _shim_header() -> Path:
    """:data:`SHIM` as a header in the store's folder, beside its precompiled form (``.gch``), built once per store.

    The shim's C++ headers (threads, atomics, fibers) were two thirds of g++'s time on a typical module; a module
    that includes the header first gets the precompiled one instead, the same code. Where g++ finds the ``.gch``
    unusable (another g++), it reads the header itself: slower, the same module.
    """
    header = STORE.directory / f"shim-{hashlib.sha256(SHIM.encode()).hexdigest()[:16]}.h"
    pch = header.with_name(header.name + ".gch")
    if not (pch.exists() and header.exists()):
        STORE.directory.mkdir(parents=True, exist_ok=True)
        write_atomically(header, SHIM.encode())
        fd, name = tempfile.mkstemp(prefix=pch.name, dir=STORE.directory)
        os.close(fd)
        try:
            _gxx("the shim", "-x", "c++-header", "-o", name, str(header))
            os.replace(name, pch)  # whole or not at all: another process may be building it too
        finally:
            if os.path.exists(name):
                os.unlink(name)
    return header


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

    def zero(self, pointer: int, nbytes: int) -> None:
        ctypes.memset(pointer, 0, nbytes)

    def load(self, source: str) -> ctypes.CDLL:
        compile_module(source, self.arch)  # it must compile for the GPU too
        names = re.findall(r'extern "C" __global__ void (\w+)\(', source)
        full = "\n".join([SHIM, source, *(LAUNCHER.format(name=name) for name in names)])
        key = hashlib.sha256(full.encode()).hexdigest()[:32]
        found = STORE.find(key)
        if found is None:

            def make(tmp: Path, companions: dict[str, Path]) -> None:
                # the shim's #include, first in the file, is what lets g++ take its precompiled header
                companions[".cpp"].write_text(f'#include "{_shim_header().name}"\n' + full[len(SHIM) + 1 :])
                _gxx("the module", "-shared", "-o", str(tmp), str(companions[".cpp"]))

            found = STORE.publish(key, make, companions=(".cpp",))
        return ctypes.CDLL(str(found))

    def launch(
        self,
        module: ctypes.CDLL,
        kernel: str,
        items: int,
        args: tuple[int, ...],
        threads: int = 0,
        grid: tuple[int, ...] = (),
    ) -> None:
        """Run ``kernel`` as the driver would (:meth:`~pyaccad.backends.cuda.driver.Device.launch`): grid-stride
        over ``items`` work items (on a 3-D grid given ``grid``, with the emulator's few blocks, so that every
        grid-stride loop wraps), or with ``threads`` a block, cooperatively over ``items`` block work units."""
        self.launches.append((kernel, items))
        pointers = [ctypes.c_void_p(a) for a in args]
        if not threads:
            blocks = max(1, min((items + BLOCK - 1) // BLOCK, MAX_BLOCKS))
            dims = geometry(grid, BLOCK, MAX_BLOCKS) if grid else ((blocks, 1, 1), (BLOCK, 1, 1))
            getattr(module, f"pa_launch_{kernel}")(*(ctypes.c_uint(d) for d in (*dims[0], *dims[1])), *pointers)
            return
        blocks = max(1, min(items, MAX_COOPERATIVE_BLOCKS))
        if getattr(module, f"pa_cooperate_{kernel}")(ctypes.c_uint(blocks), ctypes.c_uint(threads), *pointers):
            raise DeviceError(
                f"cuda emulator: kernel {kernel} deadlocked ({blocks} blocks of {threads} threads): a __syncthreads() "
                "or warp shuffle that not every thread (or lane) of its block (or warp) reaches"
            )

    def gemm(self, call: GemmCall) -> None:
        """cuBLAS's strided batched GEMM, emulated with NumPy on the same column-major arguments
        (:func:`.cublas.emulate`): the faked part of the driver, as the rest of this device is."""
        self.launches.append((f"gemm_{call.dtype}", call.batch * call.m * call.n))
        emulate(call)

    def synchronize(self) -> None:
        pass
