"""Calling a compiled program: fill the buffer and extent arrays, one C call, assemble the outputs.

>>> import numpy as np, pyaccad as acc
>>> acc.run(lambda x: x * 2.0, np.arange(3.0), backend="native")
array([0., 2., 4.])
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pyaccad.backends.clike.cgen import OutOfBounds
from pyaccad.backends.environment import Variable
from pyaccad.backends.native.cache import ffi
from pyaccad.backends.recycled import Recycled
from pyaccad.errors import BackendUnavailable, IndexOutOfBounds


@dataclass
class Layout:
    """How to call the entry function of one traced program."""

    n_inputs: int
    consts: list[np.ndarray]
    out_types: list[tuple[np.dtype, tuple[int, ...]]]
    outputs: list[tuple[str, object]]  # ("buffer", k) | ("input", i) | ("const", j) | ("output", k) | ("lit", v)
    slots: list[tuple[str, int]]  # each entry of B: ("input", i) | ("const", j) | ("buffer", k) | ("workspace", 0)
    # | ("record", 0)
    ints: list[int] = field(default_factory=list)
    errors: list[str | OutOfBounds] = field(default_factory=list)  # by error id - 1
    uses_blas: bool = False
    scratch: list[tuple[int, int]] = field(default_factory=list)  # intermediates: (item size, element count)
    workspace: int = 0  # bytes holding them, those with disjoint lifetimes sharing (pyaccad.opt.memory)
    record_size: int = 0  # the error record's int64s (``("record", 0)`` in ``slots``): error id, position, index


class _Workspace:
    """An executable's reusable scratch memory, 64-byte aligned, for one call at a time.

    A call that finds it taken (the same compiled program running in another thread) gets a fresh one.
    """

    def __init__(self, nbytes: int) -> None:
        self.nbytes = nbytes
        self.lock = threading.Lock()
        self.memory = self._fresh() if nbytes else None

    def _fresh(self) -> np.ndarray:
        raw = np.empty(self.nbytes + 64, np.uint8)
        start = -raw.ctypes.data % 64
        return raw[start : start + self.nbytes]

    def take(self) -> np.ndarray | None:
        """The memory for one call (None where the program needs none); hand it back with :meth:`release`.

        Two plain calls, not a context manager: the hot path of every call, and most programs need none.
        """
        if self.memory is None:
            return None
        return self.memory if self.lock.acquire(blocking=False) else self._fresh()

    def release(self, memory: np.ndarray | None) -> None:
        if memory is not None and memory is self.memory:
            self.lock.release()


_CORES = os.cpu_count() or 1
_NUM_THREADS = Variable("PYACCAD_NUM_THREADS")
_AUTO = 0  # the count _parse_num_threads gives "auto": worked out at each call
_UNREAD = object()  # what no value of the variable is


def _parse_num_threads(value: str | None) -> int:
    """The thread count ``$PYACCAD_NUM_THREADS`` asks for (every core where unset or blank), :data:`_AUTO` for
    ``auto``; BackendUnavailable naming the value where it is neither."""
    value = (value or "").strip()
    if not value:
        return _CORES
    if value == "auto":
        return _AUTO
    if not value.isdigit() or int(value) < 1:
        raise BackendUnavailable(f"native: PYACCAD_NUM_THREADS={value!r} is not a positive whole number or 'auto'")
    return int(value)


class _ThreadPolicy:
    """How many threads the next call uses: ``$PYACCAD_NUM_THREADS`` (a count, or ``auto``), else every core.

    ``auto`` adapts to a shared machine, where an OpenMP barrier waiting for a descheduled thread
    costs milliseconds: the cores that other processes are running on right now (the runnable count of
    ``/proc/loadavg``, less this thread and the workers of our previous call, which may still be
    spinning) are left out, down to one thread. Results do not depend on the count (but for float ``+``/``*``
    permutes and BLAS's products): work is cut into pieces that do not depend on it (see "Reproducible bits"
    in :mod:`pyaccad.backends.native`).
    """

    def __init__(self) -> None:
        self.last = 1  # threads used by the previous call
        # the variable's last value (a str, or None where unset) and the count it gave, _AUTO for "auto": read at
        # every call, parsed only when it changed (a tiny program's call takes a few microseconds)
        self._parsed: tuple[object, int] = (_UNREAD, 0)

    def __call__(self) -> int:
        value = _NUM_THREADS()
        seen, count = self._parsed
        if value is not seen:  # Variable gives the same str object while the value stays the same
            count = _parse_num_threads(value)
            self._parsed = (value, count)
        return self._unloaded_cores() if count == _AUTO else count

    def _unloaded_cores(self) -> int:
        try:
            with open("/proc/loadavg") as f:
                running = int(f.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return _CORES
        others = max(0, running - self.last)
        self.last = max(1, _CORES - others)
        return self.last


num_threads = _ThreadPolicy()
"""``num_threads()``: the thread count for the next call (see :class:`_ThreadPolicy`)."""


_SOURCES = {"input": 0, "buffer": 1, "workspace": 2, "record": 3}
"""Where each kind of slot of :attr:`Layout.slots` but the constants finds its array at a call
(:meth:`Executable.__call__`): an index instead of a dict made at every call."""

_NO_RECORD = np.zeros(0, np.int64)
"""The error record of a program that keeps none (no slot for it: never written), shared by every call."""


class Executable:
    """A loaded library and the layout of its entry point: call it with the program's input arrays."""

    def __init__(self, lib: Any, layout: Layout) -> None:
        self.lib, self.layout = lib, layout
        self.ints = np.array(layout.ints or [0], dtype=np.int64)
        self.ints_c = ffi.cast("int64_t *", ffi.from_buffer(self.ints))
        self.consts = [np.require(c, requirements="C") for c in layout.consts]
        self.recycled = Recycled()  # the last call's output buffers, reused where nobody holds them
        self.workspace = _Workspace(layout.workspace)
        # What a call needs of the layout, worked out here once (a call of a tiny program costs microseconds):
        # the (shape, dtype) of each output the program writes (None for the others), the pointers to the
        # constants, and the outputs the runtime fills after the call.
        self.written = [
            (tuple(shape), dtype) if kind == "buffer" else None
            for (kind, _), (dtype, shape) in zip(layout.outputs, layout.out_types, strict=True)
        ]
        self.const_views = [ffi.from_buffer(c) for c in self.consts]
        self.copied = [
            (n, kind, value, dtype, shape)
            for n, ((kind, value), (dtype, shape)) in enumerate(zip(layout.outputs, layout.out_types, strict=True))
            if kind in ("input", "const", "lit")
        ]
        self.repeated = [(n, value) for n, (kind, value) in enumerate(layout.outputs) if kind == "output"]
        # each entry of B as (source, position): a source of :meth:`__call__`'s tuple, or -1 for the constants
        self.plan = [(-1 if kind == "const" else _SOURCES[kind], n) for kind, n in layout.slots]

    def __call__(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        inputs = [x if x.flags.c_contiguous else np.require(x, requirements="C") for x in inputs]
        outs = self.recycled.arrays(self.written)  # None where the program does not write the output
        record_size = self.layout.record_size
        record = np.zeros(record_size, np.int64) if record_size else _NO_RECORD
        scratch = self.workspace.take()
        try:
            sources = (inputs, outs, (scratch,), (record,))  # in the order of _SOURCES
            # the views keep their arrays alive until the call returns
            views = [ffi.from_buffer(sources[k][n]) if k >= 0 else self.const_views[n] for k, n in self.plan]
            buffers = ffi.new("void *[]", views or [ffi.NULL])
            err = self.lib.pyaccad_entry(buffers, self.ints_c, num_threads())
        finally:
            self.workspace.release(scratch)
        self.recycled.keep(outs)
        if err:
            raise self._error(err, record)
        for n, kind, value, dtype, shape in self.copied:
            if kind == "input":
                outs[n] = np.array(inputs[value], dtype=dtype, copy=True)
            elif kind == "const":
                outs[n] = np.array(self.consts[value], copy=True)
            else:
                outs[n] = np.full(shape, value, dtype=dtype)
        for n, value in self.repeated:
            outs[n] = outs[value].copy()
        return outs  # type: ignore[return-value]

    def _error(self, err: int, record: np.ndarray) -> IndexOutOfBounds:
        """The error whose index the C code recorded (the first in the interpreter's order), else that of id ``err``."""
        recorded = int(record[0]) if record.size else 0
        entry = self.layout.errors[(recorded or err) - 1]
        if not isinstance(entry, OutOfBounds):
            return IndexOutOfBounds(entry)
        if not recorded:  # every bounds check records its index: only a foreign library could get here
            return IndexOutOfBounds(f"{entry.what}: an index is out of bounds for an array of shape {entry.shape}")
        return entry.error(tuple(int(k) for k in record[2 : 2 + len(entry.shape)]))
