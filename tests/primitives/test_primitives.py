"""Every primitive, on every available backend, against an independent reference: one table-driven test.

The table :data:`CASES` maps each primitive name to a case that draws
random shapes (rank 0–3, empty and size-1 axes included), dtypes and values,
builds a one-primitive program, and computes the expected result with plain
Python/NumPy written here in the tests. Some primitives have several rows
(``fold/general``, ``stencil/mirror``, ...): the key's prefix before ``/`` is
the primitive. A coverage test keeps the table complete.
"""

from __future__ import annotations

import cases_collective
import cases_control
import cases_elementwise
import cases_linalg
import cases_stencil
import cases_structural
import numpy as np
import pytest
from helpers import assert_close, assert_within, run_program
from hypothesis import given
from hypothesis import strategies as st
from strategies import Example

from pyaccad.backends.interp import RULES
from pyaccad.ir import PRIMITIVES

CASES = {
    **cases_elementwise.CASES,
    **cases_structural.CASES,
    **cases_collective.CASES,
    **cases_control.CASES,
    **cases_stencil.CASES,
    **cases_linalg.CASES,
}


@pytest.mark.parametrize("case", sorted(CASES))
@given(data=st.data())
def test_primitive(case: str, backend: str, data: st.DataObject) -> None:
    example = CASES[case](data.draw)
    assert_matches(run_program(example.program, example.inputs, backend), example)


def assert_matches(actual: list[np.ndarray], example: Example) -> None:
    """``actual`` is ``example``'s expected outputs: within its bounds where it has them, else close."""
    assert len(actual) == len(example.expected)
    if example.bounds is not None:
        for got, want, (bound, dtype) in zip(actual, example.expected, example.bounds, strict=True):
            assert_within(got, want, bound, dtype)
        return
    for got, want in zip(actual, example.expected, strict=True):
        assert_close(got, want)


def test_every_primitive_has_a_case() -> None:
    covered = {name.split("/")[0] for name in CASES}
    assert sorted(set(PRIMITIVES) - covered) == []


def test_every_primitive_has_an_interp_rule() -> None:
    assert sorted(p.name for p in PRIMITIVES.values() if p not in RULES) == []
    assert len(RULES) == len(PRIMITIVES)
