"""Horizontal grouping (folds of one shape and axis, manifest maps of one shape sharing a pass): the one-pass
grouping against the rule it implements, checked literally, and its edge cases in real programs."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import pyaccad as acc
from pyaccad.frontend import trace
from pyaccad.opt import optimize
from pyaccad.opt.fusion import horizontal_groups, plan_program


def reference_groups(reads: list[list[int]], candidates: set[int], keys: list[int]) -> list[list[int]]:
    """The rule, checked literally: candidate ``i`` joins the earliest group of its key such that no statement
    from the group's first member up to ``i`` (included) depends, transitively, on a member; groups of one
    are dropped. Statements are ``0 .. len(reads) - 1`` in program order; ``reads[i]``: those ``i`` reads."""
    ancestors: list[set[int]] = []
    for sources in reads:
        ancestors.append(set().union(*({j} | ancestors[j] for j in sources)))
    groups: list[list[int]] = []
    for i in sorted(candidates):
        for group in groups:
            if keys[group[0]] == keys[i] and all(not ancestors[p] & set(group) for p in range(group[0] + 1, i + 1)):
                group.append(i)
                break
        else:
            groups.append([i])
    return [g for g in groups if len(g) > 1]


@st.composite
def dags(draw: st.DrawFn) -> tuple[list[list[int]], set[int], list[int]]:
    """Random DAGs in program order (each statement reads up to three earlier ones), random candidates and
    keys from a small set (so that groups of one key meet and close)."""
    n = draw(st.integers(0, 40))
    reads = [draw(st.lists(st.integers(0, i - 1), max_size=3)) if i else [] for i in range(n)]
    candidates = set(draw(st.lists(st.integers(0, max(n - 1, 0)), max_size=n)))
    keys = draw(st.lists(st.integers(0, 2), min_size=n, max_size=n))
    return reads, candidates, keys


@settings(max_examples=400)
@given(dags())
def test_horizontal_groups_are_the_rules_groups(dag):
    reads, candidates, keys = dag
    got = horizontal_groups(range(len(reads)), reads.__getitem__, candidates, keys.__getitem__)
    assert got == reference_groups(reads, candidates, keys)


def test_reading_a_member_closes_the_group_and_an_independent_statement_does_not():
    reads = [[], [], [0], [], [2]]  # 2 reads 0; 4 reads 2 (so depends on 0 only through it)
    groups = lambda candidates: horizontal_groups(range(5), reads.__getitem__, candidates, lambda s: "k")  # noqa: E731
    assert groups({0, 1, 3}) == [[0, 1]]  # 3 comes after 2, which read member 0: [0, 1] closed, {3} alone
    assert groups({1, 3, 4}) == [[1, 3, 4]]  # 2 reads 0, no member: 3 and 4 join 1 (4 reads only 2)
    assert groups({0, 4}) == []  # 4 depends on 0; a group of one is no group
    assert groups({0, 2}) == []  # 2 reads 0 itself
    assert horizontal_groups(range(5), reads.__getitem__, {0, 1, 3}, {0: "a", 1: "b", 3: "a"}.get) == []


def test_groups_of_distinct_keys_close_independently():
    reads = [[], [], [0], [], []]
    keys = ["a", "b", "a", "a", "b"]
    # 2 reads 0 (key a): a's group [0] closes, 2 and 3 open a new one; b's [1, 4] never closes
    assert horizontal_groups(range(5), reads.__getitem__, set(range(5)), keys.__getitem__) == [[1, 4], [2, 3]]


X = np.arange(12.0).reshape(3, 4) - 5.0  # small integers: every sum, product and maximum below is exact


def _plan(fn):
    return plan_program(optimize(trace(fn, X).program, "native"))


def _fold_kernels(plan):
    return [sorted(r.params["lam"].stmts[0].prim.name for r in k.roots) for k in plan.kernels if k.kind == "fold"]


def test_a_statement_reading_a_fold_between_two_folds_keeps_them_apart():
    def f(a):
        s = a.sum(axis=1)
        t = acc.scanl1(lambda p, q: p + q, a * s.reshape(3, 1), axis=1)  # reads s: s must be computed first
        m = acc.fold1(acc.maximum, a, axis=1)  # independent of s, but runs after t if it shares s's pass
        return s, t, m

    assert _fold_kernels(_plan(f)) == [["add"], ["maximum"]]
    s, t, m = acc.run(f, X, backend="native")
    np.testing.assert_array_equal(s, X.sum(axis=1))
    np.testing.assert_array_equal(t, np.cumsum(X * X.sum(axis=1, keepdims=True), axis=1))
    np.testing.assert_array_equal(m, X.max(axis=1))


def test_an_independent_statement_between_two_folds_lets_them_share_a_pass():
    def f(a):
        s = a.sum(axis=1)
        t = acc.scanl1(lambda p, q: p + q, a * 2.0, axis=1)  # between the folds, reads neither
        m = acc.fold1(acc.maximum, a, axis=1)
        return s, t, m

    assert _fold_kernels(_plan(f)) == [["add", "maximum"]]
    s, t, m = acc.run(f, X, backend="native")
    np.testing.assert_array_equal(s, X.sum(axis=1))
    np.testing.assert_array_equal(t, np.cumsum(X * 2.0, axis=1))
    np.testing.assert_array_equal(m, X.max(axis=1))
