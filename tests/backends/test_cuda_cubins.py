"""The cuda backend's compile step without a GPU: kernels compiled by NVRTC in groups, in parallel worker
processes, and cached one kernel at a time (``backends/cuda/cubins.py``, ``workers.py``).

Each test has its own cache (``PYACCAD_CACHE_DIR`` in ``tmp_path``). What was compiled is watched by wrapping
``cubins._compile``; the parallel path is forced on small modules by lowering its thresholds, so these tests
stay fast. A CUBIN is checked to be an ELF file that names the function its kernel is found under; results of
programs compiled on the parallel path are checked against the interpreter on the CPU emulator (or the GPU).
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_close

import pyaccad as acc
from pyaccad import ad
from pyaccad.backends.cuda import cubins, workers
from pyaccad.backends.cuda.program import generate
from pyaccad.frontend import trace
from pyaccad.opt import optimize

RNG = np.random.default_rng(31)


@pytest.fixture(autouse=True)
def _own_cache(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pyaccad.backends.cuda.nvrtc import version

    try:
        version()
    except acc.BackendUnavailable as exc:
        pytest.skip(f"NVRTC is not installed: {exc}")
    monkeypatch.setenv("PYACCAD_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def compiled_kernels(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the kernels compiled since the test began (not those found in the cache)."""
    names: list[str] = []
    original = cubins._compile

    def watched(prelude, kernels, *args):
        names.extend(k.name for k in kernels)
        return original(prelude, kernels, *args)

    monkeypatch.setattr(cubins, "_compile", watched)
    return names


@pytest.fixture
def in_parallel(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The parallel path on two workers for any module of two kernels or more; the number of units each call to
    the workers compiled."""
    monkeypatch.setattr(cubins, "PARALLEL_FROM", 0)
    monkeypatch.setattr(cubins, "PER_WORKER", 1)
    monkeypatch.setattr(workers, "count", lambda: 2)
    calls: list[int] = []
    original = workers.compile_all

    def watched(sources, arch):
        calls.append(len(sources))
        return original(sources, arch)

    monkeypatch.setattr(workers, "compile_all", watched)
    return calls


def _source(f, *args) -> str:
    return generate(trace(f, *args).program).source


def _shared_then_scaled(x):
    return (acc.sin(x) / x.sum()).sum()


def _check_places(compiled: cubins.Compiled, names: list[str]) -> None:
    assert sorted(compiled.functions) == sorted(names)
    for n, function in compiled.functions.values():
        cubin = compiled.cubins[n]
        assert cubin[:4] == b"\x7fELF" and function.encode() + b"\0" in cubin


def test_split_gives_back_the_prelude_and_each_kernel() -> None:
    from pyaccad.backends.cuda.prelude import PRELUDE

    module = generate(trace(lambda x: (acc.sin(x) * x).sum(axis=1), np.ones((3, 4))).program)
    prelude, kernels = cubins.split(module.source)
    assert prelude == PRELUDE.rstrip()
    assert [name for name, _ in kernels] == module.kernels
    assert "\n\n".join([prelude, *(text for _, text in kernels)]) + "\n" == module.source


def test_serial_and_parallel_compiles_give_every_kernel(monkeypatch, tmp_path, in_parallel) -> None:
    module = generate(trace(ad.grad(_shared_then_scaled), np.ones((3, 4))).program)
    parallel = cubins.compile_module(module.source)
    assert in_parallel == [2] and len(parallel.cubins) == 2
    _check_places(parallel, module.kernels)

    monkeypatch.setenv("PYACCAD_CACHE_DIR", str(tmp_path / "serial"))
    monkeypatch.setattr(workers, "count", lambda: 1)
    serial = cubins.compile_module(module.source)
    assert in_parallel == [2] and len(serial.cubins) == 1
    _check_places(serial, module.kernels)


def test_a_kernel_of_the_primal_is_not_compiled_again_for_its_gradient(compiled_kernels) -> None:
    x = RNG.uniform(0.5, 1.5, (3, 4))
    primal, gradient = _source(_shared_then_scaled, x), _source(ad.grad(_shared_then_scaled), x)
    first = cubins.compile_module(primal)
    del compiled_kernels[:]
    second = cubins.compile_module(gradient)
    total = len(cubins.split(gradient)[1])
    assert 0 < len(compiled_kernels) < total
    assert set(first.cubins) & set(second.cubins)  # the shared kernels' CUBIN, loaded from the primal's
    _check_places(second, [name for name, _ in cubins.split(gradient)[1]])


def _bodies(f, *args) -> dict[str, str]:
    """Each kernel of the module the cuda backend runs for ``f`` (optimised as ``acc.run`` does), by name: its text
    but its first line, which names it."""
    source = generate(optimize(trace(f, *args).program, "cuda")).source
    return {name: text.split("\n", 1)[1] for name, text in cubins.split(source)[1]}


def _looped(a):
    s = acc.awhile(lambda s: s[1] < 3, lambda s: (acc.sin(s[0]) * a, s[1] + 1), (a, acc.unit(0)))[0]
    return (s * s).sum()


def test_a_gradient_compiles_only_the_kernels_its_primal_does_not_hold(cuda: str, compiled_kernels) -> None:
    """Kernels number their buffers, integers, errors and names on their own (``frames.py``), so the kernels of a
    gradient that its primal has too (the loop's trip, at other slots) come from the cache, and a kernel the
    gradient holds twice (its loops' trips) is compiled once; both programs still compute the interpreter's values."""
    x = RNG.uniform(0.5, 1.5, (5, 6))
    gradient = ad.grad(_looped)
    primal_kernels, gradient_kernels = _bodies(_looped, x), _bodies(gradient, x)
    new = set(gradient_kernels.values()) - set(primal_kernels.values())
    assert len(new) < len(set(gradient_kernels.values())) < len(gradient_kernels)  # shared, and repeated
    assert_close(acc.run(_looped, x, backend=cuda), acc.run(_looped, x, backend="interp"))
    assert sorted(compiled_kernels) == sorted(primal_kernels)  # a new cache: every kernel, each text once
    del compiled_kernels[:]
    assert_close(acc.run(gradient, x, backend=cuda), acc.run(gradient, x, backend="interp"))
    assert len(compiled_kernels) == len(new) and {gradient_kernels[name] for name in compiled_kernels} == new


def test_a_new_batch_size_compiles_nothing(compiled_kernels) -> None:
    small, large = (_source(ad.grad(_shared_then_scaled), np.ones((n, 4))) for n in (3, 50))
    cubins.compile_module(small)
    del compiled_kernels[:]
    again = cubins.compile_module(large)
    assert compiled_kernels == []
    _check_places(again, [name for name, _ in cubins.split(large)[1]])


@pytest.mark.parametrize("damaged", [".cubin", ".kernel"])
def test_a_damaged_piece_is_compiled_again(compiled_kernels, damaged: str) -> None:
    source = _source(lambda x: (acc.sin(x) * x).sum(axis=1), np.ones((3, 4)))
    names = [name for name, _ in cubins.split(source)[1]]
    cubins.compile_module(source)
    (victim, *_) = sorted((cubins.GROUPS if damaged == ".cubin" else cubins.RECORDS).directory.glob(f"*{damaged}"))
    victim.write_bytes(victim.read_bytes()[:10])  # truncated: its checksum no longer matches
    del compiled_kernels[:]
    again = cubins.compile_module(source)
    assert compiled_kernels  # what the damaged file held
    _check_places(again, names)
    del compiled_kernels[:]
    cubins.compile_module(source)
    assert compiled_kernels == []  # and it is whole again


_BROKEN = """#define TWICE(v) ((v) * 2)
extern "C" __global__ void k0(int *x) { x[0] = TWICE(1); }
extern "C" __global__ void k1(int *x) {
    x[1] = undefined_thing;
}
extern "C" __global__ void k2(int *x) { x[2] = TWICE(3); }
"""


@pytest.mark.parametrize("path", ["serial", "parallel"])
def test_an_nvrtc_error_names_its_kernel_and_carries_the_log(request, path: str) -> None:
    if path == "parallel":
        request.getfixturevalue("in_parallel")
    with pytest.raises(acc.CompileError, match="undefined_thing") as info:
        cubins.compile_module(_BROKEN)
    message = str(info.value)
    assert "of kernel k1:" in message and "kernel k0" not in message and "kernel k2" not in message
    with pytest.raises(acc.CompileError, match="of the prelude:"):
        cubins.compile_module(_BROKEN.replace("undefined_thing", "1").replace("2)\n", "2)\n__device__ int y = z;\n", 1))


def test_a_worker_that_dies_is_a_compile_error(in_parallel, monkeypatch) -> None:
    monkeypatch.setattr(workers.sys, "executable", "false")  # exits at once, status 1, nothing written
    with pytest.raises(acc.CompileError, match=r"NVRTC worker process failed \(exit status 1\)"):
        cubins.compile_module(_BROKEN.replace("undefined_thing", "1"))


def test_worker_count_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("PYACCAD_CUDA_COMPILE_WORKERS", "3")
    assert workers.count() == 3
    monkeypatch.setenv("PYACCAD_CUDA_COMPILE_WORKERS", "0")
    with pytest.raises(acc.ArgumentError, match="PYACCAD_CUDA_COMPILE_WORKERS='0'"):
        workers.count()
    monkeypatch.delenv("PYACCAD_CUDA_COMPILE_WORKERS")
    monkeypatch.setenv("PYTEST_XDIST_WORKER_COUNT", "100000")  # more test workers than cores: one each
    assert workers.count() == 1


def test_programs_compiled_in_parallel_run_as_on_the_interpreter(cuda: str, in_parallel) -> None:
    x = RNG.uniform(0.5, 1.5, (5, 6))

    def f(a):
        rows = acc.exp(a - a.max(axis=1, keepdims=True))
        return acc.scanl1(lambda p, q: p + q, rows / rows.sum(axis=1, keepdims=True), axis=0) * acc.sin(a)

    gradient = ad.grad(lambda a: (f(a) * a).sum())
    assert_close(acc.run(gradient, x, backend=cuda), acc.run(gradient, x, backend="interp"))
    assert in_parallel  # its module went through the workers


class _Driver:
    """The driver calls :meth:`.driver.Device.load` makes, recorded: a module per CUBIN, functions by name."""

    def __init__(self) -> None:
        from cuda.bindings import driver

        self.ok = driver.CUresult.CUDA_SUCCESS
        self.loaded: list[bytes] = []

    def cuCtxSetCurrent(self, context):
        return (self.ok,)

    def cuModuleLoadData(self, pointer):
        import ctypes

        self.loaded.append(ctypes.string_at(pointer, 4))
        return self.ok, len(self.loaded) - 1

    def cuModuleGetFunction(self, module, name):
        return self.ok, (module, name.decode())


def test_the_device_loads_each_cubin_once_and_finds_each_kernel_in_its_own(in_parallel) -> None:
    import threading

    from pyaccad.backends.cuda.driver import Device

    device = Device.__new__(Device)  # no GPU here: the driver's calls recorded instead
    device.driver, device.context, device.arch = _Driver(), None, "sm_90"
    device.loading, device.modules = threading.Lock(), {}
    source = _source(ad.grad(_shared_then_scaled), np.ones((3, 4)))
    loaded = device.load(source)
    assert device.load(source) is loaded and device.driver.loaded == [b"\x7fELF"] * 2
    compiled = cubins.compile_module(source)  # from the cache now: the same places
    for name, (n, function) in compiled.functions.items():
        assert loaded.function(name) == (n, function)
