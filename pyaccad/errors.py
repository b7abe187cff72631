"""The errors pyaccad raises for bad use, and how they name the user's line.

Every error a user can provoke is a subclass of :class:`Error`. Messages name
the operation, the shapes/dtypes involved and the line of *user* code that made
the call, found by walking the stack to the first frame outside this package.

>>> import pyaccad as acc
>>> issubclass(acc.ShapeError, acc.Error)
True
"""

from __future__ import annotations

import linecache
import os
import sys
from functools import lru_cache

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class Error(Exception):
    """Base class of every error pyaccad raises for bad use.

    >>> import numpy as np, pyaccad as acc
    >>> try:
    ...     acc.run(lambda a: a.reshape(4), np.zeros(3))
    ... except acc.Error as exc:
    ...     print(type(exc).__name__)
    ShapeError
    """


class ShapeError(Error, ValueError):
    """Shapes, ranks or axes that do not fit the operation.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: a.sum(axis=1), np.zeros(3))
    Traceback (most recent call last):
      ...
    pyaccad.errors.ShapeError: sum: axis 1 is out of range for an array of rank 1
    ...
    """


class DTypeError(Error, TypeError):
    """Dtypes that do not fit the operation (mixed dtypes promote as in ``jax.numpy``; this is for the rest).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.sin(a), np.arange(2))
    Traceback (most recent call last):
      ...
    pyaccad.errors.DTypeError: sin: dtype int64 not supported (accepts float16, float32, float64)
    ...
    """


class BackendUnavailable(Error, RuntimeError):
    """The requested backend cannot run here; the message says why.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: a, np.zeros(2), backend="tpu")
    Traceback (most recent call last):
      ...
    pyaccad.errors.BackendUnavailable: backend: unknown backend 'tpu'; choose one of native, cuda, accelerate, interp
    ...
    """


class CompileError(Error, RuntimeError):
    """A backend failed to compile a program (the message holds the compiler's diagnostics).

    >>> import pyaccad as acc
    >>> issubclass(acc.CompileError, acc.Error)
    True
    """


class RunError(Error, RuntimeError):
    """A compiled program failed while running (the message holds what the backend reported).

    >>> import pyaccad as acc
    >>> issubclass(acc.RunError, acc.Error)
    True
    """


class NotDifferentiable(Error, TypeError):
    """A derivative was requested that does not exist (integer input, or a primitive without a rule).

    >>> import pyaccad as acc
    >>> issubclass(acc.NotDifferentiable, acc.Error)
    True
    """


class ArgumentError(Error, TypeError):
    """A compiled or traced function was called with arguments that do not fit its signature.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a, b: a + b, np.zeros(2))
    Traceback (most recent call last):
      ...
    pyaccad.errors.ArgumentError: <lambda>(a, b): called with 1 positional argument(s): missing a required argument: 'b'
    ...
    """


class IndexOutOfBounds(Error, IndexError):
    """An array was read or written outside its extent at run time.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a, i: a[i], np.zeros(3), np.array(5))
    Traceback (most recent call last):
      ...
    pyaccad.errors.IndexOutOfBounds: backpermute: index (5,) is out of bounds for an array of shape (3,): ...
    ...
    """


class ResourceError(Error, MemoryError):
    """The machine cannot give what a program asks for (memory for an array); the message names the operation
    that made the array, its shape, dtype and bytes, and the user's line.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda: acc.fill((10**17,), 0.0), backend="interp")  # 800 PB: more than any address space
    Traceback (most recent call last):
      ...
    pyaccad.errors.ResourceError: out of memory: broadcast_in_dim needs 800000000000000000 bytes (710.5 PiB) for ...
    ...
    """


def out_of_bounds(what: str, point: tuple[int, ...], shape: tuple[int, ...], source: str | None) -> IndexOutOfBounds:
    """The error for index ``point`` of an array of ``shape``, naming ``what`` read it, the first bad axis and the line.

    Both backends raise it, so their messages agree.

    >>> print(out_of_bounds("index inside map", (25, 3), (25, 55), "f.py:12: y = a[i, j]"))
    index inside map: index (25, 3) is out of bounds for an array of shape (25, 55): 25 is outside axis 0 (0 to 24)
      at f.py:12: y = a[i, j]
    """
    axis = next((a for a, (k, n) in enumerate(zip(point, shape, strict=True)) if not 0 <= k < n), None)
    message = f"{what}: index {point} is out of bounds for an array of shape {shape}"
    if axis is not None:
        n = shape[axis]
        message += f": {point[axis]} is outside axis {axis} ({f'0 to {n - 1}' if n else 'empty'})"
    return IndexOutOfBounds(with_location(message, source) if source else message)


def user_frame_summary() -> str | None:
    """``file:line: code`` of the innermost stack frame outside pyaccad, or None.

    >>> user_frame_summary() is None or ":" in user_frame_summary()
    True
    """
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if _is_user_file(filename):
            line = linecache.getline(filename, frame.f_lineno).strip()
            where = f"{os.path.basename(filename)}:{frame.f_lineno}"
            return f"{where}: {line}" if line else where
        frame = frame.f_back
    return None


@lru_cache(maxsize=4096)
def _is_user_file(filename: str) -> bool:
    # Called for every statement traced, so cached per file. Doctests inside the package are user code too.
    return not os.path.abspath(filename).startswith(_PACKAGE_DIR) or filename.startswith("<doctest")


def with_location(message: str, source: str | None = None) -> str:
    """Append the user's source line (given, or found on the stack) to ``message``."""
    source = source if source is not None else user_frame_summary()
    return f"{message}\n  at {source}" if source else message
