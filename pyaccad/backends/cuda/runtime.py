"""Running a generated module on a device: buffers, the pointer table, the schedule, errors.

An :class:`Executable` holds, on its device, the module's run-time integers (each kernel's ``E`` in turn),
its embedded constants and its workspace (one allocation, carved by the planned offsets). A call uploads the
inputs, allocates the outputs, fills the pointer table (each kernel's ``B`` in turn, of inputs, constants,
outputs, workspace slices: one upload), runs the schedule (:mod:`.program`), each launch given its kernel's
runs of both (:mod:`.frames`), and downloads the outputs. Calls are serialised per executable (its workspace
is one).

A failed bounds check leaves ``R[0]`` set (:mod:`.prelude`); the executable then runs the schedule again,
checking the record after each launch, and runs the first failing launch once more in record mode, so
the error names the first index the interpreter would name.

>>> callable(Executable)
True
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from pyaccad.backends.clike.cgen import OutOfBounds
from pyaccad.backends.cuda.arrays import DeviceArray
from pyaccad.backends.cuda.cublas import gemm_call
from pyaccad.backends.cuda.program import Branch, Copy, Fill, Gemm, Launch, Loop, Module, Step
from pyaccad.errors import IndexOutOfBounds

_NO_POSITION = np.iinfo(np.int64).max


class _Failed(Exception):
    """A launch left the error record set (internal: the error is rebuilt and raised by the caller)."""

    def __init__(self, launch: Launch) -> None:
        self.launch = launch


class Executable:
    """``module`` loaded on ``device``: call it with NumPy arrays, get NumPy arrays back."""

    def __init__(self, device: Any, module: Module) -> None:
        self.device, self.module = device, module
        self.loaded = device.load(module.source)
        self.ints = self._resident(np.array(module.ints or [0], dtype=np.int64))
        self.consts = [self._resident(np.ascontiguousarray(c)) for c in module.consts]
        self.places = np.array(module.table or [0], np.intp)  # the slot of each entry of the kernels' tables
        self.workspace = device.alloc(module.workspace)
        self.record = device.alloc(8 * module.record_size)
        self.lock = threading.Lock()

    def _resident(self, array: np.ndarray) -> int:
        pointer = self.device.alloc(array.nbytes)
        self.device.upload(pointer, array)
        return pointer

    def __call__(self, inputs: Sequence[np.ndarray | DeviceArray]) -> list[np.ndarray]:
        """The outputs in host memory (inputs may be NumPy arrays or device arrays)."""
        with self.lock:
            return self._call(inputs, on_device=False)

    def device_call(self, inputs: Sequence[np.ndarray | DeviceArray]) -> list[DeviceArray]:
        """The outputs as device arrays: nothing is copied back (``acc.device_put`` inputs stay where they are)."""
        with self.lock:
            return self._call(inputs, on_device=True)

    def _call(self, inputs: Sequence[np.ndarray | DeviceArray], on_device: bool) -> list[Any]:
        device, module = self.device, self.module
        uploaded = [self._resident(np.ascontiguousarray(x)) for x in inputs if not isinstance(x, DeviceArray)]
        given = iter(uploaded)
        ins = [x.pointer if isinstance(x, DeviceArray) else next(given) for x in inputs]
        outs: dict[int, tuple[int, np.ndarray]] = {}
        for n, (kind, _) in enumerate(module.outputs):
            if kind == "buffer":
                dtype, shape = module.out_types[n]
                host = np.empty(shape, dtype=dtype)
                outs[n] = (device.alloc(host.nbytes), host)
        kept = False
        try:
            self.pointers = np.array([self._pointer(kind, n, ins, outs) for kind, n in module.slots] or [0], np.uint64)
            self.table = self._resident(self.pointers[self.places])
            try:
                self._reset_record()
                self._run(module.steps, check=False)
                device.synchronize()
                if self._recorded()[0]:
                    raise self._locate()
            finally:
                device.free(self.table)
            if on_device:
                kept = True  # the output buffers now belong to the device arrays
                return self._device_outputs(inputs, outs)
            return self._outputs(inputs, outs)
        finally:
            for pointer in uploaded:
                device.free(pointer)
            if not kept:
                for pointer, _ in outs.values():
                    device.free(pointer)

    def _pointer(self, kind: str, n: int, ins: list[int], outs: dict[int, tuple[int, np.ndarray]]) -> int:
        if kind == "input":
            return ins[n]
        if kind == "const":
            return self.consts[n]
        if kind == "output":
            return outs[n][0]
        return self.workspace + n  # "work": the planned offset

    def _outputs(self, inputs: Sequence[Any], outs: dict[int, tuple[int, np.ndarray]]) -> list[np.ndarray]:
        results: list[np.ndarray] = []
        for n, (kind, value) in enumerate(self.module.outputs):
            if kind == "buffer":
                pointer, host = outs[n]
                results.append(self.device.download(pointer, host))
            elif kind == "output":
                results.append(results[value].copy())  # type: ignore[index]
            else:
                results.append(self._given(n, inputs))
        return results

    def _device_outputs(self, inputs: Sequence[Any], outs: dict[int, tuple[int, np.ndarray]]) -> list[DeviceArray]:
        results: list[DeviceArray] = []
        for n, (kind, value) in enumerate(self.module.outputs):
            dtype, shape = self.module.out_types[n]
            if kind == "buffer":
                results.append(DeviceArray(self.device, outs[n][0], shape, dtype))
            elif kind == "output":  # the same value twice: two arrays, as on the host
                results.append(DeviceArray.put(self.device, results[value].to_numpy()))  # type: ignore[index]
            else:
                results.append(DeviceArray.put(self.device, self._given(n, inputs)))
        return results

    def _given(self, n: int, inputs: Sequence[Any]) -> np.ndarray:
        """Output ``n`` when the program returns an input, a constant or a literal as it is (no kernel made it)."""
        kind, value = self.module.outputs[n]
        dtype, shape = self.module.out_types[n]
        if kind == "input":
            return np.array(inputs[value], dtype=dtype).reshape(shape)  # type: ignore[index]
        if kind == "const":
            return np.array(self.module.consts[value], dtype=dtype).reshape(shape)  # type: ignore[index]
        return np.full(shape, value, dtype=dtype)

    # -- the schedule ------------------------------------------------------------------------------
    def _slot(self, slot: int) -> int:
        return int(self.pointers[slot])

    def _run(self, steps: Sequence[Step], check: bool) -> None:
        device = self.device
        for step in steps:
            if isinstance(step, Launch):
                if step.items:
                    self._launch(step)
                    if check and self._recorded()[0]:
                        raise _Failed(step)
            elif isinstance(step, Gemm):
                self._gemm(step)
            elif isinstance(step, Copy):
                device.copy(self._slot(step.dst), self._slot(step.src), step.nbytes)
            elif isinstance(step, Fill):
                device.upload(self._slot(step.dst), np.frombuffer(step.value, np.uint8))
            elif isinstance(step, Loop):
                while True:
                    self._run(step.cond, check)
                    if not self._flag(step.flag):
                        break
                    self._run(step.body, check)
            elif isinstance(step, Branch):
                self._run(step.then_ if self._flag(step.pred) else step.else_, check)

    def _launch(self, step: Launch) -> None:
        if step.clear is not None:
            slot, nbytes = step.clear
            self.device.zero(self._slot(slot), nbytes)
        args = (self.ints + 8 * step.ints, self.table + 8 * step.table, self.record)
        self.device.launch(self.loaded, step.kernel, step.items, args, step.threads, grid=step.grid)

    def _gemm(self, step: Gemm) -> None:
        """A product on cuBLAS; nothing to multiply when an extent is 0 (an empty inner axis: zeros)."""
        out = self._slot(step.out)
        if step.batch * step.m * step.n == 0:
            return
        if step.k == 0:
            nbytes = step.batch * step.m * step.n * np.dtype(step.dtype).itemsize
            self.device.upload(out, np.zeros(nbytes, np.uint8))
            return
        a, b = self._slot(step.a), self._slot(step.b)
        shape = (step.batch, step.m, step.k, step.n, step.a_transposed, step.b_transposed)
        self.device.gemm(gemm_call(step.dtype, *shape, a=a, b=b, c=out))

    def _flag(self, slot: int) -> bool:
        return bool(self.device.download(self._slot(slot), np.empty(1, np.bool_))[0])

    # -- errors ------------------------------------------------------------------------------------
    def _reset_record(self, mode: int = 0, position: int = _NO_POSITION) -> None:
        record = np.zeros(self.module.record_size, np.int64)
        record[1], record[2] = position, mode
        self.device.upload(self.record, record)

    def _recorded(self) -> np.ndarray:
        return self.device.download(self.record, np.empty(self.module.record_size, np.int64))

    def _locate(self) -> IndexOutOfBounds:
        """The first failure, named as the interpreter names it: the failing launch found, then run again in
        record mode so that the thread at the smallest failing position writes its index."""
        self._reset_record()
        try:
            self._run(self.module.steps, check=True)
        except _Failed as failed:
            position = int(self._recorded()[1])
            self._reset_record(mode=1, position=position)
            self._launch(failed.launch)
            launch = failed.launch
        else:  # a check's failure depends on the data alone: it fails again
            return IndexOutOfBounds("cuda: an index was out of bounds, but not when the program ran again to name it")
        record = self._recorded()
        entry = self.module.errors[launch.errors[int(record[0]) - 1]]  # the kernel's error id is its own
        if not isinstance(entry, OutOfBounds):
            return IndexOutOfBounds(str(entry))
        return entry.error(tuple(int(k) for k in record[3 : 3 + len(entry.shape)]))
