"""The interpreter's defined results where C, NumPy and Haskell disagree or crash, and its executable contract.

These are the choices every compiled backend must reproduce (see
``pyaccad/backends/interp/elementwise.py`` and ``stencil.py``), so those tests
run on every available backend (the ``backend`` fixture); the tests of the
executable contract are about the interpreter itself.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from helpers import lam, lit, prim, program_of, run_program

from pyaccad.backends import availability
from pyaccad.backends.interp import BACKEND
from pyaccad.frontend.tracing import embed_constant


def _elementwise(backend: str, name: str, *inputs: np.ndarray) -> np.ndarray:
    program = program_of(lambda *xs: prim(name, *xs), inputs)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # results are IEEE like C: no NumPy warnings escape
        (out,) = run_program(program, inputs, backend)
    return out


def test_float_division_and_domain_errors_are_ieee(backend: str) -> None:
    x = np.array([1.0, -1.0, 0.0])
    assert _elementwise(backend, "div", x, np.zeros(3)).tolist()[:2] == [np.inf, -np.inf]
    assert np.isnan(_elementwise(backend, "div", x, np.zeros(3))[2])
    assert _elementwise(backend, "log", np.array([0.0, -1.0], np.float32))[0] == -np.inf
    assert np.isnan(_elementwise(backend, "sqrt", np.array([-1.0]))[0])
    assert np.isnan(_elementwise(backend, "mod", np.array([1.0]), np.array([0.0]))[0])


@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_integer_division_by_zero_is_zero(backend: str, dtype: str) -> None:
    a, b = np.array([7, -7, 0], dtype), np.zeros(3, dtype)
    assert _elementwise(backend, "floordiv", a, b).tolist() == [0, 0, 0]
    assert _elementwise(backend, "mod", a, b).tolist() == [0, 0, 0]


def test_integer_division_rounds_down_and_mod_takes_divisor_sign(backend: str) -> None:
    a, b = np.array([7, -7, 7, -7], np.int32), np.array([2, 2, -2, -2], np.int32)
    assert _elementwise(backend, "floordiv", a, b).tolist() == [3, -4, -4, 3]
    assert _elementwise(backend, "mod", a, b).tolist() == [1, 1, -1, -1]
    int_min = np.array([np.iinfo(np.int32).min], np.int32)
    assert _elementwise(backend, "floordiv", int_min, np.array([-1], np.int32)).tolist() == int_min.tolist()  # wraps


def test_integer_pow_with_negative_exponent_truncates_toward_zero(backend: str) -> None:
    base = np.array([1, -1, -1, 2, -2, 0, 3], np.int64)
    exponent = np.array([-2, -3, -2, -1, -1, -1, 2], np.int64)
    assert _elementwise(backend, "pow", base, exponent).tolist() == [1, -1, 1, 0, 0, 0, 9]
    assert _elementwise(backend, "pow", np.array([3], np.int32), np.array([40], np.int32)).tolist() == [
        (3**40 + 2**31) % 2**32 - 2**31
    ]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_float_pow_is_cs_pow_whatever_the_exponents_form(backend: str, dtype: str) -> None:
    """C's ``pow`` (Python's ``math.pow``), as JAX computes it: NumPy's loop takes a scalar or repeated exponent
    of 0.5 as ``sqrt``, which gives nan at -inf and -0.0 at -0.0; a literal exponent, a filled one or one that
    varies give C's result."""
    import math

    base = np.array([-np.inf, -0.0, 0.0, 4.0, np.inf, 2.25], dtype)
    expected = np.array([math.pow(float(v), 0.5) for v in base], dtype)
    halves = np.full(6, 0.5, dtype)
    literal = program_of(lambda x: x**0.5, [base])  # pow of x and a filled literal
    for got in (run_program(literal, [base], backend)[0], _elementwise(backend, "pow", base, halves)):
        np.testing.assert_array_equal(got, expected)
        assert np.array_equal(np.signbit(got), np.signbit(expected))  # +0.0 at -0.0


def test_round_is_half_to_even_like_numpy(backend: str) -> None:
    # NumPy, JAX, C's rint and Haskell's round all round ties to the even neighbour.
    x = np.array([0.5, 1.5, 2.5, -0.5, -2.5, 0.49999999999999994, -1.2])
    assert _elementwise(backend, "round", x).tolist() == [0.0, 2.0, 2.0, -0.0, -2.0, 0.0, -1.0]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_floor_ceil_round_keep_huge_values_infinities_and_nan(backend: str, dtype: str) -> None:
    # Past 2^63 no integer type holds the value (a conversion through one overflows): such floats are whole.
    x = np.array([1e30, -1e30, 2.0**62 + 2**40, np.inf, -np.inf, np.nan, -3.5, 4.5, 2.0**52 + 1], dtype)
    for name, reference in (("floor", np.floor), ("ceil", np.ceil), ("round", np.rint)):
        np.testing.assert_array_equal(_elementwise(backend, name, x), reference(x), err_msg=name)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_nan_compares_unequal_and_propagates_through_max_and_min(backend: str, dtype: str) -> None:
    a = np.array([np.nan, 1.0, np.nan, 2.0, -0.0], dtype)
    b = np.array([1.0, np.nan, np.nan, 2.0, 0.0], dtype)
    for name, reference in (("ne", np.not_equal), ("eq", np.equal), ("lt", np.less), ("ge", np.greater_equal)):
        assert _elementwise(backend, name, a, b).tolist() == reference(a, b).tolist(), name
    for name, reference in (("maximum", np.maximum), ("minimum", np.minimum)):
        np.testing.assert_array_equal(_elementwise(backend, name, a, b)[:4], reference(a, b)[:4], err_msg=name)


def test_cast_truncates_toward_zero_and_nonzero_is_true(backend: str) -> None:
    x = np.array([1.9, -1.9, 0.0, -0.0, np.nan], np.float64)
    program = program_of(lambda a: prim("cast", a, dtype=np.dtype("int32")), [x[:4]])
    assert run_program(program, [x[:4]], backend)[0].tolist() == [1, -1, 0, 0]
    program = program_of(lambda a: prim("cast", a, dtype=np.dtype("bool")), [x])
    assert run_program(program, [x], backend)[0].tolist() == [True, True, False, False, True]


def _neighbour_at(backend: str, x: np.ndarray, size: int, k: int, boundary: str) -> list:
    """The k-th neighbour (of ``size``) of every element of the 1-D ``x`` under ``boundary``."""
    body = lam(lambda *ns: ns[k], *[x.dtype] * size)
    program = program_of(lambda a: prim("stencil", a, lam=body, size=(size,), boundary=boundary, value=-1), [x])
    return run_program(program, [x], backend)[0].tolist()


def test_mirror_reflects_without_repeating_the_edge(backend: str) -> None:
    x = np.array([10, 20, 30], np.int32)
    assert _neighbour_at(backend, x, 3, 0, "mirror") == [20, 10, 20]  # left neighbours: index -1 reads index 1
    assert _neighbour_at(backend, x, 3, 2, "mirror") == [20, 30, 20]  # right neighbours: index 3 reads index 1
    assert _neighbour_at(backend, x, 5, 0, "mirror") == [30, 20, 10]  # index -2 reads index 2
    assert _neighbour_at(backend, np.array([10, 20], np.int32), 5, 0, "mirror") == [10, 20]  # reflects again: -2 → 0
    assert _neighbour_at(backend, np.array([7], np.int32), 5, 0, "mirror") == [7]


def test_other_boundaries(backend: str) -> None:
    x = np.array([10, 20, 30], np.int32)
    assert _neighbour_at(backend, x, 5, 0, "clamp") == [10, 10, 10]
    assert _neighbour_at(backend, x, 5, 4, "wrap") == [30, 10, 20]
    assert _neighbour_at(backend, x, 3, 2, "constant") == [20, 30, -1]


def test_outputs_are_fresh_arrays() -> None:
    x = np.arange(4.0)
    (same, twice) = run_program(program_of(lambda a: (a, a), [x]), [x])
    assert same is not x and twice is not same
    assert not np.shares_memory(same, x) and not np.shares_memory(same, twice)
    view = run_program(program_of(lambda a: prim("reshape", a, shape=(2, 2)), [x]), [x])[0]
    assert not np.shares_memory(view, x) and view.flags.writeable


def test_constants_and_inputs_survive_runs() -> None:
    table = np.arange(3.0)
    executable = BACKEND.compile(program_of(lambda: embed_constant(table), []))
    first = executable([])[0]
    first[:] = -1.0
    assert executable([])[0].tolist() == [0.0, 1.0, 2.0]
    defaults, x = np.zeros(2), np.ones(3)
    index = lam(lambda i: (lit(True, "bool"), i % 2), "int64")
    combine = lam(lambda new, old: prim("add", new, old), "float64", "float64")
    program = program_of(lambda d, a: prim("permute", d, a, combine=combine, index=index), [defaults, x])
    assert run_program(program, [defaults, x])[0].tolist() == [2.0, 1.0]
    assert defaults.tolist() == [0.0, 0.0]


def test_inputs_of_the_wrong_type_are_rejected() -> None:
    executable = BACKEND.compile(program_of(lambda a: prim("neg", a), [np.zeros(2)]))
    with pytest.raises(ValueError, match="f64"):
        executable([np.zeros(2, np.float32)])


def test_backend_is_always_available() -> None:
    assert BACKEND.name == "interp" and BACKEND.unavailable_reason() is None
    assert availability()["interp"] is None
