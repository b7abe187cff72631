"""Loading bridge libraries, the one GHC runtime they share, and calling a program.

Every bridge library links the same shared GHC runtime (``libHSrts``), so a process
has one runtime, whatever the number of libraries. It is started once, by the first
library loaded (through that library's ``pyaccad_hs_start``, with signal handlers
off), and stopped by an exit handler: a process that ran accelerate through such a
library and exits without ``hs_exit`` crashes with SIGSEGV. It cannot be restarted
after ``hs_exit``. Before it starts, ``$PYACCAD_NUM_THREADS`` becomes
``$ACCELERATE_LLVM_NATIVE_THREADS`` (accelerate-llvm-native's worker count) unless
that is set already. Before the first library is loaded or built, accelerate's kernels get vector math
(:mod:`.veclib`; where they do not, their cache folder is another, ``...-scalar-math``). Then
accelerate allocates its arrays through the first library's ``pyaccad_keep_arrays``, which
keeps the last ``KEEP_ARRAYS`` of them (at most ``KEEP_ARRAYS_BYTES``) alive: accelerate-llvm-native's kernels hold
raw pointers only, and a garbage collection could free an array while a worker runs on it. Once no call is
running, no kernel is either: the kept arrays go then (:func:`_call`), so the next call reuses their memory.
Before the first library is loaded (and with it accelerate-blas's OpenBLAS), OpenBLAS
is told the CPU's kernel set where the CPU hides its model (:mod:`.openblas`), and
accelerate (which reads its flags as its own shared library loads) is told to keep IEEE
arithmetic, with a kernel cache of its own for that choice (:mod:`.fastmath`).

Calls release the GIL (cffi does), so several Python threads can run programs at
once; the runtime schedules them.
"""

from __future__ import annotations

import atexit
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cffi
import numpy as np

from pyaccad.backends.accelerate import fastmath, openblas, veclib
from pyaccad.backends.recycled import Recycled
from pyaccad.errors import CompileError, RunError, ShapeError, with_location
from pyaccad.ir import BOOL, ArrayType

ffi = cffi.FFI()
ffi.cdef(
    """
    void pyaccad_hs_start(void);
    long long pyaccad_hs_allocation_area(void);
    void hs_exit(void);
    void pyaccad_keep_arrays(int64_t count, int64_t bytes);
    void pyaccad_trim_arrays(int64_t count, int64_t bytes);
    int pyaccad_call(void **inputs, const int64_t *input_extents, void **outputs, const int64_t *output_extents,
                     char *message, int capacity);
    """
)

MESSAGE_CAPACITY = 8192
# How many of the arrays accelerate allocated last stay alive, at most, and at most how many bytes of them (see
# `_start_runtime`). A kernel can only outlive its inputs by the ops accelerate's executor issues before it waits on
# that kernel's result, a trip of a loop; keeping more costs: a loop's thousands of small arrays a call, kept alive
# for 256 MB, made the garbage collector's work, and every call, several times slower (BENCHMARKS.md, session 9).
KEEP_ARRAYS = 4096
KEEP_ARRAYS_BYTES = 256 << 20
_runtime_lock = threading.Lock()
_runtime_started = False
_allocating_library: Any = None  # the library whose allocator accelerate calls: its kept arrays are trimmed
_calls_lock = threading.Lock()
_calls_running = 0
_kernel_home: str | None = None  # the $XDG_CACHE_HOME given to accelerate (its kernel cache), once flags are set
_vector_math = False  # whether accelerate's kernels call glibc's libmvec (.veclib)


def kernel_home() -> str:
    """accelerate's kernel cache (its ``$XDG_CACHE_HOME``), named by its flags and its kernels' math; the first
    call sets them (:mod:`.fastmath`, :mod:`.veclib`), before the first library (and with it accelerate's, which
    reads ``$ACCELERATE_FLAGS`` as it loads) is loaded or built."""
    global _kernel_home, _vector_math
    with _runtime_lock:
        if _kernel_home is None:
            home = str(fastmath.configure())
            _vector_math = veclib.configure()
            _kernel_home = home if _vector_math else f"{home}-scalar-math"  # accelerate's cache key knows no flags
            # the C environment only, which accelerate reads at each kernel's lookup: os.environ, which other
            # Python libraries read for their own caches, keeps the user's $XDG_CACHE_HOME
            os.putenv("XDG_CACHE_HOME", _kernel_home)
        return _kernel_home


def build_environment() -> tuple[dict[str, str], list[str]]:
    """The environment GHC compiles a library in, and the libraries it links: accelerate's, as the bridge sets
    it at run time (:func:`kernel_home`). A library compiled ahead of time holds kernels that accelerate compiled
    inside GHC, with these flags and this math (``-lmvec`` where they call it)."""
    home = kernel_home()
    return {**os.environ, "XDG_CACHE_HOME": home}, ["-lmvec"] if _vector_math else []


def _start_runtime(lib: Any) -> None:
    global _runtime_started, _allocating_library
    with _runtime_lock:
        if _runtime_started:
            return
        threads = os.environ.get("PYACCAD_NUM_THREADS")
        if threads and "ACCELERATE_LLVM_NATIVE_THREADS" not in os.environ:
            os.environ["ACCELERATE_LLVM_NATIVE_THREADS"] = threads
        lib.pyaccad_hs_start()
        # accelerate-llvm-native's kernels hold raw pointers only: without this, a garbage collection can free an
        # array (an awhile state of a past trip) while a worker thread still runs on it (see .entry).
        lib.pyaccad_keep_arrays(KEEP_ARRAYS, KEEP_ARRAYS_BYTES)
        atexit.register(lib.hs_exit)
        _allocating_library = lib
        _runtime_started = True


def _call(lib: Any, *args: Any) -> int:
    """``lib.pyaccad_call(*args)``; the last call to finish lets go of the arrays kept for the kernels.

    Kept past the calls (up to ``KEEP_ARRAYS_BYTES``), a call's arrays pushed every next call's onto memory the
    process had not touched yet: a page fault every 4 KiB, most of the time of the bridge's float sums
    (3418 faults, 4.7 ms of system time a call, ``Σ sin(x)·x`` at 2^22). With nothing running, no kernel can
    still read them, so they go (all but the newest): the garbage collector hands their memory to the next call.
    The count of running calls and the trim share a lock, so no call starts while its arrays could be trimmed.
    """
    global _calls_running
    with _calls_lock:
        _calls_running += 1
    status = 1
    try:
        status = lib.pyaccad_call(*args)
        return status
    finally:
        with _calls_lock:
            _calls_running -= 1
            if _calls_running == 0 and status == 0:  # a call that raised may have left work queued: keep all
                _allocating_library.pyaccad_trim_arrays(0, 0)


def allocation_area() -> int | None:
    """The GHC runtime's allocation area per capability, in bytes (``-A``; :data:`.entry.ALLOCATION_AREA_MB` MiB
    unless ``$GHCRTS`` says otherwise), or None before a bridge library has started the runtime."""
    with _runtime_lock:
        return None if _allocating_library is None else int(_allocating_library.pyaccad_hs_allocation_area())


def load(path: Path) -> Any:
    """The library at ``path``, with the GHC runtime running."""
    openblas.configure()  # read when OpenBLAS loads, with the first library that links it
    kernel_home()
    try:
        lib = ffi.dlopen(str(path))
    except OSError as exc:
        raise CompileError(f"accelerate: the library {path} does not load: {exc}") from exc
    _start_runtime(lib)
    return lib


def _buffer(array: np.ndarray, t: ArrayType, position: int) -> np.ndarray:
    if array.shape != t.shape:
        raise ShapeError(with_location(f"accelerate: input {position} has shape {array.shape}, expected {t.shape}"))
    contiguous = np.ascontiguousarray(array, dtype=t.dtype)
    return contiguous.view(np.uint8) if t.dtype == BOOL else contiguous


def _extents(shapes: Sequence[tuple[int, ...]]) -> Any:
    """Every shape's extents, one after the other, as the library reads them."""
    return ffi.new("int64_t[]", [n for shape in shapes for n in shape] or [0])


class Executable:
    """A program in a loaded bridge library, at the types it was traced at: NumPy inputs in, fresh NumPy outputs
    out. The library takes the extents with each call, so one library serves the programs of every size it is
    written for."""

    def __init__(self, lib: Any, input_types: Sequence[ArrayType], output_types: Sequence[ArrayType]) -> None:
        self.lib, self.input_types, self.output_types = lib, list(input_types), list(output_types)
        self.input_extents = _extents([t.shape for t in self.input_types])  # the same on every call: made once
        self.output_extents = _extents([t.shape for t in self.output_types])
        self.recycled = Recycled()  # the last call's result buffers, written again where nobody holds them

    def __call__(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        buffers = [_buffer(np.asarray(a), t, i) for i, (a, t) in enumerate(zip(inputs, self.input_types, strict=True))]
        outputs = self.recycled.arrays(
            [(t.shape, np.dtype(np.uint8 if t.dtype == BOOL else t.dtype)) for t in self.output_types]
        )
        ins = ffi.new("void *[]", [ffi.from_buffer(b) for b in buffers] or [ffi.NULL])
        outs = ffi.new("void *[]", [ffi.from_buffer(o) for o in outputs] or [ffi.NULL])
        message = ffi.new("char[]", MESSAGE_CAPACITY)
        extents = self.input_extents, self.output_extents
        if _call(self.lib, ins, extents[0], outs, extents[1], message, MESSAGE_CAPACITY) != 0:
            raise RunError(with_location(f"accelerate: the program raised in Haskell: {ffi.string(message).decode()}"))
        self.recycled.keep(outputs)
        return [o.view(np.bool_) if t.dtype == BOOL else o for o, t in zip(outputs, self.output_types, strict=True)]
