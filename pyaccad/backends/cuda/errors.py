"""The cuda backend's own error: a call to the GPU's libraries failed (the CUDA driver, cuBLAS).

Beneath both of them: the driver keeps a cuBLAS handle per device (:mod:`.driver`, :mod:`.cublas`), and
each raises :class:`DeviceError`, naming the call and the library's status.

>>> DeviceError.__mro__[1].__name__
'Error'
"""

from __future__ import annotations

from pyaccad.errors import Error


class DeviceError(Error):
    """A call to the CUDA driver or to cuBLAS failed."""
