"""Values recomputed in each reader inside loops, printed once per reader (``pyaccad.export.unshared``).

Everywhere: a loop body's values that pyaccad's plan keeps delayed but several statements read get one copy per
further reader (the transposed stencil of a gradient's reverse loop), the copies bounded by ``COPY_LIMIT``; the
program outside loops is left as it is; the rewritten program is valid and computes the original's bits (interp
runs both). Where GHC finds accelerate: the bridge gives interp's bits for such a gradient.
"""

from __future__ import annotations

import numpy as np
from helpers import skip_without_bridge

import pyaccad as acc
from pyaccad import ad
from pyaccad.backends import get_backend
from pyaccad.export.unshared import COPY_LIMIT, unshared
from pyaccad.frontend import trace
from pyaccad.ir import Program, verify
from pyaccad.opt import optimize

RNG = np.random.default_rng(37)


def heat(u, target):
    """The bench's heat at a few steps: its gradient's reverse trip transposes the stencil into pads and slices."""

    def step(s):
        return s[0] + 1, acc.stencil(lambda n: n[1] + 0.25 * (n[0] - 2.0 * n[1] + n[2]), s[1], 3, boundary="clamp")

    d = acc.awhile(lambda s: s[0] < 9, step, (0, u))[1] - target
    return (d * d).sum()


def _body_sizes(program: Program) -> list[int]:
    return [len(s.params["body"].stmts) for s in program.stmts if s.prim.name == "while"]


def _same_bits(program: Program, *args) -> Program:
    rewritten = unshared(program)
    verify(rewritten)
    interp = get_backend("interp")
    inputs = [np.asarray(a) for a in args]
    for before, after in zip(interp.compile(program)(inputs), interp.compile(rewritten)(inputs), strict=True):
        np.testing.assert_array_equal(after, before)
    return rewritten


def test_a_reverse_loops_shared_values_get_a_copy_for_each_reader():
    u, target = RNG.standard_normal(8), RNG.standard_normal(8)
    program = optimize(trace(ad.grad(heat), u, target).program, "accelerate")
    rewritten = _same_bits(program, u, target)
    forward, reverse = _body_sizes(program)
    assert _body_sizes(rewritten)[0] == forward  # the stencil step reads nothing twice
    assert reverse < _body_sizes(rewritten)[1] <= reverse * (1 + COPY_LIMIT)
    # outside the loops, the program is as it was
    outside = lambda p: [s for s in p.stmts if s.prim.name != "while"]
    assert outside(rewritten) == outside(program)


def test_a_program_without_loops_is_left_as_it_is():
    program = optimize(trace(lambda x: (acc.exp(x) * 2.0).sum() + acc.exp(x).max(), np.ones(4)).program, "export")
    assert unshared(program) is program


def test_copies_stop_at_the_limit():
    # each value read twice by the next: copying every reader would double at every step
    def doubling(x):
        def body(s):
            v = s[1]
            for _ in range(12):
                v = acc.sin(v) * acc.cos(v)
            return s[0] + 1, v

        return acc.awhile(lambda s: s[0] < 3, body, (0, x))[1]

    x = RNG.standard_normal(4)
    program = optimize(trace(doubling, x).program, "export")
    (before,) = _body_sizes(program)
    (after,) = _body_sizes(_same_bits(program, x))
    assert before < after <= before * (1 + COPY_LIMIT)


def test_the_bridge_gives_interps_bits_for_a_reverse_loop():
    skip_without_bridge()
    u, target = RNG.standard_normal(8), RNG.standard_normal(8)
    grad = ad.grad(heat)
    np.testing.assert_array_equal(
        acc.jit(grad, backend="accelerate")(u, target), acc.jit(grad, backend="interp")(u, target)
    )
