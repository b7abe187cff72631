"""Test cases for the structural primitives: each reference walks the output's indices in plain Python."""

from __future__ import annotations

import itertools

import numpy as np
from helpers import prim, program_of
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from strategies import ALL, NUMERIC, Case, Draw, Example, arrays, nonempty_shapes, shapes

from pyaccad.frontend.tracing import embed_constant
from pyaccad.ir import Lit


def _dtype(draw: Draw, choices: tuple[str, ...] = ALL) -> np.dtype:
    return np.dtype(draw(st.sampled_from(choices)))


def _by_index(shape: tuple[int, ...], dtype: np.dtype, value_at) -> np.ndarray:
    """The array of ``shape`` whose element at each multi-index ``ix`` is ``value_at(ix)``."""
    out = np.empty(shape, dtype=dtype)
    for ix in itertools.product(*map(range, shape)):
        out[ix] = value_at(ix)
    return out


def _const(draw: Draw) -> Example:
    value = draw(arrays(_dtype(draw), draw(shapes)))
    return Example(program_of(lambda: embed_constant(value), []), [], [value.copy()])


def _broadcast_in_dim(draw: Draw) -> Example:
    shape = draw(shapes)
    dims = tuple(sorted(draw(st.sets(st.sampled_from(range(len(shape))))) if shape else ()))
    x_shape = tuple(draw(st.sampled_from([shape[d], 1])) for d in dims)
    (x,) = inputs = [draw(arrays(_dtype(draw), x_shape))]

    def value_at(ix: tuple[int, ...]) -> object:
        return x[tuple(0 if x.shape[i] == 1 else ix[d] for i, d in enumerate(dims))]

    expected = _by_index(shape, x.dtype, value_at)
    return Example(
        program_of(lambda a: prim("broadcast_in_dim", a, shape=shape, dims=dims), inputs), inputs, [expected]
    )


def _reshape(draw: Draw) -> Example:
    (x,) = inputs = [draw(arrays(_dtype(draw), draw(shapes)))]
    axes = list(x.shape) + [1] * draw(st.integers(0, 2))
    target = tuple(draw(st.permutations(axes)))
    if draw(st.booleans()):
        target = (x.size,)
    flat = x.ravel().tolist()
    strides = [int(np.prod(target[i + 1 :])) for i in range(len(target))]
    expected = _by_index(target, x.dtype, lambda ix: flat[sum(i * s for i, s in zip(ix, strides, strict=True))])
    return Example(program_of(lambda a: prim("reshape", a, shape=target), inputs), inputs, [expected])


def _transpose(draw: Draw) -> Example:
    (x,) = inputs = [draw(arrays(_dtype(draw), draw(shapes)))]
    perm = tuple(draw(st.permutations(range(x.ndim))))
    out_shape = tuple(x.shape[p] for p in perm)

    def value_at(ix: tuple[int, ...]) -> object:
        source = [0] * x.ndim
        for i, p in enumerate(perm):
            source[p] = ix[i]
        return x[tuple(source)]

    expected = _by_index(out_shape, x.dtype, value_at)
    return Example(program_of(lambda a: prim("transpose", a, perm=perm), inputs), inputs, [expected])


def _reverse(draw: Draw) -> Example:
    (x,) = inputs = [draw(arrays(_dtype(draw), draw(shapes)))]
    axes = tuple(sorted(draw(st.sets(st.sampled_from(range(x.ndim))))) if x.ndim else ())
    value_at = lambda ix: x[tuple(x.shape[a] - 1 - i if a in axes else i for a, i in enumerate(ix))]
    expected = _by_index(x.shape, x.dtype, value_at)
    return Example(program_of(lambda a: prim("reverse", a, axes=axes), inputs), inputs, [expected])


def _slice(draw: Draw) -> Example:
    (x,) = inputs = [draw(arrays(_dtype(draw), draw(shapes)))]
    starts, stops, steps = [], [], []
    for n in x.shape:
        lo = draw(st.integers(0, n))
        starts.append(lo)
        stops.append(draw(st.integers(lo, n)))
        steps.append(draw(st.integers(1, 3)))
    out_shape = tuple(len(range(lo, hi, s)) for lo, hi, s in zip(starts, stops, steps, strict=True))
    value_at = lambda ix: x[tuple(lo + i * s for i, lo, s in zip(ix, starts, steps, strict=True))]
    expected = _by_index(out_shape, x.dtype, value_at)
    program = program_of(
        lambda a: prim("slice", a, starts=tuple(starts), stops=tuple(stops), steps=tuple(steps)), inputs
    )
    return Example(program, inputs, [expected])


def _pad(draw: Draw) -> Example:
    dtype = _dtype(draw)
    (x,) = inputs = [draw(arrays(dtype, draw(shapes)))]
    fill = draw(arrays(dtype, ())).item()
    lo, hi, mid = ([draw(st.integers(0, 2)) for _ in x.shape] for _ in range(3))
    out_shape = tuple(a + b + n + max(n - 1, 0) * m for n, a, b, m in zip(x.shape, lo, hi, mid, strict=True))
    expected = np.full(out_shape, fill, dtype=dtype)
    for ix in itertools.product(*map(range, x.shape)):
        expected[tuple(a + i * (m + 1) for i, a, m in zip(ix, lo, mid, strict=True))] = x[ix]
    params = dict(lo=tuple(lo), hi=tuple(hi), interior=tuple(mid))
    program = program_of(lambda a: prim("pad", a, Lit(fill, dtype), **params), inputs)
    return Example(program, inputs, [expected])


def _concatenate(draw: Draw) -> Example:
    dtype, shape = _dtype(draw), draw(nonempty_shapes)
    axis = draw(st.integers(0, len(shape) - 1))
    lengths = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    inputs = [draw(arrays(dtype, shape[:axis] + (k,) + shape[axis + 1 :])) for k in lengths]
    pieces = [(a, offset) for a, offset in zip(inputs, np.cumsum([0] + lengths[:-1]), strict=True)]
    out_shape = shape[:axis] + (sum(lengths),) + shape[axis + 1 :]

    def value_at(ix: tuple[int, ...]) -> object:
        for a, offset in reversed(pieces):
            if ix[axis] >= offset and a.shape[axis]:
                return a[ix[:axis] + (ix[axis] - offset,) + ix[axis + 1 :]]
        raise AssertionError("unreachable")

    expected = _by_index(out_shape, dtype, value_at)
    return Example(program_of(lambda *xs: prim("concatenate", *xs, axis=axis), inputs), inputs, [expected])


def _matmul(draw: Draw) -> Example:
    dtype = _dtype(draw, NUMERIC)
    batch = draw(hnp.array_shapes(min_dims=0, max_dims=1, min_side=0, max_side=3))
    m, k, n = (draw(st.integers(0, 4)) for _ in range(3))
    inputs = [draw(arrays(dtype, (*batch, m, k))), draw(arrays(dtype, (*batch, k, n)))]
    a, b = inputs
    value_at = lambda ix: sum((a[ix[:-1] + (j,)] * b[ix[:-2] + (j, ix[-1])] for j in range(k)), dtype.type(0))
    expected = _by_index((*batch, m, n), dtype, value_at)
    return Example(program_of(lambda x, y: prim("matmul", x, y), inputs), inputs, [expected])


CASES: dict[str, Case] = {
    "const": _const,
    "broadcast_in_dim": _broadcast_in_dim,
    "reshape": _reshape,
    "transpose": _transpose,
    "reverse": _reverse,
    "slice": _slice,
    "pad": _pad,
    "concatenate": _concatenate,
    "matmul": _matmul,
}
