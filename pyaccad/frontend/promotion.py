"""Which dtype an operation on mixed operands computes in: JAX's promotion lattice, with weak Python scalars.

Arrays (and NumPy scalars) are *strong*: two dtypes promote to their least
upper bound on JAX's lattice (:data:`LATTICE`, ``jax.numpy.promote_types``)::

    bool -> i* -> u8 -> u16 -> u32 -> u64 -> f* -> f16 -> f32 -> f64
            i* -> i8 -> i16 -> i32 -> i64 -> f*
                  u8 -> i16,  u16 -> i32,  u32 -> i64

``i*`` and ``f*`` stand for Python's int and float (weak types, below every
integer and every float). So ``int8`` with ``uint8`` is ``int16``, ``int64``
with ``uint64`` is ``float64``, an integer meeting a float takes that float
(``int64`` with ``float16`` is ``float16``, as in ``jax.numpy``; NumPy would
say float64), and ``float16`` with ``float32`` is ``float32``.

Python numbers are *weak*: a literal, a Python number passed to a jitted
function, an array ``acc.fill`` made from one without a dtype. A weak value
takes the dtype of the strong ones it meets (``x_u8 + 1`` stays uint8,
``x_f16 * 0.5`` stays float16, a learning rate passed as ``0.1`` updates
float32 parameters in float32); only a weak float meeting integers makes a
float (``float64``, NumPy's default float, where JAX without x64 says
float32). Among weak values alone the same lattice applies (weak values carry
bool, int64 or float64) and the result stays weak.

>>> from pyaccad.ir import FLOAT16, FLOAT32, FLOAT64, INT8, INT32, INT64, UINT8, UINT64, BOOL
>>> join(INT8, UINT8), join(INT64, UINT64), join(INT32, FLOAT16), join(BOOL, UINT8)
(dtype('int16'), dtype('float64'), dtype('float16'), dtype('uint8'))
>>> result_dtype([FLOAT32], [FLOAT64]), result_dtype([INT32], [FLOAT64]), result_dtype([UINT8], [INT64])
(dtype('float32'), dtype('float64'), dtype('uint8'))
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache, reduce

import numpy as np

from pyaccad.ir.types import BOOL, FLOAT64, INT64, is_float

_INT, _FLOAT = "i*", "f*"  # the weak Python int and float
LATTICE: dict[str, tuple[str, ...]] = {
    "bool": (_INT,),
    _INT: ("uint8", "int8"),
    "uint8": ("uint16", "int16"),
    "uint16": ("uint32", "int32"),
    "uint32": ("uint64", "int64"),
    "uint64": (_FLOAT,),
    "int8": ("int16",),
    "int16": ("int32",),
    "int32": ("int64",),
    "int64": (_FLOAT,),
    _FLOAT: ("float16",),
    "float16": ("float32",),
    "float32": ("float64",),
    "float64": (),
}
"""Each node's immediate successors (JAX's ``jax._src.dtypes`` lattice, bfloat16 aside)."""
_DEFAULT = {_INT: INT64, _FLOAT: FLOAT64}  # what a weak type is when the result is one of them


@cache
def _above(node: str) -> frozenset[str]:
    """Every node at or above ``node``."""
    return frozenset({node}).union(*(_above(n) for n in LATTICE[node]))


def _lub(a: str, b: str) -> str:
    common = _above(a) & _above(b)
    return next(n for n in common if common <= _above(n))


def join(a: np.dtype, b: np.dtype) -> np.dtype:
    """The dtype two strong operands of dtypes ``a`` and ``b`` compute in (their least upper bound)."""
    node = _lub(a.name, b.name)
    return _DEFAULT.get(node) or np.dtype(node)


def _weak_node(dtype: np.dtype) -> str:
    return "bool" if dtype == BOOL else _FLOAT if is_float(dtype) else _INT


def result_dtype(strong: Sequence[np.dtype], weak: Sequence[np.dtype]) -> np.dtype:
    """The dtype of an operation on operands of these strong and weak dtypes (see the module docstring)."""
    if not strong:
        return reduce(join, weak)
    node = reduce(_lub, [d.name for d in strong] + [_weak_node(w) for w in weak])
    return _DEFAULT.get(node) or np.dtype(node)


def accumulation(dtype: np.dtype) -> tuple[np.dtype, np.dtype]:
    """The dtypes ``sum``/``prod``/``mean``/``cumsum``/``cumprod`` of a ``dtype`` array accumulate in and return.

    bool and the integers narrower than 64 bits accumulate in, and return, ``int64`` or ``uint64`` by
    signedness (NumPy's rule; ``jax.numpy``'s for ``sum``/``prod`` with x64 on), so that a sum of uint8
    pixels does not wrap at 256. ``float16`` accumulates in ``float32`` and is rounded to ``float16`` once,
    at the end, as NumPy's float16 ``sum`` and ``mean`` do. Other dtypes accumulate in themselves.

    >>> from pyaccad.ir import FLOAT16, INT8, UINT8, BOOL
    >>> accumulation(UINT8), accumulation(INT8), accumulation(BOOL), accumulation(FLOAT16)
    ((dtype('uint64'), dtype('uint64')), (dtype('int64'), dtype('int64')), (dtype('int64'), dtype('int64')), \
(dtype('float32'), dtype('float16')))
    """
    if dtype == np.float16:
        return np.dtype("float32"), dtype
    if dtype.kind in "bi" or (dtype.kind == "u" and dtype.itemsize < 8):
        wide = np.dtype("uint64" if dtype.kind == "u" else "int64")
        return wide, wide
    return dtype, dtype
