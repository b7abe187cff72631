"""How the interpreter runs lambdas: vectorised over lanes, lazily in ``cond``, bounds-checked reads,
and the exact semantics of initial values, collisions and empty axes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from helpers import cond, index, lam, lit, prim, program_of, run_program, while_

import pyaccad as acc
from pyaccad.backends.interp import lambdas
from pyaccad.errors import IndexOutOfBounds
from pyaccad.frontend.tracing import emit, wrap
from pyaccad.ir import Lit


def _count_lambda_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record the number of lanes of every lambda evaluation (run_lambda → eval_program)."""
    runs: list[int] = []
    real = lambdas.eval_program

    def counting(program: Any, args: Any, env: Any, ctx: Any) -> Any:
        runs.append(ctx.lanes)
        return real(program, args, env, ctx)

    monkeypatch.setattr(lambdas, "eval_program", counting)
    return runs


def test_a_lambda_runs_once_over_all_elements(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _count_lambda_runs(monkeypatch)
    x = np.arange(1000.0)
    program = program_of(lambda a: prim("map", a, lam=lam(lambda v: (v * v + 1.0, v > 3.0), "float64")), [x])
    squares, big = run_program(program, [x])
    assert runs == [1000]
    np.testing.assert_array_equal(squares, x * x + 1.0)
    np.testing.assert_array_equal(big, x > 3.0)


def test_a_general_fold_takes_logarithmically_many_vectorised_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = _count_lambda_runs(monkeypatch)
    x = np.arange(1, 101, dtype=np.int64).reshape(4, 25) % 7
    # max written with select is not recognised as a monoid, so the general tree reduction runs.
    body = lambda a, b: prim("select", prim("gt", a, b)[0], a, b)
    program = program_of(lambda a: prim("fold", a, lam=lam(body, "int64", "int64"), axis=1), [x])
    (out,) = run_program(program, [x])
    np.testing.assert_array_equal(out, x.max(axis=1))
    assert len(runs) == 5  # 25 → 13 → 7 → 4 → 2 → 1, each level one call over all rows
    assert runs[0] == 4 * 12


def test_out_of_bounds_index_names_the_operation_shape_index_and_line() -> None:
    x = np.arange(3.0)
    with pytest.raises(IndexOutOfBounds) as info:
        acc.run(lambda a: acc.generate((3,), lambda i: a[i + 1]), x, backend="interp")
    message = str(info.value)
    assert "index inside generate" in message and "(3,)" in message
    assert "index (3,)" in message
    assert "test_interp_lambdas.py" in message and "a[i + 1]" in message


def test_out_of_bounds_index_inside_map_built_directly() -> None:
    x, t = np.array([0, 5, 1], np.int64), np.arange(4.0)

    def fn(a: Any, table: Any) -> Any:
        def body(i: Any) -> Any:
            (value,) = emit("index", [table.var, i.var])  # this line is the statement's source
            return wrap(value)

        return prim("map", a, lam=lam(body, "int64"))

    program = program_of(fn, [x, t])
    with pytest.raises(IndexOutOfBounds, match=r"index inside map: index \(5,\) .* shape \(4,\)") as info:
        run_program(program, [x, t])
    assert 'emit("index", [table.var, i.var])' in str(info.value)
    assert run_program(program, [np.array([3, 0, 2], np.int64), t])[0].tolist() == [3.0, 0.0, 2.0]


def test_negative_indices_are_out_of_bounds_not_wrapped() -> None:
    x = np.arange(3.0)
    with pytest.raises(IndexOutOfBounds, match=r"index \(-1,\)"):
        acc.run(lambda a: acc.generate((3,), lambda i: a[i - 1]), x, backend="interp")


def test_cond_evaluates_each_branch_only_on_its_lanes() -> None:
    x = np.array([10.0, 20.0, 30.0])

    def fn(a: Any) -> Any:
        def body(i: Any) -> Any:
            # Either branch, run on every lane, would read out of bounds (a[-1], or a[3] and a[4]).
            return cond(i > 0, lambda: index(a, i - 1), lambda: index(a, i + 2))

        return prim("generate", shape=(3,), lam=lam(body, "int64"))

    assert run_program(program_of(fn, [x]), [x])[0].tolist() == [30.0, 10.0, 20.0]


def test_a_uniform_cond_and_loop_inside_a_lambda() -> None:
    def fn(flag: Any) -> Any:
        def body(i: Any) -> Any:
            (count,) = while_(lambda c: c < 5, lambda c: c + 2, lit(0, "int64"))  # uniform: the same in every lane
            (extra,) = cond(flag, lambda: count, lambda: lit(-100, "int64"))  # an outer rank-0 predicate
            return i + extra

        return prim("generate", shape=(4,), lam=lam(body, "int64"))

    flag = np.asarray(True)
    assert run_program(program_of(fn, [flag]), [flag])[0].tolist() == [6, 7, 8, 9]
    assert run_program(program_of(fn, [flag]), [np.asarray(False)])[0].tolist() == [-100, -99, -98, -97]


def test_backpermute_and_permute_check_their_targets() -> None:
    x = np.arange(3.0)
    with pytest.raises(IndexOutOfBounds, match=r"backpermute: index \(3,\).*shape \(3,\)"):
        acc.run(lambda a: acc.backpermute((2,), lambda i: (i + 2,), a), x, backend="interp")
    index = lam(lambda i: (lit(True, "bool"), i * 2), "int64")
    combine = lam(lambda new, old: prim("add", new, old), "float64", "float64")
    program = program_of(lambda d, a: prim("permute", d, a, combine=combine, index=index), [np.zeros(4), x])
    with pytest.raises(IndexOutOfBounds, match=r"permute: index \(4,\) .*shape \(4,\)"):
        run_program(program, [np.zeros(4), x])


def test_permute_drops_ignored_elements_before_checking_bounds() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0])
    index = lam(lambda i: (i < 2, i + 1), "int64")  # elements 2 and 3 would land out of bounds: they are dropped
    combine = lam(lambda new, old: prim("add", new, old), "float64", "float64")
    program = program_of(lambda d, a: prim("permute", d, a, combine=combine, index=index), [np.zeros(3), x])
    assert run_program(program, [np.zeros(3), x])[0].tolist() == [0.0, 1.0, 2.0]


def test_permute_combines_collisions_in_source_order() -> None:
    defaults, x = np.array([1, 2], np.int64), np.array([3, 4, 5, 6, 7], np.int64)
    index = lam(lambda i: (lit(True, "bool"), i % 2), "int64")
    combine = lam(lambda new, old: old * 10 + new, "int64", "int64")  # not commutative: order shows
    program = program_of(lambda d, a: prim("permute", d, a, combine=combine, index=index), [defaults, x])
    assert run_program(program, [defaults, x])[0].tolist() == [1357, 246]


@pytest.mark.parametrize("backend", ["interp", "native"])
def test_permute_into_a_rank_0_array_combines_every_element(backend: str) -> None:
    # the interpreter's rank-0 defaults arrived as a NumPy scalar, whose reshape is a copy: nothing was written
    v = np.array([0.5, -1.5, 1.25, 3.0])
    peak = acc.run(lambda v: acc.permute(acc.maximum, acc.fill((), -10.0), lambda i: (), v * v), v, backend=backend)
    total = acc.run(lambda v: acc.permute(lambda x, y: x + y, acc.fill((), 1.0), lambda i: (), v), v, backend=backend)
    assert peak == np.max(v * v) and total == 1.0 + v.sum()  # exact: maxima, and a sum of halves and small ints


@pytest.mark.parametrize("backend", ["interp", "native"])
def test_permute_into_a_transposed_array_writes_it(backend: str) -> None:
    # defaults that are a transposed view: a copy that kept their order would have been reshaped into a copy
    base, v = np.arange(6.0).reshape(2, 3), np.array([10.0, 20.0, 30.0])
    out = acc.run(lambda b, v: acc.permute(lambda x, y: x + y, b.T, lambda i: (i, i % 2), v), base, v, backend=backend)
    expected = base.T.copy()
    expected[[0, 1, 2], [0, 1, 0]] += v
    np.testing.assert_array_equal(out, expected)  # exact: sums of small integers


def test_fold_applies_its_initial_value_once_per_result() -> None:
    x = np.array([[1, 2, 3], [4, 5, 6]], np.int32)
    add = lam(lambda a, b: prim("add", a, b), "int32", "int32")
    program = program_of(lambda a: prim("fold", a, Lit(10, np.dtype("int32")), lam=add, axis=1), [x])
    assert run_program(program, [x])[0].tolist() == [16, 25]
    empty = np.zeros((2, 0), np.int32)
    program = program_of(lambda a: prim("fold", a, Lit(10, np.dtype("int32")), lam=add, axis=1), [empty])
    assert run_program(program, [empty])[0].tolist() == [10, 10]


@pytest.mark.parametrize(("reverse", "expected"), [(False, [10, 11, 13, 16]), (True, [16, 15, 13, 10])])
def test_scanl_and_scanr_with_initial_values_are_one_longer(reverse: bool, expected: list[int]) -> None:
    x = np.array([1, 2, 3], np.int64)
    add = lam(lambda a, b: prim("add", a, b), "int64", "int64")
    init = Lit(10, np.dtype("int64"))
    program = program_of(lambda a: prim("scan", a, init, lam=add, axis=0, reverse=reverse), [x])
    assert run_program(program, [x])[0].tolist() == expected


def test_non_commutative_scans_keep_operand_order() -> None:
    x = np.array([1, 2, 3, 4, 5], np.int64)
    right = lam(lambda a, b: (b,), "int64", "int64")
    program = program_of(lambda a: prim("scan", a, lam=right, axis=0, reverse=True), [x])
    assert run_program(program, [x])[0].tolist() == [5, 5, 5, 5, 5]
    program = program_of(lambda a: prim("scan", a, lam=right, axis=0, reverse=False), [x])
    assert run_program(program, [x])[0].tolist() == [1, 2, 3, 4, 5]
