"""The bench's workloads are right: pyaccad's value and gradient agree with JAX, finite differences and NumPy.

Run at the ``tiny`` sizes on the interpreter, so they test the workload
definitions (and pyaccad's AD on them), not a compiled backend.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import pyaccad as acc
from pyaccad import ad
from pyaccad.bench import WORKLOADS
from pyaccad.bench.cli import CHECK_RTOL, check, main
from pyaccad.bench.gmm import reference as gmm_reference
from pyaccad.bench.heat import reference as heat_reference
from pyaccad.bench.impls import Prepared, prepare
from pyaccad.bench.lstm import reference as lstm_reference
from pyaccad.bench.registry import Workload

NAMES = list(WORKLOADS)


def _float64(arrays: tuple) -> tuple:
    return tuple(a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays)


@pytest.mark.parametrize("name", NAMES)
def test_value_and_gradient_match_jax(name):
    pytest.importorskip("jax", reason="jax is not installed: the JAX comparison of the bench cannot run")
    mine = prepare("pyaccad", WORKLOADS[name], "tiny", backend="interp")
    errors = check(mine, prepare("jax", WORKLOADS[name], "tiny"))
    assert max(errors["primal"]) < 1e-5 and max(errors["grad"]) < 1e-4, errors  # each leaf on its own scale


@pytest.mark.parametrize("name", NAMES)
def test_gradient_matches_finite_differences(name):
    workload = WORKLOADS[name]
    params, data = workload.inputs("tiny")
    params, data = _float64(params), _float64(data)
    f = acc.jit(workload.pyaccad, backend="interp")
    grads = acc.jit(ad.grad(workload.pyaccad), backend="interp")(params, *data)
    rng = np.random.default_rng(1)
    for _ in range(3):
        direction = tuple(rng.standard_normal(p.shape) for p in params)
        h = 1e-6
        plus = f(tuple(p + h * v for p, v in zip(params, direction, strict=True)), *data)
        minus = f(tuple(p - h * v for p, v in zip(params, direction, strict=True)), *data)
        numeric = (float(plus) - float(minus)) / (2 * h)
        analytic = sum(float(np.sum(g * v)) for g, v in zip(grads, direction, strict=True))
        assert analytic == pytest.approx(numeric, rel=1e-5, abs=1e-6)


def test_gmm_value_matches_the_formula():
    params, (x,) = WORKLOADS["gmm"].inputs("tiny")
    params, x = _float64(params), x.astype(np.float64)
    value = acc.run(WORKLOADS["gmm"].pyaccad, params, x, backend="interp")
    assert float(value) == pytest.approx(gmm_reference(params, x), rel=1e-12)


@pytest.mark.parametrize(("name", "reference"), [("lstm", lstm_reference), ("heat", heat_reference)])
@pytest.mark.parametrize("backend", ["interp", "native"])
def test_loop_values_match_the_formula(name, reference, backend):
    params, data = WORKLOADS[name].inputs("tiny")
    params, data = _float64(params), _float64(data)
    value = acc.run(WORKLOADS[name].pyaccad, params, *data, backend=backend)
    assert float(value) == pytest.approx(reference(params, *data), rel=1e-12)


def test_inputs_follow_workloads_md():
    (x,), () = WORKLOADS["elementwise"].inputs("small")
    assert x.shape == (2**22,) and x.dtype == np.float32 and -3 <= x.min() and x.max() <= 3
    (alphas, means, icf), (data,) = WORKLOADS["gmm"].inputs("small")
    assert (alphas.shape, means.shape, icf.shape, data.shape) == ((25,), (25, 10), (25, 55), (10_000, 10))
    params, (xs, labels) = WORKLOADS["mlp"].inputs("small")
    assert [p.shape for p in params] == [(784, 256), (256,), (256, 256), (256,), (256, 10), (10,)]
    assert not np.any(params[1]) and labels.min() >= 0 and labels.max() < 10
    assert np.std(params[0]) == pytest.approx(1 / np.sqrt(784), rel=0.05)
    (main, extra), (state, seq) = WORKLOADS["lstm"].inputs("small")
    assert (main.shape, extra.shape, state.shape, seq.shape) == ((2, 112), (3, 14), (4, 14), (1024, 14))
    assert main.dtype == np.float64 and 0 <= seq.min() and seq.max() <= 1
    (u0,), (target, clock) = WORKLOADS["heat"].inputs("small")
    assert u0.shape == target.shape == (4096,) and u0.dtype == np.float32 and clock.shape == (1000,)


def test_cli_writes_rows_summary_startup_and_checks(tmp_path, capsys):
    out = tmp_path / "rows.json"
    impls = "pyaccad,jax" if _has("jax") else "pyaccad"
    argv = ["--backend", "interp", "--size", "tiny", "--workloads", "elementwise,gmm", "--impls", impls]
    code = main([*argv, "--repeat", "3", "--json", str(out), "--check"])
    assert code == 0
    report = json.loads(out.read_text())
    assert (report["backend"], report["size"]) == ("interp", "tiny")
    assert {(r["impl"], r["workload"], r["pass"], r["size"]) for r in report["rows"]} == {
        (i, w, p, "tiny") for i in impls.split(",") for w in ("elementwise", "gmm") for p in ("primal", "grad")
    }
    # every row and startup figure was measured (a failed run or child process leaves NaN)
    assert all(math.isfinite(r[k]) for r in report["rows"] for k in ("median_ms", "min_ms"))
    startup = {(r["impl"], r["workload"]): r for r in report["startup"]}
    assert set(startup) == {(i, w) for i in impls.split(",") for w in ("elementwise", "gmm")}
    fresh = ("fresh_first_call_ms", "fresh_run_ms", "rss_before_mb", "peak_first_mb", "peak_run_mb")
    assert all(math.isfinite(row[k]) for row in startup.values() for k in fresh)
    text = capsys.readouterr().out
    assert "impl" in text and "pyaccad grad/primal" in text and "peak_run_mb" in text
    if "jax" in impls:  # the results were checked: one error per gradient leaf, each within the tolerance
        leaves = {"elementwise": 1, "gmm": 3}
        assert {name: len(errs["grad"]) for name, errs in report["checks"].items()} == leaves
        assert all(e <= CHECK_RTOL for errs in report["checks"].values() for leaf in errs.values() for e in leaf)
        assert "check gmm:" in text and "MISMATCH" not in text


def _two_leaves(small_factor: float) -> Workload:
    """``f = 1000 Σ big² + small_factor · 0.001 Σ small²``: a large and a small gradient leaf (JAX's factor is 1)."""

    def inputs(size, rng):
        return (rng.uniform(1, 2, 3).astype(np.float32), rng.uniform(1, 2, 3).astype(np.float32)), ()

    def make(factor):
        return lambda params: 1000.0 * (params[0] * params[0]).sum() + factor * 0.001 * (params[1] * params[1]).sum()

    def jax_f():
        return make(1.0)  # traced by JAX: the same arithmetic on jax.numpy arrays

    return Workload("two_leaves", "", {"tiny": {}}, inputs, make(small_factor), jax_f, lambda: None)


@pytest.mark.parametrize("small_factor", [1.0, 1.5])
def test_check_compares_each_gradient_leaf_with_its_own_magnitude(small_factor, monkeypatch, capsys):
    """A small gradient leaf 50% off (its error 1e-6 of the large leaf's magnitude) fails the check."""
    pytest.importorskip("jax", reason="jax is not installed: --check compares with JAX")
    monkeypatch.setitem(WORKLOADS, "two_leaves", _two_leaves(small_factor))
    argv = ["--backend", "interp", "--size", "tiny", "--workloads", "two_leaves", "--impls", "pyaccad"]
    code = main([*argv, "--repeat", "3", "--no-subprocess", "--check"])
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("check two_leaves"))
    if small_factor == 1.0:
        assert code == 0 and line.endswith(" ok")
    else:
        assert code == 1 and line.endswith("MISMATCH")


def test_leaf_errors_are_relative_to_each_leaf():
    def prepared(leaves):
        return Prepared("x", lambda: [np.float32(1.0)], lambda: leaves, lambda tree: [np.asarray(t) for t in tree])

    want = [np.array([1000.0, -2000.0]), np.array([1e-3, 2e-3])]
    got = [np.array([1000.0, -2000.0]), np.array([1e-3, 3e-3])]
    errors = check(prepared(got), prepared(want))
    assert errors["primal"] == [0.0]
    assert errors["grad"] == [0.0, pytest.approx(0.5)]  # 1e-3 off a leaf of magnitude 2e-3
    assert check(prepared([want[0], np.array([np.nan, 2e-3])]), prepared(want))["grad"][1] == math.inf


def test_cli_refuses_too_few_timed_calls():
    with pytest.raises(SystemExit):
        main(["--size", "small", "--repeat", "3"])


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True
