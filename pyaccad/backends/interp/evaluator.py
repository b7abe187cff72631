"""The interpreter's core: the rule table, the evaluation context, and :func:`eval_program`.

Every IR primitive has one entry in :data:`RULES`, a ``dict[Primitive, Rule]``.
A rule receives the statement, its argument values (NumPy arrays), the
environment the statement sees and the :class:`Context`, and returns one
array per output variable. Rules never modify their arguments in place, so
values may be shared (views, broadcasts) between statements freely.

The same program evaluator serves both levels of the IR:

* at **array level** every value is a whole array;
* inside a **lambda** the program runs once over all elements at once: every
  value is either a 1-D array with one entry per *lane* (element being
  computed) or a 0-d array that is the same for all lanes (a literal, an
  outer rank-0 value, or anything computed only from those). Element-wise
  NumPy functions broadcast the two kinds together naturally.

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> from pyaccad.backends.interp.evaluator import ARRAY_LEVEL, eval_program
>>> import pyaccad.backends.interp  # fills the rule table
>>> prog = trace(lambda x: x * 2.0, np.ones(2)).program
>>> eval_program(prog, [np.array([1.0, 3.0])], {}, ARRAY_LEVEL)
[array([2., 6.])]
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from pyaccad.ir import PRIMITIVES, Atom, Lit, Primitive, Program, Stmt, Var

Env = Mapping[Var, np.ndarray]


@dataclass(frozen=True)
class Context:
    """Where a program is being evaluated.

    At array level ``lanes`` is None. Inside a lambda, ``lanes`` is the number
    of elements evaluated at once, ``op`` names the collective operation whose
    lambda runs (for error messages), and ``outer`` is the array-level
    environment the lambda was entered from: its variables are *not* per-lane.

    >>> Context().lanes is None
    True
    """

    op: str | None = None
    lanes: int | None = None
    outer: Env | None = None

    @property
    def in_lambda(self) -> bool:
        """True while evaluating a lambda (values are per-lane or uniform).

        >>> ARRAY_LEVEL.in_lambda, Context("map", 3, {}).in_lambda
        (False, True)
        """
        return self.lanes is not None

    def with_lanes(self, lanes: int) -> Context:
        """The same lambda evaluated on a subset of ``lanes`` lanes.

        >>> Context("map", 5, {}).with_lanes(2).lanes
        2
        """
        return replace(self, lanes=lanes)


ARRAY_LEVEL = Context()

Rule = Callable[[Stmt, list[np.ndarray], Env, Context], Sequence[np.ndarray]]

RULES: dict[Primitive, Rule] = {}
"""The evaluation table: one rule per primitive of :data:`pyaccad.ir.PRIMITIVES`."""


def register(*names: str) -> Callable[[Rule], Rule]:
    """Decorator: make ``rule`` the evaluation rule of the primitives ``names``.

    >>> RULES[PRIMITIVES["map"]].__name__
    '_map'
    """

    def decorate(rule: Rule) -> Rule:
        for name in names:
            prim = PRIMITIVES[name]
            if prim in RULES:
                raise ValueError(f"interp: two rules for primitive {name!r}")
            RULES[prim] = rule
        return rule

    return decorate


def read(atom: Atom, env: Env) -> np.ndarray:
    """The value of ``atom``: a 0-d array for a literal, the bound array for a variable.

    >>> read(Lit(2, np.dtype("int32")), {})
    array(2, dtype=int32)
    """
    if isinstance(atom, Lit):
        return np.asarray(atom.value, dtype=atom.dtype)
    return env[atom]


def eval_program(program: Program, args: Sequence[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    """Run ``program`` on ``args``; free variables are looked up in ``env`` (lexical scoping).

    >>> import pyaccad.backends.interp
    >>> from pyaccad.frontend import trace
    >>> prog = trace(lambda x: -x, np.zeros(2)).program
    >>> eval_program(prog, [np.array([1.0, -2.0])], {}, ARRAY_LEVEL)
    [array([-1.,  2.])]
    """
    local: ChainMap[Var, np.ndarray] = ChainMap(dict(zip(program.inputs, args, strict=True)), env)  # type: ignore[arg-type]
    for stmt in program.stmts:
        values = [read(atom, local) for atom in stmt.args]
        outs = RULES[stmt.prim](stmt, values, local, ctx)
        local.maps[0].update(zip(stmt.outs, outs, strict=True))
    return [read(atom, local) for atom in program.outputs]


def to_lanes(value: np.ndarray, lanes: int, dtype: np.dtype) -> np.ndarray:
    """``value`` (per-lane, or uniform 0-d) as a fresh 1-D array of ``lanes`` entries of ``dtype``.

    >>> to_lanes(np.asarray(1.5), 3, np.dtype("float64"))
    array([1.5, 1.5, 1.5])
    """
    out = np.empty(lanes, dtype=dtype)
    out[...] = value
    return out


def restrict(env: Env, ctx: Context, names: Sequence[Var], idx: np.ndarray) -> Env:
    """The environment a sub-program sees when it runs only on the lanes ``idx``.

    Only ``names`` (the sub-program's free variables) are carried over;
    per-lane values are cut down to ``idx``, uniform and array-level values are
    shared.

    >>> from pyaccad.ir import Var, ArrayType, FLOAT64
    >>> lane, table = Var(ArrayType(FLOAT64, ())), Var(ArrayType(FLOAT64, (4,)))
    >>> outer = {table: np.zeros(4)}
    >>> env = ChainMap({lane: np.array([1.0, 2.0, 3.0])}, outer)
    >>> sub = restrict(env, Context("map", 3, outer), [lane, table], np.array([0, 2]))
    >>> sub[lane], sub[table].shape
    (array([1., 3.]), (4,))
    """
    assert ctx.outer is not None
    lane_values: dict[Var, np.ndarray] = {}
    for var in names:
        if var in ctx.outer:
            continue
        value = env[var]
        lane_values[var] = value[idx] if value.ndim else value
    return ChainMap(lane_values, ctx.outer)  # type: ignore[arg-type]
