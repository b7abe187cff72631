"""Programs the export tests print, parse, pin, evaluate (``test_export_meaning``) and (with accelerate) run.

Together they use every primitive of the IR at least once (``test_rules``
checks that), at array level and inside lambdas, with the shapes that take
different paths through the export rules: innermost and outer axes, tuples of
arrays, size-1 broadcasts, literals of every dtype.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import pyaccad as acc
from pyaccad.frontend.pytree import flatten
from pyaccad.frontend.tracing import emit, wrap
from pyaccad.ir import ELEMENTWISE, Lit

RNG = np.random.default_rng(0)


def f32(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape).astype(np.float32)


def f64(*shape: int) -> np.ndarray:
    return RNG.standard_normal(shape)


@dataclass(frozen=True)
class Case:
    name: str
    fn: Callable[..., Any]
    args: tuple


def pad(x, value, lo, hi, interior):
    # pad has no public combinator (it is the transpose of slicing, made by AD): emit it directly.
    (var,) = emit("pad", (x.var, Lit(value, x.dtype)), {"lo": lo, "hi": hi, "interior": interior})
    return wrap(var)


def elementwise(x, y):
    return acc.sin(x) * y + acc.exp(-x) / (1.0 + y * y) - acc.maximum(x, 0.0) ** 2.0


def unary_tour(x):
    pos = acc.abs(x) + 1.0
    return (
        acc.tanh(x)
        + acc.log1p(pos)
        + acc.expm1(x)
        + acc.sqrt(pos)
        + acc.atan2(x, pos)
        + acc.floor(x)
        + acc.round(x)
        + acc.sign(x)
        + acc.trunc(x)
        + acc.ceil(x)
        + acc.erf(x)
        + acc.asinh(x)
    )


def predicates(x, n):
    big = (x > 0.5) | acc.isnan(x) | ~acc.isinf(x)
    m = n // 3 + n % 3 - n**2
    return acc.where(big & (x != 0.25), x, 0.0), acc.cast(m, "float32") + acc.cast(big, "float32"), acc.cast(x, "int32")


def int_division(n, m):
    # pyaccad defines integer division and modulo by zero as 0; floor semantics for negatives.
    # Integer powers with negative exponents truncate toward zero (1, -1 or 0).
    return n // m, n % m, (n // 3) * m, m**n, (m - 1) ** (n % 3)


def reductions(a):
    return (
        a.sum(axis=1),
        a.max(axis=0),
        acc.fold(lambda p, q: p * q, 1.0, a, axis=0),
        acc.fold1(lambda p, q: acc.minimum(p, q), a),
        acc.fold_all(lambda p, q: p + q, 0.0, a),
    )


def tuple_fold(a):
    # An argmax along rows: a fold over (value, index) pairs.
    idx = acc.generate(a.shape, lambda i, j: j)
    return acc.fold(
        lambda x, y: (acc.cond(x[0] >= y[0], x[0], y[0]), acc.cond(x[0] >= y[0], x[1], y[1])), (-np.inf, -1), (a, idx)
    )


def scans(v, a):
    return (
        acc.scanl(lambda x, y: x + y, 0.0, v),
        acc.scanl1(lambda x, y: x + y, v),
        acc.scanr(lambda x, y: acc.maximum(x, y), -1.0, v),
        acc.scanr1(lambda x, y: x * y, a, axis=0),
        acc.scanl1(lambda x, y: (x[0] + y[0], x[1] + y[1]), (a, a * a), axis=0),
    )


def gathers(a):
    return (
        a[1:, ::2],
        a[0],
        a.T,
        acc.reverse(a, 0),
        acc.reverse(a[0]),
        a.reshape(12),
        acc.broadcast_to(a[:, :1], (3, 4)),
        acc.replicate(a, 2, 0),
        acc.backpermute((4, 3), lambda i, j: (j, 3 - i), a),
        acc.concatenate([a, a], axis=0),
        acc.concatenate([a, a[:, :1]], axis=-1),
        pad(a, 0.0, (1, 0), (0, 2), (0, 1)),
    )


def scatter(v, idx):
    hist = acc.permute(lambda x, y: x + y, acc.fill(5, 0.0, "float32"), lambda i: (idx[i],), v)
    evens = acc.permute(
        lambda x, y: x, acc.fill(5, -1.0, "float32"), lambda i: acc.cond(i % 2 == 0, (i // 2,), acc.IGNORE), v
    )
    return hist, evens


def stencils(a, v):
    blur = acc.stencil(lambda n: (n[0][1] + n[1][0] + n[1][1] + n[1][2] + n[2][1]) / 5.0, a, (3, 3))
    diff = acc.stencil(lambda n: n[2] - n[0], v, 3, boundary="mirror")
    wrap5 = acc.stencil(lambda n: n[0] + n[4], v, 5, boundary="wrap")
    zero = acc.stencil(lambda n: n[0] * n[2], v, 3, boundary=0.0)
    # Extents accelerate's Stencil instances lack (1, 11): printed as a generate.
    rows = acc.stencil(lambda n: n[0][0] - 2.0 * n[0][2], a, (1, 3), boundary="mirror")
    wide = acc.stencil(lambda n: n[0] + n[10] * n[5], v, 11, boundary="wrap")
    edge = acc.stencil(lambda n: n[0][1] + n[0][0], a, (1, 3), boundary=1.5)
    return blur, diff, wrap5, zero, rows, wide, edge


def loops(x):
    doubled = acc.awhile(lambda s: s.sum() < 100.0, lambda s: s * 2.0, x)
    chosen = acc.acond(x.sum() > 0.0, lambda v: v * 2.0, lambda v: -v, x)
    steps = acc.map(
        lambda e: acc.while_(lambda s: s[0] < 10.0, lambda s: (s[0] * 2.0 + 1.0, s[1] + 1), (acc.abs(e), 0))[1], x
    )
    return doubled, chosen, steps


def wide_loop(x):
    """A loop whose state is 20 arrays, wider than accelerate's ``T16``: its state nests (``T2 (T4 ...) ...``)."""
    init = (0, *(x * float(k) for k in range(19)))
    state = acc.awhile(lambda s: s[0] < 3, lambda s: (s[0] + 1, *(v * 0.5 + s[1] for v in s[1:])), init)
    return state[0], state[1] + state[19], sum(state[2:])


def wide_signature(*xs):
    """18 arrays in and 18 out, wider than accelerate's 16-tuples: the signature, the argument pattern and the
    result nest alike (``Acc ((a, b, c, d), ...)``)."""
    return tuple(x * float(k) + xs[-1 - k].sum() for k, x in enumerate(xs))


def constants_and_matmul(a, b):
    table = np.array([[1.0, -2.5], [np.inf, 0.5]], dtype=np.float32)
    flags = np.array([True, False, True])
    c = a @ b
    count = acc.where(acc.use(flags), 1, 0).sum()
    return c + acc.use(table)[0, 0], count, acc.unit(acc.the(c.sum()) * 2.0)


def batched_matmul(a, b):
    return acc.matmul(a, b)


def products(a, b, n, c, d):
    """Matrix products as the export prints them (pyaccad.export.products): a long sum (``a @ b``, inner extent
    17, not a multiple of the eight partial sums), an integer sum written out (inner extent 4, fixed by the
    constant), and a batched long sum whose right operand's transpose the program holds too (read instead)."""
    weights = acc.use(np.array([[1, -2], [3, 0], [-1, 5], [2, 2]], dtype=np.int32))
    c_t = acc.transpose(c, (0, 2, 1))
    return a @ b, n @ weights, c_t * 2.0, acc.matmul(d, c)


def multi_map(x, y):
    return acc.zip_with(lambda p, q: (p + q, p * q, p > q), x, y)


def logsumexp_rows(a):
    m = a.max(axis=1)
    shifted = a - m[:, None]
    return (acc.log(acc.exp(shifted).sum(axis=1)) + m).sum()


def custom_rules(x, y):
    """stop_gradient, a custom_vjp call and a checkpoint: exported as their bodies."""
    from pyaccad import ad

    twice = ad.custom_vjp(lambda a, b: (a * 2.0, acc.map(lambda v: ad.stop_gradient(v * v), b)))
    twice.defvjp(lambda a, b: (twice.f(a, b), None), lambda _, ct: (ct[0] * 2.0, None))
    kept = ad.checkpoint(lambda a, b: (acc.sin(a) * b, a - b))(x, ad.stop_gradient(y))
    return (*twice(x, y), *kept)


def every_elementwise(x, n, p):
    """Each ELEMENTWISE row once, on operands of a dtype it accepts (generated from the table)."""
    outs = []
    for name, row in ELEMENTWISE.items():
        operand = x if row.accepts[0].kind == "f" else n if row.accepts[0].kind == "i" else p
        (var,) = emit(name, (operand.var,) * row.arity)
        outs.append(wrap(var))
    # One result per dtype (accelerate tuples stop at 16): sums, and an `or` of the predicates.
    by_dtype = {}
    for out in outs:
        total = by_dtype.get(out.dtype)
        by_dtype[out.dtype] = out if total is None else (total | out if out.dtype == bool else total + out)
    return tuple(by_dtype.values())


CASES = [
    Case("everyElementwise", every_elementwise, (f32(3) ** 2 / 10, np.arange(1, 4), np.array([True, False, True]))),
    Case("elementwise", elementwise, (f32(5), f32(5))),
    Case("unaryTour", unary_tour, (f64(6),)),
    Case("predicates", predicates, (f32(4), np.arange(4, dtype=np.int64))),
    Case("intDivision", int_division, (np.array([7, -7, 5, 0, -3]), np.array([2, 2, 0, 3, -2]))),
    Case("reductions", reductions, (f32(3, 4),)),
    Case("tupleFold", tuple_fold, (f32(3, 4),)),
    Case("scans", scans, (f32(5), f32(3, 2))),
    Case("gathers", gathers, (f32(3, 4),)),
    Case("scatterAdd", scatter, (f32(6), np.array([0, 1, 1, 4, 3, 0]))),
    Case("stencils", stencils, (f32(4, 5), f32(6))),
    Case("loops", loops, (f32(3),)),
    Case("wideLoop", wide_loop, (f64(4),)),
    Case("wideSignature", wide_signature, tuple(f64(k % 3 + 1) for k in range(18))),
    Case("constantsAndMatmul", constants_and_matmul, (f32(2, 3), f32(3, 2))),
    Case("batchedMatmul", batched_matmul, (f64(2, 3, 4), f64(2, 4, 2))),
    Case("multiMap", multi_map, (np.arange(3, dtype=np.int32), np.ones(3, np.int32))),
    Case("logsumexpRows", logsumexp_rows, (f32(4, 6),)),
    Case("customRules", custom_rules, (f32(4), f32(4))),
    Case(
        "products",
        products,
        (f32(3, 17), f32(17, 2), RNG.integers(-9, 9, (3, 4)).astype(np.int32), f32(2, 19, 3), f32(2, 4, 19)),
    ),
]


def sum_sin_times_x(x):
    return (acc.sin(x) * x).sum()


def sum_logsumexp_rows(a):
    m = a.max(axis=1)
    return (acc.log(acc.exp(a - m[:, None]).sum(axis=1)) + m).sum()


def small_mlp(w1, b1, w2, b2, x):
    h = acc.tanh(x @ w1 + b1)
    z = h @ w2 + b2
    return -(z[:, 0] - acc.log(acc.exp(z).sum(axis=1))).mean()


def _gmm():
    sys.path.insert(0, str(Path(__file__).parents[2] / "hs"))
    from regenerate import WORKLOADS as HS_WORKLOADS

    fn, args, _ = HS_WORKLOADS["Gmm"]
    return fn, args


# The docs/WORKLOADS.md programs in the generic target's reach: (name, function, example args); all-float inputs.
GENERIC_WORKLOADS = [
    ("gmm", *_gmm()),
    ("elementwise", sum_sin_times_x, (f32(5),)),
    ("logsumexpRows", sum_logsumexp_rows, (f32(3, 4),)),
    ("mlp", small_mlp, (f32(4, 3), f32(3), f32(3, 2), f32(2), f32(5, 4))),
]


GOLDEN = ["elementwise", "reductions", "scatterAdd", "loops", "logsumexpRows", "products"]


def module_name(name: str) -> str:
    return name[0].upper() + name[1:]


def gradient_of(case: Case) -> Callable[..., Any] | None:
    """``ad.grad`` of the sum of squares of ``case``'s float results, w.r.t. its float inputs (None if none)."""
    from pyaccad import ad

    floats = tuple(i for i, a in enumerate(case.args) if np.asarray(a).dtype.kind == "f")

    def loss(*xs):
        total = 0.0
        for out in flatten(case.fn(*xs))[0]:
            if out.dtype.kind == "f":
                total = total + (out * out).sum()
        return total

    return ad.grad(loss, argnums=floats) if floats else None
