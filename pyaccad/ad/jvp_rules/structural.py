"""JVP rules of the structural primitives: data movement is linear, ``matmul`` is bilinear.

``broadcast_in_dim``, ``reshape``, ``transpose``, ``reverse``, ``slice``,
``pad`` and ``concatenate`` move elements without arithmetic, so each applies
to the tangent exactly as to the primal (zeros instantiated where some
operands have tangents and others not). ``const`` has a zero tangent.
``matmul(a, b)`` has tangent ``a_tan @ b + a @ b_tan``: each product has
one primal (residual) operand, as the transpose stage needs.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> acc.jit(ad.grad(lambda x: (x[1:] * 2.0).sum()))(np.zeros(3))
array([0., 2., 2.])
"""

from __future__ import annotations

from pyaccad.ad.emitters import op
from pyaccad.ad.jvp import Env, copy_stmt, linear_rule, register, zero_rule
from pyaccad.ad.tangents import Tan, Zero, is_zero, tadd
from pyaccad.ir import Atom, Stmt

register("broadcast_in_dim", "reshape", "transpose", "reverse", "slice", "pad", "concatenate")(linear_rule)
register("const")(zero_rule)


@register("matmul")
def _matmul_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    (out,) = copy_stmt(stmt, env, args)
    if out.dtype.kind != "f":
        return [out], [Zero(out.type)]
    a, b = args
    a_tan, b_tan = args_tan
    left: Tan = Zero(out.type) if is_zero(a_tan) else op("matmul", a_tan, b)
    right: Tan = Zero(out.type) if is_zero(b_tan) else op("matmul", a, b_tan)
    return [out], [tadd(left, right)]
