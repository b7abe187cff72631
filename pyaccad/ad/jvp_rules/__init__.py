"""The JVP table's rules, one module per family of primitives (importing this package fills
:data:`pyaccad.ad.jvp.JVP_RULES`).

Each rule is ``rule(stmt, env, args, args_tan) -> (outs, outs_tan)`` (:mod:`pyaccad.ad.jvp`), the shape
of every rule of the three tables (:mod:`pyaccad.ad.rules`);
the tangent statements it emits are linear in the tangents, so the transpose rules can reverse them.

>>> from pyaccad.ad.jvp import JVP_RULES
>>> from pyaccad.ir import PRIMITIVES
>>> PRIMITIVES["sin"] in JVP_RULES and PRIMITIVES["fold"] in JVP_RULES
True
"""

from pyaccad.ad.jvp_rules import collective, control, elementwise, fold, linalg, scan, structural

__all__ = ["collective", "control", "elementwise", "fold", "linalg", "scan", "structural"]
