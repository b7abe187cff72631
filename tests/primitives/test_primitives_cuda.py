"""Every primitive's cases on the cuda backend: on the GPU, or on its CPU emulator where there is none.

The cases are :mod:`test_primitives`' table; a few examples each, since each example is a module of its
own to compile (NVRTC for the GPU, and g++ for the emulator).
"""

from __future__ import annotations

import pytest
from helpers import run_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_primitives import CASES, assert_matches


@pytest.mark.parametrize("case", sorted(CASES))
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_primitive_on_cuda(case: str, cuda: str, data: st.DataObject) -> None:
    example = CASES[case](data.draw)
    assert_matches(run_program(example.program, example.inputs, cuda), example)
