"""The native backend's build and on-disk cache: keys, reuse across shapes, corrupt entries, concurrency."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from helpers import LIBM_ULPS, assert_within, dot_bound, gamma, sum_bound, unit_roundoff

import pyaccad as acc
from pyaccad.backends import availability, get_backend
from pyaccad.backends.native import build, cache
from pyaccad.backends.native.program import generate
from pyaccad.frontend import trace
from pyaccad.opt import optimize

pytestmark = pytest.mark.skipif(availability()["native"] is not None, reason="native backend unavailable here")


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty cache directory, an empty in-process table, and a count of compiler runs."""
    monkeypatch.setenv("PYACCAD_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(cache, "_LOADED", {})
    calls = []
    real = build.run_compiler

    def counting(command):
        calls.append(command)
        return real(command)

    monkeypatch.setattr(build, "run_compiler", counting)
    return tmp_path / "native", calls


def _model(x, w):
    return acc.fold(lambda a, b: a + b, 0.0, acc.tanh(x * w[1:3] + 0.5), axis=-1)


U = unit_roundoff(np.float32) + unit_roundoff(np.float64)  # one rounding in float32 and the float64 reference's
LIBM = 2 * LIBM_ULPS * U  # a libm call's relative error, both sides


def _model_within_bound(got, x, w):
    """``_model`` within its roundings of float64: ``x·w`` and ``+ 0.5`` (tanh is 1-Lipschitz), ``tanh``, the sum."""
    product = x.astype(np.float64) * w[1:3]
    arg = product + 0.5
    terms = np.tanh(arg)
    delta = ((1 + U) ** 2 - 1) * (np.abs(product) + np.abs(arg))
    delta += LIBM * (np.abs(terms) + delta)
    bound = delta.sum(-1) + sum_bound((np.abs(terms) + delta).sum(-1), x.shape[-1] + 1, np.float32)
    assert_within(got, terms.sum(-1), bound, np.float32)


def test_new_batch_size_reuses_the_library(fresh_cache):
    _, calls = fresh_cache
    w = np.linspace(0, 1, 4).astype(np.float32)
    small, big = np.ones((8, 2), np.float32), np.ones((64, 2), np.float32)
    assert generate(trace(_model, small, w).program)[0] == generate(trace(_model, big, w).program)[0]
    f = acc.jit(_model, backend="native")
    _model_within_bound(f(small, w), small, w)
    _model_within_bound(f(big, w), big, w)
    assert len(calls) == 1
    # embedded constants are buffers, not source text: another constant value reuses the library too
    g = acc.jit(lambda x: x * np.arange(2, dtype=np.float32), backend="native")
    h = acc.jit(lambda x: x * np.arange(5, 7, dtype=np.float32), backend="native")
    np.testing.assert_array_equal(g(small)[0], [0, 1])
    np.testing.assert_array_equal(h(small)[0], [5, 6])
    assert len(calls) == 2


def _loss(w, x):
    # a batch mean: the traced program holds the literal 1/N (or N), which must not reach the C source
    rows = acc.fold(lambda a, b: a + b, 0.0, acc.tanh(x @ w) * 0.25, axis=-1)
    return acc.fold(lambda a, b: a + b, 0.0, rows) / x.shape[0]


def _gemm_bound(left, right, error):
    """How far ``left @ r̂`` computed in float32 may be from ``left @ right`` in float64, where ``|r̂ - right| ≤ error``
    (``left`` exact): the GEMM's ``γ_k`` of its magnitudes (and float64's, for the reference), and the error carried."""
    k, magnitude = left.shape[-1], np.abs(left.astype(np.float64))
    gemm = (gamma(k, np.float32) + gamma(k, np.float64)) / (1 - gamma(k, np.float64))
    return gemm * (magnitude @ (np.abs(right) + error)) + magnitude @ error


def _slope(x, w, b=None):
    """``s = 1 - tanh²(x·w + b)`` in float64, and how far its float32 computation ``1 - t·t`` may be: the GEMM
    (``dot_bound``) and ``+ b`` move ``t`` (tanh is 1-Lipschitz), tanh errs by LIBM, ``t·t`` and ``1 - ·`` round."""
    y, dy = x.astype(np.float64) @ w, dot_bound(x, w)
    if b is not None:
        y = y + b
        dy = dy + U * (np.abs(y) + dy)
    t = np.tanh(y)
    dt = dy + LIBM * (np.abs(t) + dy)
    square = (2 * np.abs(t) + dt) * dt + U * (np.abs(t) + dt) ** 2
    s = 1 - t * t
    return s, square + U * (np.abs(s) + square)


def _loss_gradient_bound(w, x):
    """``xᵀ·(c·s)`` for ``_loss``: ``c = 0.25 / N`` and its product with the slope round once each."""
    s, ds = _slope(x, w)
    c = 0.25 / x.shape[0]
    return _gemm_bound(x.T, c * s, c * (ds * (1 + U) ** 2 + np.abs(s) * ((1 + U) ** 2 - 1)))


def test_new_batch_size_including_one_reuses_the_library_for_a_gradient(fresh_cache):
    from pyaccad import ad

    _, calls = fresh_cache
    rng = np.random.default_rng(1)
    w = rng.standard_normal((3, 4)).astype(np.float32)
    g = acc.jit(ad.grad(_loss), backend="native")
    for batch in (8, 1, 5):
        x = rng.standard_normal((batch, 3)).astype(np.float32)
        # d/dw mean_i sum_j tanh(x w)_ij / 4 = xᵀ (1 - tanh²(x w)) / (4 N)
        expected = x.T @ (1 - np.tanh(x @ w) ** 2) / (4 * batch)
        assert_within(g(w, x), expected, _loss_gradient_bound(w, x), np.float32)
    assert len(calls) == 1


def _dense_loss(w, b, x):
    # d/db sums over the batch axis: a fold of length 1 at batch 1
    return acc.tanh(x @ w + b).sum()


def test_batch_of_one_reuses_the_library_of_a_bias_gradient(fresh_cache):
    from pyaccad import ad

    _, calls = fresh_cache
    rng = np.random.default_rng(2)
    w, b = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    g = acc.jit(ad.grad(_dense_loss, argnums=(0, 1)), backend="native")
    for batch in (6, 1, 3):
        x = rng.standard_normal((batch, 3)).astype(np.float32)
        slope, error = _slope(x, w, b)
        gw, gb = g(w, b, x)
        assert_within(gw, x.T.astype(np.float64) @ slope, _gemm_bound(x.T, slope, error), np.float32)
        total = error.sum(axis=0) + sum_bound((np.abs(slope) + error).sum(axis=0), batch, np.float32)
        assert_within(gb, slope.sum(axis=0), total, np.float32)
    assert len(calls) == 1


def _mean_square(w, x):
    return ((x @ w) ** 2).mean()  # divides by the literal N·4: 4 at a batch of 1


def _column_means(x):
    return x.mean(axis=0)  # divides by the literal N: 1 at a batch of 1


def test_batch_of_one_reuses_the_library_of_a_batch_mean_and_its_gradient(fresh_cache):
    """A mean's ``N`` is a literal from extents (``Lit.from_extents``): at N = 1 nothing simplifies it away."""
    from pyaccad import ad

    _, calls = fresh_cache
    rng = np.random.default_rng(3)
    w = rng.standard_normal((3, 1)).astype(np.float32)
    means, grad = acc.jit(_column_means, backend="native"), acc.jit(ad.grad(_mean_square), backend="native")
    for batch in (6, 1, 3):
        x = rng.standard_normal((batch, 3)).astype(np.float32)
        # the sum (N terms and the fold's 0.0), then one division; 2·(x·w)·(1/N), 1/N and the product rounded
        total, magnitude = x.astype(np.float64).sum(axis=0), np.abs(x.astype(np.float64)).sum(axis=0)
        error = sum_bound(magnitude, batch + 1, np.float32)
        assert_within(means(x), total / batch, (error + U * (np.abs(total) + error)) / batch, np.float32)
        y, dy = x.astype(np.float64) @ w, dot_bound(x, w)
        scaled, error = 2 * y / batch, 2 / batch * (dy * (1 + U) ** 2 + np.abs(y) * ((1 + U) ** 2 - 1))
        assert_within(grad(w, x), x.T.astype(np.float64) @ scaled, _gemm_bound(x.T, scaled, error), np.float32)
    assert len(calls) == 2  # one library for the means, one for the gradient


def test_warm_disk_cache_in_a_new_process_does_not_compile(fresh_cache):
    directory, calls = fresh_cache
    script = textwrap.dedent(
        """
        import numpy as np, pyaccad as acc
        from pyaccad.backends.native import build
        runs = []
        real = build.run_compiler
        build.run_compiler = lambda c: runs.append(c) or real(c)
        out = acc.run(lambda x: acc.exp(x).sum(), np.arange(4.0), backend="native")
        import sys
        print(len(runs), float(out), "pyaccad.backends.native.program" in sys.modules)
        """
    )
    env = {**os.environ, "PYACCAD_CACHE_DIR": str(directory.parent)}
    first = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True)
    assert first.stdout.split()[0] == "1" and second.stdout.split()[0] == "0"
    assert float(second.stdout.split()[1]) == pytest.approx(np.exp(np.arange(4.0)).sum())
    # the remembered layout spares the second process fusion and code generation, imports included
    assert first.stdout.split()[2] == "True" and second.stdout.split()[2] == "False"


def test_remembered_layouts_corrupt_stale_or_impossible_fall_back_to_the_full_path(fresh_cache):
    directory, calls = fresh_cache
    x = np.arange(6.0).reshape(2, 3)

    def run():
        cache._LOADED.clear()
        return acc.run(lambda v: acc.tanh(v) * 3.0, x, backend="native")

    exact = np.tanh(x) * 3.0
    u = unit_roundoff(np.float64)
    bound = 2 * ((1 + 2 * LIBM_ULPS * u) * (1 + u) - 1) * np.abs(exact)  # tanh, then ×3: here and in NumPy
    assert_within(run(), exact, bound, np.float64)
    (layout,) = directory.glob("*.layout")
    layout.write_bytes(layout.read_bytes()[:20])  # truncated
    assert_within(run(), exact, bound, np.float64)
    for library in directory.glob("*.so"):  # a layout whose library is gone
        library.unlink()
    assert_within(run(), exact, bound, np.float64)
    assert len(calls) == 2
    # a program holding an acc.use constant is not remembered (its text abbreviates the array)
    for entry in directory.glob("*.layout"):
        entry.unlink()
    weights = np.linspace(0, 1, 6).reshape(2, 3)
    np.testing.assert_array_equal(acc.run(lambda v: v * acc.use(weights), x, backend="native"), x * weights)  # 1 op
    assert not list(directory.glob("*.layout"))


def _only_library(directory):
    (lib,) = [p for p in directory.iterdir() if p.suffix == ".so"]
    return lib


def test_truncated_or_foreign_entry_is_rebuilt(fresh_cache, monkeypatch):
    directory, calls = fresh_cache
    x = np.arange(6.0)
    program = trace(lambda a: a * 3.0, x).program
    assert get_backend("native").compile(program)([x])[0].tolist() == (x * 3).tolist()
    lib = _only_library(directory)
    # a half-written file (a new inode, as a crashed writer would leave): must not load, must be rebuilt
    data = lib.read_bytes()
    (directory / "partial").write_bytes(data[: len(data) // 3])
    os.replace(directory / "partial", lib)
    monkeypatch.setattr(cache, "_LOADED", {})
    assert get_backend("native").compile(program)([x])[0].tolist() == (x * 3).tolist()
    assert len(calls) == 2
    # a valid library of another program under this key: its pyaccad_key() differs, so it is rebuilt
    other = trace(lambda a: a - 1.0, x).program
    monkeypatch.setattr(cache, "_LOADED", {})
    get_backend("native").compile(other)([x])
    other_lib = next(p for p in directory.iterdir() if p.suffix == ".so" and p != lib)
    (directory / "foreign").write_bytes(other_lib.read_bytes())
    os.replace(directory / "foreign", lib)
    monkeypatch.setattr(cache, "_LOADED", {})
    assert get_backend("native").compile(program)([x])[0].tolist() == (x * 3).tolist()
    assert len(calls) == 4


def test_changed_flags_give_a_new_key(monkeypatch):
    monkeypatch.delenv("PYACCAD_CFLAGS", raising=False)  # the suite may run with flags of its own (another CPU's)
    source = "int f(void) { return 1; }\n"
    base = cache.cache_key(source, [])
    monkeypatch.setenv("PYACCAD_CFLAGS", "-DPYACCAD_TEST_FLAG=1")
    assert cache.cache_key(source, []) != base
    monkeypatch.delenv("PYACCAD_CFLAGS")
    assert cache.cache_key(source, []) == base
    assert cache.cache_key(source, ["-lm"]) != base


def test_two_processes_compiling_at_once(fresh_cache):
    directory, _ = fresh_cache
    token = np.random.default_rng().integers(1 << 30)  # a program no other run has cached
    script = textwrap.dedent(
        f"""
        import numpy as np, pyaccad as acc
        out = acc.run(lambda x: acc.sqrt(x) + {token}.0, np.arange(5.0), backend="native")
        print(out.tolist())
        """
    )
    env = {**os.environ, "PYACCAD_CACHE_DIR": str(directory.parent)}
    procs = [
        subprocess.Popen([sys.executable, "-c", script], env=env, stdout=subprocess.PIPE, text=True) for _ in range(3)
    ]
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    expected = str((np.sqrt(np.arange(5.0)) + token).tolist())
    assert all(o.strip() == expected for o in outs)
    libraries = [p for p in directory.iterdir() if p.suffix == ".so"]
    assert len(libraries) == 1 and not [p for p in directory.iterdir() if p.name.count(".") > 1]


def test_no_compiler_means_backend_unavailable(monkeypatch):
    monkeypatch.setenv("CC", "/nonexistent/gcc")
    assert "no C compiler" in availability()["native"]
    with pytest.raises(acc.BackendUnavailable, match="no C compiler"):
        get_backend("native")


def test_compiler_failure_is_a_compile_error(fresh_cache, monkeypatch):
    monkeypatch.setenv("PYACCAD_CFLAGS", "-fno-such-flag-for-pyaccad")
    with pytest.raises(acc.CompileError, match="no-such-flag-for-pyaccad"):
        acc.run(lambda x: x + 1.0, np.ones(2), backend="native")


def test_prebuilt_ffi_matches_what_cffi_generates_from_the_cdef(tmp_path):
    import cffi

    from pyaccad.backends.native import ffi as prebuilt

    builder = cffi.FFI()
    builder.cdef(prebuilt.CDEF)
    builder.set_source("_pyaccad_native_ffi", None)
    builder.emit_python_code(str(tmp_path / "generated.py"))
    namespace: dict = {}
    captured: dict = {}
    generated = (tmp_path / "generated.py").read_text().replace("_cffi_backend.FFI(", "captured.update(name=")
    exec(generated.replace("import _cffi_backend", ""), {"captured": captured}, namespace)
    assert captured["_types"] == prebuilt.ffi_tables["_types"]
    assert captured["_globals"] == prebuilt.ffi_tables["_globals"]
    assert captured["_version"] == prebuilt.ffi_tables["_version"]


def _gmm_gradient():
    from pyaccad import ad
    from pyaccad.bench.registry import WORKLOADS

    workload = WORKLOADS["gmm"]
    params, data = workload.inputs("tiny")
    return ad.grad(workload.pyaccad), (params, *data)


def test_a_large_program_compiles_as_translation_units_in_parallel(fresh_cache):
    """The gmm gradient is cut into units, one compiler run each plus the link; then it is cached as one."""
    directory, calls = fresh_cache
    fn, args = _gmm_gradient()
    source, _ = generate(optimize(trace(fn, *args).program, "native"))
    units = source.count(build.UNIT_BREAK) + 1
    assert units >= 3  # two parts or more, and the entry calling them
    grads = acc.jit(fn, backend="native")(*args)
    for mine, reference in zip(grads, acc.run(fn, *args, backend="interp"), strict=True):
        np.testing.assert_allclose(mine, reference, rtol=1e-4, atol=1e-6)
    assert len(calls) == units + 1 and sum("-c" in c for c in calls) == units
    assert sorted(p.suffix for p in directory.iterdir()) == [".c", ".layout", ".sha256", ".so"]
    again = acc.jit(fn, backend="native")(*args)  # a new jit finds the remembered layout: no compiler
    assert len(calls) == units + 1 and all(np.array_equal(a, b) for a, b in zip(grads, again, strict=True))


def test_a_failing_unit_is_a_compile_error_naming_it(fresh_cache, monkeypatch):
    directory, calls = fresh_cache
    real = build.run_compiler

    def failing_second_unit(command):
        if any(arg.endswith(".1.c") for arg in command):
            return subprocess.CompletedProcess(command, 1, "", "error: pretend this unit is broken")
        return real(command)

    monkeypatch.setattr(build, "run_compiler", failing_second_unit)
    fn, args = _gmm_gradient()
    with pytest.raises(acc.CompileError, match=r"failed on .*\.1\.c:\nerror: pretend this unit is broken"):
        acc.jit(fn, backend="native")(*args)
    assert [p for p in directory.iterdir() if p.suffix in (".o", ".so")] == []  # nothing half-built is left


def test_keys_hold_the_cpu_the_code_is_compiled_for(monkeypatch):
    """``-march=native`` code from another machine sharing the cache (a network home directory) could use
    instructions this CPU lacks: the library's key, and the remembered layout's, differ from CPU to CPU."""
    from pyaccad.backends.native import layouts

    program = trace(lambda x: x * 2.0 + 1.0, np.ones(3)).program
    keys = cache.cache_key("int f(void);", []), layouts.program_key(program)
    monkeypatch.setattr(cache, "host_cpu", lambda: "another CPU")
    monkeypatch.setattr(layouts, "host_cpu", lambda: "another CPU")
    assert cache.cache_key("int f(void);", []) != keys[0]
    assert keys[1] is not None and layouts.program_key(program) != keys[1]
