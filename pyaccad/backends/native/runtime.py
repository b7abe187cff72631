"""Calling a compiled program: fill the buffer and extent arrays, one C call, assemble the outputs.

>>> import numpy as np, pyaccad as acc
>>> acc.run(lambda x: x * 2.0, np.arange(3.0), backend="native")
array([0., 2., 4.])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from pyaccad.backends.native.cache import ffi
from pyaccad.backends.native.program import Layout
from pyaccad.errors import IndexOutOfBounds


def num_threads() -> int:
    """``$PYACCAD_NUM_THREADS``, else 0: every core not busy with other work (read at each call)."""
    value = os.environ.get("PYACCAD_NUM_THREADS")
    return int(value) if value else 0


class Executable:
    """A loaded library and the layout of its entry point: call it with the program's input arrays."""

    def __init__(self, lib: Any, layout: Layout) -> None:
        self.lib, self.layout = lib, layout
        self.ints = np.array(layout.ints or [0], dtype=np.int64)
        self.ints_c = ffi.cast("int64_t *", ffi.from_buffer(self.ints))
        self.consts = [np.require(c, requirements="C") for c in layout.consts]

    def __call__(self, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
        layout = self.layout
        inputs = [x if x.flags.c_contiguous else np.require(x, requirements="C") for x in inputs]
        outs: list[np.ndarray | None] = [
            np.empty(shape, dtype) if kind == "buffer" else None
            for (kind, _), (dtype, shape) in zip(layout.outputs, layout.out_types, strict=True)
        ]
        pools = {"input": inputs, "const": self.consts, "buffer": outs}
        views = [ffi.from_buffer(pools[kind][n]) for kind, n in layout.slots]  # alive until the call returns
        buffers = ffi.new("void *[]", views or [ffi.NULL])
        err = self.lib.pyaccad_entry(buffers, self.ints_c, num_threads())
        if err > 0:
            raise IndexOutOfBounds(layout.errors[err - 1])
        if err < 0:
            raise MemoryError("native backend: could not allocate the program's intermediate arrays")
        for n, (kind, value) in enumerate(layout.outputs):
            dtype, shape = layout.out_types[n]
            if kind == "input":
                outs[n] = np.array(inputs[value], dtype=dtype, copy=True)
            elif kind == "const":
                outs[n] = np.array(self.consts[value], copy=True)
            elif kind == "lit":
                outs[n] = np.full(shape, value, dtype=dtype)
        for n, (kind, value) in enumerate(layout.outputs):
            if kind == "output":
                outs[n] = outs[value].copy()
        return outs  # type: ignore[return-value]
