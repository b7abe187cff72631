"""Forward mode: the JVP table and the pass that re-traces a program with tangents.

``jvp_atoms(program, primals, tangents)`` walks ``program``'s statements
inside the *current* builder, keeping an :class:`Env` that maps each old
variable to its new primal atom and its tangent (``x_tan``, an atom or a
symbolic :class:`~pyaccad.ad.tangents.Zero`). A statement none of whose
inputs carries a tangent is copied as it is; any other one goes to its
primitive's rule in :data:`JVP_RULES`, called as every rule of the three
tables is (:mod:`pyaccad.ad.rules`):

    rule(stmt, env, args, args_tan) -> (outs, outs_tan)

where ``args`` are the new primal atoms and ``args_tan`` their tangents.
Rules emit IR with the front end and keep every tangent-dependent
statement *linear* in the tangents, using only linear primitives with primal
values as residual operands; :mod:`pyaccad.ad.linearize` relies on that to
split a JVP program into a primal part and a linear part.

Nested programs see their enclosing scopes lexically, so an :class:`Env`
has a parent. At the boundary of a lambda (a scalar function) array-level
tangents cannot be read: a lambda sees tangents only through ``seeds``, the
one-hot directions the lambda rules (:mod:`pyaccad.ad.lambdas.partials`) put on its
inputs, on its free scalars and on its ``index`` reads.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad.frontend.tracing import trace_program, wrap
>>> from pyaccad.ir import ArrayType, FLOAT64
>>> t = ArrayType(FLOAT64, (2,))
>>> f, _ = trace_program(lambda x: acc.sin(x) * x, [t])
>>> def jvp_f(x, x_tan):
...     outs, outs_tan = jvp_atoms(f, [x.var], [x_tan.var])
...     return [wrap(outs[0]), wrap(outs_tan[0])]
>>> jf, _ = trace_program(jvp_f, [t, t])
>>> [s.prim.name for s in jf.stmts]
['sin', 'cos', 'mul', 'mul', 'mul', 'mul', 'add']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pyaccad.ad.gaps import MISSING_JVP
from pyaccad.ad.rules import Rule, RuleTable
from pyaccad.ad.tangents import Tan, Zero, differentiable, instantiate, is_zero
from pyaccad.errors import NotDifferentiable
from pyaccad.frontend.tracing import emit
from pyaccad.ir import Atom, Lit, Program, Stmt, Var
from pyaccad.ir.rewrite import substitute


class Env:
    """Old variable → new primal atom and tangent, chained to the enclosing scope's env.

    ``boundary`` marks a lambda: tangents of enclosing scopes are invisible
    past it, except those given in ``seeds`` (keyed by the old variable: a
    free scalar, or the result of an ``index`` read). ``reads`` collects the
    index atoms of the seeded ``index`` read, for the lambda rules.
    """

    def __init__(self, parent: Env | None = None, boundary: bool = False, seeds: dict[Var, Atom] | None = None) -> None:
        self.parent = parent
        self.boundary = boundary
        self.seeds: dict[Var, Atom] = seeds or {}
        self.primals: dict[Var, Atom] = {}
        self.tangents: dict[Var, Tan] = {}
        self.read_index: list[Atom] | None = None

    def primal(self, atom: Atom) -> Atom:
        if isinstance(atom, Lit):
            return atom
        env: Env | None = self
        while env is not None:
            if atom in env.primals:
                return env.primals[atom]
            env = env.parent
        return atom  # a free variable of the outermost program stays what it is

    def tangent(self, atom: Atom) -> Tan:
        if isinstance(atom, Var):
            env: Env | None = self
            while env is not None:
                if atom in env.tangents:
                    return env.tangents[atom]
                if env.boundary:
                    return env.seeds.get(atom, Zero(atom.type))
                env = env.parent
        return Zero(atom.type)

    def lambda_env(self) -> Env | None:
        """The env of the innermost enclosing lambda boundary (None at array level)."""
        env: Env | None = self
        while env is not None and not env.boundary:
            env = env.parent
        return env

    def bind(self, olds: Sequence[Var], news: Sequence[Atom], tans: Sequence[Tan]) -> None:
        for old, new, tan in zip(olds, news, tans, strict=False):
            self.primals[old] = new
            self.tangents[old] = tan if differentiable(old.type) else Zero(old.type)

    def rename(self, program: Program) -> Program:
        """A copy of the nested ``program`` reading the new atoms of its free variables."""
        return substitute(program, {v: self.primal(v) for v in program.free_vars})


JvpRule = Rule[Env, Tan, tuple[Sequence[Atom], Sequence[Tan]]]
JVP_RULES: RuleTable[JvpRule] = RuleTable("derivative", NotDifferentiable, MISSING_JVP)
"""The JVP table, keyed by primitive (filled by :mod:`pyaccad.ad.jvp_rules` and the custom family)."""
register = JVP_RULES.register


def renamed_params(stmt: Stmt, env: Env) -> dict[str, Any]:
    params = dict(stmt.params)
    for name in stmt.prim.subprogram_params:
        if params.get(name) is not None:
            params[name] = env.rename(params[name])
    return params


def copy_stmt(stmt: Stmt, env: Env, args: Sequence[Atom]) -> tuple[Var, ...]:
    """Emit ``stmt`` again on the new ``args`` (its nested programs renamed): the primal half of most rules."""
    return emit(stmt.prim, tuple(args), renamed_params(stmt, env))


def carries_tangent(stmt: Stmt, env: Env, args_tan: Sequence[Tan]) -> bool:
    """Whether any input of ``stmt`` — argument, free variable of a nested program, seeded read — has a tangent."""
    if any(not is_zero(t) for t in args_tan):
        return True
    lam_env = env.lambda_env()
    seeds = lam_env.seeds if lam_env is not None else {}
    if seeds and any(v in seeds for v in stmt.outs):
        return True
    for sub in stmt.subprograms():
        if any(not is_zero(env.tangent(v)) for v in sub.free_vars):
            return True
        if seeds and _binds_any(sub, seeds):
            return True
    return False


def _binds_any(program: Program, seeds: dict[Var, Atom]) -> bool:
    for stmt in program.stmts:
        if any(v in seeds for v in stmt.outs) or any(_binds_any(s, seeds) for s in stmt.subprograms()):
            return True
    return False


def jvp_stmts(program: Program, env: Env) -> tuple[list[Atom], list[Tan]]:
    """Emit the JVP of ``program``'s statements (inputs already bound in ``env``); return outputs and tangents."""
    for stmt in program.stmts:
        args = [env.primal(a) for a in stmt.args]
        args_tan = [env.tangent(a) for a in stmt.args]
        if not carries_tangent(stmt, env, args_tan):
            outs: Sequence[Atom] = copy_stmt(stmt, env, args)
            outs_tan: Sequence[Tan] = [Zero(v.type) for v in stmt.outs]
        else:
            outs, outs_tan = JVP_RULES.lookup(stmt)(stmt, env, args, args_tan)
        env.bind(stmt.outs, outs, outs_tan)
    return [env.primal(a) for a in program.outputs], [env.tangent(a) for a in program.outputs]


def jvp_atoms(
    program: Program,
    primals: Sequence[Atom],
    tangents: Sequence[Tan],
    parent: Env | None = None,
    boundary: bool = False,
    seeds: dict[Var, Atom] | None = None,
) -> tuple[list[Atom], list[Tan]]:
    """Emit the JVP of ``program`` at ``primals`` with ``tangents`` into the current builder.

    Returns the outputs and their tangents (atoms, or :class:`Zero`). ``parent``
    is the env of the enclosing scope (None at top level); ``boundary`` and
    ``seeds`` make the new env a lambda's (see :class:`Env`).
    """
    env = Env(parent, boundary, seeds)
    env.bind(program.inputs, primals, tangents)
    return jvp_stmts(program, env)


def zero_rule(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]) -> tuple[Sequence[Atom], list[Tan]]:
    """The rule of a primitive with zero derivative (comparisons, rounding, integer ops)."""
    outs = copy_stmt(stmt, env, args)
    return outs, [Zero(v.type) for v in outs]


def linear_rule(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]) -> tuple[Sequence[Atom], list[Tan]]:
    """The rule of a primitive linear in its (only) operand: apply it to the tangent too."""
    outs = copy_stmt(stmt, env, args)
    if all(is_zero(t) for t in args_tan):
        return outs, [Zero(v.type) for v in outs]
    outs_tan = emit(stmt.prim, tuple(instantiate(t) for t in args_tan), renamed_params(stmt, env))
    return outs, list(outs_tan)
