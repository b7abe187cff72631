"""The CUDA C++ prelude every generated module starts with: types, the element-wise helpers, error records.

NVRTC compiles without the C library's headers, so the fixed-width integer types are declared here; the
math functions the element-wise templates name (``sin``, ``pow``, ``erf``, ...) are CUDA's own, overloaded
for ``float`` and ``double``. The ``PYACCAD_*`` helpers are the shared table's
(:mod:`pyaccad.backends.clike.helpers`) as overloaded ``__device__`` functions, so the C templates of
``ir/primitives/elementwise.py`` print unchanged.

Kernels report a failed bounds check through the error record ``R`` (int64s): ``R[0]`` an error id,
``R[1]`` the smallest failing position, ``R[2]`` the mode, ``R[3:]`` the failing index. In the normal
mode (0) a failing thread only lowers ``R[1]`` (``atomicMin``) and sets ``R[0]``; the runtime, seeing
``R[0]`` set, runs the failing kernel again in record mode (1), where the thread at position ``R[1]``
writes its error id and index: the interpreter's first failure, whatever the threads' timing.

>>> "PYACCAD_MOD" in PRELUDE and "__device__" in PRELUDE
True
"""

from __future__ import annotations

from pyaccad.backends.clike.helpers import HELPERS, body, defined

_TYPES = """#ifdef __CUDACC_RTC__
typedef signed char int8_t; typedef short int16_t; typedef int int32_t; typedef long long int64_t;
typedef unsigned char uint8_t; typedef unsigned short uint16_t; typedef unsigned int uint32_t;
typedef unsigned long long uint64_t;
struct pa_half {
    unsigned short bits;
    pa_half() = default;
    __device__ pa_half(float f) { asm("cvt.rn.f16.f32 %0, %1;" : "=h"(bits) : "f"(f)); }
    __device__ pa_half(double d) { asm("cvt.rn.f16.f64 %0, %1;" : "=h"(bits) : "d"(d)); }
    __device__ operator float() const { float f; asm("cvt.f32.f16 %0, %1;" : "=f"(f) : "h"(bits)); return f; }
};
#endif"""
"""The fixed-width integers, and ``pa_half`` (float16, :data:`pyaccad.backends.clike.cgen.HALF`): half storage
with the PTX conversions (round to nearest even, from double in one rounding) that ``cuda_fp16.h`` itself wraps.
Not ``__half``: the NVRTC that pip installs has no ``cuda_fp16.h`` to include, and the generated code needs
only the conversions (it computes in float)."""

_SUPPORT = r"""#define PA_MIN_I(a, b) ((a) < (b) ? (a) : (b))
__device__ __forceinline__ double pa_f64_bits(int64_t b) { return __longlong_as_double(b); }
__device__ __forceinline__ int64_t PA_MIRROR(int64_t f, int64_t n) {
    f %= 2 * n - 2; return f >= n ? 2 * n - 2 - f : f;
}
/* Warp shuffles of any value of at most 8 bytes (bool and the narrow types too), moved as its bits. */
template <typename T> __device__ __forceinline__ T pa_shuffle_bits(T v, int how, int d) {
    if (sizeof(T) <= 4) {
        unsigned w = 0; memcpy(&w, &v, sizeof(T));
        w = how == 0 ? __shfl_down_sync(0xffffffffu, w, d) : __shfl_up_sync(0xffffffffu, w, d);
        memcpy(&v, &w, sizeof(T));
    } else {
        unsigned long long w = 0; memcpy(&w, &v, sizeof(T));
        w = how == 0 ? __shfl_down_sync(0xffffffffu, w, d) : __shfl_up_sync(0xffffffffu, w, d);
        memcpy(&v, &w, sizeof(T));
    }
    return v;
}
/* A read of a value another block published (after its flag and a fence): volatile, never a stale cached copy. */
template <typename T> __device__ __forceinline__ T pa_load_volatile(const T *p) {
    T v;
    if constexpr (sizeof(T) == 8) {
        unsigned long long w = *(const volatile unsigned long long *)p; memcpy(&v, &w, sizeof(T));
    } else if constexpr (sizeof(T) == 4) {
        unsigned w = *(const volatile unsigned *)p; memcpy(&v, &w, sizeof(T));
    } else if constexpr (sizeof(T) == 2) {
        unsigned short w = *(const volatile unsigned short *)p; memcpy(&v, &w, sizeof(T));
    } else {
        unsigned char w = *(const volatile unsigned char *)p; memcpy(&v, &w, sizeof(T));
    }
    return v;
}
#ifdef __CUDACC_RTC__
/* A waiter's pause between reads of a flag another block sets (the emulator's yields to its other threads). */
__device__ __forceinline__ void pa_spin() {
#if __CUDA_ARCH__ >= 700
    __nanosleep(100);
#endif
}
#endif
template <typename T> __device__ __forceinline__ T pa_shfl_down(T v, int d) { return pa_shuffle_bits(v, 0, d); }
template <typename T> __device__ __forceinline__ T pa_shfl_up(T v, int d) { return pa_shuffle_bits(v, 1, d); }
#define PA_RECORD_AT 3
__device__ void pa_fail_at(int64_t *R, int id, int64_t position, int rank, const int64_t *index) {
    if (R[2] == 0) {
        atomicMin((unsigned long long *)&R[1], (unsigned long long)position);
        atomicCAS((unsigned long long *)&R[0], 0ULL, (unsigned long long)id);
    } else if (position == R[1]) {
        R[0] = id;
        for (int k = 0; k < rank; k++) R[PA_RECORD_AT + k] = index[k];
    }
}
#define PA_FAIL_AT(id, position, ...) do { const int64_t pa_at[] = {__VA_ARGS__}; \
    pa_fail_at(R, (id), (position), (int)(sizeof pa_at / sizeof pa_at[0]), pa_at); } while (0)"""


def _helper(name: str) -> str:
    params, _ = HELPERS[name]
    out = []
    for suffix, ctype in defined(name).items():
        args = ", ".join(f"{ctype} {p}" for p in params.split(","))
        out.append(
            f"__device__ __forceinline__ {ctype} PYACCAD_{name.upper()}({args}) {{ {body(HELPERS[name], suffix)} }}"
        )
    return "\n".join(out)


PRELUDE = "\n".join([_TYPES, _SUPPORT, *(_helper(name) for name in HELPERS)])
"""What every generated CUDA module starts with."""
