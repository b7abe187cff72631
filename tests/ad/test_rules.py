"""Every program of the table (``programs.py``, covering every primitive): gradients against central
finite differences in float64, and the dot-product identity ``⟨vjp(u), v⟩ = ⟨u, jvp(v)⟩``, on
hypothesis-drawn inputs."""

from __future__ import annotations

import numpy as np
import pytest
from ad_checks import check_against_fd, check_dot_product
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from programs import PROGRAMS, Case


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
