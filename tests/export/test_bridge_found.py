"""Programs that the primitive and random-program suites, run through the accelerate bridge, found it printing
wrong: each one's export checked without accelerate (its meaning, by :mod:`hs_eval`, against interp; its text,
by GHC's parser), and run through the bridge against interp where GHC with accelerate is available.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, prim, program_of
from test_export_meaning import assert_source_means

import pyaccad as acc
from pyaccad.backends import get_backend
from pyaccad.export import export_program
from pyaccad.ir import BOOL, Lit, Program

X = np.array([[0.5, -1.5, 2.0], [np.inf, -0.0, 3.25]])


def _select_of_one_array_twice() -> tuple[Program, list[np.ndarray]]:
    # select(fill True, x, x): the fill prints as a literal, beside one array twice (tests/opt/program_gen.py's
    # seed 6 printed `zipWith` of a one-argument lambda, which GHC rejects)
    def fn(x):
        (everywhere,) = prim("broadcast_in_dim", Lit(True, BOOL), shape=X.shape, dims=())
        return prim("select", everywhere, x, x)

    return program_of(fn, [X]), [X]


def _unary(name: str, x: np.ndarray) -> tuple[Program, list[np.ndarray]]:
    return program_of(lambda v: prim(name, v), [x]), [x]


def _binary(name: str, x: np.ndarray, y: np.ndarray) -> tuple[Program, list[np.ndarray]]:
    return program_of(lambda a, b: prim(name, a, b), [x, y]), [x, y]


def _guards_of_compound_operands() -> tuple[Program, list[np.ndarray]]:
    x, y = _SPECIAL_PAIRS

    def fn(a, b):
        return acc.map(lambda v, w: (acc.maximum(v * 2.0, w), acc.sign(v * 2.0), (v * 2.0) % (w + 1.0)), a, b)

    return program_of(fn, [x, y]), [x, y]


def _zero_times(x: np.ndarray) -> tuple[Program, list[np.ndarray]]:
    def fn(v):
        (zeros,) = prim("broadcast_in_dim", Lit(0.0, x.dtype), shape=x.shape, dims=())
        return prim("mul", zeros, v)  # printed `map (0.0 *) v`, as the zero cotangent of seed 4

    return program_of(fn, [x]), [x]


def _specials_minus_themselves() -> tuple[Program, list[np.ndarray]]:
    def fn(x):
        return prim("sub", x, x)[0], acc.map(lambda v: (v * 2.0) * 0.0 + (v - v), x)

    return program_of(fn, [_SPECIALS]), [_SPECIALS]


# every pair of a few signed values, zeros, infinities and NaN
_SPECIALS = np.array([0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan])
_SPECIAL_PAIRS = (np.repeat(_SPECIALS, len(_SPECIALS)), np.tile(_SPECIALS, len(_SPECIALS)))


FOUND = {
    "select_of_one_array_twice": _select_of_one_array_twice,
    # float16 computes in Float and converts back: the integer between was of no fixed type (the primitive suite)
    "trunc_float16": lambda: _unary("trunc", np.array([0.0, -2.5, 3.75, 1000.5], np.float16)),
    # floats past Int's range, infinities and NaN are whole already, and truncate to Int is undefined for them
    "trunc_beyond_int": lambda: _unary("trunc", np.array([1e300, -1e19, np.inf, -np.inf, np.nan, -2.5, 7.75])),
    "trunc_beyond_int_float32": lambda: _unary("trunc", np.array([3e38, -1e19, np.inf, np.nan, -2.5], np.float32)),
    # a float remainder of an infinity is NaN, by an infinity the dividend or the infinity (found by an ad-hoc
    # sweep of every element-wise operation on every dtype through the bridge)
    "mod_of_infinities": lambda: _binary("mod", *_SPECIAL_PAIRS),
    "mod_of_infinities_float32": lambda: _binary("mod", *(a.astype(np.float32) for a in _SPECIAL_PAIRS)),
    "mod_of_infinities_float16": lambda: _binary("mod", *(a.astype(np.float16) for a in _SPECIAL_PAIRS)),
    # a guard's test applied to an operand that is an expression: `isNaN v * 2.0` read as `(isNaN v) * 2.0`
    "guards_of_compound_operands": _guards_of_compound_operands,
    # accelerate's simplifier rewrites 0 * x and x - x to 0: NaN for x infinite or NaN (tests/opt's random program
    # gradients, seed 4: a zero cotangent times a NaN)
    "zero_times_specials": lambda: _zero_times(_SPECIALS),
    "specials_minus_themselves": _specials_minus_themselves,
    "zero_times_specials_float16": lambda: _zero_times(_SPECIALS.astype(np.float16)),
    # the sign of NaN is NaN (accelerate-llvm's signum gave 0; tests/opt's random program gradients, seed 10)
    "sign_of_nan": lambda: _unary("sign", np.array([np.nan, -np.inf, -0.5, 0.0, 3.0])),
    "sign_of_nan_float16": lambda: _unary("sign", np.array([np.nan, -2.0, 0.0, np.inf], np.float16)),
}


# What the export must print where hs_eval cannot tell the difference: it has no Half, and it follows Haskell's
# signum (NaN for NaN) where accelerate-llvm's gives 0, and it does not simplify as accelerate does.
PRINTS = {
    "trunc_float16": "toFloating (truncateFloat (toFloating v :: Exp Float)) :: Exp Half",
    "sign_of_nan": "isNaN v ? (v, signum v)",
    "zero_times_specials": "isNaN v || isInfinite v ? (0/0, 0.0 * v)",
    "specials_minus_themselves": "isNaN (v * 2.0) || isInfinite (v * 2.0) ? (0/0, ",
    "sign_of_nan_float16": "isNaN (toFloating v :: Exp Float) ? ((toFloating v :: Exp Float), signum",
}


@pytest.mark.parametrize("name", sorted(PRINTS))
def test_the_export_prints_the_fix(name: str) -> None:
    program, _ = FOUND[name]()
    assert PRINTS[name] in export_program(program, module="Found", name="found")


@pytest.mark.parametrize("name", sorted(FOUND))
def test_the_export_means_what_interp_computes(name: str, hs_parse) -> None:
    program, inputs = FOUND[name]()
    source = export_program(program, module="Found", name="found")
    hs_parse({"Found": source})
    if any(x.dtype == np.float16 for x in inputs):
        pytest.skip("hs_eval has no Half: the bridge test below runs this one")
    assert_source_means(source, program, tuple(inputs), name)


@pytest.mark.parametrize("name", sorted(FOUND))
def test_the_bridge_computes_what_interp_computes(name: str) -> None:
    reason = acc.backends()["accelerate"]
    if reason is not None:
        pytest.skip(f"the accelerate backend is unavailable here: {reason}")
    program, inputs = FOUND[name]()
    want = get_backend("interp").compile(program)(inputs)
    got = get_backend("accelerate").compile(program)(inputs)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert_close(g, w)
