"""IEEE arithmetic through the accelerate bridge (:mod:`pyaccad.backends.accelerate.fastmath`).

Everywhere: the flags and the kernel cache folder the bridge gives accelerate, for each choice. Where the bridge
runs: computations that accelerate's default fast-math changes give NumPy's bits, and a kernel compiled with
fast-math in one process is not found by a process without it.

Exact equality with NumPy holds where each result is one IEEE operation, or a fixed sequence of them, on the same
inputs: IEEE 754 rounds every ``+ - * /`` correctly, so there is one right answer, and without fast-math LLVM may
neither reassociate, contract into an FMA, replace a division by a multiplication nor ignore a zero's sign.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from helpers import skip_without_bridge

import pyaccad as acc
from pyaccad.backends.accelerate import fastmath

ROOT = Path(__file__).parents[2]


@pytest.fixture
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("PYACCAD_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_ieee_by_default_with_a_cache_of_its_own(cache):
    environ: dict[str, str] = {}
    assert fastmath.configure(environ, argv=()) == cache / "accelerate" / "kernels" / "ieee"
    assert environ == {"ACCELERATE_FLAGS": "-fno-fast-math"}


def test_fast_math_on_request_with_another_cache(cache):
    environ = {"PYACCAD_ACCELERATE_FAST_MATH": "1"}
    assert fastmath.configure(environ, argv=()) == cache / "accelerate" / "kernels" / "fast-math"
    assert environ["ACCELERATE_FLAGS"] == "-ffast-math"


def test_a_users_flags_come_last_and_name_their_own_cache(cache):
    """accelerate applies its flags in order, so the user's (after ours) win; their cache folder is named by the
    whole text, so no two texts share one (and no user's flags share the two modes' folders)."""
    folders = set()
    for given in ["-fno-fusion", "-fno-fusion -ffast-math", "-fno-fusion -fno-fast-math"]:
        for fast in ["0", "1"]:
            environ = {"ACCELERATE_FLAGS": f"  {given} ", "PYACCAD_ACCELERATE_FAST_MATH": fast}
            folder = fastmath.configure(environ, argv=())
            ours = "-ffast-math" if fast == "1" else "-fno-fast-math"
            assert environ["ACCELERATE_FLAGS"] == f"{ours} {given}"
            assert folder.parent == cache / "accelerate" / "kernels" and folder.name.startswith("flags-")
            folders.add(folder)
    assert len(folders) == 6


def test_a_child_process_finds_its_parents_choice_as_its_own(cache):
    """A process started by one that ran the bridge inherits its $ACCELERATE_FLAGS: the same choice, no user flags."""
    for fast, name in [("0", "ieee"), ("1", "fast-math")]:
        parent = {"PYACCAD_ACCELERATE_FAST_MATH": fast}
        fastmath.configure(parent, argv=())
        child = dict(parent)
        assert fastmath.configure(child, argv=()).name == name and child == parent


def test_command_line_flags_name_their_own_cache(cache):
    """accelerate also reads the options between ``+ACC`` and ``-ACC`` on the process's command line."""
    plain = fastmath.configure({}, argv=["python", "run.py", "+ACC", "-ffast-math", "-ACC", "--out", "x"])
    environ: dict[str, str] = {}
    assert fastmath.configure(environ, argv=["python", "run.py", "--out", "x"]).name == "ieee"
    assert plain.name.startswith("flags-")
    assert environ["ACCELERATE_FLAGS"] == "-fno-fast-math"  # the command line's flags stay where they are


def _require_ieee() -> None:
    skip_without_bridge()
    if os.environ.get("PYACCAD_ACCELERATE_FAST_MATH") == "1":
        pytest.skip("$PYACCAD_ACCELERATE_FAST_MATH=1 chose accelerate's fast-math: IEEE results are not promised")


def _bridge(fn):
    return acc.jit(fn, backend="accelerate")


def _same_bits(got: np.ndarray, want: np.ndarray) -> None:
    assert got.dtype == want.dtype
    np.testing.assert_array_equal(got.view(f"u{got.itemsize}"), want.view(f"u{want.itemsize}"))


def _uniform(low: float, high: float, n: int, dtype: str = "float64") -> np.ndarray:
    return np.random.default_rng(7).uniform(low, high, n).astype(dtype)


def test_cancellation_is_kept():
    """``x + 1e16`` rounds to a multiple of 2 (the float64 spacing there), and subtracting 1e16 again is exact
    (Sterbenz): the result is x rounded to even, which reassociation (fast-math) folds back to x."""
    _require_ieee()
    x = _uniform(-4.0, 4.0, 4096)
    want = (x + 1e16) - 1e16
    assert np.count_nonzero(want != x) > 4000  # what fast-math's x would fail
    _same_bits(_bridge(lambda x: (x + 1e16) - 1e16)(x), want)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_division_by_three_is_correctly_rounded(dtype):
    """One correctly rounded division; fast-math's ``x * (1/3)`` rounds twice (an ulp off for about a third of x)."""
    _require_ieee()
    x = np.concatenate([_uniform(-1e6, 1e6, 1 << 15, dtype), _uniform(0.0, 1.0, 1 << 15, dtype)])
    _same_bits(_bridge(lambda x: x / 3.0)(x), x / np.array(3.0, dtype))


def test_the_sign_of_a_zero_is_kept():
    """``-(a - b)`` with ``a == b`` is ``-(+0)``: -0 under IEEE, +0 where LLVM may ignore a zero's sign (nsz)
    and computes ``b - a``. (pyaccad's optimiser itself turns a literal ``0 - x`` into ``-x``, as XLA does:
    opt/simplify.py; no rule of it touches this one.)"""
    _require_ieee()
    a = np.array([0.0, -0.0, 1.5, 0.0, -2.25, 3.0])
    b = np.array([0.0, -0.0, 1.5, -0.0, -2.25, 1.0])
    _same_bits(_bridge(lambda a, b: -(a - b))(a, b), -(a - b))


def test_two_sum_keeps_its_error_term():
    """Knuth's two-sum: ``s + e == a + b`` exactly, every step one IEEE operation. Reassociation (fast-math's
    ``reassoc``) allows ``e`` to be folded to 0; LLVM 14 did not fold it here, but nothing promises that."""
    _require_ieee()

    def two_sum(a, b):
        s = a + b
        virtual = s - a
        return s, (a - (s - virtual)) + (b - virtual)

    a = _uniform(-1.0, 1.0, 4096) * 1e8
    b = _uniform(-1.0, 1.0, 4096)
    s, e = _bridge(two_sum)(a, b)
    want_s, want_e = two_sum(a, b)
    _same_bits(s, want_s)
    _same_bits(e, want_e)
    assert np.count_nonzero(e) > 4000
    for si, ei, ai, bi in zip(s, e, a, b, strict=True):
        assert Fraction(si) + Fraction(ei) == Fraction(ai) + Fraction(bi)  # exactly, in rationals


CANCEL = """
import json, os
import numpy as np, pyaccad as acc
x = np.linspace(-4.0, 4.0, 4097)
got = acc.jit(lambda x: (x + 1e16) - 1e16, backend="accelerate")(x)
print(json.dumps({"ieee": bool(np.array_equal(got, (x + 1e16) - 1e16)), "flags": os.environ["ACCELERATE_FLAGS"],
                  "xdg": os.environ.get("XDG_CACHE_HOME")}))
"""


def test_a_kernel_compiled_with_fast_math_is_not_run_without_it(tmp_path):
    """Processes sharing a cache: the one with fast-math compiles its kernels first; the one after it, without,
    compiles the same kernels again into its own folder and gives IEEE results. The user's $XDG_CACHE_HOME stays
    in os.environ, for other libraries."""
    skip_without_bridge()
    mine = str(tmp_path / "xdg")
    env = {**os.environ, "PYACCAD_CACHE_DIR": str(tmp_path / "cache"), "XDG_CACHE_HOME": mine}
    for name in ("ACCELERATE_FLAGS", "PYACCAD_ACCELERATE_FAST_MATH"):
        env.pop(name, None)

    def run(**extra: str) -> dict:
        ran = subprocess.run(
            [sys.executable, "-c", CANCEL], capture_output=True, text=True, env={**env, **extra}, timeout=900, cwd=ROOT
        )
        assert ran.returncode == 0, ran.stderr[-2000:]
        return json.loads(ran.stdout)

    fast = run(PYACCAD_ACCELERATE_FAST_MATH="1")
    ieee = run()
    assert fast["flags"] == "-ffast-math" and ieee["flags"] == "-fno-fast-math"
    assert ieee["ieee"] and fast["xdg"] == ieee["xdg"] == mine
    kernels = {
        mode: sorted(p.name for p in (tmp_path / "cache" / "accelerate" / "kernels" / mode).rglob("*.o"))
        for mode in ("fast-math", "ieee")
    }
    assert kernels["ieee"] and kernels["ieee"] == kernels["fast-math"]  # each compiled once per mode (object code)
    assert not (tmp_path / "xdg" / "accelerate").exists()


def test_kernels_without_vector_math_have_a_cache_of_their_own(tmp_path):
    """Vector math (``-fveclib=libmvec``) rounds otherwise than libm's scalar functions, and accelerate's kernel
    key knows nothing of the clang's flags: a process with ``$PYACCAD_ACCELERATE_VECLIB=0`` compiles its kernels
    into its own folder."""
    skip_without_bridge()
    env = {**os.environ, "PYACCAD_CACHE_DIR": str(tmp_path / "cache"), "PYACCAD_ACCELERATE_VECLIB": "0"}
    for name in ("ACCELERATE_FLAGS", "PYACCAD_ACCELERATE_FAST_MATH", "ACCELERATE_LLVM_CLANG_PATH", "LD"):
        env.pop(name, None)
    ran = subprocess.run([sys.executable, "-c", CANCEL], capture_output=True, text=True, env=env, timeout=900, cwd=ROOT)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert json.loads(ran.stdout)["ieee"]
    kernels = tmp_path / "cache" / "accelerate" / "kernels"
    assert list((kernels / "ieee-scalar-math").rglob("*.o")) and not (kernels / "ieee").exists()
