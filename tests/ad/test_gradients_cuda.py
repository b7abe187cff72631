"""The derivative table on the cuda backend (GPU, or its CPU emulator): gradients and JVPs against interp.

Every program of :data:`ad_programs.PROGRAMS`, its gradient of a weighted sum and its JVP, run by the cuda
backend and by the interpreter. CUDA's functions are within 2 ulp of the exact result (the CUDA C
Programming Guide's tables, double and single), the CPU's libm within 4 (``helpers.LIBM_ULPS``), and the
two backends may associate a fold or scan differently; through these programs' few dozen operations that
stays inside the suite's tolerance for the least precise float type a program computes in
(``helpers.TOLERANCES``); only a wrong kernel misses.
"""

from __future__ import annotations

import numpy as np
import pytest
from ad_programs import PROGRAMS
from helpers import TOLERANCES

import pyaccad as acc
from pyaccad import ad
from pyaccad.frontend import trace
from pyaccad.ir import Program

RNG = np.random.default_rng(13)


def _least_precise(program: Program) -> np.dtype:
    """The float dtype of least precision any value of ``program`` has (nested programs included)."""
    found = {v.dtype for v in program.inputs if v.dtype.kind == "f"}
    for stmt in program.stmts:
        found |= {v.dtype for v in stmt.outs if v.dtype.kind == "f"}
        found |= {_least_precise(sub) for sub in stmt.subprograms()}
    return min(found, key=lambda d: d.itemsize) if found else np.dtype("float64")


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_gradient_and_jvp_on_cuda_agree_with_interp(name: str, cuda: str) -> None:
    case = PROGRAMS[name]
    x = RNG.uniform(case.lo, case.hi, size=case.shape)
    w = RNG.normal(size=np.shape(acc.run(case.fn, x, backend="interp")))
    grad = ad.grad(lambda x: (case.fn(x) * w).sum())
    rtol, atol = TOLERANCES[_least_precise(trace(grad, x).program)]
    np.testing.assert_allclose(acc.jit(grad, backend=cuda)(x), acc.jit(grad, backend="interp")(x), rtol=rtol, atol=atol)
    v = RNG.normal(size=x.shape)
    jvp = lambda x, v: ad.jvp(case.fn, (x,), (v,))[1]  # noqa: E731
    got, want = acc.jit(jvp, backend=cuda)(x, v), acc.jit(jvp, backend="interp")(x, v)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
