"""A call's arguments described cheaply: the key of a jitted function's fast path (:class:`pyaccad.api.Jitted`).

A jitted function called again with arguments of the types it has seen should cost little more than
the compiled code. :func:`describe` walks the common arguments (plain tuples, lists, dicts and None
around NumPy arrays and Python numbers) once, collecting the arrays to run and a hashable key that
fixes everything the full path's key is made of: the pytree structure, each leaf's dtype and shape and
whether it is weakly typed (a Python number). Anything else (a namedtuple, a NumPy scalar, a subclass
of ndarray, a device array, a traced value) is not described: such a call takes the full path.

The key keeps two tuples apart (the structure; the dtypes and shapes) so that no two of its elements
of different kinds are ever compared: ``np.dtype("float64") == float`` is true.

>>> import numpy as np
>>> arrays, key = describe((np.zeros((2, 3), np.float32), {"b": 1.5, "a": [None]}))
>>> key[1]
(dtype('float32'), (2, 3), dtype('float64'), ())
>>> key[0]  # preorder: each node's type, then a container's length (a dict's sorted keys)
(2, <class 'numpy.ndarray'>, <class 'dict'>, ('a', 'b'), <class 'list'>, 1, <class 'NoneType'>, <class 'float'>)
>>> describe((np.float32(1.0),)) is None
True
"""

from __future__ import annotations

from typing import Any

import numpy as np


def describe(args: tuple[Any, ...]) -> tuple[list[np.ndarray], tuple[tuple, tuple]] | None:
    """``(arrays, key)`` for the positional arguments ``args``, or None where they hold something else
    than plain tuples, lists, dicts, None, NumPy arrays (exactly ``np.ndarray``) and Python numbers
    (bool, int, float). ``arrays`` are the leaves in :func:`~pyaccad.frontend.pytree.flatten`'s order,
    C-contiguous, each Python number made a rank-0 array; ``key`` is ``(structure, types)``, ``types``
    each array's dtype and shape in turn."""
    arrays: list[np.ndarray] = []
    structure: list[Any] = [len(args)]
    types: list[Any] = []
    try:
        _walk(args, arrays, structure, types)
    except _Other:
        return None
    return arrays, (tuple(structure), tuple(types))


class _Other(Exception):
    """A value :func:`describe` leaves to the full path."""


def _walk(items: Any, arrays: list[np.ndarray], structure: list[Any], types: list[Any]) -> None:
    """Each of ``items`` described in turn: its type, then a container's length (a dict's sorted keys) and
    items, or an array's dtype and shape."""
    for x in items:
        kind = type(x)
        structure.append(kind)
        if kind is np.ndarray:
            # a rank-0 array is C-contiguous: ascontiguousarray, which makes it rank 1, never sees one
            array = x if x.flags.c_contiguous else np.ascontiguousarray(x)
        elif kind is float or kind is int or kind is bool:
            array = np.asarray(x)  # its dtype in the key: an int past int64 is uint64 or object to NumPy
        elif kind is tuple or kind is list:
            structure.append(len(x))
            _walk(x, arrays, structure, types)
            continue
        elif kind is dict:
            try:
                keys = tuple(sorted(x))
            except TypeError:
                raise _Other from None  # keys that do not sort: the full path reports it
            structure.append(keys)
            _walk([x[k] for k in keys], arrays, structure, types)
            continue
        elif x is None:
            continue
        else:
            raise _Other
        arrays.append(array)
        types.append(array.dtype)
        types.append(array.shape)
