"""Every stage's rule table has an entry for every primitive it must handle, and a new primitive without one
fails naming it.

Each stage keeps its rules in a table keyed by primitive (``docs/IR.md``, "Stages keep rule tables keyed by
primitive"). :data:`TABLES` lists them all, with which primitives each must cover (by scope, family or
linearity) and the explicit exemptions, each with its reason. The last test declares a primitive no stage
knows and checks that every table's check names it.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field

import pytest

from pyaccad.ad.batching import BATCH_RULES
from pyaccad.ad.gaps import LINEAR_IN_JVP, MISSING_JVP, MISSING_TRANSPOSE
from pyaccad.ad.jvp import JVP_RULES
from pyaccad.ad.transpose import TRANSPOSE_RULES
from pyaccad.backends.clike.element import PRODUCERS, SCALAR_STATEMENTS
from pyaccad.backends.cuda.program import SCHEDULES
from pyaccad.backends.interp.evaluator import RULES as INTERP_RULES
from pyaccad.backends.native.program import SKELETONS
from pyaccad.export.rules import RULES as EXPORT_RULES
from pyaccad.ir import PRIMITIVES, Primitive
from pyaccad.ir.index_maps import INDEX_MAPS

_SPLICED = "spliced in as its body by optimize before any backend plans (pyaccad/opt/inline_rules.py)"
_COMPILED_EXEMPT = {
    "const": "an input buffer of the compiled program (the plan's consts)",
    "custom_rule": _SPLICED,
    "remat": _SPLICED,
}


def _array_level(prim: Primitive) -> bool:
    return prim.scope in ("array", "both")


def _in_lambdas(prim: Primitive) -> bool:
    return prim.scope in ("scalar", "both")


@dataclass(frozen=True)
class Table:
    """A stage's rules (keyed by primitive or by name), which primitives need one, and the exemptions."""

    rules: Collection[object]
    needs: Callable[[Primitive], bool] = lambda prim: True
    exempt: Mapping[str, str] = field(default_factory=dict)

    def missing(self, registry: Iterable[Primitive]) -> list[str]:
        """The names of the primitives of ``registry`` this table needs and lacks."""
        return sorted(
            p.name
            for p in registry
            if self.needs(p) and p not in self.rules and p.name not in self.rules and p.name not in self.exempt
        )


TABLES = {
    "interp evaluation": Table(INTERP_RULES),
    "jvp": Table(JVP_RULES, exempt=dict.fromkeys(MISSING_JVP, "pyaccad/ad/gaps.py")),
    "transpose": Table(
        TRANSPOSE_RULES,
        lambda prim: bool(prim.linear_args) or prim.name in LINEAR_IN_JVP,
        dict.fromkeys(MISSING_TRANSPOSE, "pyaccad/ad/gaps.py"),
    ),
    "batching": Table(BATCH_RULES),
    "haskell export": Table(EXPORT_RULES),
    "index-map description": Table(INDEX_MAPS, lambda prim: prim.family == "index_map"),
    "native kernels and delayed elements": Table({*SKELETONS, *PRODUCERS}, _array_level, _COMPILED_EXEMPT),
    "cuda schedules and delayed elements": Table({*SCHEDULES, *PRODUCERS}, _array_level, _COMPILED_EXEMPT),
    "c-like lambda statements": Table(SCALAR_STATEMENTS, _in_lambdas, {"custom_rule": _SPLICED}),
}


@pytest.mark.parametrize("stage", list(TABLES))
def test_every_primitive_has_a_rule(stage: str) -> None:
    assert TABLES[stage].missing(PRIMITIVES.values()) == []


@pytest.mark.parametrize("stage", list(TABLES))
def test_exemptions_name_primitives_without_a_rule(stage: str) -> None:
    """An exemption for a primitive that has a rule, or that does not exist, is stale."""
    table = TABLES[stage]
    stale = [n for n in table.exempt if n not in PRIMITIVES or PRIMITIVES[n] in table.rules or n in table.rules]
    assert stale == []


def test_index_map_descriptions_are_the_family() -> None:
    assert sorted(p.name for p in INDEX_MAPS if p.family != "index_map") == []


def test_a_new_primitive_without_rules_is_named_by_every_table() -> None:
    new = Primitive("new_op", lambda args, params: list(args), scope="both", linear_args=(0,), family="index_map")
    for stage, table in TABLES.items():
        assert table.missing([*PRIMITIVES.values(), new]) == ["new_op"], stage
