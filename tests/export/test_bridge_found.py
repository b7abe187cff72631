"""Programs that the primitive and random-program suites, run through the accelerate bridge, found it printing
wrong: each one's export checked without accelerate (its meaning, by :mod:`hs_eval`, against interp; its text,
by GHC's parser), and run through the bridge against interp where GHC with accelerate is available.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close, prim, program_of, skip_without_bridge
from hs_eval import evaluate_module
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


def _select_of_literals() -> tuple[Program, list[np.ndarray]]:
    # a mask of two literals, converted: no operand fixed the literals' type, and GHC found `v ? (0.5, 1.0)`
    # ambiguous (tests/opt/program_gen.py's gradient of seed 137)
    def fn(x):
        return acc.where(x > 0.0, 0.5, 1.0).astype(np.float32)

    return program_of(fn, [X]), [X]


def _extrema_of_a_nan_literal() -> tuple[Program, list[np.ndarray]]:
    # the NaN guard of min/max tested the literal itself, `isNaN (0/0)`, of no type GHC could infer
    # (tests/opt/program_gen.py's seed 145 through the bridge): a guard a literal always meets is its value
    def fn(x):
        (nans,) = prim("broadcast_in_dim", Lit(float("nan"), X.dtype), shape=X.shape, dims=())
        return prim("minimum", nans, x)[0], prim("maximum", x, nans)[0]

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


def _signed_zeros(dtype) -> tuple[Program, list[np.ndarray]]:
    # accelerate's simplifier rewrites 0 * x to the literal 0: for x negative IEEE's zero is -0 (and x + (-0) to x,
    # which IEEE agrees with)
    x = _SPECIALS.astype(dtype)

    def fn(v):
        return acc.map(lambda a: (a * 0.0, -0.0 * a, a + -0.0), v)

    return program_of(fn, [x]), [x]


# every pair of a few signed values, zeros, infinities and NaN
_SPECIALS = np.array([0.0, -0.0, 1.5, -2.0, np.inf, -np.inf, np.nan])
_SIGNED_ZEROS = ("signed_zeros", "signed_zeros_float32", "signed_zeros_float16")
_SPECIAL_PAIRS = (np.repeat(_SPECIALS, len(_SPECIALS)), np.tile(_SPECIALS, len(_SPECIALS)))

# Float remainders that accelerate's mod' (x - toFloating (floor (x / y) :: Exp Int64) * y) got wrong: quotients
# past 2^63, which floor overflows (1e300 mod 2.15, by the smallest subnormal), products q * y that round (5.3 mod
# 0.1 was an ulp off; float32 -97.798325 mod 1.5045896 gave -3.3e-6, not 1.5045862), and zeros, whose sign is the
# divisor's. (dividends, divisors) by dtype.
_MOD_CASES = {
    np.float64: (
        [1e30, -1e300, 1e300, 5.3, -5.3, 1.7976931348623157e308, -1.7976931348623157e308, 1e-300, 3.0, -0.0, 7.0],
        [3.0, 7.5, 2.15, 0.1, 0.1, 5e-324, 1.5e-323, -1.0, -1.5, 2.0, -2.2250738585072014e-308],
    ),
    np.float32: (
        [3e38, -3e38, 1e30, -97.798325, 3.4028235e38, -3.4028235e38, 1e-30, 3.0, -0.0, 5.3],
        [1.1, 7.5, 3.0, 1.5045896, 1e-45, 3e-45, -1.0, -1.5, 2.0, 0.1],
    ),
    np.float16: ([65504.0, -65504.0, 1000.5, -3.0, 3.0, -0.0, 0.1, 5.3], [6e-8, 0.1, -3e-5, 1.5, -1.5, 2.0, 3.0, 0.1]),
}


def _mod_case(dtype) -> tuple[np.ndarray, np.ndarray]:
    x, y = _MOD_CASES[dtype]
    return np.array(x, dtype), np.array(y, dtype)


def _random_bits(dtype, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pairs of floats of random bits: every exponent, subnormals, infinities and NaNs among them."""
    unsigned = np.dtype(f"u{np.dtype(dtype).itemsize}")
    bits = np.random.default_rng(seed).integers(0, np.iinfo(unsigned).max, (2, n), dtype=unsigned, endpoint=True)
    return bits[0].view(dtype), bits[1].view(dtype)


def _assert_same_floats(got: np.ndarray, want: np.ndarray) -> None:
    """The same bits (the sign of a zero included), or NaN where ``want`` is NaN."""
    assert got.dtype == want.dtype
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    unsigned = np.dtype(f"u{want.dtype.itemsize}")
    wrong = np.nonzero(got.view(unsigned)[~nan] != want.view(unsigned)[~nan])[0]
    assert not wrong.size, f"{got[~nan][wrong[:5]]} where np.mod gives {want[~nan][wrong[:5]]}"


FOUND = {
    "select_of_one_array_twice": _select_of_one_array_twice,
    "select_of_literals": _select_of_literals,
    "extrema_of_a_nan_literal": _extrema_of_a_nan_literal,
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
    "mod_of_huge_quotients": lambda: _binary("mod", *_mod_case(np.float64)),
    "mod_of_huge_quotients_float32": lambda: _binary("mod", *_mod_case(np.float32)),
    "mod_of_huge_quotients_float16": lambda: _binary("mod", *_mod_case(np.float16)),
    # a guard's test applied to an operand that is an expression: `isNaN v * 2.0` read as `(isNaN v) * 2.0`
    "guards_of_compound_operands": _guards_of_compound_operands,
    # accelerate's simplifier rewrites 0 * x and x - x to 0: NaN for x infinite or NaN (tests/opt's random program
    # gradients, seed 4: a zero cotangent times a NaN)
    "zero_times_specials": lambda: _zero_times(_SPECIALS),
    "specials_minus_themselves": _specials_minus_themselves,
    "signed_zeros": lambda: _signed_zeros(np.float64),
    "signed_zeros_float32": lambda: _signed_zeros(np.float32),
    "signed_zeros_float16": lambda: _signed_zeros(np.float16),
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
    "select_of_literals": "v ? ((0.5 :: Exp Double), (1.0 :: Exp Double))",
    "extrema_of_a_nan_literal": "map ((0/0) +) a",
    "zero_times_specials": "isNaN v || isInfinite v ? (0/0, v == 0 ? (v, 0.0 / v))",
    "signed_zeros": "a1 == 0 ? (negate a1, (-0.0) / a1)",
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
    skip_without_bridge()
    program, inputs = FOUND[name]()
    want = get_backend("interp").compile(program)(inputs)
    got = get_backend("accelerate").compile(program)(inputs)
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        _assert_same_floats(g, w) if name in _SIGNED_ZEROS else assert_close(g, w)


# The float remainder is exactly a float of the operands' type (fmod's x - n y is below |y| and a multiple of the
# last bit of x or y), and np.mod is C's fmod, exact, then one rounded addition of y where the signs differ (or y's
# sign on a zero): the export computes the same exact value and the same one rounding, so its bits are NumPy's.
# (float16: NumPy and the export both compute in float and round the result to half once more.)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_exported_float_mod_means_numpys_exactly(dtype) -> None:
    x, y = _mod_case(dtype)
    source = export_program(_binary("mod", x, y)[0], module="Found", name="found")
    (out,) = evaluate_module(source, x, y)
    _assert_same_floats(out.values, np.mod(x, y))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.float16])
def test_the_bridge_float_mod_is_numpys_exactly(dtype) -> None:
    skip_without_bridge()
    x, y = (np.concatenate(pair) for pair in zip(_mod_case(dtype), _random_bits(dtype, 4096, seed=7), strict=True))
    with np.errstate(all="ignore"):  # NumPy warns of its NaNs (by zero, of an infinity)
        want = np.mod(x, y)
    (got,) = get_backend("accelerate").compile(_binary("mod", x, y)[0])([x, y])
    _assert_same_floats(got, want)
