"""Running out of a resource: a ``MemoryError`` of a running program as a :class:`~pyaccad.errors.ResourceError`.

NumPy's allocation failure carries the shape and dtype it was asked for;
the traced program says which operation makes an array of that type, and
where in the user's code it was written.

>>> describe_bytes(3 * 2**30)
'3.0 GiB'
"""

from __future__ import annotations

from collections.abc import Iterator
from math import prod

import numpy as np

from pyaccad.errors import ResourceError, with_location
from pyaccad.ir import Program, Stmt

_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")


def describe_bytes(n: int) -> str:
    """``n`` bytes in binary units, one decimal."""
    size, unit = float(n), 0
    while size >= 1024 and unit < len(_UNITS) - 1:
        size, unit = size / 1024, unit + 1
    return f"{n} bytes" if unit == 0 else f"{size:.1f} {_UNITS[unit]}"


def _statements(program: Program) -> Iterator[Stmt]:
    for stmt in program.stmts:
        yield stmt
        for value in stmt.params.values():
            if isinstance(value, Program):
                yield from _statements(value)


def out_of_memory(exc: MemoryError, program: Program, name: str, backend: str) -> ResourceError:
    """The error for ``exc`` raised while ``program`` (the traced function ``name``) ran on ``backend``."""
    shape, dtype = getattr(exc, "shape", None), getattr(exc, "dtype", None)
    if shape is None or dtype is None:
        return ResourceError(f"out of memory running {name} on the {backend} backend ({exc})")
    shape, dtype = tuple(int(d) for d in shape), np.dtype(dtype)
    nbytes = prod(shape) * dtype.itemsize
    wanted = f"{nbytes} bytes ({describe_bytes(nbytes)}) for a {dtype} array of shape {shape}"
    # The last statement making an array of that type: where several do (a broadcast, then arithmetic on it),
    # the later one is the one that allocates on every backend (a broadcast is a view, or fused away).
    makers = [s for s in _statements(program) if any(o.type.shape == shape and o.dtype == dtype for o in s.outs)]
    maker = makers[-1] if makers else None
    if maker is None:
        return ResourceError(f"out of memory: {name} on the {backend} backend needs {wanted}")
    message = f"out of memory: {maker.prim.name} needs {wanted} (in {name}, on the {backend} backend)"
    return ResourceError(with_location(message, maker.source) if maker.source else message)
