"""Every primitive has a rule in each of the three tables (JVP, transpose, batching) or a declared reason
to lack one; a statement without a rule fails naming its primitive; the unsupported cases raise."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

import pyaccad as acc
from pyaccad import ad
from pyaccad.ad.batching import BATCH_RULES
from pyaccad.ad.gaps import LINEAR_IN_JVP, MISSING_BATCHING, MISSING_JVP, MISSING_TRANSPOSE, UNSUPPORTED_CASES
from pyaccad.ad.jvp import JVP_RULES
from pyaccad.ad.rules import RuleTable, uncovered
from pyaccad.ad.transpose import TRANSPOSE_RULES
from pyaccad.ir import PRIMITIVES

TABLES = {"jvp": JVP_RULES, "transpose": TRANSPOSE_RULES, "batching": BATCH_RULES}


@pytest.mark.parametrize("table", list(TABLES))
def test_every_primitive_has_a_rule_or_a_declared_reason(table: str) -> None:
    assert uncovered(TABLES[table]) == []
    assert set(TABLES[table].exempt) <= set(PRIMITIVES), "an exemption names no primitive"
    assert all(TABLES[table].exempt.values()), "every exemption says why"


def test_no_primitive_lacks_a_jvp_or_batching_rule() -> None:
    assert MISSING_JVP == MISSING_BATCHING == {}
    assert JVP_RULES.exempt is MISSING_JVP and BATCH_RULES.exempt is MISSING_BATCHING


def test_every_linear_primitive_has_a_transpose_rule() -> None:
    linear = {name for name, prim in PRIMITIVES.items() if prim.linear_args} | set(LINEAR_IN_JVP)
    missing = {name for name in linear if PRIMITIVES[name] not in TRANSPOSE_RULES}
    assert missing == set(MISSING_TRANSPOSE)
    assert not linear & (set(TRANSPOSE_RULES.exempt) - set(MISSING_TRANSPOSE)), "a linear primitive declared nonlinear"


@pytest.mark.parametrize("table", list(TABLES))
def test_a_primitive_without_a_rule_is_named(table: str) -> None:
    # A copy of the table without the rule of `neg`, as a new primitive without a rule would be.
    partial: RuleTable = RuleTable(TABLES[table].name, TABLES[table].error, TABLES[table].exempt)
    partial.update((prim, rule) for prim, rule in TABLES[table].items() if prim.name != "neg")
    assert uncovered(partial) == ["neg"]


TRANSFORMS: dict[str, Callable[[Callable], Callable]] = {"jvp": ad.grad, "transpose": ad.grad, "batching": ad.vmap}


@pytest.mark.parametrize("table", list(TABLES))
def test_a_statement_without_a_rule_fails_naming_its_primitive(table: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(TABLES[table], PRIMITIVES["neg"])
    transformed = TRANSFORMS[table](lambda x: (-x).sum())
    with pytest.raises(TABLES[table].error, match=r"neg: no .* rule \(at .*test_coverage.py"):
        acc.jit(transformed, backend="interp")(np.array([0.5, 1.5]))


CASES = {
    "permute": lambda x: acc.permute(lambda a, b: a - b, acc.fill((2,), 1.0), lambda i: (i % 2,), x).sum(),
}


def test_gaps_are_listed_once_and_tested() -> None:
    assert set(CASES) == set(UNSUPPORTED_CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_unsupported_cases_raise_not_differentiable(name: str) -> None:
    with pytest.raises(acc.NotDifferentiable, match=name.split("/")[0]):
        acc.jit(ad.grad(CASES[name]), backend="interp")(np.array([0.5, 1.5, 2.0]))
