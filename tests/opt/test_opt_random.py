"""Every optimiser pass, alone and as the pipeline, on random programs: verify stays green, interp results agree."""

from __future__ import annotations

import numpy as np
import pytest
from program_gen import random_inputs, random_program

from pyaccad import ad
from pyaccad.backends.interp import BACKEND as INTERP
from pyaccad.frontend import trace
from pyaccad.frontend.tracing import call_program
from pyaccad.ir import verify
from pyaccad.opt import PASSES, optimize, stages

SEEDS = range(60)


def _run(program, inputs):
    with np.errstate(all="ignore"):
        return INTERP.compile(program)(inputs)


def _assert_same(before, after, seed):
    inputs = random_inputs(seed)
    expected, actual = _run(before, inputs), _run(after, inputs)
    assert len(expected) == len(actual)
    for e, a in zip(expected, actual, strict=True):
        assert e.dtype == a.dtype and e.shape == a.shape
        np.testing.assert_array_equal(a, e)  # nan matches nan; only a zero's sign may differ (documented)


def _count(program) -> int:
    return sum(1 + sum(_count(sub) for sub in s.subprograms()) for s in program.stmts)


@pytest.mark.parametrize("name,run", PASSES, ids=[n for n, _ in PASSES])
@pytest.mark.parametrize("seed", SEEDS)
def test_each_pass_preserves_meaning(name, run, seed):
    program = random_program(seed)
    verify(program)
    result = run(program)
    verify(result)
    _assert_same(program, result, seed)


@pytest.mark.parametrize("seed", SEEDS)
def test_pipeline_preserves_meaning_and_shrinks(seed):
    program = random_program(seed, n_steps=20)
    for _, stage in stages(program):
        verify(stage)
    result = optimize(program, "interp")
    _assert_same(program, result, seed)
    assert _count(result) <= _count(program)


def test_pipeline_removes_a_good_share_of_random_programs():
    # The generator plants dead code, duplicates, identity reshuffles and x*1-style literals in every program.
    before = sum(_count(random_program(s, n_steps=20)) for s in SEEDS)
    after = sum(_count(optimize(random_program(s, n_steps=20), "interp")) for s in SEEDS)
    assert after < 0.8 * before


@pytest.mark.parametrize("seed", range(10))
def test_optimising_twice_changes_nothing(seed):
    from pyaccad.opt.keys import program_key

    once = optimize(random_program(seed, n_steps=20), "interp")
    assert program_key(optimize(once, "interp")) == program_key(once)


@pytest.mark.parametrize("seed", range(0, 60, 3))
def test_pipeline_preserves_gradient_programs(seed):
    # Gradients are where the zeros, ones and reshuffles come from: optimise what AD emits for random programs.
    program = random_program(seed)
    loss = lambda x0, x1: call_program(program, [x0, x1])[0].sum()
    gradient = trace(ad.grad(loss, argnums=(0, 1)), *random_inputs(seed)).program
    result = optimize(gradient, "interp")
    verify(result)
    _assert_same(gradient, result, seed)
    assert _count(result) < _count(gradient)


@pytest.mark.parametrize("seed", range(0, 60, 6))
def test_a_pass_with_nothing_to_change_hands_back_the_program_itself(seed):
    # Passes reuse what they leave alone (ir.rewrite.rebuild_stmt): an optimised program, which no pass
    # changes, comes back as the same object.
    once = optimize(random_program(seed, n_steps=20), "interp")
    for _, run in PASSES:
        assert run(once) is once


def test_a_pass_shares_the_statements_it_leaves_alone():
    import pyaccad as acc
    from pyaccad.opt import simplify

    program = trace(lambda x: (acc.map(lambda v: acc.cos(v) + 1.0, x), acc.sin(x) * 1.0), np.ones(3)).program
    result = simplify(program)
    (lam_map,) = [s for s in program.stmts if s.prim.name == "map"]
    assert lam_map in result.stmts  # the map and its lambda untouched: the same statement
    assert "mul" not in [s.prim.name for s in result.stmts]  # while sin(x) * 1.0 became sin(x)
    assert [s for s in program.stmts if s.prim.name == "sin"][0] in result.stmts
