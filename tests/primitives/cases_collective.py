"""Test cases for ``generate``, ``map``, ``fold``, ``scan``, ``backpermute`` and ``permute``.

Folds and scans are tested with each operator of :data:`OPERATORS`: the
monoids a backend may special-case (``add``, ``mul``, ``maximum``, ``or``) and
general associative operators it must handle as lambdas — a maximum written
with ``select``, the non-commutative "keep the right operand", 2×2 integer
matrix products (a 4-tuple; exact even when it wraps around) and a mixed-type
``(value, index)`` argmax pair. References fold sequentially in Python.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from helpers import lam, lit, prim, program_of
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import ALL, INTS, NUMERIC, Case, Draw, Example, arrays, elements, shapes, wrap_int

from pyaccad.ir import Lit

axis_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4)


@dataclass(frozen=True)
class Operator:
    """An associative operator on k-tuples: its dtype choices, traced body and Python reference."""

    dtypes: Callable[[Draw], list[np.dtype]]
    body: Callable[..., Any]  # (a_1..a_k, b_1..b_k) on Exp -> k results
    reference: Callable[[tuple, tuple], tuple]
    lo: float = -4
    hi: float = 4


def _one_of(choices: tuple[str, ...]) -> Callable[[Draw], list[np.dtype]]:
    return lambda draw: [np.dtype(draw(st.sampled_from(choices)))]


def _matrix_product(a: tuple, b: tuple) -> tuple:
    return (a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2], a[2] * b[1] + a[3] * b[3])


def _argmax(av: Any, ai: Any, bv: Any, bi: Any) -> tuple:
    (better,) = prim("gt", bv, av)
    return prim("select", better, bv, av)[0], prim("select", better, bi, ai)[0]


OPERATORS: dict[str, Operator] = {
    "add": Operator(_one_of(NUMERIC), lambda a, b: prim("add", a, b), lambda a, b: (a[0] + b[0],)),
    "mul": Operator(_one_of(NUMERIC), lambda a, b: prim("mul", a, b), lambda a, b: (a[0] * b[0],), -2, 2),
    "maximum": Operator(_one_of(NUMERIC), lambda a, b: prim("maximum", a, b), lambda a, b: (max(a[0], b[0]),)),
    "or": Operator(_one_of(("bool",)), lambda a, b: prim("or", a, b), lambda a, b: (a[0] or b[0],)),
    "select_max": Operator(
        _one_of(NUMERIC),
        lambda a, b: prim("select", prim("gt", a, b)[0], a, b),
        lambda a, b: (a[0] if a[0] > b[0] else b[0],),
    ),
    "right": Operator(_one_of(ALL), lambda a, b: (b,), lambda a, b: b),
    "matrix": Operator(
        lambda draw: _one_of(INTS)(draw) * 4, lambda *ab: _matrix_product(ab[:4], ab[4:]), _matrix_product
    ),
    "argmax": Operator(
        lambda draw: [*_one_of(("float32", "float64"))(draw), np.dtype("int64")],
        _argmax,
        lambda a, b: b if b[0] > a[0] else a,
    ),
}


def _fix(values: tuple, dtypes: list[np.dtype]) -> tuple:
    """Python results rounded to the dtypes, as the program computes them (ints wrap around)."""
    return tuple(
        wrap_int(int(v), d) if d.kind == "i" else d.type(v).item() for v, d in zip(values, dtypes, strict=True)
    )


def _rows(xs: list[np.ndarray], axis: int) -> tuple[tuple[int, ...], Callable[[tuple], list[tuple]]]:
    """The shape of the other axes, and for each of their indices the sequence of tuples along ``axis``."""
    moved = [np.moveaxis(x, axis, -1) for x in xs]
    return moved[0].shape[:-1], lambda ix: [
        tuple(m[ix + (j,)].item() for m in moved) for j in range(moved[0].shape[-1])
    ]


def _draw_operands(draw: Draw, op: Operator, need_init: bool) -> tuple[list[np.dtype], list[np.ndarray], list, int]:
    dtypes = op.dtypes(draw)
    shape = draw(axis_shapes)
    axis = draw(st.integers(0, len(shape) - 1))
    xs = [draw(arrays(d, shape, op.lo, op.hi)) for d in dtypes]
    inits = [draw(elements(d, op.lo, op.hi)) for d in dtypes] if need_init or draw(st.booleans()) else []
    return dtypes, xs, inits, axis


def _program(name: str, op: Operator, dtypes: list[np.dtype], xs: list[np.ndarray], inits: list, draw: Draw, **params):
    """The program ``name(xs, inits; lam, params)``; inits are literals or rank-0 inputs (drawn)."""
    as_inputs = bool(inits) and draw(st.booleans())
    init_arrays = [np.asarray(z, dtype=d) for z, d in zip(inits, dtypes, strict=True)] if as_inputs else []
    inputs = xs + init_arrays

    def fn(*arrays: Any) -> Any:
        literals = [Lit(z, d) for z, d in zip(inits, dtypes, strict=True)] if inits else []
        init_atoms = list(arrays[len(xs) :]) if as_inputs else literals
        return prim(name, *arrays[: len(xs)], *init_atoms, lam=lam(op.body, *dtypes, *dtypes), **params)

    return program_of(fn, inputs), inputs


def _fold_case(op_name: str) -> Case:
    op = OPERATORS[op_name]

    def case(draw: Draw) -> Example:
        dtypes, xs, inits, axis = _draw_operands(draw, op, need_init=False)
        if xs[0].shape[axis] == 0 and not inits:
            inits = [draw(elements(d, op.lo, op.hi)) for d in dtypes]  # fold1 needs a non-empty axis
        program, inputs = _program("fold", op, dtypes, xs, inits, draw, axis=axis)
        rest, along = _rows(xs, axis)
        expected = [np.empty(rest, dtype=d) for d in dtypes]
        combine = lambda a, b: _fix(op.reference(a, b), dtypes)
        for ix in itertools.product(*map(range, rest)):
            seq = along(ix)
            total = (
                functools.reduce(combine, seq, _fix(tuple(inits), dtypes)) if inits else functools.reduce(combine, seq)
            )
            for out, value in zip(expected, total, strict=True):
                out[ix] = value
        return Example(program, inputs, expected)

    return case


def _scan_case(op_name: str) -> Case:
    op = OPERATORS[op_name]

    def case(draw: Draw) -> Example:
        dtypes, xs, inits, axis = _draw_operands(draw, op, need_init=False)
        reverse = draw(st.booleans())
        program, inputs = _program("scan", op, dtypes, xs, inits, draw, axis=axis, reverse=reverse)
        rest, along = _rows(xs, axis)
        combine = lambda a, b: _fix(op.reference(a, b), dtypes)
        length = xs[0].shape[axis] + (1 if inits else 0)
        expected = [np.empty((*rest, length), dtype=d) for d in dtypes]
        for ix in itertools.product(*map(range, rest)):
            seq = along(ix)[::-1] if reverse else along(ix)
            acc = _fix(tuple(inits), dtypes) if inits else None
            results = [acc] if inits else []
            for item in seq:
                acc = item if acc is None else combine(item, acc) if reverse else combine(acc, item)
                results.append(acc)
            for j, value in enumerate(results[::-1] if reverse else results):
                for out, v in zip(expected, value, strict=True):
                    out[ix + (j,)] = v
        return Example(program, inputs, [np.moveaxis(e, -1, axis) for e in expected])

    return case


def _affine_indices(draw: Draw, n_in: int, extents: tuple[int, ...]) -> list[tuple[list[int], int]]:
    """For each target axis, coefficients and offset of ``j = (sum_m c_m * i_m + d) % extent``."""
    return [([draw(st.integers(0, 3)) for _ in range(n_in)], draw(st.integers(0, 3))) for _ in extents]


def _apply_affine(index: tuple, maps: list, extents: tuple[int, ...]) -> tuple[int, ...]:
    targets = []
    for (coefficients, offset), n in zip(maps, extents, strict=True):
        targets.append((sum(c * i for c, i in zip(coefficients, index, strict=True)) + offset) % n)
    return tuple(targets)


def _trace_affine(ix: tuple, maps: list, extents: tuple[int, ...]) -> list:
    """The traced ``_apply_affine`` (an axis of extent 0 gives index 0; such writes are all dropped)."""
    out = []
    for (cs, d), n in zip(maps, extents, strict=True):
        total = lit(d, "int64")
        for c, i in zip(cs, ix, strict=True):
            total = total + i * c
        out.append(total % n if n else lit(0, "int64"))
    return out


def _generate(draw: Draw) -> Example:
    shape, dtype = draw(shapes), np.dtype(draw(st.sampled_from(NUMERIC)))

    def body(*ix: Any) -> tuple:
        total = lit(1, "int64")
        for k, i in enumerate(ix):
            total = total + i * (k + 2)
        return prim("cast", total, dtype=dtype)[0], (ix[0] > 1) if ix else lit(True, "bool")

    program = program_of(lambda: prim("generate", shape=shape, lam=lam(body, *["int64"] * len(shape))), [])
    first = np.empty(shape, dtype=dtype)
    second = np.empty(shape, dtype=bool)
    for ix in itertools.product(*map(range, shape)):
        first[ix] = 1 + sum(i * (k + 2) for k, i in enumerate(ix))
        second[ix] = ix[0] > 1 if ix else True
    return Example(program, [], [first, second])


def _map(draw: Draw) -> Example:
    shape = draw(shapes)
    dtypes = [np.dtype(draw(st.sampled_from(NUMERIC))) for _ in range(draw(st.integers(1, 3)))]
    inputs = [draw(arrays(d, shape)) for d in dtypes]

    def body(*xs: Any) -> tuple:
        total = lit(0.5, "float64")
        for x in xs:
            total = total * prim("cast", x, dtype=np.dtype("float64"))[0] + 1.0
        return total, xs[-1]  # the second result is an input passed through unchanged

    program = program_of(lambda *arrs: prim("map", *arrs, lam=lam(body, *dtypes)), inputs)
    expected = np.empty(shape, dtype=np.float64)
    for ix in itertools.product(*map(range, shape)):
        total = 0.5
        for x in inputs:
            total = total * float(x[ix]) + 1.0
        expected[ix] = total
    return Example(program, inputs, [expected, inputs[-1].copy()])


def _backpermute(draw: Draw) -> Example:
    (x,) = inputs = [draw(arrays(draw(st.sampled_from(ALL)), draw(shapes)))]
    out_shape = draw(shapes) if x.size else (0,)  # every read of an empty array would be out of bounds
    maps = _affine_indices(draw, len(out_shape), x.shape)
    index = lam(lambda *ix: _trace_affine(ix, maps, x.shape), *["int64"] * len(out_shape))
    program = program_of(lambda a: prim("backpermute", a, shape=out_shape, index=index), inputs)
    expected = np.empty(out_shape, dtype=x.dtype)
    for ix in itertools.product(*map(range, out_shape)):
        expected[ix] = x[_apply_affine(ix, maps, x.shape)]
    return Example(program, inputs, [expected])


# combine name -> (traced body on (new, old), Python reference, dtypes)
_COMBINES: dict[str, tuple[Callable, Callable, tuple[str, ...]]] = {
    "add": (lambda new, old: prim("add", new, old), lambda new, old: new + old, NUMERIC),
    "maximum": (lambda new, old: prim("maximum", new, old), max, NUMERIC),
    "select_max": (lambda new, old: prim("select", prim("gt", new, old)[0], new, old), max, NUMERIC),
}


def _permute_case(combine_name: str) -> Case:
    body, reference, dtypes = _COMBINES[combine_name]

    def case(draw: Draw) -> Example:
        dtype = np.dtype(draw(st.sampled_from(dtypes)))
        defaults, x = inputs = [draw(arrays(dtype, draw(shapes))), draw(arrays(dtype, draw(shapes)))]
        maps = _affine_indices(draw, x.ndim, defaults.shape)
        keep_coeffs = [draw(st.integers(0, 2)) for _ in x.shape]

        def index(*ix: Any) -> list:
            if defaults.size == 0:
                return [lit(False, "bool"), *_trace_affine(ix, maps, defaults.shape)]
            keep = lit(1, "int64")
            for c, i in zip(keep_coeffs, ix, strict=True):
                keep = keep + i * c
            return [keep % 3 != 0, *_trace_affine(ix, maps, defaults.shape)]  # drops about a third (IGNORE)

        params = {"combine": lam(body, dtype, dtype), "index": lam(index, *["int64"] * x.ndim)}
        program = program_of(lambda d, a: prim("permute", d, a, **params), inputs)
        expected = defaults.copy()
        for ix in itertools.product(*map(range, x.shape)):  # source order
            if defaults.size and (1 + sum(c * i for c, i in zip(keep_coeffs, ix, strict=True))) % 3 != 0:
                target = _apply_affine(ix, maps, defaults.shape)
                expected[target] = _fix((reference(x[ix].item(), expected[target].item()),), [dtype])[0]
        return Example(program, inputs, [expected])

    return case


CASES: dict[str, Case] = {
    "generate": _generate,
    "map": _map,
    "backpermute": _backpermute,
    **{f"fold/{name}": _fold_case(name) for name in OPERATORS},
    **{f"scan/{name}": _scan_case(name) for name in OPERATORS},
    **{f"permute/{name}": _permute_case(name) for name in _COMBINES},
}
