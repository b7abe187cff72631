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


def test_a_users_linker_is_left_alone():
    environ = {"LD": "/usr/bin/ld.gold"}
    assert veclib.configure(environ) is False
    assert environ == {"LD": "/usr/bin/ld.gold"}


@pytest.mark.parametrize(
    "choice",
    [{"PYACCAD_ACCELERATE_VECLIB": "0"}, {"ACCELERATE_LLVM_CLANG_PATH": "/opt/llvm/bin/clang"}],
    ids=["turned-off", "users-clang"],
)
def test_without_vector_math_the_linker_still_renames_into_place(tmp_path, choice):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    linker = _writing_linker(bin_dir)
    environ = {"PATH": str(bin_dir), "CC": str(linker), **choice}
    assert veclib.configure(environ) is False
    assert environ.get("ACCELERATE_LLVM_CLANG_PATH") == choice.get("ACCELERATE_LLVM_CLANG_PATH")
    linked = _link(environ, tmp_path)
    assert linked[:3] == [str(linker), "--shared", "-o"] and linked[3].startswith("k.so.tmp")
    assert linked[4:] == ["k.o", "-lm"]  # no -lmvec: the kernels were compiled without vector math


def _writing_linker(folder: Path, status: int = 0) -> Path:
    """A stand-in linker that writes its arguments into its ``-o`` file (and its path as they name it), and exits
    with ``status``."""
    tool = folder / "cc"
    tool.write_text(
        '#!/bin/sh\nprev=\nfor a do\n  if [ "$prev" = -o ]; then out=$a; fi\n  prev=$a\ndone\n'
        f'echo "$0 $@" > "$out"\nexit {status}\n'
    )
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    return tool


def _link(environ: dict[str, str], tmp_path: Path) -> list[str]:
    """What the stand-in linker was called with, linking ``k.so`` through ``$LD`` in a fresh folder (where
    ``k.so`` must then be the only file: the temporary renamed into place)."""
    work = tmp_path / "kernels"
    work.mkdir()
    subprocess.run([environ["LD"], "--shared", "-o", "k.so", "k.o", "-lm"], cwd=work, check=True)
    assert sorted(p.name for p in work.iterdir()) == ["k.so"]
    return (work / "k.so").read_text().split()


def _configured(tmp_path: Path, linker_status: int = 0) -> tuple[dict[str, str], Path, Path]:
    if platform.system() != "Linux" or platform.machine() != "x86_64" or ctypes.util.find_library("mvec") is None:
        pytest.skip("needs x86-64 Linux with glibc's libmvec")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    clang, linker = _echo_tool(bin_dir, "clang"), _writing_linker(bin_dir, linker_status)
    environ = {"PATH": str(bin_dir), "CC": str(linker)}
    assert veclib.configure(environ) is True  # the stand-in clang accepts the flag (it exits 0)
    return environ, clang, linker


def test_the_wrappers_add_the_flags_and_pass_everything_else(tmp_path):
    environ, clang, linker = _configured(tmp_path)
    compiled = subprocess.run(
        [environ["ACCELERATE_LLVM_CLANG_PATH"], "-O3", "-c", "-o", "k.o", "-"],
        text=True,
        capture_output=True,
        check=True,
    ).stdout.split()
    assert compiled == [str(clang), "-fveclib=libmvec", "-O3", "-c", "-o", "k.o", "-"]
    linked = _link(environ, tmp_path)
    # linked under a temporary name beside k.so, then renamed into place: no other process sees it half-written
    assert linked[:3] == [str(linker), "--shared", "-o"] and linked[3].startswith("k.so.tmp") and linked[3] != "k.so"
    assert linked[4:] == ["k.o", "-lm", "-lmvec"]


def test_a_failed_link_leaves_nothing_and_says_so(tmp_path):
    environ, _, _ = _configured(tmp_path, linker_status=3)
    work = tmp_path / "kernels"
    work.mkdir()
    ran = subprocess.run([environ["LD"], "--shared", "-o", "k.so", "k.o"], cwd=work)
    assert ran.returncode == 3 and list(work.iterdir()) == []


def test_a_clang_refusing_the_flag_is_not_wrapped(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    refusing = bin_dir / "clang"
    refusing.write_text("#!/bin/sh\necho \"error: invalid value 'libmvec' in '-fveclib=libmvec'\" >&2\nexit 1\n")
    refusing.chmod(refusing.stat().st_mode | stat.S_IXUSR)
    _echo_tool(bin_dir, "cc")
    environ = {"PATH": str(bin_dir)}
    assert veclib.configure(environ) is False
    assert "ACCELERATE_LLVM_CLANG_PATH" not in environ
    assert "-lmvec" not in Path(environ["LD"]).read_text()  # the renaming linker only


def test_a_child_process_knows_its_parents_wrappers_from_a_users_toolchain(tmp_path):
    """A child inherits the environment the parent's bridge wrote: the same wrappers, vector math and all (its
    kernels belong in the vector-math cache, :mod:`.runtime`); turned off in the child, they go; a user's clang
    named in the child stays the user's."""
    environ, _, _ = _configured(tmp_path)
    child = dict(environ)
    assert veclib.configure(child) is True and child == environ
    off = {**environ, "PYACCAD_ACCELERATE_VECLIB": "0"}
    assert veclib.configure(off) is False
    assert "ACCELERATE_LLVM_CLANG_PATH" not in off and off["LD"] != environ["LD"]  # rebuilt without -lmvec
    users = {**environ, "ACCELERATE_LLVM_CLANG_PATH": "/opt/llvm/bin/clang"}
    assert veclib.configure(users) is False and users["ACCELERATE_LLVM_CLANG_PATH"] == "/opt/llvm/bin/clang"
