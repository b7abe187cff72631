"""Random well-typed programs: their gradients against finite differences, their JVPs against their VJPs.

A program is a random chain of steps, each drawn from :data:`STEPS` and mapping the current ``(3, 4)``
float64 value (and earlier ones) to a new ``(3, 4)`` value, so every chain is well typed. The steps
span every family of primitives: element-wise, structural, collective, control flow.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from ad_checks import check_against_fd, check_dot_product

import pyaccad as acc

Step = Callable[[Any, Any], Any]  # (current value, an earlier value) -> new value, all (3, 4)


def _lae(a: Any, b: Any) -> Any:
    return acc.log(acc.exp(a) + acc.exp(b))


STEPS: dict[str, Step] = {
    "sin": lambda v, w: acc.sin(v),
    "tanh_mul": lambda v, w: acc.tanh(v * w),
    "soft": lambda v, w: acc.log(v * v + 1.0) - acc.atan(w),
    "erf_add": lambda v, w: acc.erf(v) + w,
    "div": lambda v, w: v / (w * w + 1.0),
    "map2": lambda v, w: acc.map(lambda a, b: a * acc.cos(b) + b, v, w),
    "transpose_reverse": lambda v, w: acc.transpose(acc.reverse(acc.transpose(v), 0)),
    "reshape_roll": lambda v, w: acc.reshape(
        acc.concatenate([acc.reshape(v, (12,))[5:], acc.reshape(v, (12,))[:5]]), (3, 4)
    ),
    "row_mean": lambda v, w: v - v.sum(axis=1, keepdims=True) / 4.0,
    "fold_broadcast": lambda v, w: v * acc.fold(lambda a, b: a + b, 0.0, w, axis=0),
    "fold_product": lambda v, w: v * acc.fold1(lambda a, b: a * b, acc.tanh(w) + 1.5, axis=1)[:, None],
    "fold_general": lambda v, w: v + acc.fold1(_lae, w, axis=0),
    "scan_add": lambda v, w: acc.scanl1(lambda a, b: a + b, v, axis=0) * 0.5,
    "scan_general": lambda v, w: acc.scanr1(_lae, v, axis=1) - 1.0,
    "generate_reads": lambda v, w: acc.generate((3, 4), lambda i, j: v[i, (j + 1) % 4] * w[(i + 2) % 3, j]),
    "backpermute": lambda v, w: acc.backpermute((3, 4), lambda i, j: (2 - i, j), v) + w,
    "permute_add": lambda v, w: acc.permute(lambda a, b: a + b, w, lambda i, j: (i, (j * 3) % 4), v),
    "stencil": lambda v, w: acc.stencil(lambda n: n[0][1] * n[1][1] + n[2][2], v, (3, 3), "mirror"),
    "matmul": lambda v, w: (v @ acc.transpose(w)) @ v * 0.2,
    "acond": lambda v, w: acc.acond(v.sum() > 0.1234, lambda: v * w, lambda: v - w),
    "awhile": lambda v, w: acc.awhile(lambda s: s[1] < 2, lambda s: (acc.sin(s[0]) * w, s[1] + 1), (v, np.int64(0)))[0],
    "where": lambda v, w: acc.where(w > 0.0567, v, v * 0.5),
}


def random_program(seed: int, length: int = 5) -> tuple[Callable[[Any], Any], list[str]]:
    rng = np.random.default_rng(seed)
    names = [str(n) for n in rng.choice(list(STEPS), size=length)]
    partners = [int(rng.integers(0, k + 1)) for k in range(length)]
    weights = rng.normal(size=(3, 4))

    def program(x: Any) -> Any:
        values = [x]
        for name, partner in zip(names, partners, strict=True):
            values.append(acc.tanh(STEPS[name](values[-1], values[partner])))  # tanh keeps values tame
        return (values[-1] * weights).sum()

    return program, names


@pytest.mark.parametrize("seed", range(16))
def test_random_program_gradient_matches_finite_differences(seed: int) -> None:
    program, names = random_program(seed)
    x = np.random.default_rng(1000 + seed).normal(size=(3, 4)) * 0.7
    check_against_fd(program, x, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("seed", range(16, 24))
def test_random_program_reverse_is_transpose_of_forward(seed: int) -> None:
    program, _ = random_program(seed)
    x = np.random.default_rng(seed).normal(size=(3, 4)) * 0.7
    check_dot_product(program, x, np.random.default_rng(seed + 1))


def test_every_step_appears_in_some_tested_program() -> None:
    seen = {name for seed in range(24) for name in random_program(seed)[1]}
    assert seen == set(STEPS)
