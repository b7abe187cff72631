"""The cuda backend: its availability, ``acc.lower`` without a GPU, control flow, errors, random programs.

Programs run through the ``cuda`` fixture: on the GPU where there is one, else on the backend's CPU
emulator (``PYACCAD_CUDA_EMULATE``), which runs the same kernels and host schedule one thread at a time
and checks that every module also compiles for the GPU with NVRTC. References are NumPy or the
interpreter, with the suite's tolerances by dtype (``helpers.TOLERANCES``): CUDA's math functions are
within 2 ulp, and a fold or scan may associate differently from the interpreter's.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_close

import pyaccad as acc
from pyaccad import ad, nn
from pyaccad.backends import availability
from pyaccad.opt import optimize

sys.path.insert(0, str(Path(__file__).parents[1] / "opt"))
from program_gen import random_inputs, random_program  # noqa: E402

RNG = np.random.default_rng(21)


def _nvrtc_reason() -> str | None:
    try:
        from pyaccad.backends.cuda.nvrtc import version

        version()
    except Exception as exc:
        return str(exc)
    return None


def test_without_a_gpu_the_reason_is_named(monkeypatch) -> None:
    monkeypatch.delenv("PYACCAD_CUDA_EMULATE", raising=False)
    reason = availability()["cuda"]
    if reason is None:
        pytest.skip("this machine has a GPU: the cuda backend is available")
    assert any(word in reason for word in ("driver", "GPU", "cuda-bindings")), reason
    with pytest.raises(acc.BackendUnavailable, match="backend 'cuda' is unavailable"):
        acc.run(lambda x: x + 1.0, np.ones(2), backend="cuda")


def test_lower_prints_cuda_kernels_compiled_by_nvrtc_without_a_gpu(monkeypatch) -> None:
    reason = _nvrtc_reason()
    if reason is not None:
        pytest.skip(f"NVRTC is not installed: {reason}")
    monkeypatch.delenv("PYACCAD_CUDA_EMULATE", raising=False)
    text = acc.lower(lambda x: (acc.sin(x) * x).sum(axis=1), np.ones((3, 4), np.float32), backend="cuda")
    assert "kernels:" in text and 'extern "C" __global__ void k0' in text and "sin(" in text


def test_nvrtc_errors_carry_its_log() -> None:
    reason = _nvrtc_reason()
    if reason is not None:
        pytest.skip(f"NVRTC is not installed: {reason}")
    from pyaccad.backends.cuda.cubins import compile_module

    with pytest.raises(acc.CompileError, match="undefined_thing"):
        compile_module('extern "C" __global__ void k(int *x) { x[0] = undefined_thing; }')


def test_control_flow_on_cuda(cuda: str) -> None:
    x = RNG.uniform(0.5, 1.5, size=(3, 4))

    def f(a):
        doubled = acc.awhile(lambda s: s.sum() < 100.0, lambda s: s * 2.0 + 1.0, a)
        chosen = acc.acond(a.sum() > 5.0, lambda v: v * 3.0, lambda v: -v, a)
        counted = acc.awhile(lambda s: s[1] < 3, lambda s: (s[0] * 1.5, s[1] + 1), (a, acc.unit(0)))
        return doubled, chosen, counted[0], counted[1]

    for got, want in zip(acc.run(f, x, backend=cuda), acc.run(f, x, backend="interp"), strict=True):
        assert_close(got, want)


def test_gradients_through_loops_and_checkpoints_on_cuda(cuda: str) -> None:
    x = RNG.normal(size=(4, 6))
    w = RNG.normal(size=(6, 6)) / 4

    def f(a):
        h = ad.checkpoint(lambda v: acc.tanh(v @ w))(a)
        s = acc.awhile(lambda s: s[1] < 3, lambda s: (acc.sin(s[0]) * h, s[1] + 1), (h, acc.unit(0)))[0]
        return nn.logsumexp(s, axis=1).sum()

    assert_close(acc.run(ad.grad(f), x, backend=cuda), acc.run(ad.grad(f), x, backend="interp"))


def _same_bounds_error(f, args: tuple, cuda: str, index: str) -> None:
    """``f`` on ``args`` fails on ``cuda`` with the interpreter's first line, which names the bad ``index``."""
    with pytest.raises(acc.IndexOutOfBounds) as interp:
        acc.run(f, *args, backend="interp")
    with pytest.raises(acc.IndexOutOfBounds) as gpu:
        acc.run(f, *args, backend=cuda)
    assert str(gpu.value).splitlines()[0] == str(interp.value).splitlines()[0]
    assert index in str(gpu.value)


def test_out_of_bounds_on_cuda_names_the_index_as_interp_does(cuda: str) -> None:
    idx = np.array([0, 4, 7, 2, 9])  # the first bad read is at position 2, index 7
    _same_bounds_error(lambda t, i: acc.map(lambda k: t[k] * 2.0, i), (np.arange(5.0), idx), cuda, "(7,)")


def test_out_of_bounds_in_a_later_kernel_names_its_own_read(cuda: str) -> None:
    """Each kernel numbers its errors from 1 (``frames.py``): a failure in the second kernel with a check is named by
    that kernel's read (of an array of 5 elements), not by the first kernel's read (of 7) of the same error number."""
    good, bad = np.array([0, 6, 1]), np.array([1, 6, 2])

    def f(u, t, i, j):
        total = acc.map(lambda k: u[k], i).sum()
        return acc.map(lambda k: t[k] * total, j)

    _same_bounds_error(f, (np.arange(7.0), np.arange(5.0), good, bad), cuda, "shape (5,)")


def test_out_of_bounds_in_a_scan_of_many_tiles_names_the_first_index(cuda: str) -> None:
    """A gather fused into a scan's reads fails in a tile that took its prefix by look-back: the failing launch runs
    again (its tiles' status cleared again) to find the first failure, as the interpreter names it."""
    table = np.arange(5.0)
    idx = np.zeros(5000, np.int64)
    idx[[3000, 4500]] = 7, 9

    def f(t, i):
        return acc.scanl1(lambda p, q: p + q, acc.map(lambda k: t[k], i))

    _same_bounds_error(f, (table, idx), cuda, "(7,)")


def test_scatters_on_cuda(cuda: str) -> None:
    """``+`` by atomics, max by compare-and-swap (NumPy's NaN rule), a general combine in one thread."""
    x = RNG.normal(size=50)
    x[7] = np.nan
    idx = RNG.integers(0, 6, size=50)
    defaults = np.zeros(6)

    def f(d, a, i):
        add = acc.permute(lambda p, q: p + q, d, lambda k: (i[k],), a)
        top = acc.permute(acc.maximum, d, lambda k: (i[k],), a)
        last = acc.permute(lambda p, q: p * 0.5 + q, d, lambda k: (i[k],), a)
        return add, top, last

    for got, want in zip(
        acc.run(f, defaults, x, idx, backend=cuda), acc.run(f, defaults, x, idx, backend="interp"), strict=True
    ):
        assert_close(got, want)


@pytest.mark.parametrize("seed", range(8))
def test_random_programs_and_their_gradients_on_cuda(seed: int, cuda: str) -> None:
    from pyaccad.backends import get_backend
    from pyaccad.frontend.tracing import call_program

    program = random_program(seed, n_steps=12)
    inputs = random_inputs(seed)
    with np.errstate(all="ignore"):
        expected = get_backend("interp").compile(program)(inputs)
    for got, want in zip(get_backend(cuda).compile(optimize(program, "cuda"))(inputs), expected, strict=True):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)
    a, b = inputs
    grad = ad.grad(lambda x, y: sum(out.sum() for out in call_program(program, [x, y])), argnums=(0, 1))
    with np.errstate(all="ignore"):
        want_grads = acc.jit(grad, backend="interp")(a, b)
    for got, want in zip(acc.jit(grad, backend=cuda)(a, b), want_grads, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True)


def test_device_arrays_stay_on_the_device(cuda: str) -> None:
    """``acc.device_put`` arrays go into jitted functions without a copy and come out as device arrays."""
    from pyaccad.backends.cuda import device

    x = RNG.normal(size=(64, 32))
    on_device = acc.device_put(x, backend=cuda)
    assert on_device.shape == x.shape and on_device.dtype == x.dtype
    np.testing.assert_array_equal(on_device.to_numpy(), x)
    step = acc.jit(lambda a: (acc.tanh(a) * 2.0, a.sum(axis=0)), backend=cuda)
    uploaded = getattr(device(), "uploaded", None)
    before = len(uploaded) if uploaded is not None else 0
    doubled, sums = step(on_device)
    if uploaded is not None:  # the emulator counts its copies: none of the input's 16 KiB went up again
        assert x.nbytes not in uploaded[before:]
    assert type(doubled).__name__ == "DeviceArray" and doubled.shape == x.shape
    assert_close(np.asarray(doubled), np.tanh(x) * 2.0)
    assert_close(sums.to_numpy(), x.sum(axis=0))
    again, _ = step(doubled)  # a result feeds the next call where it is
    assert_close(again.to_numpy(), np.tanh(np.tanh(x) * 2.0) * 2.0)
    host, _ = step(x)  # NumPy in, NumPy out
    assert isinstance(host, np.ndarray)
    np.testing.assert_array_equal(acc.device_put(x, backend="native"), x)  # host backends keep host arrays


def test_a_scalar_put_on_the_device_keeps_its_shape(cuda: str) -> None:
    scalar = acc.device_put(np.float64(2.5), backend=cuda)
    assert scalar.shape == () and scalar.to_numpy() == 2.5


def test_sliced_folds_on_cuda(cuda: str) -> None:
    """A fold of few long lines runs as slices folded in parallel and merged in order: non-commutative combines,
    start values, tuple folds and several lines keep their meaning."""
    from pyaccad.backends.cuda.program import Launch, generate
    from pyaccad.frontend import trace

    n = 5000
    x = RNG.integers(-3, 4, size=n).astype(np.int64)
    v = RNG.normal(size=(3, n))

    def f(a, b):
        last = acc.fold1(lambda p, q: q, a)  # associative, not commutative: the last element
        total = acc.fold(lambda p, q: p + q, 7, a)  # a start value, folded in once
        best = acc.fold1(lambda p, q: acc.cond(q[0] > p[0], q, p), (b, acc.generate(b.shape, lambda i, j: j)))
        return last, total, best[0], best[1]

    program = optimize(trace(f, x, v).program, "cuda")
    launches = [s.kernel for s in generate(program).steps if isinstance(s, Launch)]
    assert len(launches) >= 2 * 2  # the 1-line folds, at least, run as slices and a merge
    last, total, top, where = acc.run(f, x, v, backend=cuda)
    assert last == x[-1] and total == x.sum() + 7
    np.testing.assert_array_equal(top, v.max(axis=1))
    np.testing.assert_array_equal(where, v.argmax(axis=1))


def test_availability_says_why_when_the_cuda_package_is_absent(monkeypatch):
    """Without cuda-bindings, ``find_spec("cuda.bindings")`` raises (no parent ``cuda``): the reason must say so."""
    import importlib.util

    real = importlib.util.find_spec

    def find_spec(name, *args):
        if name == "cuda":
            return None
        if name.startswith("cuda."):
            raise ModuleNotFoundError(f"No module named {name.split('.')[0]!r}")
        return real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    assert "cuda-bindings is not installed" in availability()["cuda"]


def test_positions_split_in_32_bits_unless_an_array_reaches_2_to_the_31(cuda: str) -> None:
    from pyaccad.backends.cuda.program import generate
    from pyaccad.frontend.tracing import trace_program
    from pyaccad.ir import FLOAT32, ArrayType

    def f(a):
        return acc.map(lambda v: v * 2.0, a.T) + 1.0

    small = generate(optimize(trace_program(f, [ArrayType(FLOAT32, (3, 5, 2, 4))])[0], "cuda"))
    large = generate(optimize(trace_program(f, [ArrayType(FLOAT32, (1 << 8, 1 << 8, 1 << 8, 1 << 7))])[0], "cuda"))
    # the grid's counters, and the outer axes' split (:mod:`pyaccad.backends.cuda.grids`)
    for text in ("for (uint32_t x = ", "= (uint32_t)(z);"):
        assert text in small.source and text not in large.source
    assert "for (int64_t x = " in large.source
    # and the 32-bit split computes what interp does (a transpose reads every position through it)
    x = RNG.standard_normal((5, 7, 3, 6)).astype(np.float32)
    np.testing.assert_array_equal(acc.run(f, x, backend=cuda), acc.run(f, x, backend="interp"))
