"""A call's arguments described cheaply: the key of a jitted function's fast path (:class:`pyaccad.api.Jitted`).

A jitted function called again with arguments of the types it has seen should cost little more than
the compiled code. :func:`describe` walks the common arguments (plain tuples, lists, dicts and None
around NumPy arrays and Python numbers) once, collecting the arrays to run and a hashable key that
fixes everything the full path's key is made of: the pytree structure, each leaf's dtype and shape and
whether it is weakly typed (a Python number). Anything else (a namedtuple, a NumPy scalar, a subclass
of ndarray, a device array, a traced value) is not described: such a call takes the full path.

The key keeps three tuples apart (the structure, the dtypes, the shapes) so that no two of its
elements of different kinds are ever compared: ``np.dtype("float64") == float`` is true.

>>> import numpy as np
>>> arrays, key = describe((np.zeros((2, 3), np.float32), {"b": 1.5, "a": [None]}))
>>> [a.dtype.name for a in arrays], key[2]
(['float32', 'float64'], ((2, 3), ()))
>>> key[0]  # preorder: each node's type, then a container's length (a dict's sorted keys)
(2, <class 'numpy.ndarray'>, <class 'dict'>, ('a', 'b'), <class 'list'>, 1, <class 'NoneType'>, <class 'float'>)
>>> describe((np.float32(1.0),)) is None
True
"""

from __future__ import annotations

from typing import Any

import numpy as np


def describe(args: tuple[Any, ...]) -> tuple[list[np.ndarray], tuple[tuple, tuple, tuple]] | None:
    """``(arrays, key)`` for the positional arguments ``args``, or None where they hold something else
    than plain tuples, lists, dicts, None, NumPy arrays (exactly ``np.ndarray``) and Python numbers
    (bool, int, float). ``arrays`` are the leaves in :func:`~pyaccad.frontend.pytree.flatten`'s
    order, each Python number made a rank-0 array; ``key`` is ``(structure, dtypes, shapes)``."""
    arrays: list[np.ndarray] = []
    structure: list[Any] = [len(args)]
    try:
        for arg in args:
            _walk(arg, arrays, structure)
    except _Other:
        return None
    return arrays, (tuple(structure), tuple([a.dtype for a in arrays]), tuple([a.shape for a in arrays]))


class _Other(Exception):
    """A value :func:`describe` leaves to the full path."""


def _walk(x: Any, arrays: list[np.ndarray], structure: list[Any]) -> None:
    kind = type(x)
    structure.append(kind)
    if kind is np.ndarray:
        arrays.append(x)
    elif kind is float or kind is int or kind is bool:
        arrays.append(np.asarray(x))  # its dtype in the key: an int past int64 is uint64 or object to NumPy
    elif kind is tuple or kind is list:
        structure.append(len(x))
        for item in x:
            _walk(item, arrays, structure)
    elif kind is dict:
        try:
            keys = tuple(sorted(x))
        except TypeError:
            raise _Other from None  # keys that do not sort: the full path reports it
        structure.append(keys)
        for k in keys:
            _walk(x[k], arrays, structure)
    elif x is not None:
        raise _Other
