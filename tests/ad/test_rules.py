"""Every program of the table (``ad_programs.py``, covering every primitive): gradients against central
finite differences in float64, and the dot-product identity ``⟨vjp(u), v⟩ = ⟨u, jvp(v)⟩``, on
hypothesis-drawn inputs."""

from __future__ import annotations

import numpy as np
import pytest
from ad_checks import check_against_fd, check_dot_product
from ad_programs import PROGRAMS, Case
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import pyaccad as acc


def _inputs(case: Case) -> st.SearchStrategy[np.ndarray]:
    # Values on a shifted grid, distinct: max/min stay away from (near-)ties and kinks, where finite
    # differences and the tie conventions differ.
    grid = st.integers(0, 1000).map(lambda k: case.lo + (case.hi - case.lo) * (k + 0.37) / 1001)
    return arrays(np.float64, case.shape, elements=grid, unique=True)


def _weighted_sum(case: Case):
    def f(x):
        y = case.fn(x)
        return (y * np.linspace(0.5, 1.5, int(np.prod(y.shape))).reshape(y.shape)).sum()

    return f


@pytest.mark.parametrize("name", [n for n, c in PROGRAMS.items() if c.fd])
@settings(max_examples=6)
@given(data=st.data())
def test_gradient_matches_finite_differences(name: str, data: st.DataObject) -> None:
    case = PROGRAMS[name]
    x = data.draw(_inputs(case))
    check_against_fd(_weighted_sum(case), x)


@pytest.mark.parametrize("name", list(PROGRAMS))
@settings(max_examples=4)
@given(data=st.data(), seed=st.integers(0, 2**31))
def test_reverse_mode_is_the_transpose_of_forward_mode(name: str, data: st.DataObject, seed: int) -> None:
    case = PROGRAMS[name]
    rtol = 1e-9 if case.fd else 1e-6  # float32 steps inside round the tangents
    check_dot_product(case.fn, data.draw(_inputs(case)), np.random.default_rng(seed), rtol)


SHAPE_GENERIC = {  # programs that accept any shape: drawn shapes include empty and size-1 axes
    "elementwise": lambda x: (acc.sin(x) * x).sum(),
    "fold_general": lambda x: acc.fold(lambda a, b: acc.log(acc.exp(a) + acc.exp(b)), 0.3, x).sum(),
    "fold_max": lambda x: (acc.fold(lambda a, b: acc.maximum(a, b), -10.0, x, axis=0) ** 2.0).sum(),
    "scan_product": lambda x: acc.scanl(lambda a, b: a * b, 1.5, x, axis=0).sum(),
    "scan_general": lambda x: acc.scanr1(lambda a, b: acc.log(acc.exp(a) + acc.exp(b)), x).sum(),
    "fold_closure": lambda x: acc.fold(lambda a, b: a + b + x.sum() * 0.1 * a * b, 0.3, x).sum(),
    "scan_closure": lambda x: acc.scanl(lambda a, b: a + b + x.sum() * 0.1 * a * b, 0.2, x, axis=0).sum(),
    "reverse_stencil": lambda x: (acc.reverse(x, 0) * acc.stencil(_centre_times_left, x, (3,) * x.ndim, "clamp")).sum(),
}


def _centre_times_left(n):
    while isinstance(n[0], tuple):  # the centre of a nested neighbourhood, and its first neighbour
        n = n[1]
    return n[1] * n[0]


@pytest.mark.parametrize("name", list(SHAPE_GENERIC))
@settings(max_examples=15)
@given(shape=st.lists(st.integers(0, 3), min_size=1, max_size=3), seed=st.integers(0, 2**31))
def test_gradients_over_drawn_shapes(name: str, shape: list[int], seed: int) -> None:
    x = np.random.default_rng(seed).permutation(np.prod(shape, dtype=int)).reshape(shape) / 7.0 + 0.05
    check_against_fd(SHAPE_GENERIC[name], x)
