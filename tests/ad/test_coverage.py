"""Every primitive has a JVP rule and, when it can be linear, a transpose rule; the unsupported cases raise."""

from __future__ import annotations

import numpy as np
import pytest

import pyaccad as acc
from pyaccad import ad
from pyaccad.ad.gaps import LINEAR_IN_JVP, MISSING_JVP, MISSING_TRANSPOSE, UNSUPPORTED_CASES
from pyaccad.ad.jvp import JVP_RULES
from pyaccad.ad.transpose import TRANSPOSE_RULES
from pyaccad.ir import PRIMITIVES


def test_every_primitive_has_a_jvp_rule() -> None:
    missing = {name for name, prim in PRIMITIVES.items() if prim not in JVP_RULES}
    assert missing == set(MISSING_JVP)


def test_every_linear_primitive_has_a_transpose_rule() -> None:
    linear = {name for name, prim in PRIMITIVES.items() if prim.linear_args} | set(LINEAR_IN_JVP)
    missing = {name for name in linear if PRIMITIVES[name] not in TRANSPOSE_RULES}
    assert missing == set(MISSING_TRANSPOSE)


CASES = {
    "permute": lambda x: acc.permute(lambda a, b: a - b, acc.fill((2,), 1.0), lambda i: (i % 2,), x).sum(),
}


def test_gaps_are_listed_once_and_tested() -> None:
    assert set(CASES) == set(UNSUPPORTED_CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_unsupported_cases_raise_not_differentiable(name: str) -> None:
    with pytest.raises(acc.NotDifferentiable, match=name.split("/")[0]):
        acc.jit(ad.grad(CASES[name]), backend="interp")(np.array([0.5, 1.5, 2.0]))
