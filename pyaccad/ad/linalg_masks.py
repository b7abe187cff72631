"""Triangle masks and last-axes transposes shared by the linear algebra derivative rules.

A mask is an embedded constant broadcast over the batch axes and applied by
``mul``, so it is linear in the tangent it masks and transposes to itself.

>>> import numpy as np
>>> _mask_values(3, "phi")
array([[0.5, 0. , 0. ],
       [1. , 0.5, 0. ],
       [1. , 1. , 0.5]])
"""

from __future__ import annotations

import numpy as np

from pyaccad.ad.emitters import op
from pyaccad.ir import Atom


def _mask_values(n: int, kind: str) -> np.ndarray:
    ones = np.ones((n, n))
    return {
        "lower": np.tril(ones),
        "upper": np.triu(ones),
        "strict_lower": np.tril(ones, -1),
        "phi": np.tril(ones, -1) + 0.5 * np.eye(n),  # Murray's Φ: the lower triangle, half the diagonal
    }[kind]


def masked(x: Atom, kind: str) -> Atom:
    """``x`` times the ``kind`` mask of its last two axes (``lower``, ``upper``, ``strict_lower``, ``phi``)."""
    shape = x.type.shape
    mask = op("const", value=_mask_values(shape[-1], kind).astype(x.type.dtype))
    if len(shape) > 2:
        mask = op("broadcast_in_dim", mask, shape=tuple(shape), dims=(len(shape) - 2, len(shape) - 1))
    return op("mul", x, mask)


def swap_last(x: Atom) -> Atom:
    """``x`` with its last two axes swapped (each matrix transposed)."""
    n = x.type.ndim
    return op("transpose", x, perm=(*range(n - 2), n - 1, n - 2))
