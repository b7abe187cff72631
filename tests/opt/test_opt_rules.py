"""Targeted optimiser tests: each rewrite fires (statements disappear) and unsafe ones do not (nan, inf, -0)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_within, sum_bound

import pyaccad as acc
from pyaccad.backends.interp import BACKEND as INTERP
from pyaccad.frontend import trace
from pyaccad.ir import verify
from pyaccad.opt import constant_fold, cse, dce, optimize, simplify

SPECIALS = np.array([[0.0, -0.0, 1.5, -2.0], [np.nan, np.inf, -np.inf, 3.0]], np.float32)


def _optimized(fn, *args):
    """(original, optimised) programs of ``fn``; asserts verify and identical interp results on ``args``."""
    program = trace(fn, *args).program
    result = optimize(program, "interp")
    verify(result)
    with np.errstate(all="ignore"):
        expected, actual = INTERP.compile(program)(list(args)), INTERP.compile(result)(list(args))
    for e, a in zip(expected, actual, strict=True):
        np.testing.assert_array_equal(a, e)
    return program, result


def _names(program) -> list[str]:
    return [s.prim.name for s in program.stmts]


@pytest.mark.parametrize(
    "fn",
    [
        lambda x: x + 0.0,
        lambda x: 0.0 + x,
        lambda x: x - 0.0,
        lambda x: x * 1.0,
        lambda x: 1.0 * x,
        lambda x: x / 1.0,
        lambda x: x**1.0,
        lambda x: acc.negative(acc.negative(x)),
        lambda x: x.astype("float32"),
        lambda x: acc.reshape(acc.reshape(x, (8,)), (2, 4)),
        lambda x: acc.transpose(acc.transpose(x)),
        lambda x: acc.reverse(acc.reverse(x, 0), 0),
        lambda x: x[:, :],
        lambda x: acc.where(True, x, x * 2.0),
        lambda x: acc.where(x > 0.0, x, x),
        lambda x: acc.map(lambda a: a, x),
        lambda x: acc.map(lambda a: a * 1.0 + 0.0, x),
        lambda x: acc.minimum(x, x),
        lambda x: x * np.ones((2, 4), np.float32),  # a uniform constant array is its value
    ],
)
def test_identities_leave_the_input(fn):
    program, result = _optimized(fn, SPECIALS)
    assert result.stmts == () and result.outputs[0] is result.inputs[0], _names(result)


@pytest.mark.parametrize(
    "fn,kept",
    [
        (lambda x: x * 0.0, "mul"),  # inf * 0 and nan * 0 are nan, -2 * 0 is -0
        (lambda x: x - x, "sub"),  # inf - inf is nan
        (lambda x: x / x, "div"),  # 0 / 0 is nan
    ],
)
def test_unsafe_float_rewrites_do_not_fire(fn, kept):
    _, result = _optimized(fn, SPECIALS)
    assert kept in _names(result)


def test_negations_cancel():
    p = np.array([True, False])
    _, result = _optimized(lambda q: ~~q, p)
    assert result.stmts == () and result.outputs[0] is result.inputs[0]
    x, y = SPECIALS[0], SPECIALS[1]
    assert _names(_optimized(lambda a, b: a - -b, x, y)[1]) == ["add"]
    assert _names(_optimized(lambda a, b: a + -b, x, y)[1]) == ["sub"]


def test_select_and_cast_of_constant_arrays_fold():
    pick, on, off = np.array([True, False, True, False]), np.arange(4, dtype=np.float32), -np.ones(4, np.float32)
    _, result = _optimized(lambda x: x + acc.where(pick, on, off) + acc.cast(pick, "float32"), SPECIALS[0])
    assert "select" not in _names(result) and "cast" not in _names(result)


def test_integer_times_zero_folds():
    _, result = _optimized(lambda i: i * 0 + 3, np.arange(4, dtype=np.int32))
    assert _names(result) == ["broadcast_in_dim"]


def test_constant_folding_uses_interpreter_semantics():
    program, result = _optimized(lambda x: x * (acc.fill((2, 4), 2.0, "float32") ** 3.0 - 7.0), SPECIALS)
    assert _names(result) == []  # 2 ** 3 - 7 folds to 1, then x * 1 is x
    _, folded = _optimized(lambda x: x + acc.fill((2, 4), 1.0, "float32") / 0.0, SPECIALS)
    assert "div" not in _names(folded)  # 1/0 folds to inf, as the interpreter computes it


def test_float_to_int_cast_of_nan_is_not_folded():
    program = trace(
        lambda x: x + acc.cast(acc.fill((3,), float("nan"), "float32"), "int32"), np.zeros(3, np.int32)
    ).program
    assert "cast" in _names(constant_fold(program))


def test_splat_index_inside_lambda_becomes_a_literal():
    def f(x):
        zeros = acc.fill((4,), 0.0, "float64")
        return acc.generate((4,), lambda i: zeros[i] + x[i])

    _, result = _optimized(f, np.arange(4.0))
    lam = result.stmts[-1].params["lam"]
    assert [s.prim.name for s in lam.stmts] == ["index"]


def test_chains_compose():
    def f(x):
        y = acc.broadcast_to(acc.broadcast_to(x, (3, 4)), (2, 3, 4))
        return acc.reshape(acc.reshape(y, (6, 4)), (24,)), acc.transpose(acc.transpose(x[None], (1, 0)), (1, 0))

    _, result = _optimized(f, np.arange(4.0))
    names = _names(result)
    assert names.count("broadcast_in_dim") <= 2 and names.count("reshape") <= 2 and "transpose" not in names


def test_slice_of_slice_composes():
    _, result = _optimized(lambda x: x[1:, ::2][1:, 1:], np.arange(40.0).reshape(5, 8))
    assert _names(result) == ["slice"]


@pytest.mark.parametrize(
    "fold, reference, shapes, sums",
    [
        (lambda x: acc.fold(lambda a, b: a + b, 2.5, x), lambda x: 2.5 + x.sum(-1), [(3, 5), (3, 1), (3, 0)], True),
        (lambda x: acc.fold1(acc.maximum, x), lambda x: x.max(-1), [(3, 5), (3, 1)], False),
        (lambda x: acc.reverse(x, 1) * 2.0, lambda x: x[:, ::-1] * 2, [(3, 5), (3, 1)], False),
    ],
    ids=["fold", "fold1", "reverse"],
)
def test_no_rule_depends_on_an_extent(fold, reference, shapes, sums):
    # a fold over a length-1 (or empty) axis stays a fold, a reverse of a length-1 axis stays a reverse: the
    # program's structure, and so the native library, is the same for every batch size
    programs = [_optimized(fold, np.ones(shape))[1] for shape in shapes]
    assert all(_names(p) == _names(programs[0]) for p in programs)
    for shape in shapes:
        x = np.random.default_rng(0).standard_normal(shape)
        # the fold adds 2.5 and the terms in its order, the reference in NumPy's: sum_bound counts both; max and
        # ×2 round nothing, or exactly alike
        bound = sum_bound(2.5 + np.abs(x).sum(-1), shape[-1] + 1, np.float64) if sums else 0.0
        for backend in ("interp", "native"):
            assert_within(acc.run(fold, x, backend=backend), reference(x), bound, np.float64)


def test_cond_on_a_known_predicate_inlines_the_branch():
    f = lambda x: acc.acond(acc.fill((), True, "bool"), lambda a: a + 1.0, lambda a: a * 2.0, x)
    _, result = _optimized(f, np.arange(3.0))
    assert "cond" not in _names(result) and "add" in _names(result)


def test_cse_merges_structurally_equal_lambdas_and_commuted_operands():
    def f(x, y):
        a = acc.map(lambda v: acc.sin(v) * 2.0, x)
        b = acc.map(lambda w: acc.sin(w) * 2.0, x)  # same lambda, other names
        return a + b, x * y + y * x

    program = trace(f, np.ones(3), np.ones(3)).program
    result = dce(cse(program))
    assert _names(result).count("map") == 1 and _names(result).count("mul") == 1


def test_cse_never_merges_different_constants_or_signed_zeros():
    c1, c2 = np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0])
    f = lambda x: (x + c1, x + c2, x * 0.0, x * -0.0)
    program, result = _optimized(f, np.array([1.0, -1.0, np.inf]))
    names = _names(result)
    assert names.count("const") == 2 and names.count("mul") == 2


def test_cse_reuses_outer_values_inside_lambdas_but_not_across_siblings():
    def f(x):
        s = acc.sin(x)
        a = acc.map(lambda v: acc.cos(v) + 1.0, s)
        b = acc.map(lambda v: acc.cos(v) + 1.0, s)
        return a * b

    _, result = _optimized(f, np.arange(3.0))
    assert _names(result).count("map") == 1


def test_dce_trims_unused_map_results_and_arrays():
    def f(x, y):
        a, b = acc.map(lambda u, v: (u * 2.0, acc.exp(v)), x, y)
        return a

    result = dce(trace(f, np.ones(3), np.ones(3)).program)
    (stmt,) = [s for s in result.stmts if s.prim.name == "map"]
    assert len(stmt.outs) == 1 and len(stmt.args) == 1
    assert [s.prim.name for s in stmt.params["lam"].stmts] == ["mul"]


def test_dce_keeps_loop_state_the_condition_needs():
    def f(x):
        init = (acc.fill((), 0, "int64"), x, x)
        step = lambda s: (s[0] + 1, s[1] * 0.5, acc.sin(s[2]))
        i, halved, junk = acc.awhile(lambda s: acc.the(s[0]) < 3, step, init)
        return halved

    program, result = _optimized(f, np.arange(3.0))
    (loop,) = [s for s in result.stmts if s.prim.name == "while"]
    assert len(loop.outs) == 2  # the counter (read by the condition) and the result; the sin state is gone
    assert "sin" not in [s.prim.name for s in loop.params["body"].stmts]


def test_dce_trims_cond_results():
    def f(x):
        p = acc.the(acc.fold_all(lambda a, b: a + b, 0.0, x)) > 0.0
        a, b = acc.acond(p, lambda v: (v + 1.0, acc.exp(v)), lambda v: (v * 2.0, acc.log(v)), x)
        return a

    _, result = _optimized(f, np.arange(3.0))
    (branch,) = [s for s in result.stmts if s.prim.name == "cond"]
    assert len(branch.outs) == 1
    assert "exp" not in [s.prim.name for s in branch.params["then_"].stmts]


def test_simplification_inside_lambdas():
    def f(x):
        return acc.map(lambda v: acc.negative(acc.negative(v * 1.0)) + acc.sin(v) * 0.0, x)

    _, result = _optimized(f, SPECIALS)
    lam = result.stmts[0].params["lam"]
    assert [s.prim.name for s in lam.stmts] == ["sin", "mul", "add"]  # the float * 0.0 stays


def test_a_stencil_result_that_is_a_literal_becomes_a_splat():
    """The partials of a linear stencil (its forward-mode derivative) are constants: no stencil computes them."""

    def f(x):
        return acc.stencil(lambda n: (n[0] + n[2], 0.5 * 2.0 + 0.0 * 0.0), x, 3)

    _, result = _optimized(f, np.array([1.0, 2.0, 4.0]))  # checks the values against the unoptimised program
    summed, ones = result.outputs
    producers = {v: s for s in result.stmts for v in s.outs}
    assert producers[ones].prim.name == "broadcast_in_dim"
    assert producers[summed].prim.name == "stencil" and len(producers[summed].outs) == 1


def test_passes_print_every_stage(monkeypatch, capsys):
    monkeypatch.setenv("PYACCAD_DUMP_PASSES", "1")
    optimize(trace(lambda x: x * 1.0, np.ones(2)).program, "interp")
    err = capsys.readouterr().err
    for name in ("input", "constant_fold", "simplify", "cse", "dce"):
        assert f"-- {name} (interp) --" in err


def test_each_pass_is_callable_alone():
    program = trace(lambda x: (x * 1.0, x * 1.0), np.ones(2)).program
    for run in (constant_fold, simplify, cse, dce):
        verify(run(program))


def test_cse_keeps_sibling_branches_apart_and_never_reuses_a_branch_value_outside_it():
    def f(x, p):
        then_ = lambda: acc.sin(x) * 2.0
        else_ = lambda: acc.sin(x) * 3.0
        return acc.cond(acc.the(p) > 0.0, then_, else_), acc.sin(x) * 3.0

    x = np.array([0.5, -1.0, 2.0])
    for p in (np.float64(1.0), np.float64(-1.0)):
        program, result = _optimized(f, x, p)
    (branch,) = [s for s in result.stmts if s.prim.name == "cond"]
    for name in ("then_", "else_"):  # each branch computes its own sin: a sibling's is not in scope
        assert "sin" in _names(branch.params[name])
    assert "sin" in _names(result)  # and so does the program after the cond
