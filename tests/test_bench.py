"""The bench's workloads are right: pyaccad's value and gradient agree with JAX, finite differences and NumPy.

Run at the ``tiny`` sizes on the interpreter, so they test the workload
definitions (and pyaccad's AD on them), not a compiled backend.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

import pyaccad as acc
from pyaccad import ad
from pyaccad.bench import WORKLOADS
from pyaccad.bench.cli import check, main
from pyaccad.bench.gmm import reference as gmm_reference
from pyaccad.bench.impls import prepare

NAMES = list(WORKLOADS)


def _float64(arrays: tuple) -> tuple:
    return tuple(a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays)


@pytest.mark.parametrize("name", NAMES)
def test_value_and_gradient_match_jax(name):
    pytest.importorskip("jax", reason="jax is not installed: the JAX comparison of the bench cannot run")
    mine = prepare("pyaccad", WORKLOADS[name], "tiny", backend="interp")
    errors = check(mine, prepare("jax", WORKLOADS[name], "tiny"))
    assert errors["primal"] < 1e-5 and errors["grad"] < 1e-4, errors


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


def test_inputs_follow_workloads_md():
    (x,), () = WORKLOADS["elementwise"].inputs("small")
    assert x.shape == (2**22,) and x.dtype == np.float32 and -3 <= x.min() and x.max() <= 3
    (alphas, means, icf), (data,) = WORKLOADS["gmm"].inputs("small")
    assert (alphas.shape, means.shape, icf.shape, data.shape) == ((25,), (25, 10), (25, 55), (10_000, 10))
    params, (xs, labels) = WORKLOADS["mlp"].inputs("small")
    assert [p.shape for p in params] == [(784, 256), (256,), (256, 256), (256,), (256, 10), (10,)]
    assert not np.any(params[1]) and labels.min() >= 0 and labels.max() < 10
    assert np.std(params[0]) == pytest.approx(1 / np.sqrt(784), rel=0.05)


def test_cli_writes_rows_summary_and_startup(tmp_path, capsys):
    out = tmp_path / "rows.json"
    impls = "pyaccad,jax" if _has("jax") else "pyaccad"
    code = main(
        [
            "--backend",
            "interp",
            "--size",
            "tiny",
            "--workloads",
            "elementwise,gmm",
            "--impls",
            impls,
            "--repeat",
            "3",
            "--json",
            str(out),
            "--check",
        ]
    )
    assert code == 0
    report = json.loads(out.read_text())
    assert {(r["impl"], r["workload"], r["pass"]) for r in report["rows"]} == {
        (i, w, p) for i in impls.split(",") for w in ("elementwise", "gmm") for p in ("primal", "grad")
    }
    assert all(r["min_ms"] <= r["median_ms"] for r in report["rows"])
    startup = {(r["impl"], r["workload"]): r for r in report["startup"]}
    assert startup[("pyaccad", "gmm")]["fresh_first_call_ms"] > startup[("pyaccad", "gmm")]["fresh_run_ms"] > 0
    assert startup[("pyaccad", "gmm")]["peak_first_mb"] >= startup[("pyaccad", "gmm")]["rss_before_mb"] > 0
    text = capsys.readouterr().out
    assert "impl" in text and "pyaccad grad/primal" in text and "peak_run_mb" in text


def test_cli_refuses_too_few_timed_calls():
    with pytest.raises(SystemExit):
        main(["--size", "small", "--repeat", "3"])


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True
