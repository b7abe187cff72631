"""The test suite's hypothesis examples per backend (``tests/conftest.py``): a few on the accelerate bridge, where
each example is a GHC build, and the profile's count everywhere else."""

from __future__ import annotations

import pytest
from helpers import BRIDGE_MAX_EXAMPLES, examples_on
from hypothesis import Phase, given, settings
from hypothesis import strategies as st


def _examples_on(backend: str) -> tuple[int, tuple[Phase, ...]]:
    """How many examples a hypothesis test parametrised with ``backend`` draws, and the phases it runs."""
    drawn: list[int] = []

    @given(st.integers())
    def test(backend: str, x: int) -> None:
        drawn.append(x)

    with examples_on(test, backend):
        phases = test._hypothesis_internal_use_settings.phases
        test(backend)
    return len(drawn), phases


def test_the_bridge_draws_a_few_examples_and_does_not_shrink() -> None:
    count, phases = _examples_on("accelerate")
    assert count == BRIDGE_MAX_EXAMPLES == 3
    assert Phase.shrink not in phases and Phase.generate in phases


@pytest.mark.parametrize("backend", ["interp", "native", "cuda"])
def test_other_backends_keep_the_profiles_examples(backend: str) -> None:
    count, phases = _examples_on(backend)
    assert count == settings.default.max_examples and Phase.shrink in phases
