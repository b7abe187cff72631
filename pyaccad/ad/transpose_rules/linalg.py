"""Transpose rules of the solves, linear in their right-hand side ``b`` (the matrix is a residual).

``x = op(t)⁻¹ b`` has ``b_ct = op(t)⁻ᵀ x_ct``: the same triangular solve with
``transpose_a`` flipped. ``x = a⁻¹ b`` has ``b_ct = solve(aᵀ, x_ct)``.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad, linalg
>>> t = np.array([[2.0, 0.0], [1.0, 1.0]])
>>> acc.jit(ad.grad(lambda b: linalg.triangular_solve(t, b)[1]))(np.ones(2))
array([-0.5,  1. ])
"""

from __future__ import annotations

from pyaccad.ad.emitters import op
from pyaccad.ad.linalg_masks import swap_last
from pyaccad.ad.tangents import Tan, instantiate
from pyaccad.ad.transpose import Contributions, TransposeContext, register
from pyaccad.ir import Atom, Stmt


@register("triangular_solve")
def _triangular_solve_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    a, b = args
    params = {**stmt.params, "transpose_a": not stmt.params["transpose_a"]}
    return [(b, op("triangular_solve", a, instantiate(cts[0]), **params))]


@register("solve")
def _solve_t(stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
    a, b = args
    return [(b, op("solve", swap_last(a), instantiate(cts[0])))]
