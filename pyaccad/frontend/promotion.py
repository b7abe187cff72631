"""Which dtype an operation on mixed operands computes in: JAX's promotion rules, with weak Python scalars.

Arrays (and NumPy scalars) are *strong*: their dtypes join on the lattice
``bool < int32 < int64 < float32 < float64``, except that an integer meeting a
float takes that float (``int64`` with ``float32`` is ``float32``, as in
``jax.numpy``). Python numbers are *weak*: a literal, a Python number passed to
a jitted function, an array ``acc.fill`` made from one without a dtype. A weak
value takes the dtype of the strong ones it meets (``x32 * 0.5`` stays float32,
a learning rate passed as ``0.1`` updates float32 parameters in float32); only
a weak float meeting integers makes a float (``float64``, NumPy's and JAX's
default float). Among weak values alone, the same lattice applies and the
result stays weak.

>>> from pyaccad.ir import FLOAT32, FLOAT64, INT32, INT64, BOOL
>>> join(INT32, FLOAT32), join(FLOAT32, FLOAT64), join(BOOL, INT32), join(INT32, INT64)
(dtype('float32'), dtype('float64'), dtype('int32'), dtype('int64'))
>>> result_dtype([FLOAT32], [FLOAT64]), result_dtype([INT32], [FLOAT64]), result_dtype([], [INT64, FLOAT64])
(dtype('float32'), dtype('float64'), dtype('float64'))
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import reduce

import numpy as np

from pyaccad.ir import BOOL, FLOAT64, INT64
from pyaccad.ir.types import is_float


def join(a: np.dtype, b: np.dtype) -> np.dtype:
    """The dtype two strong operands of dtypes ``a`` and ``b`` compute in."""
    if a == b:
        return a
    if is_float(a) and is_float(b):
        return FLOAT64
    if is_float(a) or is_float(b):
        return a if is_float(a) else b
    if a == BOOL or b == BOOL:
        return b if a == BOOL else a
    return INT64


def result_dtype(strong: Sequence[np.dtype], weak: Sequence[np.dtype]) -> np.dtype:
    """The dtype of an operation on operands of these strong and weak dtypes (see the module docstring)."""
    if not strong:
        return reduce(join, weak)
    dtype = reduce(join, strong)
    for w in weak:
        if is_float(w) and not is_float(dtype):
            dtype = FLOAT64
        elif w != BOOL and dtype == BOOL:
            dtype = INT64
    return dtype
