"""Arrays that live on the GPU: ``acc.device_put(x, backend="cuda")`` and what jitted functions return for them.

A :class:`DeviceArray` owns one allocation on its device. A function jitted for the cuda backend takes
it without copying, and when any of its inputs is a device array it returns device arrays too (NumPy in
still gives NumPy out). Reading one back (``to_numpy()``, or anything that calls ``__array__``, such as
``np.asarray``) copies it to host memory; the allocation is freed when the array is garbage.

>>> import numpy as np
>>> from pyaccad.backends.cuda.emulator import EmulatedDevice
>>> x = DeviceArray.put(EmulatedDevice(), np.arange(3.0))
>>> x.shape, x.dtype, x.to_numpy()
((3,), dtype('float64'), array([0., 1., 2.]))
"""

from __future__ import annotations

from typing import Any

import numpy as np


class DeviceArray:
    """An array in device memory: ``.shape``, ``.dtype``, ``.to_numpy()``, NumPy's ``__array__``."""

    def __init__(self, device: Any, pointer: int, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.device, self.pointer = device, pointer
        self.shape, self.dtype = tuple(shape), np.dtype(dtype)

    @classmethod
    def put(cls, device: Any, array: np.ndarray) -> DeviceArray:
        """A copy of ``array`` on ``device``."""
        data = np.asarray(array, order="C")  # not ascontiguousarray, which makes a 0-d array 1-d
        pointer = device.alloc(data.nbytes)
        device.upload(pointer, data)
        return cls(device, pointer, data.shape, data.dtype)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def to_numpy(self) -> np.ndarray:
        """A copy in host memory."""
        return self.device.download(self.pointer, np.empty(self.shape, self.dtype))

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self.to_numpy()
        return out if dtype is None else out.astype(dtype)

    def __repr__(self) -> str:
        return f"DeviceArray({self.dtype}{list(self.shape)} on {getattr(self.device, 'name', 'the GPU')})"

    def __del__(self) -> None:
        pointer, self.pointer = getattr(self, "pointer", 0), 0
        if pointer:
            try:
                self.device.free(pointer)
            except Exception:  # at interpreter exit the driver may be gone: nothing left to free then
                pass
