"""OpenBLAS's kernel set for accelerate-blas (:mod:`pyaccad.backends.accelerate.openblas`).

The choice is checked on stand-in ``/proc/cpuinfo`` texts, and, where the bridge runs with accelerate-blas, on
the OpenBLAS a fresh process loaded with its first bridge library: the kernels it reports using are the ones the
CPU's instruction sets name.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import skip_without_bridge

from pyaccad.backends.accelerate import build, openblas

XEON_AVX512 = "processor : 0\nflags : fpu sse2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl\n"
ZEN2 = "processor : 0\nflags : fpu sse2 avx avx2 fma sha_ni\n"
OLD = "processor : 0\nflags : fpu sse2 sse3 ssse3\n"


@pytest.mark.parametrize("cpuinfo, core", [(XEON_AVX512, "SkylakeX"), (ZEN2, "Haswell"), (OLD, None)])
def test_the_kernel_set_follows_the_instruction_sets(cpuinfo, core):
    assert openblas.core_type(cpuinfo) == core


def test_avx512_without_its_byte_and_word_instructions_is_not_skylakex():
    # Knights Landing has AVX-512F but not BW/VL: SkylakeX kernels would fault there.
    knl = "flags : avx2 fma avx512f avx512cd avx512er avx512pf\n"
    assert openblas.core_type(knl) == "Haswell"


def test_a_users_choice_and_an_unknown_cpu_are_left_alone():
    users = {"OPENBLAS_CORETYPE": "Zen", "OPENBLAS_THREAD_TIMEOUT": "28"}
    assert openblas.configure(users, XEON_AVX512) is False
    assert users == {"OPENBLAS_CORETYPE": "Zen", "OPENBLAS_THREAD_TIMEOUT": "28"}
    unknown: dict[str, str] = {}
    assert openblas.configure(unknown, OLD) is False and unknown == {"OPENBLAS_THREAD_TIMEOUT": "4"}


def test_the_bridges_openblas_runs_the_named_kernels(tmp_path):
    skip_without_bridge()
    if not build.uses_blas():
        pytest.skip("accelerate-blas is not in GHC's package environment: no OpenBLAS to check")
    want = openblas.core_type(Path("/proc/cpuinfo").read_text())
    if want is None:
        pytest.skip("this CPU has neither AVX-512 nor AVX2: OpenBLAS's own choice stands")
    script = """
import ctypes, os, numpy as np, pyaccad as acc
a = np.ones((3, 4), np.float32)
acc.jit(lambda x, y: x @ y, backend="accelerate")(a, a.T)  # loads a library that calls accelerate-blas
core = ctypes.CDLL("libopenblas.so.0", mode=os.RTLD_NOLOAD | os.RTLD_LAZY)  # the copy the bridge loaded
core.openblas_get_corename.restype = ctypes.c_char_p
print(core.openblas_get_corename().decode())
"""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_CORETYPE"}
    ran = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=600)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split()[-1].lower() == want.lower()
