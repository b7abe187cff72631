"""``pyaccad.opt.keys``: equal keys exactly for programs equal up to renaming, however deep the difference.

``program_key`` numbers bound variables in one dictionary that nested programs extend and give back (it
copied the dictionary for every nested program once, which made keying a long program with many lambdas
quadratic). The reference below is that copying definition, written out independently; the keys must agree
with it on random programs and their gradients, and tell apart programs that differ inside nested lambdas.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from program_gen import random_inputs, random_program

import pyaccad as acc
from pyaccad import ad
from pyaccad.frontend import trace
from pyaccad.frontend.tracing import call_program
from pyaccad.ir import Lit, Program, Stmt, Var
from pyaccad.opt.keys import program_key
from pyaccad.opt.walk import lit_key


def _reference_atom(atom: Any, names: dict[Var, int]) -> Any:
    if isinstance(atom, Lit):
        return ("lit", *lit_key(atom))
    return ("bound", names[atom]) if atom in names else ("free", atom.id)


def _reference_param(value: Any, names: dict[Var, int]) -> Any:
    if isinstance(value, Program):
        return ("program", _reference_key(value, names))
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (tuple, list)):
        return (type(value).__name__, tuple(_reference_param(v, names) for v in value))
    if isinstance(value, float):
        return ("float", repr(value))
    if isinstance(value, np.dtype):
        return ("dtype", value.str)
    return (type(value).__name__, value)


def _reference_stmt(stmt: Stmt, names: dict[Var, int]) -> Any:
    args = tuple(_reference_atom(a, names) for a in stmt.args)
    if stmt.prim.commutative:
        args = tuple(sorted(args, key=repr))
    params = tuple(sorted((k, _reference_param(v, names)) for k, v in stmt.params.items()))
    return (stmt.prim.name, args, params)


def _reference_key(program: Program, outer: dict[Var, int]) -> Any:
    names = dict(outer)  # a copy per nested program: the definition, at quadratic cost
    for var in program.inputs:
        names[var] = len(names)
    parts: list[Any] = [tuple(str(v.type) for v in program.inputs)]
    for stmt in program.stmts:
        parts.append((_reference_stmt(stmt, names), tuple(str(v.type) for v in stmt.outs)))
        for var in stmt.outs:
            names[var] = len(names)
    parts.append(tuple(_reference_atom(a, names) for a in program.outputs))
    return tuple(parts)


@pytest.mark.parametrize("seed", range(0, 40, 4))
def test_keys_agree_with_the_copying_definition(seed):
    program = random_program(seed, n_steps=20)
    loss = lambda x0, x1: call_program(program, [x0, x1])[0].sum()
    gradient = trace(ad.grad(loss, argnums=(0, 1)), *random_inputs(seed)).program
    assert any(next(s.subprograms(), None) is not None for s in program.stmts)  # lambdas to key nested
    for p in (program, gradient):
        assert program_key(p) == _reference_key(p, {})


def _nested(inner: float):
    """A map whose lambda holds a scalar ``cond`` whose branch multiplies by ``inner``."""
    return lambda x: acc.map(lambda v: acc.cond(v > 0.0, lambda: v * inner, lambda: v), acc.sin(x))


def test_a_difference_deep_inside_nested_lambdas_tells_programs_apart():
    x = np.arange(3.0)
    two, three, two_again = (trace(_nested(c), x).program for c in (2.0, 3.0, 2.0))
    assert program_key(two) != program_key(three)
    assert program_key(two) == program_key(two_again)  # other variables, same program


def test_keying_with_an_enclosing_numbering_gives_it_back_unchanged():
    program = trace(_nested(2.0), np.arange(3.0)).program
    (stmt,) = [s for s in program.stmts if s.prim.name == "map"]
    lam = stmt.params["lam"]
    names = {program.inputs[0]: 0, lam.inputs[0]: 7}  # a lambda input already numbered: shadowed, then restored
    before = dict(names)
    assert program_key(lam, names) == _reference_key(lam, before)
    assert names == before
