"""The names of an exported function (:class:`pyaccad.export.printer.Printer`): valid Haskell, free where they
are bound (no two values in scope share one, none is a name accelerate exports), the user's where given, the
same on every run, and found with a number of look-ups linear in the program's length (counted, not timed).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import skip_without_bridge
from hypothesis import example, given, settings
from hypothesis import strategies as st

import pyaccad as acc
from pyaccad import ad
from pyaccad.export import export_haskell
from pyaccad.export.names import INDEX_NAMES, RESERVED, letters, sanitize
from pyaccad.export.printer import Printer
from pyaccad.export.rules import RULES
from pyaccad.frontend import trace
from pyaccad.frontend.pytree import flatten
from pyaccad.ir import FLOAT32, ArrayType, Var
from pyaccad.opt import optimize

SCALAR = ArrayType(FLOAT32, ())
INDEX_ORDER = [*INDEX_NAMES, *(f"{c}{n}" for n in range(1, 100) for c in INDEX_NAMES)]
LETTER_ORDER = {letters(n): n for n in range(2000)}

_STEP = st.one_of(
    # a value's hint ("" for none; "sum" is a name accelerate exports, "v", "i" and "w1" spell temporaries)
    st.tuples(st.just("bind"), st.sampled_from(["", "", "", "W", "b", "x", "v", "i", "w1", "sum"]), st.booleans()),
    st.tuples(st.just("fresh"), st.sampled_from(["v", "w", "o", "i", "v1"]), st.just(False)),  # a helper's names
    st.tuples(st.sampled_from(["enter", "exit"]), st.just(""), st.just(False)),  # a lambda's scope
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_STEP, max_size=150))
@example([("enter", "", False), ("fresh", "v", False), *[("bind", "", False)] * 25, ("exit", "", False)])
@example([("bind", "i", True), ("bind", "", True), ("bind", "v", False), ("fresh", "v", False), ("fresh", "v", False)])
def test_every_name_is_free_where_it_is_bound_and_temporaries_come_back(steps):
    # The model, kept apart from the printer: the values' names stay taken to the end (a reader never sees one
    # name for two values); a scope's temporaries (fresh names, unnamed indices) are free again when it ends.
    printer, scopes = Printer(), []
    values, temporaries = set(RESERVED), [set()]
    last_letter = -1
    for op, text, index in steps:
        if op == "enter":
            scopes.append(printer.scope())
            scopes[-1].__enter__()
            temporaries.append(set())
        elif op == "exit" and scopes:
            scopes.pop().__exit__(None, None, None)
            temporaries.pop()
        elif op in ("bind", "fresh"):
            taken = values.union(*temporaries)
            name = printer.bind(Var(SCALAR, text), False, index) if op == "bind" else printer.fresh(text)
            assert re.fullmatch(r"[a-z_][\w']*", name) and name not in taken, (name, sorted(taken - RESERVED))
            base = sanitize(text) if op == "bind" else text
            if base:  # the hint itself (W: w) where it is free, else numbered
                assert name == base if base not in taken else re.fullmatch(rf"{base}[1-9]\d*", name)
            elif index:  # every lambda's indices are i, j, ... unless a value in scope is called so
                assert name == next(c for c in INDEX_ORDER if c not in taken)
            else:  # a, b, ... in order, none read as an index (i, jk)
                assert LETTER_ORDER[name] > last_letter and name not in INDEX_NAMES
                last_letter = LETTER_ORDER[name]
            (temporaries[-1] if op == "fresh" or (index and not base) else values).add(name)
        assert printer.used == values.union(*temporaries)


def _chain(steps: int):
    def f(a):
        for _ in range(steps):
            a = a * 1.0001 + 0.5
        return a.sum()

    return f


def _reversed_by_index(a):
    return acc.generate((5,), lambda i: a[4 - i] + 1.0)  # a generate naming its index i


def _lambdas(steps: int):
    """Per step, names that share spellings: a lambda naming its parameter v beside a helper printed with v, a
    generate naming its index i, and a reversal."""

    def f(a):
        for _ in range(steps):
            a = acc.maximum(acc.map(lambda v: v * 2.0 + 1.0, a), 0.0)  # map (\v -> ...), map (\v1 -> isNaN v1 ...)
            a = _reversed_by_index(a)[::-1] + a
        return a.sum()

    return f


def _look_ups(program) -> int:
    """How many times printing ``program`` asks whether a name is taken."""

    class Counted(set):
        count = 0

        def __contains__(self, name: object) -> bool:
            Counted.count += 1
            return super().__contains__(name)

    printer = Printer(RULES)
    printer.used = Counted(printer.used)
    for var in program.inputs:
        printer.bind(var, array_level=True)
    printer.body(program, array_level=True)
    return Counted.count


@pytest.mark.parametrize("long_program", [_chain, _lambdas])
def test_naming_a_program_four_times_as_long_takes_at_most_four_times_the_look_ups(long_program):
    # Searching each name from the start of its sequence made this quadratic: the 10,000-step chain of
    # tests/opt/test_fusion.py (20,000 names a, b, ...) took minutes to print. Counted, so it holds on any machine.
    x = np.linspace(-1, 1, 5)
    short, long = (_look_ups(optimize(trace(long_program(n), x).program, "export")) for n in (100, 400))
    assert long <= 4 * short, (short, long)


def _colliding(params, x):
    """The user's names (W, b, x; lambdas' v, i, j) beside the printer's own (helpers' v, indices i, j)."""
    h = acc.maximum(acc.map(lambda v: v * 2.0 + 1.0, x @ params["W"] + params["b"]), 0.0)
    g = acc.generate(h.shape, lambda i, j: h[i, j] + h[i, (j + 1) % h.shape[1]])
    v = acc.map(lambda v: v - 1.0, g.T)
    return (v * v).sum() + acc.map(lambda v, i: v * i, g, g).sum()


COLLIDING_ARGS = (
    {"W": np.arange(6.0).reshape(3, 2) - 2, "b": np.array([1.0, -3.0])},
    np.arange(12.0).reshape(4, 3) - 5,
)


def _named_as_a_helper(orderedBits32):  # noqa: N803 (the name of the helper a float maximum prints with)
    return orderedBits32.max(axis=0)


HELPER_ARGS = (np.arange(6.0, dtype=np.float32).reshape(2, 3) - 2,)


def test_the_users_names_reach_the_export_and_the_printers_own_step_aside(hs_parse):
    src = export_haskell(_colliding, *COLLIDING_ARGS, module="Colliding", optimized=False)
    assert "f (T3 w b x) =" in src  # pytree leaves W and b, argument x
    assert "map (\\v -> v * 2.0 + 1.0)" in src and "map (\\v1 -> isNaN v1" in src
    assert "generate (I2 p m) (\\(I2 i j) -> g ! I2 i j" in src
    helper = export_haskell(_named_as_a_helper, *HELPER_ARGS, module="Helper")
    assert "orderedBits32 :: " in helper and "f orderedBits321 =" in helper  # bound as the helper, it hid it
    hs_parse({"Colliding": src, "Helper": helper})


@pytest.mark.parametrize(
    "fn, args",
    [(_colliding, COLLIDING_ARGS), (ad.grad(_colliding), COLLIDING_ARGS), (_named_as_a_helper, HELPER_ARGS)],
    ids=["primal", "gradient", "helper"],
)
def test_programs_whose_names_collide_compile_and_agree_through_the_bridge(fn, args):
    skip_without_bridge()
    # small integers: every sum, product and maximum is exact, so the results must be equal
    want = acc.run(fn, *args, backend="interp")
    got = acc.run(fn, *args, backend="accelerate")
    for g, w in zip(flatten(got)[0], flatten(want)[0], strict=True):
        np.testing.assert_array_equal(g, w)


_EXPORT_COLLIDING = """
import sys
sys.path[:0] = [{root!r}, {here!r}, {tests!r}]  # the tests' own modules: this file, helpers
from test_printer_names import COLLIDING_ARGS, _colliding
from pyaccad import ad
from pyaccad.export import export_haskell
print(export_haskell(ad.grad(_colliding), *COLLIDING_ARGS))
"""


def test_the_names_do_not_depend_on_the_hash_seed():
    # the printer keeps names in sets: nothing may depend on their order, which the hash seed changes
    here = Path(__file__).parent
    code = _EXPORT_COLLIDING.format(root=str(Path(acc.__file__).parents[1]), here=str(here), tests=str(here.parent))
    texts = [
        subprocess.run(
            [sys.executable, "-c", code], env={**os.environ, "PYTHONHASHSEED": seed}, check=True, capture_output=True,
            text=True,
        ).stdout
        for seed in ("1", "2")
    ]  # fmt: skip
    assert texts[0] == texts[1] and "f (T3 w b x) =" in texts[0]
