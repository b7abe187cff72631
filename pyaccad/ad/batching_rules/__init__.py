"""The batching table's rules, one module per family (importing this package fills
:data:`pyaccad.ad.batching.BATCH_RULES`).

Each rule is ``rule(stmt, ctx, args, bdims) -> (outs, out_bdims)`` (:mod:`pyaccad.ad.batching`), the shape
of every rule of the three tables (:mod:`pyaccad.ad.rules`).

>>> from pyaccad.ad.batching import BATCH_RULES
>>> from pyaccad.ir import PRIMITIVES
>>> PRIMITIVES["scan"] in BATCH_RULES and PRIMITIVES["while"] in BATCH_RULES
True
"""

from pyaccad.ad.batching_rules import collective, control, linalg, structural

__all__ = ["collective", "control", "linalg", "structural"]
