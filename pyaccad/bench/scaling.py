"""``python -m pyaccad.bench --scaling``: trace, optimise and compile time against program size.

The program is an unrolled chain of ``steps`` element-wise steps on a vector
(``x ← x·1.0001 + sin(x)·0.5``, three operations each, so its gradient does not
fold to a constant), summed; the timed function is its ``ad.value_and_grad``.
Each stage is timed separately for a growing number of steps: tracing (which
differentiates), :func:`pyaccad.opt.optimize`, the backend's compile (for
native: fusion, C generation and gcc, with an empty cache) and the first run.
JAX's ``jit(value_and_grad)`` of the same chain (lowering plus XLA's compile)
is timed beside it where JAX is installed. The times must grow linearly with the
statement count: the last column, microseconds per statement, should stay flat.

>>> rows = measure([20, 40], with_jax=False)
>>> [r.steps for r in rows], all(r.statements > r.steps * 3 for r in rows)
([20, 40], True)
"""

from __future__ import annotations

import importlib.util
import time
from dataclasses import dataclass

import numpy as np

from pyaccad.bench.report import text_table

STEPS = {"tiny": (250, 500, 1000), "small": (1000, 2000, 4000, 8000), "large": (2500, 5000, 10000, 20000)}


@dataclass(frozen=True)
class ScalingRow:
    """The stage times (ms) of the chain of ``steps`` steps; ``statements`` counts the traced program's."""

    steps: int
    statements: int
    trace_ms: float
    optimize_ms: float
    compile_ms: float
    run_ms: float
    jax_ms: float

    @property
    def us_per_statement(self) -> float:
        return 1000.0 * (self.trace_ms + self.optimize_ms + self.compile_ms + self.run_ms) / self.statements


def _chain(steps: int):
    import pyaccad as acc

    def f(x):
        for _ in range(steps):
            x = x * 1.0001 + acc.sin(x) * 0.5
        return x.sum()

    return f


def _jax_ms(steps: int, x: np.ndarray) -> float:
    import jax
    import jax.numpy as jnp

    def f(x):
        for _ in range(steps):
            x = x * 1.0001 + jnp.sin(x) * 0.5
        return x.sum()

    start = time.perf_counter()
    jax.block_until_ready(jax.jit(jax.value_and_grad(f))(x))
    return 1000.0 * (time.perf_counter() - start)


def measure(steps_list: list[int], backend: str | None = None, with_jax: bool = True) -> list[ScalingRow]:
    """One :class:`ScalingRow` per chain length, on ``backend``; JAX's first call beside it if asked and installed."""
    from pyaccad import ad
    from pyaccad.backends import get_backend, resolve_name
    from pyaccad.frontend import trace
    from pyaccad.opt import optimize

    name = resolve_name(backend)
    chosen = get_backend(name)
    x = np.linspace(-1.0, 1.0, 256)
    jax_here = with_jax and importlib.util.find_spec("jax") is not None
    rows = []
    for steps in steps_list:
        t0 = time.perf_counter()
        traced = trace(ad.value_and_grad(_chain(steps)), x)
        t1 = time.perf_counter()
        program = optimize(traced.program, name)
        t2 = time.perf_counter()
        executable = chosen.compile(program)
        t3 = time.perf_counter()
        executable([x])
        t4 = time.perf_counter()
        ms = [1000.0 * (b - a) for a, b in ((t0, t1), (t1, t2), (t2, t3), (t3, t4))]
        jax_ms = _jax_ms(steps, x) if jax_here else float("nan")
        rows.append(ScalingRow(steps, len(traced.program.stmts), *ms, jax_ms))
    return rows


def scaling_table(rows: list[ScalingRow]) -> str:
    """The rows as a text table."""
    header = ("steps", "statements", "trace_ms", "optimize_ms", "compile_ms", "run_ms", "us/statement", "jax_ms")
    lines = [
        (
            str(r.steps),
            str(r.statements),
            *(f"{v:.0f}" for v in (r.trace_ms, r.optimize_ms, r.compile_ms, r.run_ms)),
            f"{r.us_per_statement:.1f}",
            "-" if r.jax_ms != r.jax_ms else f"{r.jax_ms:.0f}",
        )
        for r in rows
    ]
    return text_table(header, lines)
