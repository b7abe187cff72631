"""The generic (``Numeric.AD``) target's reach: scans, scatters, stencils, pads, concatenations, loops,
branches and checkpoints, and every benchmark workload.

Everywhere GHC is installed, each function's export parses. Where GHC also sees the ``ad`` package
(``$PYACCAD_GHC_ENV``), ``Numeric.AD.grad`` of the export, a tape over plain Haskell, agrees with
``pyaccad.ad.grad`` (a transformation of the IR; itself checked against finite differences and JAX
elsewhere) within :data:`~pyaccad.export.ad_check.RTOL` of the largest component: two independent
reverse modes over float64, whose sums may run in other orders.
"""

from __future__ import annotations

import subprocess

import numpy as np
import pytest
from helpers import require_haskell_modules
from programs import pad

import pyaccad as acc
from pyaccad import ad
from pyaccad.bench.registry import WORKLOADS
from pyaccad.export import GenericExportError, check_ad, export_generic, ghc
from pyaccad.export.ad_check import RTOL
from pyaccad.export.syntax import literal_text
from pyaccad.ir import FLOAT64

RNG = np.random.default_rng(7)
IDX = np.array([0, 3, 1, 3, 4, 0])


def _scans(v, a):
    return (
        (acc.scanl(lambda x, y: x + y, 0.5, v) ** 2).sum()
        + acc.scanr1(lambda x, y: x * y, a, axis=0).sum()
        + acc.scanr(lambda x, y: acc.maximum(x, y), -1.0, v).sum()
        + (acc.scanl1(lambda x, y: acc.minimum(x, y), a, axis=1) * a).sum()
        + (acc.scanr(lambda x, y: x + y, 0.0, a, axis=1) ** 2).sum()
    )


def _index_maps(a):
    parts = [
        a[1:, ::2],
        a.T,
        acc.reverse(a, 0),
        a.reshape(12)[::5],
        acc.broadcast_to(a[:, :1], (3, 4)),
        acc.concatenate([a, a * a], axis=0),
        acc.concatenate([a, a[:, :1]], axis=-1),
        pad(a, 0.25, (1, 0), (0, 2), (0, 1)),
    ]
    return sum((p * p).sum() * (k + 1) for k, p in enumerate(parts))


def _scatters(v):
    use = acc.use(IDX)
    hist = acc.permute(lambda x, y: x + y, acc.fill(5, 0.5), lambda i: (use[i],), v)
    evens = acc.permute(lambda x, y: x, acc.fill(5, -1.0), lambda i: acc.cond(i % 2 == 0, (i // 2,), acc.IGNORE), v)
    peak = acc.permute(lambda x, y: acc.maximum(x, y), acc.fill((), -10.0), lambda i: (), v * v)
    return (hist * hist).sum() + (evens * v[:5]).sum() + peak


def _stencils(a, v):
    blur = acc.stencil(lambda n: (n[0][1] + n[1][0] + n[1][1] * n[1][1] + n[1][2] + n[2][1]) / 5.0, a, (3, 3))
    diff = acc.stencil(lambda n: n[2] - n[0] * n[1], v, 3, boundary="mirror")
    wrap5 = acc.stencil(lambda n: n[0] * n[4], v, 5, boundary="wrap")
    zero = acc.stencil(lambda n: n[0] * n[2], v, 3, boundary=0.0)
    wide = acc.stencil(lambda n: n[0] + n[10] * n[5], v, 11, boundary="mirror")  # wider than v: reflects again
    edge = acc.stencil(lambda n: n[0][1] * n[0][0], a, (1, 3), boundary=1.5)
    return sum((s * s).sum() for s in (blur, diff, wrap5, zero, wide, edge))


def _loops(x):
    grown = acc.awhile(lambda s: s.sum() < 100.0, lambda s: s * 1.5 + 1.0, x * x + 1.0)
    chosen = acc.acond(x.sum() > 0.0, lambda w: w * acc.sin(w), lambda w: -w * w, x)
    walked = acc.map(
        lambda e: acc.while_(lambda s: s[0] < 10.0, lambda s: (s[0] * 2.0 + 1.0, s[1] * 1.5 + e), (e * e, e))[1], x
    )
    return grown.sum() + chosen.sum() + (walked * x).sum()


def _tuples(a, v):
    # lambdas of several results: per-row (max, sum), a running (sum, product), a map of two results
    best = acc.fold(lambda x, y: (acc.maximum(x[0], y[0]), x[1] + y[1]), (-10.0, 0.0), (a, a * a))
    run = acc.scanl1(lambda x, y: (x[0] + y[0], x[1] * y[1]), (v, v + 1.0))
    back = acc.scanr(lambda x, y: (x[0] + y[0], acc.minimum(x[1], y[1])), (0.5, 9.0), (v, v * v), axis=0)
    pair = acc.map(lambda e: (e * e, acc.sin(e)), v)
    parts = (best[0] * best[1], run[0] * run[1], back[0] * back[1], pair[0] + pair[1])
    return sum(p.sum() for p in parts)


def _seven(x):
    return sum(y.sum() for y in acc.map(lambda e: tuple(e * e * k for k in range(1, 8)), x))


def _erf(x):
    # both sides of erfSeries' switch (1.5), and its saturation (6)
    return (acc.erf(x * 4.0) * x).sum()


def _mods(x, y):
    # the divisor's sign, quotients of both signs; x % 0.75 by a literal
    return ((x % y) * y + (x * 3.0) % 0.75 + (-x) % (y * y + 1.0)).sum()


def _casts(x):
    steps = (x * 3.0).astype("int64")  # truncated towards zero: piecewise constant, its derivative 0
    return (x * steps.astype("float64") + acc.cast(steps % 2 == 0, "float64") * x * x).sum()


def _linalg(m, b):
    # a batch of two positive definite matrices m mᵀ + 3 I, factored, solved against, and solved directly
    spd = m @ acc.transpose(m, (0, 2, 1)) + 3.0 * np.eye(3)
    factor = acc.linalg.cholesky(spd)
    down = acc.linalg.triangular_solve(factor, b)
    up = acc.linalg.triangular_solve(factor, b, lower=True, transpose_a=True)
    upper = acc.linalg.triangular_solve(acc.transpose(factor, (0, 2, 1)), b, lower=False)
    direct = acc.linalg.solve(m + 2.0 * np.eye(3), b)  # not symmetric: pivoting
    return sum((x * x).sum() for x in (factor, down, up, upper, direct))


def _checkpointed(x):
    return ad.checkpoint(lambda a: acc.sin(a) * a)(x).sum()


REACH = [
    ("scans", _scans, (RNG.standard_normal(5), RNG.standard_normal((3, 4)))),
    ("indexMaps", _index_maps, (RNG.standard_normal((3, 4)),)),
    ("scatters", _scatters, (RNG.standard_normal(6),)),
    ("stencils", _stencils, (RNG.standard_normal((4, 5)), RNG.standard_normal(6))),
    ("loops", _loops, (RNG.standard_normal(3),)),
    ("checkpointed", _checkpointed, (RNG.standard_normal(4),)),
    ("erf", _erf, (np.array([-1.7, -0.3, 0.0, 0.2, 0.39, 0.9, 1.6, 2.0]),)),
    ("mods", _mods, (RNG.standard_normal(6) * 4.0, np.array([1.5, -0.7, 2.25, -3.0, 0.4, 1.1]))),
    ("casts", _casts, (RNG.standard_normal(6),)),
    ("linalg", _linalg, (RNG.standard_normal((2, 3, 3)), RNG.standard_normal((2, 3, 2)))),
    ("tuples", _tuples, (RNG.standard_normal((3, 4)), RNG.standard_normal(5))),
]


def _workload(name: str):
    """The benchmark workload at its tiny size in float64, as a function of its parameters alone."""
    workload = WORKLOADS[name]
    params, data = workload.inputs("tiny")
    data = tuple(d.astype(np.float64) if d.dtype.kind == "f" else d for d in data)
    return (lambda *ps: workload.pyaccad(ps, *data)), tuple(p.astype(np.float64) for p in params)


BENCH = [(name, *_workload(name)) for name in WORKLOADS]


@pytest.mark.parametrize("name, fn, args", REACH + BENCH, ids=[c[0] for c in REACH + BENCH])
def test_the_export_parses(name, fn, args, hs_parse):
    module = "R" + name[0].upper() + name[1:]
    source = export_generic(fn, *args, module=module, name=name)
    assert f"{name}Flat :: RealFloat a => [a] -> a" in source
    hs_parse({module: source})


def test_the_export_computes_what_the_interpreter_does(tmp_path):
    """Every function's export, compiled by plain GHC with ``vector`` (Debian's ``libghc-vector-dev``; no ``ad``
    needed) and run at its arguments, against pyaccad's interpreter: both in float64, with sums in orders that
    may differ, so within :data:`RTOL` of the value's scale, as :func:`check_ad`'s gradients."""
    require_haskell_modules("Data.Vector", why="GHC cannot import Data.Vector (Debian: libghc-vector-dev)")
    modules, prints, expected = {}, [], []
    for name, fn, args in REACH + BENCH:
        module = "V" + name[0].upper() + name[1:]
        modules[module] = export_generic(fn, *args, module=module, name=name)
        values = ", ".join(literal_text(v, FLOAT64) for a in args for v in np.ravel(a).tolist())
        prints.append(f"  print ({module}.{name}Flat [{values}] :: Double)")
        expected.append(float(acc.run(fn, *args, backend="interp")))
    imports = [f"import qualified {module}" for module in modules]
    main = "\n".join(["module Main (main) where", *imports, "main :: IO ()", "main = do", *prints])
    ghc.compile_modules("the generic values", {**modules, "Main": main}, tmp_path, ["-O0"], tmp_path / "values")
    ran = subprocess.run([str(tmp_path / "values")], capture_output=True, text=True, timeout=120, check=True)
    got = [float(line) for line in ran.stdout.split()]
    for (name, _, _), value, reference in zip(REACH + BENCH, got, expected, strict=True):
        assert abs(value - reference) <= RTOL * max(abs(reference), 1.0), (name, value, reference)


def test_a_program_of_several_results_returns_a_tuple(tmp_path):
    require_haskell_modules("Data.Vector", why="GHC cannot import Data.Vector (Debian: libghc-vector-dev)")
    x = np.array([0.5, -2.0, 3.0])
    source = export_generic(lambda x: (x * x, x.sum()), x, module="Pair", name="pair")
    assert "pair :: RealFloat a => Vector a -> (Vector a, a)" in source and "pairFlat" not in source
    main = "module Main (main) where\nimport Data.Vector (Vector, fromList)\nimport Pair\nmain :: IO ()\n"
    main += "main = print (pair (fromList [0.5, -2.0, 3.0]) :: (Vector Double, Double))\n"
    ghc.compile_modules("a pair", {"Pair": source, "Main": main}, tmp_path, ["-O0"], tmp_path / "pair")
    ran = subprocess.run([str(tmp_path / "pair")], capture_output=True, text=True, timeout=120, check=True)
    assert ran.stdout.strip() == "([0.25,4.0,9.0],1.5)"  # exact: squares and sums of halves and small integers


def _require_ad() -> None:
    require_haskell_modules("Numeric.AD", "Data.Vector", why="ad is unavailable here")


@pytest.mark.parametrize("name, fn, args", REACH + BENCH, ids=[c[0] for c in REACH + BENCH])
def test_numeric_ad_agrees(name, fn, args):
    _require_ad()
    result = check_ad(fn, *args)
    assert result.ok, (name, result)
    assert np.isfinite(result.pyaccad).all()


@pytest.mark.parametrize(
    "fn, match",
    [
        (_seven, "wider than Data.Vector's unzip6"),
    ],
    ids=["seven-results"],
)
def test_what_the_target_cannot_print_is_named(fn, match):
    with pytest.raises(GenericExportError, match=match):
        export_generic(fn, np.ones(4))


def test_a_function_with_its_own_derivative_says_so():
    _require_ad()
    # x * stop_gradient(x): pyaccad's gradient is x (the rule), ad's 2x (what f computes); named, not hidden
    result = check_ad(lambda x: (x * ad.stop_gradient(x)).sum(), np.array([1.0, 2.0]))
    assert not result.ok and "stop_gradient at test_generic_reach.py" in result.own_derivative
    np.testing.assert_array_equal(result.ad, 2.0 * result.pyaccad)
    # a log-sum-exp shifted by its stopped maximum (the workload's form): the rule changes nothing
    name, fn, args = BENCH[1]
    shifted = check_ad(fn, *args)
    assert name == "logsumexp_rows" and shifted.ok and "stop_gradient" in shifted.own_derivative


def test_equal_infinities_agree():
    _require_ad()
    # both gradients overflow alike: agreement, not a NaN difference
    result = check_ad(lambda x: acc.exp(x * x).sum(), np.array([30.0, 1.0]))
    assert result.ok and np.isinf(result.ad[0]) and result.pyaccad[0] == result.ad[0]
