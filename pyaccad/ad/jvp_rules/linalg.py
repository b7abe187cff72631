"""JVP rules of ``cholesky``, ``triangular_solve`` and ``solve`` (JAX's ``lax.linalg`` rules).

* ``x = solve(a, b)``: ``x_tan = solve(a, b_tan - a_tan @ x)``.
* ``x = triangular_solve(a, b)``: the same with the triangle of ``a_tan`` the
  primitive reads (``op(t) x = b`` gives ``op(t) x_tan = b_tan - op(t_tan) x``).
* ``L = cholesky(a)``: ``L_tan = L Φ(L⁻¹ s L⁻ᵀ)`` (Murray, "Differentiation of
  the Cholesky decomposition", 2016), ``Φ`` the lower triangle with half the
  diagonal, ``s`` the symmetric matrix whose lower triangle is ``a_tan``'s (the
  primitive reads only that triangle). ``L⁻ᵀ`` on the right is a left solve of
  the transpose, so only left-side triangular solves appear.

Every tangent statement is a solve or product with a primal (residual)
matrix, a mask or a transpose: linear in the tangent, as transposition needs.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad, linalg
>>> acc.jit(ad.grad(lambda a: linalg.solve(a, np.ones(1)).sum()))(np.array([[2.0]]))
array([[-0.25]])
"""

from __future__ import annotations

from pyaccad.ad.emitters import op
from pyaccad.ad.jvp import Env, copy_stmt, register
from pyaccad.ad.linalg_masks import masked, swap_last
from pyaccad.ad.tangents import Tan, Zero, instantiate, is_zero, tadd
from pyaccad.ir import Atom, Stmt


@register("cholesky")
def _cholesky_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    (chol,) = copy_stmt(stmt, env, args)
    (a_tan,) = args_tan
    if is_zero(a_tan):
        return [chol], [Zero(chol.type)]
    sym = op("add", masked(a_tan, "lower"), swap_last(masked(a_tan, "strict_lower")))
    left = op("triangular_solve", chol, sym, lower=True, transpose_a=False)  # L⁻¹ s
    both = swap_last(op("triangular_solve", chol, swap_last(left), lower=True, transpose_a=False))  # L⁻¹ s L⁻ᵀ
    return [chol], [op("matmul", chol, masked(both, "phi"))]


def _solve_jvp(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan], a_part) -> tuple[list, list[Tan]]:
    """``x_tan = stmt(a, b_tan - a_part(a_tan) @ x)``, ``a_part`` the matrix ``x`` is multiplied by."""
    (x,) = copy_stmt(stmt, env, args)
    a_tan, b_tan = args_tan
    rhs: Tan = b_tan
    if not is_zero(a_tan):
        rhs = tadd(rhs, op("neg", op("matmul", a_part(a_tan), x)))
    if is_zero(rhs):
        return [x], [Zero(x.type)]
    return [x], [op(stmt.prim.name, args[0], instantiate(rhs), **stmt.params)]


@register("solve")
def _solve(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    return _solve_jvp(stmt, env, args, args_tan, lambda a_tan: a_tan)


@register("triangular_solve")
def _triangular_solve(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]):
    def part(a_tan: Atom) -> Atom:
        t_tan = masked(a_tan, "lower" if stmt.params["lower"] else "upper")
        return swap_last(t_tan) if stmt.params["transpose_a"] else t_tan

    return _solve_jvp(stmt, env, args, args_tan, part)
