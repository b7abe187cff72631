"""The transpose table's rules (importing this package fills :data:`pyaccad.ad.transpose.TRANSPOSE_RULES`):
the linear primitives (``linear``), and the forward-mode ``cond`` (``control``) and ``while`` (``loop``),
whose transposes recompute the primal values they need.

Each rule is ``rule(stmt, ctx, args, outs_ct) -> [(x, x_ct), ...]`` (:mod:`pyaccad.ad.transpose`), the shape
of every rule of the three tables (:mod:`pyaccad.ad.rules`).

>>> from pyaccad.ad.transpose import TRANSPOSE_RULES
>>> from pyaccad.ir import PRIMITIVES
>>> PRIMITIVES["while"] in TRANSPOSE_RULES and PRIMITIVES["backpermute"] in TRANSPOSE_RULES
True
"""

from pyaccad.ad.transpose_rules import control, linalg, linear, loop

__all__ = ["control", "linalg", "linear", "loop"]
