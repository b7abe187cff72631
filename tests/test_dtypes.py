"""Every dtype accelerate has (int8..int64, uint8..uint64, float16, float32, float64, bool), on every backend.

References: NumPy for values (integer results exactly, wraparound included; float16 exactly where one rounding
of a float32 result is what both compute, else within a half-precision bound), ``jax.numpy.promote_types``
and JAX's own results (with x64) for promotion, float64 finite differences for float16 gradients. Backends:
``interp``, ``native``, and ``cuda`` on a GPU or its CPU emulator (``PYACCAD_CUDA_EMULATE=1``). The accelerate
bridge runs Word8/Int16/Half through GHC in ``tests/export/test_bridge.py`` (the ``narrow`` crossing).
"""

from __future__ import annotations

import operator
import re

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import LIBM_ULPS, assert_within, available_backends, gamma, unit_roundoff
from hypothesis import given
from hypothesis.extra.numpy import arrays

import pyaccad as acc
import pyaccad.numpy as pnp
from pyaccad import ad
from pyaccad.frontend.promotion import join
from pyaccad.ir import DTYPES, FLOAT_DTYPES, INT_DTYPES

HERE = "test_dtypes.py:"
U16 = unit_roundoff("float16")  # 2**-11
TINY16 = 2.0**-25  # half the spacing of float16's subnormals: the absolute error of rounding a tiny result
NEW = ["int8", "int16", "uint8", "uint16", "uint32", "uint64", "float16"]
INTS = [d.name for d in INT_DTYPES]


@pytest.fixture(scope="module", params=[b for b in available_backends() if b != "accelerate"])
def backend(request: pytest.FixtureRequest) -> str:
    """The suite's backends (``cuda`` where there is a GPU or ``PYACCAD_CUDA_EMULATE=1``), but the accelerate
    bridge: its programs have static shapes, so every drawn shape would be a GHC compilation."""
    return request.param


def lengths() -> st.SearchStrategy[int]:
    return st.integers(1, 12)


def int_arrays(dtype: str, n: int) -> st.SearchStrategy[np.ndarray]:
    info = np.iinfo(dtype)
    return arrays(dtype, n, elements=st.integers(int(info.min), int(info.max)))


# -- promotion -------------------------------------------------------------------------------------------------


def test_promotion_table_is_jaxs():
    with jax.enable_x64(True):
        for a in DTYPES:
            for b in DTYPES:
                assert join(a, b) == jnp.promote_types(a, b), (a, b)


@pytest.mark.parametrize("dtype", [d.name for d in DTYPES])
def test_mixed_operands_and_weak_scalars_promote_as_in_jax(dtype):
    x = np.zeros(2, dtype)
    with jax.enable_x64(True):
        for other in DTYPES:
            if x.dtype == other == np.bool_:
                continue  # bool * bool: pyaccad has no arithmetic on bool (use & and |)
            y = np.zeros(2, other)
            got = acc.run(lambda a, b: a * b, x, y, backend="interp").dtype
            assert got == (jnp.asarray(x) * jnp.asarray(y)).dtype, (dtype, other)
        for scalar in (True, 1, 1.0)[dtype == "bool" :]:  # (bool + True, as bool * bool, is not arithmetic here)
            got = acc.run(lambda a, s=scalar: a + s, x, backend="interp").dtype
            assert got == (jnp.asarray(x) + scalar).dtype, (dtype, scalar)


def test_a_python_int_that_does_not_fit_is_a_dtype_error():
    with pytest.raises(acc.DTypeError, match=f"add: the literal 300 does not fit the uint8 .*\n  at {HERE}"):
        acc.run(lambda a: a + 300, np.zeros(2, np.uint8))


# -- element-wise operations against NumPy -----------------------------------------------------------------------

INT_BINARY = [
    operator.add,
    operator.sub,
    operator.mul,
    operator.floordiv,
    operator.mod,
    operator.lt,
    operator.le,
    operator.eq,
    operator.ne,
]
NUMPY_OF = {
    operator.add: np.add,
    operator.sub: np.subtract,
    operator.mul: np.multiply,
    operator.floordiv: np.floor_divide,
    operator.mod: np.mod,
    operator.lt: np.less,
    operator.le: np.less_equal,
    operator.eq: np.equal,
    operator.ne: np.not_equal,
    operator.truediv: np.divide,
}


def _int_program(a, b, e):
    binary = [op(a, b) for op in INT_BINARY]
    return (*binary, acc.minimum(a, b), acc.maximum(a, b), -a, abs(a), acc.sign(a), a**e)


def _int_reference(a, b, e):
    with np.errstate(all="ignore"):
        binary = [NUMPY_OF[op](a, b) for op in INT_BINARY]
        return (*binary, np.minimum(a, b), np.maximum(a, b), -a, np.abs(a), np.sign(a), np.power(a, e))


@pytest.mark.parametrize("dtype", INTS)
@given(data=st.data())
def test_integer_arithmetic_matches_numpy_with_wraparound(backend, dtype, data):
    n = data.draw(lengths())
    a, b = data.draw(int_arrays(dtype, n)), data.draw(int_arrays(dtype, n))
    b[data.draw(st.integers(0, n - 1))] = 0  # division and remainder by zero give 0, as NumPy's
    e = data.draw(arrays(dtype, n, elements=st.integers(0, 9)))
    got = acc.jit(_int_program, backend=backend)(a, b, e)
    for g, w in zip(got, _int_reference(a, b, e), strict=True):
        assert g.dtype == w.dtype and np.array_equal(g, w), (dtype, g, w)


@pytest.mark.parametrize(
    "dtype, a, b, want",
    [
        ("uint8", 250, 10, (4, 240, 196)),  # + - * modulo 2**8
        ("uint16", 65535, 65535, (65534, 0, 1)),  # the product overflows C's int, not uint16's arithmetic
        ("uint32", 2**32 - 1, 2, (1, 2**32 - 3, 2**32 - 2)),
        ("uint64", 2**64 - 1, 2**64 - 1, (2**64 - 2, 0, 1)),
        ("int8", 127, -128, (-1, -1, -128)),
    ],
)
def test_unsigned_and_small_integers_wrap(backend, dtype, a, b, want):
    x, y = np.array([a], dtype), np.array([b], dtype)
    got = acc.jit(lambda p, q: (p + q, p - q, p * q), backend=backend)(x, y)
    assert [int(g[0]) for g in got] == list(want) and all(g.dtype == np.dtype(dtype) for g in got)


@pytest.mark.parametrize("dtype", INTS)
@given(data=st.data())
def test_bitwise_operations_and_shifts_match_numpy(backend, dtype, data):
    """Shift counts over the whole range of the dtype: those outside [0, bits) give NumPy's 0 or sign fill."""
    n = data.draw(lengths())
    a, b = data.draw(int_arrays(dtype, n)), data.draw(int_arrays(dtype, n))
    counts = data.draw(arrays(dtype, n, elements=st.integers(-3 if dtype.startswith("int") else 0, 70)))
    got = acc.jit(lambda p, q, k: (p & q, p | q, p ^ q, ~p, p << k, p >> k, q << k, q >> k), backend=backend)(
        a, b, counts
    )
    shifts = [shift(x, counts) for x in (a, b) for shift in (np.left_shift, np.right_shift)]
    want = (a & b, a | b, a ^ b, ~a, shifts[0], shifts[1], shifts[2], shifts[3])
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and np.array_equal(g, w), (dtype, g, w)


def test_bitwise_operators_on_bools_are_logical(backend):
    p, q = np.array([True, True, False, False]), np.array([True, False, True, False])
    got = acc.jit(lambda a, b: (a & b, a | b, a ^ b, ~a, pnp.invert(b)), backend=backend)(p, q)
    for g, w in zip(got, (p & q, p | q, p ^ q, ~p, ~q), strict=True):
        assert g.dtype == np.bool_ and np.array_equal(g, w)


def _half_values(n: int) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.float16, n, elements=st.floats(-100, 100, width=16).filter(lambda v: v != 0))


@given(data=st.data())
def test_float16_arithmetic_is_numpys_rounded_once(backend, data):
    """+ - * / sqrt of halves: float32 computes them exactly enough that one rounding to half is correct rounding,
    which is what NumPy's float16 ufuncs do too: equal, not just close."""
    n = data.draw(lengths())
    a, b = data.draw(_half_values(n)), data.draw(_half_values(n))
    ops = [operator.add, operator.sub, operator.mul, operator.truediv, operator.lt, operator.eq]
    got = acc.jit(lambda p, q: (*[op(p, q) for op in ops], acc.sqrt(abs(p)), acc.minimum(p, q)), backend=backend)(a, b)
    with np.errstate(all="ignore"):
        want = (*[NUMPY_OF[op](a, b) for op in ops], np.sqrt(np.abs(a)), np.minimum(a, b))
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and np.array_equal(g, w), (g, w)


@given(data=st.data())
def test_float16_libm_functions_within_a_half_precision_bound(backend, data):
    n = data.draw(lengths())
    x = data.draw(arrays(np.float16, n, elements=st.floats(0.0625, 8, width=16)))
    fns = [(acc.exp, np.exp), (acc.sin, np.sin), (acc.tanh, np.tanh), (acc.log, np.log)]
    got = acc.jit(lambda p: tuple(f(p) for f, _ in fns), backend=backend)(x)
    for g, (_, ref) in zip(got, fns, strict=True):
        exact = ref(x.astype(np.float64))
        # a float32 libm result (LIBM_ULPS float32 ulps off), rounded once to half
        bound = (U16 + LIBM_ULPS * 2 * unit_roundoff("float32")) * np.abs(exact) + TINY16
        assert_within(g, exact, bound, np.float16)


# -- casts --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [d.name for d in DTYPES])
def test_astype_between_every_pair_of_dtypes_matches_numpy(backend, source):
    if source == "bool":
        x = np.array([True, False, True])
    elif np.dtype(source).kind == "f":  # floats that every target holds (C leaves out-of-range conversions undefined)
        x = np.array([0.0, 1.0, 37.75, 99.5, 0.25], source)
    elif np.dtype(source).kind == "u":
        x = np.array([0, 1, 37, 200, 255], source)
    else:
        x = np.array([0, -1, 37, -100, 127], source)
    got = acc.jit(lambda a: tuple(a.astype(t) for t in DTYPES), backend=backend)(x)
    for g, t in zip(got, DTYPES, strict=True):
        want = x.astype(t)
        assert g.dtype == t and np.array_equal(g, want), (source, t, g, want)


@given(data=st.data())
def test_rounding_to_float16_is_numpys(backend, data):
    """float64 and float32 to half in one rounding, to nearest even, overflowing to infinity; ints through float."""
    n = data.draw(lengths())
    d = data.draw(arrays(np.float64, n, elements=st.floats(-7e4, 7e4) | st.floats(-1e-6, 1e-6)))
    i = data.draw(int_arrays("int64", n))
    got = acc.jit(lambda p, q: (p.astype("float16"), p.astype("float32").astype("float16"), q.astype("float16")),
                  backend=backend)(d, i)  # fmt: skip
    with np.errstate(over="ignore"):
        want = (d.astype(np.float16), d.astype(np.float32).astype(np.float16), i.astype(np.float16))
    for g, w in zip(got, want, strict=True):
        assert g.dtype == np.float16 and np.array_equal(g, w), (g, w)


# -- reductions, scans, indexing, pyaccad.numpy -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [*INTS, "bool"])
@given(data=st.data())
def test_sums_and_scans_accumulate_as_numpy(backend, dtype, data):
    """bool and integers narrower than 64 bits sum in int64/uint64 (NumPy's rule), so uint8 pixels do not wrap."""
    n = data.draw(lengths())
    x = data.draw(arrays(dtype, n, elements=st.booleans())) if dtype == "bool" else data.draw(int_arrays(dtype, n))
    # (max of bools is any: pyaccad's maximum takes numbers only)
    got = acc.jit(lambda a: (a.sum(), pnp.cumsum(a), a.prod(), pnp.any(a) if dtype == "bool" else a.max()),
                  backend=backend)(x)  # fmt: skip
    with np.errstate(all="ignore"):
        want = (np.sum(x), np.cumsum(x), np.prod(x), np.max(x))
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and np.array_equal(g, w), (g, w)


@given(data=st.data())
def test_float16_sums_accumulate_in_float32(backend, data):
    n = data.draw(st.integers(1, 3000))
    x = data.draw(arrays(np.float16, n, elements=st.floats(-2, 2, width=16)))
    total, running, mean = acc.jit(lambda a: (a.sum(), pnp.cumsum(a), a.mean()), backend=backend)(x)
    wide = x.astype(np.float64)
    # n - 1 float32 roundings in the sum, then one to half
    bound = gamma(n - 1, "float32") * np.abs(wide).sum()
    assert_within(total, wide.sum(), bound + U16 * (abs(wide.sum()) + bound) + TINY16, np.float16)
    assert_within(mean, wide.mean(), (bound / n) + U16 * (abs(wide.mean()) + bound / n) + TINY16, np.float16)
    prefix = np.cumsum(wide)
    prefix_bound = gamma(n - 1, "float32") * np.cumsum(np.abs(wide))
    assert_within(running, prefix, prefix_bound + U16 * (np.abs(prefix) + prefix_bound) + TINY16, np.float16)


@pytest.mark.parametrize("dtype", INTS)
def test_fancy_indexing_and_scatters_with_every_integer_dtype(backend, dtype):
    """Indices and values of ``dtype``: a gather, and scatters by + (wrapping) and max (atomic on cuda for 4- and
    8-byte values, one thread for narrower ones)."""
    with np.errstate(over="ignore"):
        x = np.array([250, 3, 17, 200, 9]).astype(dtype)
        idx = np.array([4, 0, 0, 3, 1, 0], dtype)
        gathered, added, maxed = acc.jit(
            lambda a, k: (a[k], a.at[k].add(a[k]), a.at[k].max(a[k] * 3)), backend=backend
        )(x, idx)
        want_add, want_max = x.copy(), x.copy()
        np.add.at(want_add, idx, x[idx])
        np.maximum.at(want_max, idx, x[idx] * x.dtype.type(3))
    for g, w in ((gathered, x[idx]), (added, want_add), (maxed, want_max)):
        assert g.dtype == np.dtype(dtype) and np.array_equal(g, w), (g, w)


@pytest.mark.parametrize("dtype", ["int8", "uint16", "float16"])
def test_pyaccad_numpy_functions_take_the_new_dtypes(backend, dtype):
    x = np.array([5, 120, 0, 77, 3, 120], dtype)

    def fn(a):
        return pnp.clip(a, 3, 100), pnp.argmax(a), pnp.sort(a), pnp.where(a > 50, a, 0), pnp.square(a)

    got = acc.jit(fn, backend=backend)(x)
    with np.errstate(all="ignore"):
        want = (np.clip(x, 3, 100), np.argmax(x), np.sort(x), np.where(x > 50, x, x.dtype.type(0)), np.square(x))
    for g, w in zip(got, want, strict=True):
        assert g.dtype == w.dtype and np.array_equal(g, w), (g, w)


# -- byte order and refused dtypes --------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [">f4", ">f2", ">u2", ">i8", "<u4"])
def test_arrays_in_either_byte_order_are_converted_on_entry(backend, dtype):
    x = np.arange(5).astype(dtype)
    native = x.astype(x.dtype.newbyteorder("="))
    doubled, embedded = acc.jit(lambda a: (a * 2 + 1, a + acc.use(x)), backend=backend)(x)
    assert doubled.dtype == native.dtype and np.array_equal(doubled, native * 2 + 1)
    assert embedded.dtype == native.dtype and np.array_equal(embedded, native + native)


@pytest.mark.parametrize("dtype", ["complex64", "float128", "datetime64[s]"])
def test_other_dtypes_are_a_dtype_error_naming_the_line(dtype):
    with pytest.raises(acc.DTypeError, match=f"argument 0: dtype {re.escape(dtype)} is not supported.*\n  at {HERE}"):
        acc.run(lambda a: a, np.zeros(2, dtype))


# -- derivatives --------------------------------------------------------------------------------------------------


def _loss(x):
    return (acc.sin(x) * x).sum()


@given(x=arrays(np.float16, st.integers(1, 8), elements=st.floats(-3, 3, width=16)))
def test_float16_gradients_against_float64_finite_differences(backend, x):
    got = acc.jit(ad.grad(_loss), backend=backend)(x)
    wide, h = x.astype(np.float64), 1e-6
    fd = np.array(
        [(_f64(wide + h * e) - _f64(wide - h * e)) / (2 * h) for e in np.eye(len(x))]
    )  # d/dx of sum(sin(x) x): cos(x) x + sin(x)
    # each term: sin, cos (float32 libm, rounded to half), a product and a sum in half: a few roundings of each part
    parts = np.abs(np.cos(wide) * wide) + np.abs(np.sin(wide))
    assert_within(got, fd, gamma(4, "float16") * parts + 4 * TINY16 + 1e-8, np.float16)


def _f64(x):
    return float(np.sum(np.sin(x) * x))


@pytest.mark.parametrize("dtype", INTS)
def test_integer_gradients_are_not_differentiable_naming_the_dtype(dtype):
    with pytest.raises(acc.NotDifferentiable, match=f"grad: argument 0 has dtype {dtype}.*\n  at {HERE}"):
        ad.grad(lambda a: (a * a).sum())(np.arange(3, dtype=dtype))


@pytest.mark.parametrize("dtype", [d.name for d in FLOAT_DTYPES])
def test_every_float_dtype_differentiates_in_its_own_dtype(dtype):
    g = ad.grad(lambda a: (a * a).sum())(np.array([1.5, -2.0], dtype))
    assert g.dtype == np.dtype(dtype) and np.array_equal(g, np.array([3.0, -4.0], dtype))


# -- the dtype names --------------------------------------------------------------------------------------------


def test_every_dtype_is_a_public_name():
    for d in DTYPES:
        name = "bool_" if d.name == "bool" else d.name
        assert getattr(acc, name) == d and getattr(pnp, name) == d
    assert [str(acc.ir.ArrayType(np.dtype(n), (2,))) for n in NEW] == [
        "i8[2]",
        "i16[2]",
        "u8[2]",
        "u16[2]",
        "u32[2]",
        "u64[2]",
        "f16[2]",
    ]
