"""Float ``matmul`` on the cuda backend through cuBLAS (:mod:`pyaccad.backends.cuda.cublas`).

On a GPU the products run on cuBLAS; on the CPU emulator, the same column-major strided batched calls run on
NumPy (:func:`~pyaccad.backends.cuda.cublas.emulate`), so the operand swap that makes a row-major product of
a column-major GEMM is checked everywhere; the ctypes calls themselves are checked here against a recording
stand-in for the library (the statuses, the math mode, the arguments), and for real on a GPU. Products are
compared with NumPy's in float64 within the bound of a dot product of length ``k`` (``helpers.dot_bound``).
"""

from __future__ import annotations

import ctypes
import ctypes.util

import numpy as np
import pytest
from helpers import assert_within, dot_bound

import pyaccad as acc
from pyaccad.backends.cuda import cublas
from pyaccad.backends.cuda.errors import DeviceError
from pyaccad.backends.cuda.program import Gemm, Launch, generate
from pyaccad.errors import ResourceError
from pyaccad.frontend import trace
from pyaccad.opt import optimize

RNG = np.random.default_rng(8)

SHAPES = [((3, 4), (4, 5)), ((2, 3, 33), (2, 33, 1)), ((1, 1), (1, 1)), ((5, 0), (0, 7)), ((0, 3), (3, 2))]


def _swap_last(x):
    return acc.transpose(x, (*range(x.ndim - 2), x.ndim - 1, x.ndim - 2))


def _product(a_transposed: bool, b_transposed: bool):
    """``a @ b``, each operand given as it is or as its transpose's source (read transposed by the GEMM)."""
    return lambda a, b: (_swap_last(a) if a_transposed else a) @ (_swap_last(b) if b_transposed else b)


def _operand(shape, dtype, transposed: bool) -> tuple[np.ndarray, np.ndarray]:
    """A random operand of ``shape`` and what to pass for it: itself, or its transpose's (contiguous) source."""
    x = RNG.standard_normal(shape).astype(dtype)
    return x, np.ascontiguousarray(np.swapaxes(x, -1, -2)) if transposed else x


@pytest.mark.parametrize(("a_shape", "b_shape"), SHAPES)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("transposed", [(False, False), (True, False), (False, True), (True, True)])
def test_float_products_run_on_cublas(a_shape, b_shape, dtype, transposed, cuda: str) -> None:
    (a, given_a), (b, given_b) = _operand(a_shape, dtype, transposed[0]), _operand(b_shape, dtype, transposed[1])
    f = _product(*transposed)
    steps = generate(optimize(trace(f, given_a, given_b).program, "cuda")).steps
    gemms = [s for s in steps if isinstance(s, Gemm)]
    assert [(g.a_transposed, g.b_transposed) for g in gemms] == [transposed]
    assert not [s for s in steps if isinstance(s, Launch)]  # the transposes are read by the GEMM, not copied
    got = acc.run(f, given_a, given_b, backend=cuda)
    assert_within(got, a.astype(np.float64) @ b.astype(np.float64), dot_bound(a, b), dtype)


@pytest.mark.parametrize(
    ("a_shape", "b_shape"), [((2, 7, 33), (2, 33, 5)), ((1, 1), (1, 1)), ((17, 40), (40, 33)), ((3, 0), (0, 4))]
)
@pytest.mark.parametrize("transposed", [(False, False), (True, True)])
def test_integer_products_stay_a_tiled_kernel_of_our_own(a_shape, b_shape, transposed, cuda: str) -> None:
    """Shared-memory tiles of 16 × 16: extents that are not multiples of it leave partial tiles at the edges."""
    a, b = RNG.integers(-50, 50, size=a_shape), RNG.integers(-50, 50, size=b_shape)
    given = [np.ascontiguousarray(np.swapaxes(x, -1, -2)) if t else x for x, t in zip((a, b), transposed, strict=True)]
    f = _product(*transposed)
    steps = generate(optimize(trace(f, *given).program, "cuda")).steps
    assert [(type(s).__name__, s.threads) for s in steps] == [("Launch", 256)]
    np.testing.assert_array_equal(acc.run(f, *given, backend=cuda), a @ b)


@pytest.mark.parametrize("transposed", [(False, False), (True, False), (False, True), (True, True)])
def test_the_operand_swap_reads_row_major_memory_as_cublas_would(transposed) -> None:
    """gemm_call's column-major arguments, run on host memory as cuBLAS runs them, give the row-major product."""
    batch, m, k, n = 3, 4, 5, 2
    (a, given_a), (b, given_b) = (
        _operand((batch, m, k), "float64", transposed[0]),
        _operand((batch, k, n), "float64", transposed[1]),
    )
    c = np.full((batch, m, n), np.nan)
    call = cublas.gemm_call(
        "float64", batch, m, k, n, *transposed, a=given_a.ctypes.data, b=given_b.ctypes.data, c=c.ctypes.data
    )
    cublas.emulate(call)
    assert_within(c, a @ b, dot_bound(a, b))


class _FakeCublas:
    """Records the cuBLAS calls of :class:`cublas.Blas` and answers each with the status it is given."""

    def __init__(self, **statuses: int) -> None:
        self.calls: list[tuple[str, tuple]] = []
        self.statuses = statuses

    def __getattr__(self, name: str):
        if not name.startswith("cublas") or name == "cublasGetStatusString":
            raise AttributeError(name)

        def call(*args):
            self.calls.append((name, args))
            return self.statuses.get(name, 0)

        return call


def _values(args: tuple) -> list:
    return [a.value if hasattr(a, "value") else a for a in args]


def test_cublas_is_called_in_full_precision_with_the_swapped_operands(monkeypatch) -> None:
    fake = _FakeCublas()
    monkeypatch.setattr(cublas, "library", lambda: fake)
    blas = cublas.Blas()
    call = cublas.gemm_call("float32", 2, 3, 4, 5, False, True, a=1000, b=2000, c=3000)
    blas.gemm(call)
    blas.gemm(call)
    names = [name for name, _ in fake.calls]
    assert names == ["cublasCreate_v2", "cublasSetMathMode", "cublasSetStream_v2", *["cublasSgemmStridedBatched"] * 2]
    assert _values(fake.calls[1][1])[1:] == [0]  # CUBLAS_DEFAULT_MATH: no TF32
    assert _values(fake.calls[2][1])[1:] == [None]  # the legacy default stream, the kernels' stream
    args = _values(fake.calls[3][1])
    # C (3×5) = A (3×4) @ B (4×5, given as its 5×4 source): column-major Cᵀ = op(source) · Aᵀ, op = transpose
    assert args[1:6] == [1, 0, 5, 3, 4]
    assert args[7:10] + args[10:13] + args[14:] == [2000, 4, 20, 1000, 4, 12, 3000, 5, 15, 2]


@pytest.mark.parametrize(
    ("failing", "status", "error", "message"),
    [
        ("cublasCreate_v2", 1, DeviceError, "cublasCreate_v2 failed: CUBLAS_STATUS_NOT_INITIALIZED"),
        ("cublasDgemmStridedBatched", 13, DeviceError, "CUBLAS_STATUS_EXECUTION_FAILED \\(13\\)"),
        ("cublasDgemmStridedBatched", 99, DeviceError, "an unknown cuBLAS status \\(99\\)"),
        ("cublasCreate_v2", 3, ResourceError, "out of device memory: cublasCreate_v2 failed"),
    ],
)
def test_every_cublas_status_is_checked(monkeypatch, failing, status, error, message) -> None:
    monkeypatch.setattr(cublas, "library", lambda: _FakeCublas(**{failing: status}))
    with pytest.raises(error, match=message):
        cublas.Blas().gemm(cublas.gemm_call("float64", 1, 2, 2, 2, False, False, a=8, b=16, c=24))


def test_sizes_beyond_32_bits_are_refused_by_name() -> None:
    with pytest.raises(DeviceError, match="matmul: k = 2147483648 exceeds cuBLAS's 32-bit sizes"):
        cublas.gemm_call("float32", 1, 2, 2**31, 2, False, False, a=8, b=16, c=24)


def test_cublas_is_located_by_cuda_pathfinder(monkeypatch) -> None:
    pathfinder = pytest.importorskip("cuda.pathfinder")
    asked = []

    def not_found(name: str):
        asked.append(name)
        raise pathfinder.DynamicLibNotFoundError(f"no lib{name} here")

    monkeypatch.setattr(pathfinder, "load_nvidia_dynamic_lib", not_found)
    cublas.library.cache_clear()
    try:
        with pytest.raises(DeviceError, match="matmul needs cuBLAS.*no libcublas here.*nvidia-cublas"):
            cublas.library()
        found = ctypes.util.find_library("m")
        monkeypatch.setattr(
            pathfinder, "load_nvidia_dynamic_lib", lambda name: pathfinder.LoadedDL(found, False, 0, "x")
        )
        assert cublas.library()._name == found
    finally:
        cublas.library.cache_clear()
    assert asked == ["cublas"]
