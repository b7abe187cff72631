"""Scalar expressions print with the right brackets: random expression trees, evaluated by GHC.

Lambdas are printed with single-use temporaries inlined and brackets only where Haskell's
fixities need them (:func:`pyaccad.export.templates.fill_template`). A wrong bracket changes
the value, not the syntax, so these tests evaluate what was printed: random trees of
element-wise operations are traced as the lambda of a ``zip_with``, the lambda is printed
(with the generic target's Prelude spellings, so plain GHC runs it without any package), and
GHC's results on sample points are compared with pyaccad's ``interp`` backend.
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pyaccad as acc
from pyaccad.export.generic_printer import GenericPrinter
from pyaccad.export.generic_rules import GENERIC_RULES
from pyaccad.export.syntax import literal_text
from pyaccad.frontend import trace

UNARY = {"neg": lambda a: -a, "sin": acc.sin, "tanh": acc.tanh, "abs": acc.abs, "cos": acc.cos}
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / (b * b + 1.0),
    "max": acc.maximum,
    "min": acc.minimum,
    "atan2": acc.atan2,
    "pow": lambda a, b: acc.abs(a) ** b,
}
POINTS = np.array([[-1.5, 0.25], [0.5, -2.0], [2.0, 3.0], [-0.75, -0.5]])


def trees(depth: int = 4):
    leaf = st.sampled_from(["x", "y", 0.5, -2.0, 3.0])
    return st.recursive(
        leaf,
        lambda sub: st.one_of(
            st.tuples(st.sampled_from(sorted(UNARY)), sub),
            st.tuples(st.sampled_from(sorted(BINARY)), sub, sub),
        ),
        max_leaves=depth * 3,
    )


def build(tree, x, y):
    if tree == "x":
        return x
    if tree == "y":
        return y
    if isinstance(tree, float):
        return tree + 0.0 * x  # a literal meeting a value: a bare literal operand in the printed lambda
    op, *args = tree
    values = [build(a, x, y) for a in args]
    return UNARY[op](*values) if len(values) == 1 else BINARY[op](*values)


# Trees where a missing bracket changes the value: right operands of left-associative operators,
# looser operators under tighter ones, negation under multiplication, powers of powers.
TRICKY = [
    ("sub", "x", ("sub", "y", "x")),
    ("div", "x", ("mul", "y", 3.0)),
    ("mul", ("add", "x", "y"), ("sub", "x", 0.5)),
    ("mul", "x", ("neg", ("add", "y", 0.5))),
    ("pow", ("pow", "x", "y"), 0.5),
    ("sub", ("neg", "x"), ("neg", ("sub", "y", "x"))),
    ("max", ("sub", "x", "y"), ("mul", "y", ("add", "x", 3.0))),
]


def test_tricky_brackets_evaluate_like_the_interpreter(tmp_path_factory):
    check(TRICKY, tmp_path_factory)


@settings(max_examples=4, deadline=None)
@given(st.lists(trees(), min_size=16, max_size=16))
def test_printed_lambdas_evaluate_like_the_interpreter(tmp_path_factory, expressions):
    check(expressions, tmp_path_factory)


def check(expressions, tmp_path_factory) -> None:
    if shutil.which("runghc") is None:
        pytest.skip("ghc is not installed (Debian package 'ghc'): cannot evaluate printed Haskell")
    lines, expected = [], []
    for k, tree in enumerate(expressions):
        fn = lambda a, b, tree=tree: acc.zip_with(lambda x, y: build(tree, x, y), a, b)  # noqa: E731
        xs, ys = POINTS[:, 0].copy(), POINTS[:, 1].copy()
        lam = trace(fn, xs, ys).program.stmts[-1].params["lam"]
        lines.append(f"f{k} :: Double -> Double -> Double")
        lines.append(f"f{k} = {GenericPrinter(GENERIC_RULES).lam(lam)}".replace("\n", "\n  "))
        expected.append(acc.run(fn, xs, ys, backend="interp"))
    points = ", ".join(f"({literal_text(a, POINTS.dtype)}, {literal_text(b, POINTS.dtype)})" for a, b in POINTS)
    calls = ", ".join(f"map (uncurry f{k}) ps" for k in range(len(expressions)))
    source = "\n".join(["main :: IO ()", f"main = let ps = [{points}] in mapM_ print [{calls}]", "", *lines])
    path = tmp_path_factory.mktemp("precedence") / "Main.hs"
    path.write_text(source + "\n")
    ran = subprocess.run(["runghc", str(path)], capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, f"{ran.stderr}\n{source}"
    for k, line in enumerate(ran.stdout.splitlines()):
        values = [float(v.replace("Infinity", "inf")) for v in line.strip("[]").split(",")]
        np.testing.assert_allclose(values, expected[k], rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=lines[2 * k + 1])
