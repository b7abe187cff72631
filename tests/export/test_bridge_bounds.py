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

import pyaccad as acc
from pyaccad.export.checked import checked_reads
from pyaccad.export.haskell import module_source
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


def _bridge_available() -> None:
    reason = acc.backends()["accelerate"]
    if reason is not None:
        pytest.skip(f"the accelerate backend is unavailable here: {reason}")


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
    _bridge_available()
    f, inside, _ = PROGRAMS[name]
    x = RNG.standard_normal(4)
    expected = acc.jit(f, backend="interp")(x, np.int64(inside))
    np.testing.assert_array_equal(acc.jit(f, backend="accelerate")(x, np.int64(inside)), expected)


@pytest.mark.parametrize("name", list(PROGRAMS))
def test_a_read_far_outside_is_the_interpreters_index_out_of_bounds(name):
    _bridge_available()
    f, _, outside = PROGRAMS[name]
    x = RNG.standard_normal(4)
    with pytest.raises(acc.IndexOutOfBounds) as on_interp:
        acc.jit(f, backend="interp")(x, np.int64(outside))
    with pytest.raises(acc.IndexOutOfBounds) as on_bridge:
        acc.jit(f, backend="accelerate")(x, np.int64(outside))
    assert str(on_bridge.value) == str(on_interp.value)
    assert "test_bridge_bounds.py" in str(on_bridge.value)  # the user's line
