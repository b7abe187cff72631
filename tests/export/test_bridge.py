"""The accelerate bridge (``backend="accelerate"``): programs and derivatives run by GHC-compiled accelerate.

Everywhere: the generated entry modules parse (GHC's parser, ``hs_parse``), ``acc.lower``
prints them, and a missing GHC or package set is a clear ``BackendUnavailable``. Where GHC
can see accelerate and accelerate-llvm-native (``$PYACCAD_GHC_ENV``, see
:mod:`pyaccad.backends.accelerate.build`), every export-test program and its gradient runs
through the bridge and agrees with the ``interp`` backend; errors, the disk cache, threads and
process exit are checked too. Elsewhere those skip and say why.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from helpers import skip_without_bridge
from programs import CASES, gradient_of
from test_shape_generic import POSITIVE, resized

import pyaccad as acc
from pyaccad import ad
from pyaccad.backends import Retrace
from pyaccad.backends import accelerate as bridge
from pyaccad.backends.accelerate import STORE, build, library, runtime
from pyaccad.backends.accelerate.entry import START_C
from pyaccad.export import ghc
from pyaccad.frontend import trace
from pyaccad.frontend.pytree import flatten
from pyaccad.opt import optimize
from pyaccad.store import host_cpu

ROOT = Path(__file__).parents[2]
# The crossings the entry module must get right: Bool both ways, both int widths, rank 0 and rank 3, no input.
CROSSINGS = [
    ("bools", lambda m, n: (m & (n > 0), acc.where(m, n, -n)), (np.array([True, False, True]), np.arange(3) - 1)),
    ("ints", lambda i, j: (i * 3 + 1, j.sum()), (np.arange(4, dtype=np.int32), np.arange(6).reshape(2, 3))),
    ("rank0_rank3", lambda s, t: (t * s, (t * t).sum()), (np.float32(2.5), np.ones((2, 3, 4), np.float32))),
    ("no_input", lambda: acc.fill((2, 2), 1.5), ()),
    # Word8 wraps, Int16 floors, Half crosses as 2 bytes and rounds as NumPy's float16
    (
        "narrow",
        lambda b, s, h: (b * 3 + 1, s // 3 - b.astype("int16"), h * h + 1.0, b.astype("float16")),
        (np.arange(6, dtype=np.uint8) * 50, np.arange(-3, 3, dtype=np.int16), np.array([0.5, 1.5, 3.1], np.float16)),
    ),
]


def _optimized(fn, args: tuple):
    return optimize(trace(fn, *args).program, "accelerate")


def _modules(fn, args) -> dict[str, str]:
    """The modules of ``fn``'s library as ``acc.jit`` has the bridge build it (shape-generic)."""
    return library(_optimized(fn, args), build.target(), Retrace(fn, args, _optimized))[1]


@pytest.mark.parametrize("name, fn, args", CROSSINGS, ids=[c[0] for c in CROSSINGS])
def test_the_entry_module_parses_with_ghc(hs_parse, name, fn, args):
    modules = _modules(fn, args)
    assert any("foreign export ccall pyaccad_call" in source for source in modules.values())
    hs_parse(modules)


def test_lower_prints_the_exported_program_and_its_entry_point():
    text = acc.lower(lambda x: acc.sin(x) * x, np.ones(3, np.float32), backend="accelerate")
    assert text.startswith("-- accelerate target: ") and "module PyaccadProgram" in text and "map sin x" in text
    # P.f's last result is the checked reads' flag (pyaccad.export.checked), a Bool: it crosses as a byte
    flag = "A.T2 r0 r1 -> A.T2 r0 (A.map (\\b -> b A.? (1 :: A.Exp Word8, 0)) r1)"
    assert f"(\\(a0) -> case P.f (a0) of {flag})" in text
    assert "foreign export ccall pyaccad_call" in text


def _entry(modules: dict[str, str]) -> str:
    return next(source for name, source in modules.items() if name.startswith("PyaccadEntry"))


def test_native_libraries_compile_ahead_of_time_unless_they_call_blas(monkeypatch):
    """accelerate-llvm-native's ``runQ`` compiles the program while GHC builds the library; accelerate-blas's
    foreign calls cannot be embedded so, and the other targets have no ``runQ``: those keep ``runN``."""
    monkeypatch.delenv("PYACCAD_ACCELERATE_TARGET", raising=False)
    monkeypatch.setattr(runtime, "kernel_home", lambda: "/cache/accelerate/kernels/ieee")
    x, w = np.ones(3, np.float32), np.ones((3, 3), np.float32)
    entry = _entry(_modules(lambda v: acc.sin(v) * v, (x,)))
    assert "compiled = $(Target.runQ (" in entry and "runN" not in entry and "{-# OPTIONS_GHC -O1 " in entry
    monkeypatch.setattr(build, "uses_blas", lambda: True)  # as where GHC finds accelerate-blas
    blas = _modules(lambda v, m: m @ v, (x, w))
    assert any("BLAS." in source for source in blas.values())
    assert "compiled = Target.runN (" in _entry(blas) and "$(Target.runQ" not in _entry(blas)
    monkeypatch.setattr(build, "uses_blas", lambda: False)
    monkeypatch.setenv("PYACCAD_ACCELERATE_TARGET", "interpreter")
    assert "compiled = Target.runN (" in _entry(_modules(lambda v: acc.sin(v) * v, (x,)))


def test_an_ahead_of_time_librarys_key_holds_the_cpu_and_accelerates_flags(monkeypatch):
    """Its kernels were compiled for this CPU with these flags: another CPU, or other flags, build their own."""
    monkeypatch.delenv("PYACCAD_ACCELERATE_TARGET", raising=False)
    monkeypatch.setattr(runtime, "kernel_home", lambda: "/cache/accelerate/kernels/ieee")
    program = _optimized(lambda v: acc.exp(v) + 1.0, (np.ones(4),))
    key = library(program, "native")[0]
    assert library(program, "native")[0] == key
    monkeypatch.setattr(bridge, "host_cpu", lambda: "another CPU")
    assert library(program, "native")[0] != key
    monkeypatch.setattr(bridge, "host_cpu", host_cpu)
    monkeypatch.setattr(runtime, "kernel_home", lambda: "/cache/accelerate/kernels/fast-math")
    assert library(program, "native")[0] != key
    runn_key = library(program, "interpreter")[0]  # compiled at run time: neither is in its library
    monkeypatch.setattr(bridge, "host_cpu", lambda: "another CPU")
    assert library(program, "interpreter")[0] == runn_key


def test_missing_ghc_or_packages_are_named(monkeypatch, tmp_path):
    monkeypatch.setenv("PYACCAD_GHC", str(tmp_path / "no-such-ghc"))
    reason = acc.backends()["accelerate"]
    assert reason is not None and "GHC is not installed" in reason
    with pytest.raises(acc.BackendUnavailable, match="GHC is not installed"):
        acc.run(lambda x: x + 1.0, np.ones(2), backend="accelerate")
    monkeypatch.delenv("PYACCAD_GHC")
    monkeypatch.setenv("PYACCAD_ACCELERATE_TARGET", "ptx9")
    assert "'ptx9'" in acc.backends()["accelerate"]
    if ghc.ghc() is not None:
        monkeypatch.setenv("PYACCAD_ACCELERATE_TARGET", "interpreter")
        monkeypatch.setenv("PYACCAD_GHC_ENV", str(tmp_path))  # an empty package database: no accelerate there
        reason = acc.backends()["accelerate"]
        assert reason is not None and "Data.Array.Accelerate.Interpreter" in reason and "$PYACCAD_GHC_ENV" in reason
        monkeypatch.setenv("PYACCAD_ACCELERATE_TARGET", "ptx")
        reason = acc.backends()["accelerate"]
        assert reason is not None and "Data.Array.Accelerate.LLVM.PTX" in reason and "accelerate-llvm-ptx" in reason


def _cases():
    for case in CASES:
        yield case.name, case.fn, case.args
        gradient = gradient_of(case)
        if gradient is not None:
            yield f"{case.name}_grad", gradient, case.args
    yield from CROSSINGS


@pytest.mark.parametrize("name, fn, args", list(_cases()), ids=[c[0] for c in _cases()])
def test_programs_and_gradients_agree_with_interp(name, fn, args):
    """At the example's sizes, then at larger ones (every extent the export writes for every size grown) on the
    library the first call loaded: the second size builds nothing."""
    skip_without_bridge()
    jitted = acc.jit(fn, backend="accelerate")
    for step, sizes in enumerate([args, resized(fn, args, 1, name.removesuffix("_grad") in POSITIVE)]):
        builds = len(bridge.BUILDS)
        got = flatten(jitted(*sizes))[0]
        assert step == 0 or len(bridge.BUILDS) == builds, f"{name}: a new size was compiled again"
        want = flatten(acc.run(fn, *sizes, backend="interp"))[0]
        for g, w in zip(got, want, strict=True):
            g, w = np.asarray(g), np.asarray(w)
            assert g.dtype == w.dtype and g.shape == w.shape
            if w.dtype.kind in "biu":
                np.testing.assert_array_equal(g, w)
            else:
                # accelerate sums in its own order: a few ulps per term of the longest reduction, as the export's
                # integration test allows.
                tol = {np.float16: 2.0**-10, np.float32: 2e-4, np.float64: 1e-9}[w.dtype.type]
                np.testing.assert_allclose(g, w, rtol=tol, atol=tol, err_msg=f"{name} at step {step}")


# Where exp x - 1 and log (1 + x) lose their digits, erf across its three intervals (Cody's breaks at 0.46875
# and 4), tanh' on both sides of 0.625 and where it is 1. The naive formulas miss by 1e4 to 1e11 ulps at the tiny
# arguments.
SPECIAL_ARGUMENTS = np.array(
    [1e-12, -3e-9, 2e-5, -1e-3, 0.3, -0.29, 0.49, -0.5, 0.46875, 0.62, -0.63, 2.0, -3.9, 4.0, 5.5, -0.9, 6, 20, -40]
)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_printed_erf_expm1_log1p_tanh_are_accurate(dtype):
    """accelerate has no erf, expm1 or log1p (and its tanh does not vectorise): the export prints rational
    approximations (HELPERS) whose own error is far below rounding. Allowed: 32 ulps of the result, a generous
    multiple of the first-order rounding bound of their Horner-form polynomials (coefficients of one sign at the
    arguments where the quotient is taken), and the reference's own ulp (CPython's math functions, in float64)."""
    skip_without_bridge()
    x = SPECIAL_ARGUMENTS.astype(dtype)
    got = acc.jit(lambda v: (acc.erf(v), acc.expm1(v), acc.log1p(v), acc.tanh(v)), backend="accelerate")(x)
    names, references = ("erf", "expm1", "log1p", "tanh"), (math.erf, math.expm1, math.log1p, math.tanh)
    for name, values, reference in zip(names, got, references, strict=True):
        inside = x > -1 if name == "log1p" else np.ones(x.shape, bool)
        assert np.isnan(values[~inside]).all(), (name, dtype, values[~inside])  # log1p below -1: NaN, as NumPy's
        want = np.array([reference(float(v)) for v in x[inside]])
        ulp = np.spacing(np.abs(want).astype(dtype)).astype(np.float64)
        error = np.abs(values[inside].astype(np.float64) - want)
        assert (error <= 32 * ulp + np.spacing(np.abs(want))).all(), (name, dtype, x[inside], error / ulp)


def test_float_max_and_min_folds_keep_nan_infinities_and_order():
    """The export prints them as integer folds of ordered bits (vectorised by accelerate-llvm): NaN wins, as in
    NumPy and interp, where accelerate's own max (libm's fmax) would drop it."""
    skip_without_bridge()
    from meaning_programs import SPECIALS, ordered_folds

    args = (SPECIALS.astype(np.float32), SPECIALS[::-1].copy())
    got = acc.jit(ordered_folds, backend="accelerate")(*args)
    want = acc.jit(ordered_folds, backend="interp")(*args)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g, w)  # one of the elements (or the init), exactly


def test_a_gradient_through_jit_matches_native():
    skip_without_bridge()
    rng = np.random.default_rng(1)
    w, x = rng.standard_normal((5, 4)), rng.standard_normal((7, 5))

    def loss(w, x):
        return (acc.tanh(x @ w) ** 2.0).sum()

    got = acc.jit(ad.value_and_grad(loss), backend="accelerate")(w, x)
    want = ad.value_and_grad(loss)(w, x)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-10, atol=1e-12)


def test_a_haskell_exception_is_a_run_error(tmp_path):
    skip_without_bridge()
    failing = """\
{-# LANGUAGE ForeignFunctionInterface #-}
module PyaccadEntryFailing () where
import Foreign.C.String (CString, castCharToCChar)
import Foreign.C.Types (CInt (..))
import Foreign.Marshal.Array (pokeArray0)
import Foreign.Ptr (Ptr)
import Control.Exception (SomeException, displayException, evaluate, try)
import Data.Int (Int64)

foreign export ccall pyaccad_call :: Ptr (Ptr ()) -> Ptr Int64 -> Ptr (Ptr ()) -> Ptr Int64 -> CString -> CInt
                                   -> IO CInt

pyaccad_call :: Ptr (Ptr ()) -> Ptr Int64 -> Ptr (Ptr ()) -> Ptr Int64 -> CString -> CInt -> IO CInt
pyaccad_call _ _ _ _ message _ = do
  outcome <- try (evaluate (error "the program failed on purpose" :: ()))
  case outcome of
    Right () -> return 0
    Left e -> pokeArray0 0 message (map castCharToCChar (displayException (e :: SomeException))) >> return 1
"""
    # the runtime started by a library of the bridge's own, whatever ran before in this process: the first library
    # loaded starts it and installs the allocator, which this hand-written one does not export
    acc.run(lambda x: x + 1.0, np.zeros(1), backend="accelerate")
    library = tmp_path / "failing.so"
    build.build_library({"PyaccadEntryFailing": failing}, START_C, library)
    executable = runtime.Executable(runtime.load(library), [], [])
    with pytest.raises(acc.RunError, match="the program failed on purpose"):
        executable([])


def test_a_result_of_another_extent_than_the_caller_expects_is_a_run_error():
    """The library checks each result's extent against the caller's buffer before copying into it: a program
    run with output types it does not compute to raises instead of writing past the buffer."""
    skip_without_bridge()
    fn, x = (lambda v: v[1:] * 2.0), np.arange(6.0)
    program = _optimized(fn, (x,))
    key, modules = library(program, build.target(), Retrace(fn, (x,), _optimized))
    acc.run(fn, x, backend="accelerate")  # built (or found) and loaded
    (wrong,) = _optimized(fn, (np.arange(8.0),)).output_types  # 7 elements where the program makes 5
    executable = runtime.Executable(bridge._LOADED[key], program.input_types, [wrong])
    with pytest.raises(acc.RunError, match=r"a result has extent \(\(\),5\) where the caller expects \(\(\),7\)"):
        executable([x])


def test_a_built_library_is_found_on_disk_without_ghc(monkeypatch):
    skip_without_bridge()

    def fn(v):
        return acc.scanl(lambda a, b: a + b, 0.0, v * 2.0)

    x = np.arange(5.0)
    first = acc.run(fn, x, backend="accelerate")
    assert STORE.find(library(_optimized(fn, (x,)), build.target(), Retrace(fn, (x,), _optimized))[0]) is not None
    monkeypatch.setattr(bridge, "_LOADED", {})

    def no_ghc(*args, **kwargs):
        raise AssertionError("GHC was run although the library is in the cache")

    monkeypatch.setattr(build, "build_library", no_ghc)
    np.testing.assert_array_equal(acc.run(fn, x, backend="accelerate"), first)


def test_concurrent_calls_from_threads_are_correct():
    skip_without_bridge()
    step = acc.jit(lambda v: (v * v).sum(axis=1), backend="accelerate")
    inputs = [np.full((64, 256), float(k)) for k in range(8)]
    results: dict[int, np.ndarray] = {}

    def work(k: int) -> None:
        for _ in range(20):
            results[k] = step(inputs[k])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    for k in range(8):
        np.testing.assert_array_equal(results[k], np.full(64, 256.0 * k * k))


def test_a_process_keeps_ctrl_c_and_exits_cleanly():
    skip_without_bridge()
    script = (
        "import signal, numpy as np, pyaccad as acc\n"
        "print(acc.run(lambda x: (x * 2.0).sum(), np.arange(4.0), backend='accelerate'))\n"
        "print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)\n"
    )
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert ran.returncode == 0, ran.stderr  # without hs_exit at exit this process would die of SIGSEGV
    assert ran.stdout.split() == ["12.0", "True"]


def test_a_library_that_runq_declines_is_built_with_runn(monkeypatch, tmp_path):
    """accelerate-llvm-native's ``runQ`` can name two kernels' foreign imports alike (GHC: "Multiple
    declarations"): the library is then built again with ``runN``; any other GHC failure is the user's error."""
    monkeypatch.setenv("PYACCAD_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv("PYACCAD_ACCELERATE_TARGET", raising=False)
    monkeypatch.setattr(runtime, "kernel_home", lambda: "/cache/accelerate/kernels/ieee")
    monkeypatch.setattr(runtime, "build_environment", lambda: ({}, []))
    monkeypatch.setattr(runtime, "load", lambda path: path.read_bytes())
    entries: list[str] = []

    def ghc_declining(failure: str):
        def build_library(modules, c_source, output, environment=None, libraries=()):
            entries.append(_entry(modules))
            if "$(Target.runQ" in entries[-1]:
                raise acc.CompileError(f"accelerate: GHC failed (exit 1):\n{failure}")
            output.write_bytes(b"built by runN")

        return build_library

    duplicate = "M.hs:34:13: error:\n    Multiple declarations of \u2018__accelerate_llvm_native_4204a19c00\u2019"
    monkeypatch.setattr(build, "build_library", ghc_declining(duplicate))
    monkeypatch.setattr(bridge, "_LOADED", {})
    program = _optimized(lambda v: acc.exp(v) + 1.0, (np.ones(4),))
    assert bridge.BACKEND.compile(program).executable.lib == b"built by runN"
    assert len(entries) == 2 and "compiled = Target.runN (" in entries[1]
    entries.clear()
    monkeypatch.setattr(build, "build_library", ghc_declining("M.hs:3:1: error: parse error on input 'where'"))
    with pytest.raises(acc.CompileError, match="parse error"):
        bridge.BACKEND.compile(_optimized(lambda v: acc.exp(v) * 2.0, (np.ones(4),)))
    assert len(entries) == 1


def test_ghc_links_with_lld_where_it_is_installed_and_the_key_ignores_the_linker(monkeypatch, tmp_path):
    """lld links a library in about two thirds of gold's time; without it GHC keeps its own linker. The code
    is the same either way, so is the library's key."""
    monkeypatch.setattr(runtime, "kernel_home", lambda: "/cache/accelerate/kernels/ieee")
    real_which = shutil.which
    flags_given: list[list[str]] = []
    monkeypatch.setattr(ghc, "compile_modules", lambda what, sources, folder, flags, *rest: flags_given.append(flags))
    program = _optimized(lambda v: acc.exp(v) + 1.0, (np.ones(4),))
    keys = []
    for lld in ("/usr/bin/ld.lld", None):
        monkeypatch.setattr(shutil, "which", lambda name, lld=lld: lld if name == "ld.lld" else real_which(name))
        build.build_library({"M": "module M where"}, START_C, tmp_path / "lib.so", None, ["-lmvec"])
        keys.append(library(program, "native")[0])
    with_lld, without = flags_given
    assert "-optl-fuse-ld=lld" in with_lld and without == [f for f in with_lld if f != "-optl-fuse-ld=lld"]
    assert not any("fuse-ld" in flag for flag in without) and without[-1] == "-lmvec"
    assert keys[0] == keys[1]


AHEAD_OF_TIME = """
import numpy as np, pyaccad as acc
def f(x):
    return acc.awhile(lambda s: s[1] < 7, lambda s: (acc.sin(s[0]) * 0.5 + s[0], s[1] + 1), (x, np.int64(0)))[0]
x = np.linspace(-1.0, 1.0, 9)
# 1e-9: the file's float64 tolerance (accelerate's sin is libmvec's, within 4 ulps)
np.testing.assert_allclose(acc.run(f, x, backend="accelerate"), acc.run(f, x, backend="interp"), rtol=1e-9)
print("agreed")
"""


def test_a_library_compiled_ahead_of_time_runs_in_a_new_process_without_compiling_a_kernel(tmp_path):
    """GHC ran accelerate's compiler (its kernels land in accelerate's cache as it does); the library holds the
    kernels, so a new process with that cache emptied runs the program and compiles nothing."""
    skip_without_bridge()
    if build.target() != "native":
        pytest.skip(f"ahead of time on accelerate-llvm-native only (the target is {build.target()})")
    environment = {**os.environ, "PYACCAD_CACHE_DIR": str(tmp_path)}
    kernels = tmp_path / "accelerate" / "kernels"

    def run() -> None:
        ran = subprocess.run(
            [sys.executable, "-c", AHEAD_OF_TIME], capture_output=True, text=True, timeout=900, env=environment
        )
        assert ran.returncode == 0 and ran.stdout.split() == ["agreed"], ran.stderr

    run()
    assert any(kernels.rglob("*.o")), "GHC compiled no kernel"
    shutil.rmtree(kernels)
    run()
    assert not [path for path in kernels.rglob("*") if path.is_file()]


# Lanes reversed together from a tape in an awhile: each trip drops the state of the one before while kernels
# of that trip (the tape's permute) may still read it. Before the bridge kept accelerate's recent arrays alive
# (runtime.KEEP_ARRAYS and KEEP_ARRAYS_BYTES), a garbage collection freed such states under the worker threads:
# this crashed within the first few calls nearly every time, or returned wrong values.
LANE_TAPE = """
import numpy as np, pyaccad as acc
from pyaccad import ad

def f(x):
    def per(i):
        body = lambda s: (0.5 * s[0] + acc.tanh(s[0] * x[s[1] % 4] + 0.3 * x[i % 4]), s[1] + 1)
        return acc.while_(lambda s: s[1] < 5 + 9 * i, body, (x[i % 4], np.int64(0)))[0]
    return (acc.generate((5,), per) ** 2).sum()

x = np.array([0.3, -0.55, 0.7, 0.9])
expected = acc.jit(ad.grad(f), backend="interp")(x)
gradient = acc.jit(ad.grad(f), backend="accelerate")
for call in range(40):
    np.testing.assert_allclose(gradient(x), expected, rtol=1e-9, atol=1e-9, err_msg=f"call {call}")
print("agreed")
"""


def test_loops_whose_past_states_kernels_still_read_are_right_on_every_call():
    """In a process of its own, so that a crash is this test's failure. 1e-9: the file's float64 tolerance."""
    skip_without_bridge()
    ran = subprocess.run([sys.executable, "-c", LANE_TAPE], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert ran.returncode == 0, f"exit status {ran.returncode}: {ran.stderr[-2000:]}"
    assert ran.stdout.split() == ["agreed"]


def test_a_calls_arrays_are_let_go_so_the_next_call_reuses_their_memory():
    """A 16 MiB intermediate a call (the materialised ``sin x * x`` of a long sum): kept past the call, every next
    call's went to memory the process had not touched, a page fault every 4 KiB (3418 faults a call measured);
    let go once no call runs, the garbage collector gives it to the next call. Counted, not timed: fewer faults a
    call than a tenth of the intermediate's pages, in a process of its own."""
    skip_without_bridge()
    script = """
import resource, numpy as np, pyaccad as acc
x = np.random.default_rng(0).uniform(-3, 3, 2**22).astype(np.float32)
f = acc.jit(lambda x: (acc.sin(x) * x).sum(), backend="accelerate")
for _ in range(5):
    f(x)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    f(x)
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=900, cwd=ROOT)
    assert ran.returncode == 0, ran.stderr[-2000:]
    pages = 2**22 * 4 // 4096
    assert float(ran.stdout) < pages / 10, f"{ran.stdout.strip()} page faults a call"
