"""``sink_into_branches``: where statements go, and that moving them never changes a result.

Random programs (:mod:`branch_programs`) are run by the interpreter before and after sinking; the
hand-made ones check where each statement ends up, against the placement worked out by hand.
"""

from __future__ import annotations

import numpy as np
from branch_programs import bound_in_branches, branch_programs, count
from hypothesis import given, settings

import pyaccad as acc
from pyaccad import ad
from pyaccad.backends.interp import BACKEND as INTERP
from pyaccad.frontend import trace
from pyaccad.ir import verify
from pyaccad.ir.sink import sink_into_branches


def _names(program) -> list[str]:
    return [s.prim.name for s in program.stmts]


def _lambda(program):
    """The lambda of the program's only collective."""
    (stmt,) = [s for s in program.stmts if "lam" in s.params]
    return stmt.params["lam"]


@settings(max_examples=60)
@given(branch_programs())
def test_sinking_keeps_the_meaning_of_random_programs(drawn):
    program, planted, inputs = drawn
    verify(program)
    sunk = sink_into_branches(program)
    verify(sunk)
    before, after = INTERP.compile(program)(inputs), INTERP.compile(sunk)(inputs)
    for b, a in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    assert count(sunk) == count(program)  # statements move; none is added, copied or dropped
    assert set(planted) <= bound_in_branches(sunk)  # each value made for one branch only is now in it
    assert sink_into_branches(sunk) is sunk  # one pass sinks as deep as the uses allow


def test_values_sink_into_the_innermost_branch_that_uses_them():
    # read(a) only in the inner then-branch, read(b) only in the inner else-branch, read(c) only in the outer
    # else-branch, i * 2 in both inner branches (so in the outer then-branch), i + 1 everywhere (so it stays).
    def fn(a, b, c):
        def element(i):
            j = i + 1
            k = i * 2
            inner = acc.cond(i < 2, a[j - 1] + acc.cast(k, "float64"), b[j - 3] - acc.cast(k, "float64"))
            return acc.cond(i < 4, inner, c[j - 5])

        return acc.generate((7,), element)

    lam = _lambda(trace(fn, np.ones(2), np.ones(2), np.ones(3)).program)
    assert _names(lam) == ["add", "lt", "cond"]  # j, the outer predicate, the outer cond
    outer = lam.stmts[-1]
    assert _names(outer.params["then_"]) == ["mul", "lt", "cond"]  # k, the inner predicate, the inner cond
    assert _names(outer.params["else_"]) == ["sub", "index"]
    inner = outer.params["then_"].stmts[-1]
    assert _names(inner.params["then_"]) == ["sub", "index", "cast", "add"]
    assert _names(inner.params["else_"]) == ["sub", "index", "cast", "sub"]


def test_values_used_outside_a_branch_stay():
    # A predicate, both branches, a later statement, a program output, a loop body: none moves.
    def fn(a):
        def element(i):
            v = a[i] * 2.0  # used by the predicate
            w = a[i] + 1.0  # used by both branches
            x = a[i] - 1.0  # used in a branch and after the cond
            y = a[i] * 3.0  # used in a cond inside a loop body: moving it in would run it on every trip
            first = acc.cond(v > 0.0, w + x, w)
            looped = acc.while_(lambda s: s[0] < 3, lambda s: (s[0] + 1, acc.cond(s[1] > 0.0, y, s[1])), (0, w))
            return first + x + looped[1]

        return acc.generate((3,), element)

    lam = _lambda(trace(fn, np.ones(3)).program)
    assert _names(lam).count("index") == 4
    first = next(s for s in lam.stmts if s.prim.name == "cond")
    assert _names(first.params["then_"]) == ["add"] and _names(first.params["else_"]) == []


def test_custom_rule_and_remat_bodies_take_nothing():
    # checkpoint and stop_gradient keep their boundary: what they read stays outside their bodies,
    # their arguments and a value used only there (closed over) alike.
    def f(x):
        scale = acc.exp(x).sum()
        return ad.checkpoint(lambda v: acc.sin(v) * scale)(acc.tanh(x)) + ad.stop_gradient(acc.cos(x))

    program = trace(f, np.ones(3)).program
    bodies = {s.prim.name: _names(s.params["body"]) for s in program.stmts if "body" in s.params}
    assert bodies == {"remat": ["sin", "broadcast_in_dim", "mul"], "custom_rule": []}
    assert {"exp", "fold", "tanh", "cos"} <= set(_names(program))


def test_conds_on_known_predicates_take_nothing():
    def f(x):
        e = acc.exp(x)  # used only by the branch of a cond(True): nothing to save by moving it
        return acc.acond(acc.unit(True), lambda: e, lambda: x)

    assert "exp" in _names(trace(f, np.ones(3)).program)


def test_a_traced_program_has_nothing_left_to_move():
    program = trace(lambda x: acc.map(lambda v: acc.cond(v > 0.0, v, -v), x), np.ones(2)).program
    assert sink_into_branches(program) is program
