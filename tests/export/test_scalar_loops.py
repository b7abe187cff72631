"""Loops over rank-0 values exported as one scalar ``while`` (``pyaccad.export.scalar_loops``).

Everywhere: which loops the pass rewrites (rank-0 state and body, nested ones too) and which it leaves as an
``awhile``; that the rewritten program is a valid program computing the original's bits (interp runs both);
what the export prints (the loop materialised once, its results unzipped after ``compute``). What the printed
modules mean is the meaning tests' (``meaning_programs.scalar_loops``, evaluated by ``hs_eval``). Where GHC finds
accelerate: the bridge gives interp's bits, and a read outside an array inside such a loop is interp's
``IndexOutOfBounds``.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import skip_without_bridge

import pyaccad as acc
from pyaccad.backends import get_backend
from pyaccad.export import export_haskell
from pyaccad.export.checked import checked_reads
from pyaccad.export.haskell import shape_generic_module_source
from pyaccad.export.scalar_loops import STATE_LIMIT, scalar_loops
from pyaccad.frontend import trace
from pyaccad.ir import BOOL, Lit, Program, verify
from pyaccad.opt import optimize

RNG = np.random.default_rng(29)


def logistic(x0, r, trips=50):
    """A running value and a total over ``trips`` trips, reading ``r`` at the counter: a loop over scalars."""

    def body(s):
        i, x, total = s
        x = r[i % r.shape[0]] * x * (1.0 - x)
        return i + 1, x, total + x

    return acc.awhile(lambda s: s[0] < trips, body, (0, x0, x0 * 0.0))[2] * r


def rows_loop(x):
    """A row as the state, summed by the condition."""
    return acc.awhile(lambda s: s.sum() < 50.0, lambda s: s * 1.5 + 0.5, acc.abs(x))


def folding_loop(x):
    """Rank-0 state, each trip folding an array from outside against it."""
    return acc.awhile(lambda s: s < 100.0, lambda s: s + (x * s).sum() + 1.0, x[0] * 0.0 + 1.0)


def nested(x):
    """A scalar loop inside a loop over a row."""
    inner = lambda s: acc.awhile(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 1.5 + 0.5), (0, acc.abs(s[0])))[1]
    return acc.awhile(lambda s: s.sum() < 40.0, lambda s: s + inner(s), acc.abs(x))


def scanning(x):
    """A scan in the body: not a scalar loop's (the loop stays an awhile)."""
    return acc.awhile(lambda s: s.sum() < 50.0, lambda s: acc.numpy.cumsum(s) + 0.5, acc.abs(x))


def _loops(program: Program) -> list[str]:
    """The array-level loops of ``program`` and of its array-level bodies, as ``while`` and ``generate``
    (the scalar loops: a one-element generate holding a while), depth first."""
    found = []
    for stmt in program.stmts:
        is_scalar_loop = stmt.prim.name == "generate" and any(s.prim.name == "while" for s in stmt.params["lam"].stmts)
        if stmt.prim.name == "while" or is_scalar_loop:
            found.append(stmt.prim.name)
        if not stmt.prim.scalar_bodies:
            for sub in stmt.subprograms():
                found += _loops(sub)
    return found


CASES = {  # the function, its arguments, its loops as rewritten, the numbers its scalar loops return
    "logistic": (logistic, (np.float64(0.3), np.array([3.7, 3.8, 3.6, 3.9])), ["generate"], 1),
    "rows": (rows_loop, (RNG.standard_normal(4),), ["generate"], 4),
    "folding": (folding_loop, (RNG.uniform(0.1, 0.2, 3),), ["generate"], 1),
    "nested": (nested, (RNG.standard_normal(4),), ["generate"], 4),
    "scanning": (scanning, (RNG.standard_normal(4),), ["while"], 0),
    "large": (rows_loop, (RNG.standard_normal(STATE_LIMIT + 1),), ["while"], 0),
    "empty": (
        lambda x: acc.awhile(lambda s: s[1] < 3, lambda s: (s[0] * 2.0, s[1] + 1), (x, 0))[0],
        (np.ones(0),),
        ["while"],
        0,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_scalar_loops_are_rewritten_and_compute_the_same_bits(name):
    # Bit for bit: the same operations in the same order (interp sums fewer than eight terms one at a time).
    fn, args, expected, numbers = CASES[name]
    program = optimize(trace(fn, *args).program, "export")
    rewritten, results = scalar_loops(program)
    verify(rewritten)
    assert _loops(rewritten) == expected
    assert len(results) == numbers
    interp = get_backend("interp")
    inputs = [np.asarray(a) for a in args]
    for before, after in zip(interp.compile(program)(inputs), interp.compile(rewritten)(inputs), strict=True):
        np.testing.assert_array_equal(after, before)


def test_the_export_runs_a_scalar_loop_once_materialised():
    source = export_haskell(logistic, np.float64(0.3), np.array([3.7, 3.8, 3.6, 3.9]), module="M", name="f")
    assert "awhile" not in source
    assert " = compute (generate Z_ (\\_ ->" in source and " = while " in source


def test_a_scalar_loop_through_the_bridge_gives_interps_bits():
    skip_without_bridge()
    x0, r = np.float64(0.3), np.array([3.7, 3.8, 3.6, 3.9])
    long_loop = lambda x0, r: logistic(x0, r, trips=10_000)
    expected = acc.jit(long_loop, backend="interp")(x0, r)
    np.testing.assert_array_equal(acc.jit(long_loop, backend="accelerate")(x0, r), expected)


def test_a_scalar_loop_of_more_results_than_accelerate_unzips_through_the_bridge():
    # a row of 12 fixed by a constant (so the module keeps its extent): 12 results, projected nine at a time
    weights = np.linspace(0.0, 1.0, 12)

    def rows(a):
        def body(s):
            return s[0] + 1, s[1] * 0.9 / (1.0 + s[1] * s[1]) + a  # IEEE operations only: the same bits

        return acc.awhile(lambda s: s[0] < 100, body, (0, weights * a))[1] * 2.0

    a = np.float64(0.5)
    program, results = scalar_loops(optimize(trace(rows, a).program, "export"))
    assert len(results) == 12
    skip_without_bridge()
    np.testing.assert_array_equal(acc.jit(rows, backend="accelerate")(a), acc.jit(rows, backend="interp")(a))


def test_a_read_outside_inside_a_scalar_loop_is_interps_index_out_of_bounds():
    skip_without_bridge()

    def reads_past(x, n):
        return acc.awhile(lambda s: s[0] < n, lambda s: (s[0] + 1, s[1] + x[s[0]]), (0, x[0] * 0.0))[1]

    x = RNG.standard_normal(4)
    np.testing.assert_array_equal(
        acc.jit(reads_past, backend="accelerate")(x, np.int64(4)), acc.jit(reads_past, backend="interp")(x, np.int64(4))
    )
    with pytest.raises(acc.IndexOutOfBounds) as on_interp:
        acc.jit(reads_past, backend="interp")(x, np.int64(6))
    with pytest.raises(acc.IndexOutOfBounds) as on_bridge:
        acc.jit(reads_past, backend="accelerate")(x, np.int64(6))
    assert str(on_bridge.value) == str(on_interp.value)
    assert "test_scalar_loops.py" in str(on_bridge.value)  # the user's line


def _three_reads(x):
    return acc.generate((2,), lambda i: x[0] + x[2] * x[1] + acc.cast(i, "float64"))


def test_reads_inside_at_trace_carry_no_flag_and_literal_reads_are_checked_at_their_corner():
    # at x's example extent (fixed) the three reads are inside wherever they run: no flag is computed
    fixed = checked_reads(optimize(trace(_three_reads, np.ones(3)).program, "accelerate"))
    assert [s.prim.name for s in fixed.stmts] == ["generate"] and fixed.outputs[-1] == Lit(True, BOOL)
    # where x's extent varies (the bridge's module serves every length), one check at x[2] covers all three
    tracer = lambda f, a: optimize(trace(f, *a).program, "accelerate")
    source, _ = shape_generic_module_source(_three_reads, (np.ones(5),), tracer, "M", "f", checked_reads=True)
    check = source[source.index("ok = generate") : source.index("in  inside")]
    assert check.count("readChecked1") == 1 and "readChecked1 x 2" in check


def test_literal_reads_checked_at_their_corner_give_interps_values_at_every_length():
    # (a literal read outside a shorter input is the trace's ShapeError, before any library runs)
    skip_without_bridge()
    on_bridge = acc.jit(_three_reads, backend="accelerate")
    for n in (5, 8):
        x = RNG.standard_normal(n)
        np.testing.assert_array_equal(on_bridge(x), acc.jit(_three_reads, backend="interp")(x))


def test_the_bench_lstm_primal_runs_as_one_scalar_loop():
    # the bench's lstm: at "small" (what BENCHMARKS.md times) its loop fits the limits; at "tiny" (three lanes,
    # which NumPy also sums one at a time) the rewritten program gives interp's bits
    from pyaccad.bench import lstm

    for size in ("small", "tiny"):
        params, data = lstm.WORKLOAD.inputs(size)
        program = optimize(trace(lstm.pyaccad_f, params, *data).program, "accelerate")
        rewritten, results = scalar_loops(program)
        verify(rewritten)
        assert _loops(rewritten) == ["generate"] and len(results) == 1
    interp = get_backend("interp")
    inputs = [np.asarray(a) for a in (*params, *data)]
    np.testing.assert_array_equal(interp.compile(rewritten)(inputs)[0], interp.compile(program)(inputs)[0])
