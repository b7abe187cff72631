"""More programs for the meaning tests (``test_export_meaning``), beside :data:`programs.CASES`.

Each family of primitives the exporter handles, on the shapes that take different
paths through its rules: every stencil boundary at every extent accelerate has
(3, 5, 7, 9) and at extents it lacks (1, 11, printed as a ``generate``), in one,
two and three dimensions, and on arrays shorter than the stencil's reach;
reductions and scans along every axis of a 3-d array; scatters with ``IGNORE``;
gathers, slices with negative steps, pads with interior padding, concatenations
on every axis; loops and conditionals at both levels; matrix products; tuples;
``Int32``; and the two constructs whose export once meant something else (float
``mod``, ``Bool`` literals inside lambdas).

Stencil functions weight each neighbour differently, so reading a wrong neighbour
(an off-by-one boundary, a transposed pattern) changes the value.
"""

from __future__ import annotations

import numpy as np
from programs import Case, pad

import pyaccad as acc

RNG = np.random.default_rng(7)
BOUNDARIES = {"Clamp": "clamp", "Mirror": "mirror", "Wrap": "wrap", "Constant": 0.5}  # by the names of their cases


def f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def _weighted(neighbours) -> acc.Exp:
    """Σ (k+1)·nₖ over the flattened neighbourhood, plus first·last: every position counts differently."""
    flat = list(_flatten(neighbours))
    total = flat[0] * flat[-1]
    for k, n in enumerate(flat):
        total = total + float(k + 1) * n
    return total


def _flatten(neighbours):
    for n in neighbours:
        if isinstance(n, tuple):
            yield from _flatten(n)
        else:
            yield n


def stencils_1d(boundary):
    def fn(v):
        return tuple(acc.stencil(_weighted, v, size, boundary=boundary) for size in (1, 3, 5, 7, 9, 11))

    return fn


def stencils_2d(boundary):
    def fn(a):
        return tuple(acc.stencil(_weighted, a, size, boundary=boundary) for size in [(3, 3), (3, 5), (5, 3), (1, 3)])

    return fn


def stencils_3d(c):
    return acc.stencil(_weighted, c, (3, 3, 3), boundary="mirror"), acc.stencil(_weighted, c, (3, 3, 3), boundary=0.5)


def stencils_on_short_arrays(v, a):
    # Arrays no longer than the stencil's radius: accelerate's mirror and wrap reflect or shift an index once,
    # which would leave it outside; the export must bring such indices in itself.
    return (
        acc.stencil(_weighted, v, 5, boundary="mirror"),
        acc.stencil(_weighted, v, 7, boundary="wrap"),
        acc.stencil(_weighted, a, (3, 3), boundary="mirror"),
    )


def reductions_3d(c):
    near_one = 1.0 + 0.1 * c
    argmin = acc.fold(
        lambda x, y: (acc.cond(x[0] <= y[0], x[0], y[0]), acc.cond(x[0] <= y[0], x[1], y[1])),
        (np.inf, -1),
        (c, acc.generate(c.shape, lambda i, j, k: i)),
        axis=0,
    )
    return (
        c.sum(axis=0),
        c.sum(axis=1),
        acc.fold(lambda x, y: x * y, 1.0, near_one, axis=1),
        c.max(axis=2),
        acc.fold1(lambda x, y: acc.minimum(x, y), c, axis=0),
        acc.fold(lambda x, y: x + y, 1.5, c, axis=2),  # an initial value that is not the identity
        acc.fold_all(lambda x, y: acc.maximum(x, y), -np.inf, c),
        *argmin,
    )


def scans_3d(c):
    near_one = 1.0 + 0.1 * c
    return (
        acc.scanl(lambda x, y: x + y, 0.5, c, axis=0),
        acc.scanr1(lambda x, y: x * y, near_one, axis=1),
        acc.scanl1(lambda x, y: acc.maximum(x, y), c, axis=2),
        acc.scanr(lambda x, y: x + y, -1.0, c, axis=1),
        *acc.scanl1(lambda x, y: (x[0] + y[0], x[1] * y[1]), (c, near_one), axis=2),
    )


def scatters(m, idx):
    hist = acc.permute(lambda x, y: x + y, acc.fill(5, 0.0, "float32"), lambda i, j: (idx[i, j],), m)
    grid = acc.permute(
        lambda x, y: acc.maximum(x, y),
        acc.fill((2, 3), -9.0, "float32"),
        lambda i, j: acc.cond((i + j) % 2 == 0, (i % 2, j % 3), acc.IGNORE),
        m,
    )
    return hist, grid


def gathers_and_generate(a, v):
    table = acc.generate((4, 3), lambda i, j: acc.cond(i > j, a[j, i] * 2.0, v[i] - a[j % 3, (i + j) % 4]))
    moved = acc.backpermute((2, 6), lambda i, j: ((i + j) % 3, (i * 6 + j) % 4), a)
    steps = acc.map(
        lambda e: acc.while_(lambda s: s[0] < 5.0, lambda s: (s[0] * 1.5 + 0.25, s[1] + 1), (acc.abs(e) + 0.1, 0))[0],
        v,
    )
    return table, moved, steps


def slices_pads_concatenations(c):
    return (
        c[:, ::2, 1:],
        c[1, ::-1, ::-2],
        c.reshape(6, 4),
        acc.transpose(c, (2, 0, 1)),
        acc.concatenate([c, c * 2.0], axis=0),
        acc.concatenate([c, c[:, :1]], axis=1),
        acc.concatenate([c, c[..., :2], c[..., 1:2]], axis=2),
        pad(c, 0.5, (1, 0, 2), (0, 1, 1), (0, 1, 0)),
        acc.broadcast_to(c[:, :1, :], (2, 3, 4)),
        acc.replicate(c[0], 2, 1),
        acc.reverse(c, 1),
    )


def control(x, y):
    grown = acc.awhile(lambda s: s[0].sum() < 10.0, lambda s: (s[0] * 1.5 + 0.5, s[1] + s[0].sum()), (acc.abs(x), y))
    # A branch of two bindings: its layout must keep them in one `let` block.
    chosen = acc.acond(x.sum() > y.sum(), lambda a, b: (a * 2.0, b * 3.0), lambda a, b: (a, b - 1.0), x, y)
    inside = acc.map(lambda e: acc.cond(e > 0.0, acc.sqrt(e) * 3.0, acc.cond(e < -0.5, -e, e * e)), x)
    return (*grown, *chosen, inside)


def scalar_loops(x, y):
    """Loops over rank-0 values, printed as one scalar ``while`` each (``pyaccad.export.scalar_loops``): reads
    of arrays at computed indices, a conditional and an inner loop on rank-0 values in the body, and such a
    loop inside a loop over a whole array (which stays an ``awhile``)."""

    def body(s):
        i, v, total = s
        read = x[i % 4] * v + y[(i * 3) % 4]
        stepped = acc.acond(read > 0.0, lambda r: r * 0.5, lambda r: 1.0 - r, read)
        halvings = acc.awhile(lambda h: h[0] > 1.0, lambda h: (h[0] * 0.5, h[1] + 1), (acc.abs(stepped) * 4.0, 0))
        return i + 1, stepped, total + stepped * acc.cast(halvings[1], "float32")

    _, last, total = acc.awhile(lambda s: s[0] < 9, body, (0, x[0], x[0] * 0.0))
    inner = lambda s: acc.awhile(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 1.5 + 0.5), (0, acc.abs(s[0])))[1]
    grown = acc.awhile(lambda s: s.sum() < 40.0, lambda s: s + inner(s), acc.abs(y))
    return last, total * x, grown


def wide_scalar_loop(x):
    """A scalar loop whose state (a counter, a row of 20, a total) is wider than accelerate's ``T16``: printed as
    nested tuples; its 21 results after it, more than accelerate unzips at once, picked out nine at a time."""

    def body(s):
        i, v, total = s
        v = acc.tanh(v * 0.5 + x[(i * 7) % 20]) + v * 0.25
        return i + 1, v, total + v.sum()

    _, row, total = acc.awhile(lambda s: s[0] < 6, body, (0, x, x[0] * 0.0))
    return total, row


def matrix_products(a, b, v, p, q):
    return a @ b, a @ v, acc.matmul(p, q)


def tuples(x, y):
    doubled, positive, truncated = acc.map(lambda e: (e * 2.0, e > 0.0, acc.cast(e, "int32")), x)
    larger, difference = acc.zip_with(lambda e, f: (acc.maximum(e, f), e - f), x, y)
    return doubled, positive, truncated, larger, difference


def int32_arithmetic(n, m, x):
    return (
        n * 3 - m // 2,
        n % 5 + acc.abs(m) * acc.sign(n),
        n**2 + acc.maximum(n, m) - acc.minimum(n, m),
        acc.cast(n, "float64") * x,
        acc.cast(x * 3.0, "int32"),
        acc.cast(x > 0.0, "int32") + acc.cast(acc.cast(n, "int64"), "int32"),
    )


def float_mod(x, y):
    # float mod prints as the helper modFloat, an operand that is an expression bracketed (as accelerate's mod',
    # infixl 9 for want of a fixity declaration, once bound tighter than (*))
    return acc.map(lambda v: (v * 2.0) % 3.0 + v % 0.7, x), (x * y) % 1.5


def bool_literals(x):
    # The Prelude's True is not an Exp Bool: literals inside lambdas must print as True_/False_.
    return (
        acc.map(lambda v: (v > 0.0) & True, x),
        acc.map(lambda v: acc.where(v > 0.0, True, v < 1.0), x),
        acc.fold(lambda p, q: p | q, False, acc.reshape(x, (2, 3)) > 0.5),
    )


def near_zero(x, y):
    # log1p and expm1 where 1 + x and exp x - 1 lose their digits, erf across its three intervals, both precisions
    return acc.log1p(x), acc.expm1(x), acc.erf(x * 20.0), acc.log1p(y), acc.expm1(y), acc.erf(y * 20.0)


def cast_in_comparison(labels):
    # a one-hot from int32 labels: the cast carries a type annotation, which must not swallow the comparison
    return acc.generate((labels.shape[0], 3), lambda i, j: acc.where(j == acc.cast(labels[i], "int64"), 1.0, 0.0))


def ordered_folds(x, y):
    # float max/min folds print as integer folds of ordered bits: NaN must win (as in NumPy), infinities and
    # signed zeros keep their order, an init takes part; float32 and float64, along each axis
    return (
        x.max(axis=1),
        x.min(axis=0),
        acc.fold(lambda a, b: acc.maximum(a, b), -3.0, y, axis=1),
        acc.fold(lambda a, b: acc.minimum(a, b), 0.5, y, axis=0),
    )


def literal_operands(x, n):
    # guards that a literal operand decides: a NaN literal wins a max or min (accelerate's drops it); an integer
    # division by a literal 0 or -1 needs only the guard of its own divisor (minBound // -1 wraps)
    return acc.maximum(x, np.nan), acc.minimum(np.nan, x), n // 0, n % 0, n // -1, n % -1, n // 3


SPECIALS = np.array([[np.nan, 1.0, -2.0, 0.5], [-np.inf, -0.0, 0.0, -1e-30], [3.0, np.inf, -np.inf, -np.nan]])

NEAR_ZERO = np.array([1e-12, -3e-9, 2e-5, -0.29, 0.4, 0.499, -0.5, 0.7, -0.9, 3.0, 0.0, 0.02, -0.2, 0.3, 1.4, 0.25])

MEANING_CASES = [
    *(Case(f"stencils1d{label}", stencils_1d(b), (f32(9),)) for label, b in BOUNDARIES.items()),
    *(Case(f"stencils2d{label}", stencils_2d(b), (f32(6, 7),)) for label, b in BOUNDARIES.items()),
    Case("stencils3d", stencils_3d, (f32(3, 3, 4),)),
    Case("stencilsOnShortArrays", stencils_on_short_arrays, (f32(2), f32(1, 4))),
    Case("reductions3d", reductions_3d, (f32(2, 3, 4),)),
    Case("scans3d", scans_3d, (f32(2, 3, 4),)),
    Case("scatters", scatters, (f32(3, 4), RNG.integers(0, 5, (3, 4)))),
    Case("gathersAndGenerate", gathers_and_generate, (f32(3, 4), f32(4))),
    Case("slicesPadsConcatenations", slices_pads_concatenations, (f32(2, 3, 4),)),
    Case("control", control, (f32(4), f32(4))),
    Case("scalarLoops", scalar_loops, (f32(4), f32(4))),
    Case("wideScalarLoop", wide_scalar_loop, (f32(20),)),
    Case(
        "matrixProducts",
        matrix_products,
        (f32(3, 4), f32(4, 2), f32(4), f32(2, 3, 4), f32(2, 4, 2)),
    ),
    Case("tuples", tuples, (f32(5), f32(5))),
    Case(
        "int32Arithmetic",
        int32_arithmetic,
        (RNG.integers(-9, 9, 6).astype(np.int32), RNG.integers(-9, 9, 6).astype(np.int32), RNG.standard_normal(6)),
    ),
    Case("floatMod", float_mod, (f32(6) * 4, np.abs(f32(6)) + 0.5)),
    Case("boolLiterals", bool_literals, (f32(6),)),
    Case("nearZero", near_zero, (NEAR_ZERO, NEAR_ZERO.astype(np.float32))),
    Case("castInComparison", cast_in_comparison, (np.array([0, 2, 1, 2], np.int32),)),
    Case("orderedFolds", ordered_folds, (SPECIALS.astype(np.float32), SPECIALS[::-1].copy())),
    Case("literalOperands", literal_operands, (SPECIALS[0], np.array([-7, 0, 5, np.iinfo(np.int64).min]))),
]
