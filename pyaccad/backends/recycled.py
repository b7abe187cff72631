"""Result arrays reused from one call of a compiled program to the next, where nobody else holds them.

A fresh multi-megabyte NumPy array is fresh memory: its first write page-faults on every page and the kernel
clears each one (through the accelerate bridge, 1.7 ms of system CPU a call on a 4 MiB result; BENCHMARKS.md,
session 10). So an executable
keeps the arrays it returned, and its next call writes into each one that nothing but the executable
references any more (no user variable, view, or exported buffer): no caller can observe the reuse. Several
threads calling one executable each take the kept arrays or none, under a lock, so no array serves two calls.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence

import numpy as np


def _alone() -> int:
    """What ``sys.getrefcount`` says of an object that one local variable alone references, passed as
    ``arrays`` passes its candidate. It is 2 through Python 3.13 (the variable and the argument), and can be
    less where the interpreter borrows the argument's reference (3.14): measured, not assumed."""
    probe = object()
    return sys.getrefcount(probe)


_ALONE = _alone()

KEEP_BYTES = 256 << 20
"""The most an executable keeps between calls: results the caller dropped stay alive until its next call, so
a program called once for a gigabyte would otherwise hold it for as long as the executable lives."""


class Recycled:
    """The arrays an executable returned last, for its next call to reuse (see the module doc).

    >>> import numpy as np, weakref
    >>> recycled = Recycled()
    >>> (a,) = recycled.arrays([((3,), np.dtype(np.float32))])
    >>> recycled.keep([a])
    >>> (b,) = recycled.arrays([((3,), np.dtype(np.float32))])  # `a` is still the caller's: a fresh array
    >>> b is a
    False
    >>> recycled.keep([b])
    >>> held_by_recycled_only = weakref.ref(b)
    >>> del b
    >>> recycled.arrays([((3,), np.dtype(np.float32))])[0] is held_by_recycled_only()  # nobody held it: reused
    True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: list[np.ndarray | None] = []

    def arrays(self, types: Sequence[tuple[tuple[int, ...], np.dtype] | None]) -> list[np.ndarray | None]:
        """An array of each ``(shape, dtype)`` (None for None): the one kept at its position where nothing else
        references it and it has that shape and dtype, else a fresh one."""
        with self._lock:
            kept, self._kept = self._kept, []  # another thread calling now finds nothing to reuse
        arrays: list[np.ndarray | None] = []
        for n, t in enumerate(types):
            old = None
            if n < len(kept):
                old, kept[n] = kept[n], None
            if t is None:
                arrays.append(None)
            elif old is not None and sys.getrefcount(old) <= _ALONE and old.shape == t[0] and old.dtype == t[1]:
                arrays.append(old)  # `old` is its only reference
            else:
                arrays.append(np.empty(*t))
        return arrays

    def keep(self, arrays: Sequence[np.ndarray | None]) -> None:
        """Keep ``arrays`` (a call's results, None where a position has none) for the next call, unless they are
        more than :data:`KEEP_BYTES` together."""
        nbytes = 0
        for a in arrays:  # a loop, not sum() over a generator: a fifth of the time, on every call
            if a is not None:
                nbytes += a.nbytes
        kept = [] if nbytes > KEEP_BYTES else list(arrays)
        with self._lock:
            self._kept = kept
