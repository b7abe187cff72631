"""Reads out of bounds through the accelerate bridge: an ``IndexOutOfBounds`` naming the user's line, as on interp.

accelerate does not check its reads, so the bridge runs a checked export (:mod:`pyaccad.export.checked`).
Everywhere: that module parses (GHC's parser, ``hs_parse``) and the plain export prints no check. Where GHC
can build bridge libraries: a read far outside the array (index 10^9) is the interpreter's error, not a
crash of the process, through every construct the check follows (a lambda, a taken branch, a loop's body
and condition, backpermute, permute's targets), and in-bounds programs give the interpreter's results.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import skip_without_bridge

import pyaccad as acc
from pyaccad.backends import accelerate as bridge
from pyaccad.export.checked import checked_reads
from pyaccad.export.haskell import module_source, shape_generic_module_source
from pyaccad.frontend import trace
from pyaccad.ir import verify

FAR = 10**9
RNG = np.random.default_rng(7)


def _loop_sum(x, start, stop, condition_reads: bool):
    """``x[start] + ... + x[stop - 1]`` by a scalar loop; its condition reads ``x[k]`` too where ``condition_reads``."""

    def going(state):
        return (state[1] < stop) & (x[state[1]] > -1e30) if condition_reads else state[1] < stop

    return acc.while_(going, lambda state: (state[0] + x[state[1]], state[1] + 1), (0.0, start))[0]


def _count_to(bound):
    """``bound`` rounded up, counted by a scalar loop that reads nothing."""
    return acc.while_(lambda s: s < bound, lambda s: s + 1.0, 0.0)


# name -> (function of (x, n), n in bounds, n out of bounds): every read depends on the scalar n.
PROGRAMS = {
    "lambda": (lambda x, n: acc.generate((3,), lambda i: x[i + n]), 1, FAR),
    "taken branch": (lambda x, n: acc.generate((3,), lambda i: acc.cond(i < 2, x[i * n], 0.0)), 1, FAR),
    "loop body": (lambda x, n: acc.generate((2,), lambda i: _loop_sum(x, i, i + n, False)), 2, FAR),
    # the body reads x[1..3], then the condition x[4]
    "loop condition": (lambda x, n: acc.generate((2,), lambda i: _loop_sum(x, i, i + n, True)), 2, 3),
    # the loop's bound is read out of bounds before it: the loop stops (the flag is in its state), the read is reported
    "loop bound": (lambda x, n: acc.generate((2,), lambda i: _count_to(x[i + n] * 0.0 + 3.0)), 1, FAR),
    "backpermute": (lambda x, n: acc.backpermute((3,), lambda i: i + n, x), 1, FAR),
    "permute": (lambda x, n: acc.permute(lambda a, b: a + b, acc.fill((4,), 0.0), lambda i: i + n, x), 0, FAR),
    "array level branch": (
        lambda x, n: acc.cond(n > 0, acc.generate((3,), lambda i: x[i + n]), x[:3] * 2.0),
        1,
        FAR,
    ),
}


def _rows_from(x, start):
    """``x[start] + x[start + 1]``, rows of the matrix ``x`` read one per trip of an array-level loop: the read's
    index is the same for every element but the row's (the loop's counter), so it is checked once per trip."""
    width = x.shape[1]

    def body(state):
        t, trip, total = state
        return t + 1, trip + 1, total + acc.backpermute((width,), lambda j: (t, j), x)

    return acc.awhile(lambda state: state[1] < 2, body, (start, np.int64(0), acc.fill((width,), 0.0)))[2]


# name -> (function of (x, n) for a 4 x 3 matrix x, values of n): reads checked once for all elements.
ONCE = {
    # n = 4: outside on the first trip, n = 3: on the second
    "loop's row": (_rows_from, {"inside": 2, "outside on the first trip": 4, "outside on a later trip": 3}),
    "scalar index": (lambda x, n: acc.generate((3,), lambda i: x[n, 2] * i), {"inside": 3, "outside": FAR}),
    "map": (lambda x, n: acc.map(lambda v: v + x[1, n - 1], x), {"inside": 3, "outside": 4}),
    "scatter to a row": (
        lambda x, n: acc.permute(lambda a, b: a + b, acc.fill((4, 3), 0.0), lambda j: (n, j), x[0]),
        {"inside": 3, "outside": 4},
    ),
    # every element kept (n < 10) or none (n = FAR: no target, no error)
    "scatter to a row or nowhere": (
        lambda x, n: acc.permute(
            lambda a, b: a + b, acc.fill((4, 3), 0.0), lambda j: acc.cond(n < 10, (n, j), acc.IGNORE), x[0]
        ),
        {"inside": 3, "outside": 4, "inside, dropped": FAR},
    ),
}
ONCE_CASES = [(name, case) for name, (_, values) in ONCE.items() for case in values]


def _folds(program) -> int:
    """The folds of ``program`` and of the bodies nested in it."""
    return sum((s.prim.name == "fold") + sum(_folds(sub) for sub in s.subprograms()) for s in program.stmts)


@pytest.mark.parametrize("name", list(ONCE))
def test_a_read_the_same_for_every_element_is_checked_once_without_a_fold_of_flags(name):
    f, values = ONCE[name]
    program = trace(f, RNG.standard_normal((4, 3)), np.int64(values["inside"])).program
    checked = checked_reads(program)
    verify(checked)
    assert _folds(checked) == _folds(program), name


def _row(x, n):
    """Row ``n`` of ``x``: a generate over a generic extent (``x``'s axis 1), whose read is checked once."""
    return acc.generate((x.shape[1],), lambda i: x[n, i])


def test_a_read_checked_once_over_a_generic_extent_is_no_failure_where_there_are_no_elements(hs_parse):
    """At the sizes where the generate has no elements it reads nothing: the check once for all holds there."""
    printed, extents = shape_generic_module_source(
        _row, (np.ones((4, 3)), np.int64(1)), lambda f, args: trace(f, *args).program, "Row", "f", checked_reads=True
    )
    assert extents.names and "readChecked2 x (the n) (p - 1)" in printed and "== (0 :: Exp Int)" in printed
    hs_parse({"Row": printed})


def test_reads_in_a_branch_are_checked_for_each_element():
    """A read the elements may skip: checked where it runs (here never), not once for all elements."""
    f = lambda x, n: acc.generate((3,), lambda i: acc.cond(i < 0, x[n], 0.0))  # noqa: E731
    program = trace(f, np.ones(4), np.int64(1)).program
    assert _folds(checked_reads(program)) == _folds(program) + 1


def test_the_checked_module_parses_and_the_plain_export_prints_no_check(hs_parse):
    x, n = RNG.standard_normal(4), np.int64(1)
    for name, (f, _, _) in PROGRAMS.items():
        program = trace(f, x, n).program
        checked = module_source(program, "Checked", "f", checked_reads=True)
        assert "readChecked1" in checked and checked.count("Bool)") >= 1, name
        hs_parse({"Checked": checked})
        assert "readChecked" not in acc.export_haskell(f, x, n), name


def test_the_checked_program_has_one_more_output_a_bool_scalar():
    program = trace(PROGRAMS["taken branch"][0], np.ones(4), np.int64(1)).program
    checked = checked_reads(program)
    assert checked.output_types[:-1] == program.output_types
    assert (checked.output_types[-1].dtype, checked.output_types[-1].shape) == (np.dtype(bool), ())


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_the_checked_program_is_valid_ir(name):
    """The IR declares ``index``'s ``checked`` param: a checked read's second value, its flag, is typed."""
    program = trace(PROGRAMS[name][0], np.ones(4), np.int64(1)).program
    verify(checked_reads(program))


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_reads_in_bounds_give_the_interpreters_results(name):
    skip_without_bridge()
    f, inside, _ = PROGRAMS[name]
    x = RNG.standard_normal(4)
    expected = acc.jit(f, backend="interp")(x, np.int64(inside))
    np.testing.assert_array_equal(acc.jit(f, backend="accelerate")(x, np.int64(inside)), expected)


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_a_read_far_outside_is_the_interpreters_index_out_of_bounds(name):
    skip_without_bridge()
    f, _, outside = PROGRAMS[name]
    x = RNG.standard_normal(4)
    with pytest.raises(acc.IndexOutOfBounds) as on_interp:
        acc.jit(f, backend="interp")(x, np.int64(outside))
    with pytest.raises(acc.IndexOutOfBounds) as on_bridge:
        acc.jit(f, backend="accelerate")(x, np.int64(outside))
    assert str(on_bridge.value) == str(on_interp.value)
    assert "test_bridge_bounds.py" in str(on_bridge.value)  # the user's line


@pytest.mark.parametrize(("name", "case"), ONCE_CASES)
def test_reads_checked_once_give_the_interpreters_results_or_error(name, case):
    skip_without_bridge()
    f, values = ONCE[name]
    x, n = RNG.standard_normal((4, 3)), np.int64(values[case])
    if case.startswith("inside"):
        np.testing.assert_array_equal(acc.jit(f, backend="accelerate")(x, n), acc.jit(f, backend="interp")(x, n))
        return
    with pytest.raises(acc.IndexOutOfBounds) as on_interp:
        acc.jit(f, backend="interp")(x, n)
    with pytest.raises(acc.IndexOutOfBounds) as on_bridge:
        acc.jit(f, backend="accelerate")(x, n)
    assert str(on_bridge.value) == str(on_interp.value)
    assert "test_bridge_bounds.py" in str(on_bridge.value)  # the user's line


def test_a_read_no_element_makes_is_no_error():
    """Out of bounds, but in a branch no element takes: no error on interp, none through the bridge."""
    skip_without_bridge()
    f = lambda x, n: acc.generate((3,), lambda i: acc.cond(i < 0, x[n], 0.0))  # noqa: E731
    x = RNG.standard_normal(4)
    expected = acc.jit(f, backend="interp")(x, np.int64(FAR))
    np.testing.assert_array_equal(acc.jit(f, backend="accelerate")(x, np.int64(FAR)), expected)


def test_a_read_checked_once_by_a_library_for_every_size(monkeypatch, tmp_path):
    """One library for every width of ``x``: out of bounds at width 3, no element (so no read) at width 0."""
    skip_without_bridge()
    monkeypatch.setenv("PYACCAD_CACHE_DIR", str(tmp_path))  # an empty cache: the first size must build
    jitted, builds = acc.jit(_row, backend="accelerate"), len(bridge.BUILDS)
    np.testing.assert_array_equal(jitted(np.arange(12.0).reshape(4, 3), np.int64(2)), [6.0, 7.0, 8.0])
    with pytest.raises(acc.IndexOutOfBounds):
        jitted(np.ones((4, 5)), np.int64(FAR))
    assert jitted(np.ones((4, 0)), np.int64(FAR)).shape == (0,)
    assert len(bridge.BUILDS) == builds + 1  # built at the first size, never again
