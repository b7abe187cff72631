"""``verify(program)``: check types, shapes, scoping and where each primitive may appear.

Run after every pass in the tests. A failure is an internal error (a bug in a
pass), so it raises :class:`VerifyError` with the statement printed.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad.ir import verify
>>> from pyaccad.frontend import trace
>>> verify(trace(lambda x: x * 2.0, np.ones(3, np.float32)).program)
"""

from __future__ import annotations

from pyaccad.ir.core import Lit, Program, Stmt, Var


class VerifyError(AssertionError):
    """A program broke an IR invariant (always a pyaccad bug, never the user's)."""


def verify(program: Program, *, scalar: bool = False, scope: frozenset[Var] = frozenset()) -> None:
    """Raise :class:`VerifyError` unless ``program`` is well typed and well scoped."""
    bound: set[Var] = set(scope)
    for var in program.inputs:
        _bind(var, bound, "input")
        if scalar and var.shape != ():
            raise VerifyError(f"lambda input {var} is not a scalar")
    for stmt in program.stmts:
        _check_stmt(stmt, bound, scalar)
    for atom in program.outputs:
        _use(atom, bound, "program output")
        if scalar and atom.type.shape != ():
            raise VerifyError(f"lambda output {atom} is not a scalar")


def _bind(var: Var, bound: set[Var], what: str) -> None:
    if var in bound:
        raise VerifyError(f"{what} {var} bound twice")
    bound.add(var)


def _use(atom: object, bound: set[Var], where: str) -> None:
    if isinstance(atom, Lit):
        return
    if not isinstance(atom, Var):
        raise VerifyError(f"{where}: {atom!r} is not an atom")
    if atom not in bound:
        raise VerifyError(f"{where}: {atom} used out of scope")


def _check_stmt(stmt: Stmt, bound: set[Var], scalar: bool) -> None:
    prim = stmt.prim
    where = f"{prim.name} statement"
    if scalar and prim.scope == "array":
        raise VerifyError(f"{where}: array primitive inside a lambda")
    if not scalar and prim.scope == "scalar":
        raise VerifyError(f"{where}: scalar-only primitive at array level")
    for atom in stmt.args:
        _use(atom, bound, where)
    sub_scalar = scalar or prim.scalar_bodies  # collectives hold scalar lambdas, others bodies at their level
    for sub in stmt.subprograms():
        verify(sub, scalar=sub_scalar, scope=frozenset(bound))
    try:
        expected = list(prim.type_rule([a.type for a in stmt.args], stmt.params))
    except Exception as exc:  # a type error here is a pass bug: report it as such
        raise VerifyError(f"{where}: type rule rejects it: {exc}") from exc
    actual = [v.type for v in stmt.outs]
    if expected != actual:
        raise VerifyError(f"{where}: outputs typed {actual}, type rule says {expected}")
    if scalar and any(v.shape != () for v in stmt.outs):
        raise VerifyError(f"{where}: non-scalar value inside a lambda")
    for var in stmt.outs:
        _bind(var, bound, f"{where} output")
