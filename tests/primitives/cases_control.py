"""Test cases for ``cond``, ``while`` (at array level and inside lambdas), ``index``, ``custom_rule`` and ``remat``.

Inside lambdas the cases exercise what vectorised evaluation makes subtle:
a lazy ``cond`` whose untaken branch would read out of bounds, a ``while``
whose lanes stop after different numbers of iterations (with a ``cond``
nested in its body), tuple results, and uniform values from the enclosing
scope (a rank-0 array used directly, literals).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from helpers import cond, index, lam, lit, prim, program_of, while_
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import FLOATS, NUMERIC, Case, Draw, Example, arrays, shapes

from pyaccad import ad


def _acond(draw: Draw) -> Example:
    dtype = np.dtype(draw(st.sampled_from(NUMERIC)))
    inputs = [draw(arrays("bool", ())), draw(arrays(dtype, draw(shapes)))]
    p, x = inputs
    program = program_of(lambda q, a: cond(q, lambda: (a * 2, a), lambda: (a - 1, a + 1)), inputs)
    expected = [x * 2, x] if p else [x - 1, x + 1]
    return Example(program, inputs, [e.astype(dtype) for e in expected])


def _awhile(draw: Draw) -> Example:
    dtype = np.dtype(draw(st.sampled_from(FLOATS)))
    limit = draw(st.integers(0, 4))
    inputs = [draw(arrays(dtype, draw(shapes))), np.asarray(0, dtype=np.int64)]
    x, _ = inputs
    program = program_of(lambda a, k: while_(lambda b, j: j < limit, lambda b, j: (b * 1.5 + 1.0, j + 1), a, k), inputs)
    expected = x.copy()
    for _ in range(limit):
        expected = (expected * dtype.type(1.5) + dtype.type(1.0)).astype(dtype)
    return Example(program, inputs, [expected, np.asarray(limit, dtype=np.int64)])


def _lazy_cond(draw: Draw) -> Example:
    """``generate n (\\i -> cond (i > 0) (a[i-1] + s, i) (0, -1))``: the else lanes must not read a[-1]."""
    dtype = np.dtype(draw(st.sampled_from(NUMERIC)))
    n = draw(st.integers(0, 6))
    inputs = [draw(arrays(dtype, (n,))), draw(arrays(dtype, ()))]
    a, s = inputs

    def fn(arr: Any, scalar: Any) -> Any:
        def body(i: Any) -> Any:
            return cond(i > 0, lambda: (index(arr, i - 1) + scalar, i), lambda: (lit(0, dtype), lit(-1, "int64")))

        return prim("generate", shape=(n,), lam=lam(body, "int64"))

    expected_values = np.array([0] + [a[i - 1] + s for i in range(1, n)], dtype=dtype)[:n]
    expected_index = np.array([-1] + list(range(1, n)), dtype=np.int64)[:n]
    return Example(program_of(fn, inputs), inputs, [expected_values, expected_index])


def _collatz_steps(v: int) -> int:
    steps = 0
    while v != 1:
        v = v // 2 if v % 2 == 0 else 3 * v + 1
        steps += 1
    return steps


def _lane_while(draw: Draw) -> Example:
    """``map (\\v -> while (/= 1) collatz-step (v, 0))``: every lane loops a different number of times."""
    dtype = np.dtype(draw(st.sampled_from(("int32", "int64"))))
    (x,) = inputs = [draw(arrays(dtype, draw(shapes), 1, 40))]

    def step(v: Any, c: Any) -> Any:
        (even,) = prim("eq", v % 2, lit(0, dtype))
        (nxt,) = cond(even, lambda: v // 2, lambda: v * 3 + 1)
        return nxt, c + 1

    def body(v: Any) -> Any:
        return while_(lambda w, c: w != 1, step, v, lit(0, "int64"))

    program = program_of(lambda a: prim("map", a, lam=lam(body, dtype)), inputs)
    expected_steps = np.empty(x.shape, dtype=np.int64)
    for ix in itertools.product(*map(range, x.shape)):
        expected_steps[ix] = _collatz_steps(int(x[ix]))
    return Example(program, inputs, [np.ones_like(x), expected_steps])


def _index(draw: Draw) -> Example:
    """``generate shape (\\i.. -> t[(sum_k (k+1) i_k) mod n, j])``: gathers from a free rank-2 array."""
    table_shape = draw(hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=4))
    (t,) = inputs = [draw(arrays(draw(st.sampled_from(NUMERIC)), table_shape))]
    shape = draw(shapes)
    column = draw(st.integers(0, table_shape[1] - 1))

    def fn(table: Any) -> Any:
        def body(*ix: Any) -> Any:
            row = lit(0, "int64")
            for k, i in enumerate(ix):
                row = row + i * (k + 1)
            return index(table, row % table_shape[0], lit(column, "int64"))

        return prim("generate", shape=shape, lam=lam(body, *["int64"] * len(shape)))

    expected = np.empty(shape, dtype=t.dtype)
    for ix in itertools.product(*map(range, shape)):
        expected[ix] = t[sum(i * (k + 1) for k, i in enumerate(ix)) % table_shape[0], column]
    return Example(program_of(fn, inputs), inputs, [expected])


def _custom_rule_array(draw: Draw) -> Example:
    """``stop_gradient`` and a ``custom_vjp`` call: both compute their body."""
    dtype = np.dtype(draw(st.sampled_from(FLOATS)))
    (x,) = inputs = [draw(arrays(dtype, draw(shapes)))]
    twice = ad.custom_vjp(lambda a: a * 2.0)
    program = program_of(lambda a: (ad.stop_gradient(a + 1.0), twice(a)), inputs)
    return Example(program, inputs, [(x + dtype.type(1)).astype(dtype), (x * dtype.type(2)).astype(dtype)])


def _custom_rule_lambda(draw: Draw) -> Example:
    """``map (\v -> stop_gradient (v * v))``: a custom rule on scalars."""
    dtype = np.dtype(draw(st.sampled_from(FLOATS)))
    (x,) = inputs = [draw(arrays(dtype, draw(shapes)))]
    program = program_of(lambda a: prim("map", a, lam=lam(lambda v: ad.stop_gradient(v * v), dtype)), inputs)
    return Example(program, inputs, [(x * x).astype(dtype)])


def _remat(draw: Draw) -> Example:
    """``checkpoint (\a b -> (a * b, a - b))``: a two-result body over two arguments."""
    dtype = np.dtype(draw(st.sampled_from(NUMERIC)))
    shape = draw(shapes)
    inputs = [draw(arrays(dtype, shape)), draw(arrays(dtype, shape))]
    x, y = inputs
    program = program_of(lambda a, b: ad.checkpoint(lambda u, v: (u * v, u - v))(a, b), inputs)
    return Example(program, inputs, [(x * y).astype(dtype), (x - y).astype(dtype)])


CASES: dict[str, Case] = {
    "custom_rule/array": _custom_rule_array,
    "custom_rule/lambda": _custom_rule_lambda,
    "remat": _remat,
    "cond/array": _acond,
    "cond/lambda": _lazy_cond,
    "while/array": _awhile,
    "while/lambda": _lane_while,
    "index": _index,
}
