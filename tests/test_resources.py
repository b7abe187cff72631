"""Running out of a resource: an allocation no machine can satisfy is an ``acc.ResourceError`` naming the
operation, the bytes and the user's line; an unusable ``$PYACCAD_CACHE_DIR`` warns and falls back."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import pyaccad as acc
from pyaccad import store

HUGE = 10**17  # float64 elements: 800 PB, beyond the address space of any x86-64 (at most 2**57 bytes)


def test_impossible_allocations_are_resource_errors(backend: str) -> None:
    with pytest.raises(acc.ResourceError) as info:
        acc.run(lambda: acc.fill((HUGE,), 0.0), backend=backend)
    message = str(info.value)
    assert f"broadcast_in_dim needs {HUGE * 8} bytes (710.5 PiB) for a float64 array of shape ({HUGE},)" in message
    assert f"on the {backend} backend" in message and "test_resources.py" in message
    assert isinstance(info.value, MemoryError)
    # The array the arithmetic makes, not the broadcast it reads (a view, or fused away).
    with pytest.raises(acc.ResourceError, match=r"mul needs 8000000000000 bytes \(7.3 TiB\)") as info:
        acc.run(lambda x: acc.broadcast_to(x, (10**6, 10**6)) * x, np.ones(10**6), backend=backend)
    # The program still runs afterwards.
    np.testing.assert_array_equal(acc.run(lambda: acc.fill((2,), 1.0), backend=backend), np.ones(2))


def test_a_cache_dir_that_is_a_file_warns_and_falls_back(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    not_a_dir = tmp_path / "cache"
    not_a_dir.write_text("a file, not a directory")
    monkeypatch.setenv("PYACCAD_CACHE_DIR", str(not_a_dir))
    with pytest.warns(RuntimeWarning, match="is not a usable directory \\(it is a file\\); using the private"):
        root = store.cache_root()
    assert root.is_dir() and root != not_a_dir and (root.stat().st_mode & 0o077) == 0  # private to the user
    assert store.cache_root() == root  # decided once per setting: one warning
    monkeypatch.setenv("PYACCAD_CACHE_DIR", str(not_a_dir / "below"))
    with pytest.warns(RuntimeWarning, match="not a usable directory"):
        assert store.cache_root().is_dir()


@pytest.mark.skipif(acc.backends()["native"] is not None, reason="the native backend cannot run here")
def test_native_programs_compile_with_a_file_as_cache_dir(tmp_path) -> None:
    cache = tmp_path / "cache"
    cache.write_text("")
    code = "import numpy as np, pyaccad as acc; print(acc.run(lambda x: x * 2.0 + 1.0, np.ones(2), backend='native'))"
    env = {**os.environ, "PYACCAD_CACHE_DIR": str(cache)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    assert (
        done.stdout.strip() == "[3. 3.]" and "RuntimeWarning" in done.stderr and "not a usable directory" in done.stderr
    )


def test_device_allocations_beyond_the_device_are_resource_errors(cuda: str) -> None:
    from pyaccad.backends.cuda import device as cuda_device

    device = cuda_device()  # the GPU, or the CPU emulator of it (the cuda fixture chose)
    with pytest.raises(acc.ResourceError, match=r"cuda: out of device memory: cuMemAlloc\(800000000000000000 bytes"):
        device.alloc(HUGE * 8)
    with pytest.raises(acc.ResourceError, match="broadcast_in_dim needs 800000000000000000 bytes"):
        acc.run(lambda: acc.fill((HUGE,), 0.0), backend=cuda)
