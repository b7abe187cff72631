"""accelerate-llvm-native's toolchain with vector math (:mod:`pyaccad.backends.accelerate.veclib`).

The wrappers are checked by running them over stand-ins for clang and the linker that print their arguments;
that the kernels then call libmvec is measured in BENCHMARKS.md, and the bridge's results are checked against
interp by test_bridge.py with the wrappers in place.
"""

from __future__ import annotations

import ctypes.util
import platform
import stat
import subprocess
from pathlib import Path

import pytest

from pyaccad.backends.accelerate import veclib


def _echo_tool(folder: Path, name: str) -> Path:
    tool = folder / name
    tool.write_text('#!/bin/sh\necho "$0 $@"\n')
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return tool


@pytest.mark.parametrize(
    "environ",
    [
        {"PYACCAD_ACCELERATE_VECLIB": "0"},
        {"ACCELERATE_LLVM_CLANG_PATH": "/opt/llvm/bin/clang"},
        {"LD": "/usr/bin/ld.gold"},
    ],
    ids=["turned-off", "users-clang", "users-linker"],
)
def test_a_users_choice_is_left_alone(environ):
    before = dict(environ)
    assert veclib.configure(environ) is False
    assert environ == before


def test_the_wrappers_add_the_flags_and_pass_everything_else(tmp_path):
    if platform.system() != "Linux" or platform.machine() != "x86_64" or ctypes.util.find_library("mvec") is None:
        pytest.skip("needs x86-64 Linux with glibc's libmvec")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    clang, linker = _echo_tool(bin_dir, "clang"), _echo_tool(bin_dir, "cc")
    environ = {"PATH": str(bin_dir), "CC": str(linker)}
    assert veclib.configure(environ) is True  # the stand-in clang accepts the flag (it exits 0)
    compiled = subprocess.run(
        [environ["ACCELERATE_LLVM_CLANG_PATH"], "-O3", "-c", "-o", "k.o", "-"],
        text=True,
        capture_output=True,
        check=True,
    ).stdout.split()
    assert compiled == [str(clang), "-fveclib=libmvec", "-O3", "-c", "-o", "k.o", "-"]
    linked = subprocess.run(
        [environ["LD"], "--shared", "-o", "k.so", "k.o", "-lm"], text=True, capture_output=True, check=True
    ).stdout.split()
    assert linked == [str(linker), "--shared", "-o", "k.so", "k.o", "-lm", "-lmvec"]


def test_a_clang_refusing_the_flag_is_not_wrapped(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    refusing = bin_dir / "clang"
    refusing.write_text("#!/bin/sh\necho \"error: invalid value 'libmvec' in '-fveclib=libmvec'\" >&2\nexit 1\n")
    refusing.chmod(refusing.stat().st_mode | stat.S_IXUSR)
    _echo_tool(bin_dir, "cc")
    environ = {"PATH": str(bin_dir)}
    assert veclib.configure(environ) is False
    assert "ACCELERATE_LLVM_CLANG_PATH" not in environ and "LD" not in environ
