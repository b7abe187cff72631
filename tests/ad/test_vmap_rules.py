"""Every primitive's batching rule: vmap equals a Python loop of the unbatched function (both on interp).

One table of cases drives the tests; a coverage test checks that every primitive has a rule
(:data:`pyaccad.ad.gaps.MISSING_BATCHING` lists the exceptions: none) and that the cases exercise every primitive.
Hypothesis draws the batch size (empty and size-1 batches included), the ``in_axes`` of each
argument (``None`` included, so unbatched operands meet batched ones) and the values.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from helpers import primitive_names
from hypothesis import given, settings
from hypothesis import strategies as st

import pyaccad as acc
from pyaccad import ad, linalg
from pyaccad.ad.batching import BATCH_RULES
from pyaccad.ad.gaps import MISSING_BATCHING
from pyaccad.ad.vmap import vmap
from pyaccad.frontend.operators import elementwise
from pyaccad.frontend.pytree import flatten
from pyaccad.frontend.tracing import emit, trace, wrap
from pyaccad.ir import ELEMENTWISE, PRIMITIVES, verify


def jit(f: Callable) -> Callable:
    return acc.jit(f, backend="interp")


Shape = tuple[int, ...]
Maker = Callable[[np.random.Generator, Shape], np.ndarray]  # (rng, the drawn shape) -> one argument


@dataclass
class Case:
    name: str
    fn: Callable
    inputs: Callable[[np.random.Generator, Shape], list[np.ndarray]]  # one example's arguments


def floats(*shape: int, lo: float = -2.0, hi: float = 2.0, drawn: bool = False) -> Maker:
    """Uniform floats of ``shape``, followed (``drawn``) by the axes hypothesis drew for the example."""
    return lambda rng, drawn_shape: rng.uniform(lo, hi, shape + drawn_shape if drawn else shape)


def ints(*shape: int, lo: int = 0, hi: int = 3, drawn: bool = False) -> Maker:
    return lambda rng, drawn_shape: rng.integers(lo, hi, shape + drawn_shape if drawn else shape)


def bools(*shape: int, drawn: bool = False) -> Maker:
    return lambda rng, drawn_shape: rng.random(shape + drawn_shape if drawn else shape) < 0.5


def spd(n: int) -> Maker:
    """Symmetric positive definite ``n × n`` matrices (``M Mᵀ + n I``): cholesky's domain."""

    def make(rng: np.random.Generator, drawn: Shape) -> np.ndarray:
        m = rng.uniform(-1.0, 1.0, (n, n))
        return m @ m.T + n * np.eye(n)

    return make


def dominant(n: int) -> Maker:
    """Well-conditioned ``n × n`` matrices (diagonally dominant), for the solves."""
    return lambda rng, drawn: rng.uniform(-1.0, 1.0, (n, n)) + 2 * n * np.eye(n)


def scalar(lo: float = -2.0, hi: float = 2.0) -> Maker:
    return lambda rng, drawn: np.array(rng.uniform(lo, hi))


def case(name: str, fn: Callable, *inputs: Maker) -> Case:
    return Case(name, fn, lambda rng, drawn: [make(rng, drawn) for make in inputs])


@ad.custom_vjp
def _sin_x(x, y):  # a custom_vjp of two arguments whose rule is the true derivative
    return acc.sin(x) * y


_sin_x.defvjp(lambda x, y: (acc.sin(x) * y, (x, y)), lambda r, ct: (acc.cos(r[0]) * r[1] * ct, acc.sin(r[0]) * ct))


def _elementwise_cases() -> list[Case]:
    domains = {
        "acosh": (1.5, 3.0),
        "log": (0.5, 2.0),
        "sqrt": (0.5, 2.0),
        "log1p": (0.5, 2.0),
        "asin": (-0.9, 0.9),
        "acos": (-0.9, 0.9),
        "atanh": (-0.9, 0.9),
        "pow": (0.5, 2.0),
    }
    cases = []
    for op, row in ELEMENTWISE.items():
        # element-wise operands take the shape hypothesis draws (rank 0 to 3, empty axes included)
        if row.accepts == (np.dtype(bool),):
            make = bools(drawn=True)
        elif row.accepts[0].kind == "f":
            make = floats(lo=domains.get(op, (-2.0, 2.0))[0], hi=domains.get(op, (-2.0, 2.0))[1], drawn=True)
        else:
            make = ints(lo=1, hi=5, drawn=True)
        fn = (lambda x, op=op: elementwise(op, x)) if row.arity == 1 else (lambda x, y, op=op: elementwise(op, x, y))
        cases.append(case(op, fn, *[make] * row.arity))
    return cases


def _pad(x: acc.Array, value: acc.Array) -> acc.Array:
    (out,) = emit("pad", (x.var, value.var), {"lo": (1, 0), "hi": (0, 2), "interior": (1, 0)})
    return wrap(out)


def _add(a, b):
    return a + b


CASES: list[Case] = _elementwise_cases() + [
    case("select", lambda p, x, y: acc.where(p, x, y), bools(3), floats(3), floats(3)),
    case("cast", lambda x: acc.cast(x, "int32") + 1, floats(2, 2)),
    case("const", lambda x: x * acc.use(np.arange(3.0)), floats(3)),
    case("broadcast_in_dim", lambda x, s: acc.broadcast_to(x, (2, 3)) + s, floats(3), scalar()),
    case("reshape", lambda x: acc.reshape(x, (3, 2)), floats(2, 3)),
    case("reshape-drawn", lambda x: acc.reshape(x, (x.size,)), floats(drawn=True)),
    case("transpose-drawn", lambda x: acc.transpose(x), floats(drawn=True)),
    case("reverse-drawn", lambda x: acc.reverse(x, 0), floats(2, drawn=True)),
    case("slice-drawn", lambda x: x[1:], floats(3, drawn=True)),
    case("fold-drawn", lambda x: acc.fold(_add, 0.0, x, axis=0), floats(2, drawn=True)),
    case("scan-drawn", lambda x: acc.scanr(_add, 0.5, x, axis=0), floats(2, drawn=True)),
    case("map-drawn", lambda x, c: acc.map(lambda v: v * acc.the(c), x), floats(drawn=True), scalar()),
    case("transpose", lambda x: acc.transpose(x, (2, 0, 1)), floats(2, 3, 4)),
    case("reverse", lambda x: acc.reverse(x, 0), floats(3, 2)),
    case("slice", lambda x: x[1:, ::2], floats(3, 4)),
    case("pad", _pad, floats(2, 2), scalar()),
    case("concatenate", lambda x, y: acc.concatenate([x, y], axis=0), floats(2, 3), floats(1, 3)),
    case("matmul", lambda a, b: a @ b, floats(2, 3), floats(3, 4)),
    case("matmul-stacked", lambda a, b: a @ b, floats(2, 2, 3), floats(2, 3, 2)),
    case("matvec", lambda a, v: a @ v, floats(2, 3), floats(3)),
    case("cholesky", linalg.cholesky, spd(3)),
    case("solve", linalg.solve, dominant(3), floats(3, 2)),
    case("solve-vector", linalg.solve, dominant(3), floats(3)),
    case("triangular_solve", linalg.triangular_solve, dominant(3), floats(3, 2)),
    case(
        "triangular_solve-upper-transposed",
        lambda a, b: linalg.triangular_solve(a, b, lower=False, transpose_a=True),
        dominant(3),
        floats(3),
    ),
    case("generate", lambda a: acc.generate((2, 3), lambda i, j: a[j] * acc.cast(i + 1, "float64")), floats(3)),
    case("generate-scalar", lambda s: acc.generate((3,), lambda i: acc.the(s) * acc.cast(i, "float64")), scalar()),
    case("map", lambda x, y: acc.zip_with(lambda a, b: (a * b, a - b), x, y), floats(2, 2), floats(2, 2)),
    case("map-free", lambda x, c: acc.map(lambda v: v * acc.the(c), x), floats(3), scalar()),
    case("map-free-array", lambda x, a: acc.map(lambda v: v + a[1], x), floats(3), floats(2)),
    case("fold", lambda x: acc.fold(_add, 0.0, x), floats(2, 3)),
    case("fold-axis0", lambda x: acc.fold(lambda a, b: a * b, 1.0, x, axis=0), floats(3, 2)),
    case("fold1", lambda x: acc.fold1(acc.maximum, x), floats(4)),
    case("fold-init", lambda x, z: acc.fold(_add, z, x), floats(3), scalar()),
    case("fold-init-empty", lambda x, z: acc.fold(_add, z, x), floats(0), scalar()),
    case("fold-free", lambda x, c: acc.fold(lambda a, b: a + b + acc.the(c), 0.0, x), floats(2, 3), scalar()),
    case(
        "fold-tuple",
        lambda x, y: acc.fold(lambda a, b: (a[0] + b[0], acc.maximum(a[1], b[1])), (0.0, -9.0), (x, y)),
        floats(3),
        floats(3),
    ),
    case("scanl", lambda x, z: acc.scanl(_add, z, x), floats(3), scalar()),
    case("scanr", lambda x, z: acc.scanr(_add, z, x, axis=0), floats(3, 2), scalar()),
    case("scanl1", lambda x: acc.scanl1(lambda a, b: a * b, x), floats(2, 3)),
    case("scanr1-free", lambda x, c: acc.scanr1(lambda a, b: a + b + acc.the(c), x), floats(3), scalar()),
    case("scanl-free", lambda x, c: acc.scanl(lambda a, b: a * b * acc.the(c), 1.0, x), floats(3), scalar()),
    case("backpermute", lambda x: acc.backpermute((2, 2), lambda i, j: (j, 2 - i), x), floats(3, 3)),
    case("backpermute-free", lambda x, ix: acc.backpermute((3,), lambda i: (ix[i],), x), floats(4), ints(3, hi=4)),
    case("permute", lambda d, x: acc.permute(_add, d, lambda i: (i // 2,), x), floats(2), floats(4)),
    case(
        "permute-free",
        lambda d, x, ix: acc.permute(_add, d, lambda i: (ix[i],), x),
        floats(2),
        floats(3),
        ints(3, hi=2),
    ),
    case(
        "permute-combine-free",
        lambda d, x, c: acc.permute(lambda a, b: a + b * acc.the(c), d, lambda i: (i % 2,), x),
        floats(2),
        floats(3),
        scalar(),
    ),
    case("stencil", lambda x: acc.stencil(lambda n: n[0] - 2.0 * n[1] + n[2], x, 3, boundary="mirror"), floats(4)),
    case(
        "stencil-2d",
        lambda x: acc.stencil(lambda n: n[0][1] + n[1][0] + n[1][1], x, (3, 3), boundary=0.5),
        floats(3, 2),
    ),
    case(
        "stencil-free",
        lambda x, c: acc.stencil(lambda n: n[0] * acc.the(c) + n[1], x, 3, boundary="wrap"),
        floats(3),
        scalar(),
    ),
    case("cond", lambda x, p: acc.acond(p, lambda v: v * 2.0, lambda v: -v, x), floats(2), bools()),
    case("cond-free", lambda x, y: acc.acond(x.sum() > 0.0, lambda: y, lambda: y * x[0]), floats(2), floats(3)),
    case("cond-mixed", lambda x, c, p: acc.acond(p, lambda: x * 2.0, lambda: c), floats(2), floats(2), bools()),
    case(
        "while-fixpoint",
        lambda x: acc.awhile(lambda s: s[1] < 3, lambda s: (s[0] * 0.5 + x, s[1] + 1), (acc.fill(2, 0.0), acc.unit(0)))[
            0
        ],
        floats(2),
    ),
    case("while", lambda x: acc.awhile(lambda s: s.sum() < 5.0, lambda s: s * 2.0 + 0.5, x), floats(2, lo=0.1)),
    case(
        "while-count",
        lambda x, n: acc.awhile(lambda s: s[1] < n, lambda s: (s[0] * 1.5, s[1] + 1), (x, acc.unit(0)))[0],
        floats(2),
        ints(hi=4),
    ),
    case("custom_rule", lambda x, y: ad.stop_gradient(x * y) - y, floats(2), floats(2)),
    case("custom_rule-vjp", lambda x, y: _sin_x(x, y), floats(2), floats(2)),
    case("remat", lambda x, y: ad.checkpoint(lambda a: acc.sin(a) * y)(x), floats(2), floats(2)),
    case(
        "remat-grad",
        lambda x, y: ad.grad(lambda a: ad.checkpoint(lambda b: acc.sin(b) * y)(a).sum())(x),
        floats(2),
        floats(2),
    ),
    case("custom_rule-vjp-grad", lambda x, y: ad.grad(lambda a: _sin_x(a, y).sum())(x), floats(2), floats(2)),
    case(
        "index-cond",
        lambda x, a: acc.map(lambda v: acc.cond(v > 0.0, lambda: a[0], lambda: v * a[1]), x),
        floats(3),
        floats(2),
    ),
    case(
        "index-while",
        lambda x, c: acc.map(lambda v: acc.while_(lambda s: s < acc.the(c), lambda s: s + 1.0, v), x),
        floats(3),
        scalar(lo=0.0, hi=3.0),
    ),
]


@st.composite
def batching(draw: st.DrawFn, c: Case) -> tuple[list[np.ndarray], list[list[np.ndarray]], tuple[int | None, ...]]:
    """Batched arguments, the examples they hold (``template`` when the batch is empty) and their in_axes."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shape = tuple(draw(st.lists(st.integers(0, 3), max_size=3)))
    template = c.inputs(rng, shape)
    axes: list[int | None] = [draw(st.none() | st.integers(-x.ndim - 1, x.ndim)) for x in template]
    if all(a is None for a in axes):
        axes[draw(st.integers(0, len(axes) - 1))] = 0
    size = draw(st.integers(0, 3))
    examples = [
        [x if a is None else y for x, y, a in zip(template, c.inputs(rng, shape), axes, strict=True)]
        for _ in range(size)
    ]
    batched = [
        x if a is None else np.moveaxis(np.stack([ex[k] for ex in examples] or [x])[:size], 0, a)
        for k, (x, a) in enumerate(zip(template, axes, strict=True))
    ]
    return batched, examples or [template], tuple(axes)


def loop_reference(fn: Callable, examples: list[list[np.ndarray]], size: int) -> list[np.ndarray]:
    """The unbatched function run once per example, each output leaf stacked on a new axis 0."""
    per_example = [flatten(jit(fn)(*ex))[0] for ex in examples]
    return [np.stack([np.asarray(out[k]) for out in per_example])[:size] for k in range(len(per_example[0]))]


@pytest.mark.parametrize("c", CASES, ids=[c.name for c in CASES])
@settings(max_examples=8, deadline=None)
@given(data=st.data())
def test_vmap_matches_loop(c: Case, data: st.DataObject) -> None:
    batched, examples, in_axes = data.draw(batching(c))
    size = next(x.shape[a] for x, a in zip(batched, in_axes, strict=True) if a is not None)
    f = vmap(c.fn, in_axes=in_axes)
    verify(trace(f, *batched).program)
    got = flatten(jit(f)(*batched))[0]
    expected = loop_reference(c.fn, examples, size)
    assert len(got) == len(expected)
    for g, e in zip(got, expected, strict=True):
        assert g.shape == e.shape and g.dtype == e.dtype
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)


def test_every_primitive_has_a_batching_rule() -> None:
    missing = {name for name, prim in PRIMITIVES.items() if prim not in BATCH_RULES}
    assert missing == set(MISSING_BATCHING)


def test_cases_exercise_every_primitive() -> None:
    exercised = set()
    for c in CASES:
        exercised |= primitive_names(trace(c.fn, *c.inputs(np.random.default_rng(0), (2,))).program)
    assert set(PRIMITIVES) - exercised == set()
