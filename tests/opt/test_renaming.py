"""``pyaccad.ir.rewrite``'s renaming (``inline``, ``substitute_stmt``) on programs with nested lambdas, loops and
branches: each copy binds fresh variables at every depth, and the renaming handed in comes back holding only
the copied statements' results (nested programs bind theirs in it while they are copied, then undo that)."""

from __future__ import annotations

import numpy as np
import pytest
from program_gen import random_inputs, random_program

from pyaccad.backends.interp import BACKEND as INTERP
from pyaccad.ir import Program, Var, verify
from pyaccad.ir.rewrite import inline, substitute_stmt
from pyaccad.opt.keys import program_key


def _run(program, inputs):
    with np.errstate(all="ignore"):
        return INTERP.compile(program)(inputs)


@pytest.mark.parametrize("seed", range(0, 60, 5))
def test_inlining_a_program_twice_gives_two_independent_copies(seed):
    program = random_program(seed, n_steps=20)
    inputs = tuple(Var(v.type) for v in program.inputs)
    stmts = []
    first = inline(program, inputs, stmts)
    second = inline(program, inputs, stmts)
    both = Program(inputs, tuple(stmts), (*first, *second))
    verify(both)  # no variable bound twice, at any depth, and every read in scope
    expected = _run(program, random_inputs(seed))
    actual = _run(both, random_inputs(seed))
    for want, got in zip(expected * 2, actual, strict=True):
        np.testing.assert_array_equal(got, want)
    assert program_key(Program(inputs, tuple(stmts[: len(program.stmts)]), first)) == program_key(program)


@pytest.mark.parametrize("seed", range(0, 60, 5))
def test_copying_a_statement_records_its_results_and_nothing_of_its_nested_programs(seed):
    program = random_program(seed, n_steps=20)
    nested = [s for s in program.stmts if next(s.subprograms(), None) is not None]
    assert nested
    env = {v: Var(v.type) for v in program.inputs}
    for stmt in program.stmts:
        before = dict(env)
        copy = substitute_stmt(stmt, env)
        assert env == {**before, **dict(zip(stmt.outs, copy.outs, strict=True))}
