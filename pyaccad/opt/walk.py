"""The rewriting walk shared by the local passes (constant folding, simplification).

A :class:`Rewriter` copies a program statement by statement. For each
statement it renames the arguments (earlier rewrites may have replaced a
variable), rewrites the nested programs first (lambda bodies are programs
too), then offers the statement to its rules in turn. A rule either declines
(returns ``None``) or returns the atoms that replace the statement's outputs,
possibly after emitting new statements with :meth:`Rewriter.emit` — which
offers those to the rules again, so rewrites chain (``reshape(reshape(x))``
becomes one reshape, which may then vanish).

The walk keeps two facts about every variable it has seen: the statement that
defines it (for patterns such as ``neg(neg(x))``) and, when known, the single
value every element holds (a *splat*: ``broadcast_in_dim`` of a literal, or a
``const`` whose elements are all equal). Inside lambdas literals are atoms and
may replace any variable; at array level a literal only ever appears through
``broadcast_in_dim``, so rules ask :meth:`Rewriter.filled` for an array.

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> from pyaccad.opt.walk import Rewriter
>>> prog = trace(lambda x: x + x, np.ones(2)).program
>>> len(Rewriter([]).run(prog).stmts)
1
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pyaccad.ir import PRIMITIVES, Atom, Lit, Primitive, Program, Stmt, Var
from pyaccad.ir.rewrite import inline, rebuild_program, rebuild_stmt, rename_atom

Rule = Callable[["Rewriter", Stmt, bool], "Sequence[Atom] | None"]
"""``rule(rewriter, stmt, scalar)``: replacement atoms for ``stmt.outs``, or None to keep the statement."""


def lit_value(lit: Lit) -> np.ndarray:
    """The literal as a rank-0 NumPy array of its dtype."""
    return np.asarray(lit.value, dtype=lit.dtype)


def make_lit(value: Any, dtype: np.dtype, from_extents: bool = False) -> Lit:
    """A literal of ``dtype`` holding the NumPy scalar ``value`` (converted to a Python number)."""
    item = np.asarray(value, dtype=dtype).item()
    return Lit(item, dtype, from_extents)


def lit_key(lit: Lit) -> tuple[str, bytes, bool]:
    """A key that tells every distinct literal apart: ``0.0`` from ``-0.0``, nan equal to itself, and a literal
    from extents from a plain one of the same value (CSE must not merge a mean's ``N = 1`` into an AD ``1``).

    >>> from pyaccad.ir import FLOAT32
    >>> lit_key(Lit(0.0, FLOAT32)) == lit_key(Lit(-0.0, FLOAT32)), lit_key(Lit(1.0, FLOAT32, True)) == lit_key(
    ...     Lit(1.0, FLOAT32))
    (False, False)
    """
    return (lit.dtype.str, lit_value(lit).tobytes(), lit.from_extents)


def uniform_value(array: np.ndarray) -> Lit | None:
    """The literal every element of a non-empty ``array`` equals (bitwise, so -0.0 and nan count), else None."""
    if array.size == 0:
        return None
    # Compare bit patterns: value equality would merge 0.0 with -0.0 and never match nan.
    bits = np.ascontiguousarray(array).reshape(-1).view(f"u{array.dtype.itemsize}")
    if not np.all(bits == bits[0]):
        return None
    return make_lit(array.reshape(-1)[0], array.dtype)


class Rewriter:
    """Copies programs, applying ``rules`` to every statement (nested programs included)."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self.env: dict[Var, Atom] = {}
        self.defs: dict[Var, Stmt] = {}
        self.splats: dict[Var, Lit] = {}
        self._out: list[list[Stmt]] = []

    def run(self, program: Program) -> Program:
        """The rewritten top-level program."""
        return self.program(program, scalar=False)

    def program(self, program: Program, scalar: bool) -> Program:
        """Rewrite a (possibly nested) program; ``scalar`` is true inside lambdas."""
        self._out.append([])
        try:
            for stmt in program.stmts:
                self._rewrite(stmt, scalar)
            stmts = self._out[-1]
        finally:
            self._out.pop()
        return rebuild_program(program, stmts, [self.atom(a) for a in program.outputs])

    def atom(self, atom: Atom) -> Atom:
        """``atom`` after the replacements made so far."""
        return rename_atom(atom, self.env)

    def splat(self, atom: Atom) -> Lit | None:
        """The literal every element of ``atom`` holds, if known."""
        return atom if isinstance(atom, Lit) else self.splats.get(atom)

    def definition(self, atom: Atom) -> Stmt | None:
        """The rewritten statement that binds ``atom`` (None for inputs, literals and free variables)."""
        return self.defs.get(atom) if isinstance(atom, Var) else None

    def emit(
        self,
        prim: Primitive | str,
        args: Sequence[Atom],
        params: dict[str, Any],
        scalar: bool,
        source: str | None = None,
    ) -> tuple[Atom, ...]:
        """Add ``prim(args; params)`` to the program being built (rules apply); return its results."""
        prim = PRIMITIVES[prim] if isinstance(prim, str) else prim
        types = prim.type_rule([a.type for a in args], params)
        outs = tuple(Var(t) for t in types)
        return self._add(Stmt(prim, tuple(args), params, outs, source), scalar)

    def filled(self, lit: Lit, shape: tuple[int, ...], scalar: bool, source: str | None = None) -> Atom:
        """An atom whose every element is ``lit``: the literal itself inside lambdas, else a broadcast."""
        if scalar:
            return lit
        (var,) = self.emit("broadcast_in_dim", (lit,), {"shape": tuple(shape), "dims": ()}, scalar, source)
        return var

    def splice(self, program: Program, args: Sequence[Atom] = ()) -> tuple[Atom, ...]:
        """Append an already rewritten nested program's statements here, its inputs bound to ``args``; return
        its outputs."""
        if not program.inputs:
            self._out[-1].extend(program.stmts)
            return program.outputs
        return inline(program, args, self._out[-1])

    def _rewrite(self, stmt: Stmt, scalar: bool) -> None:
        args = tuple(self.atom(a) for a in stmt.args)
        params = dict(stmt.params)
        sub_scalar = scalar or stmt.prim.scalar_bodies
        for name in stmt.prim.subprogram_params:
            if params.get(name) is not None:
                params[name] = self.program(params[name], sub_scalar)
        results = self._add(rebuild_stmt(stmt, args, params), scalar)
        for old, new in zip(stmt.outs, results, strict=True):
            if new is not old:
                self.env[old] = new

    def _add(self, stmt: Stmt, scalar: bool) -> tuple[Atom, ...]:
        for rule in self.rules:
            replacement = rule(self, stmt, scalar)
            if replacement is not None:
                return tuple(replacement)
        self._out[-1].append(stmt)
        for var in stmt.outs:
            self.defs[var] = stmt
        if stmt.prim.name == "broadcast_in_dim" and isinstance(stmt.args[0], Lit):
            self.splats[stmt.outs[0]] = stmt.args[0]
        elif stmt.prim.name == "broadcast_in_dim" and stmt.args[0] in self.splats:
            self.splats[stmt.outs[0]] = self.splats[stmt.args[0]]
        elif stmt.prim.name == "const":
            lit = uniform_value(stmt.params["value"])
            if lit is not None:
                self.splats[stmt.outs[0]] = lit
        return stmt.outs
