"""The IR: variables, literals, statements, programs and the primitive registry.

A :class:`Program` is in A-normal form: a tuple of inputs, a tuple of
let-bound :class:`Stmt` (each applying one :class:`Primitive` to atoms) and a
tuple of output atoms. Every value carries its :class:`ArrayType`.

Scalar functions (the lambdas of ``map``, ``fold``, ``generate``, ...) and
the bodies of ``awhile``/``acond``/``cond``/``while_`` are Programs too,
stored in a statement's ``params``. Scoping is *lexical*: a nested program
may use any variable bound in an enclosing scope (a lambda reads free arrays
with ``index`` and uses outer scalars directly); :meth:`Program.free_vars`
lists what a nested program uses from outside.

>>> from pyaccad.ir import Var, Lit, Program, Stmt, PRIMITIVES, ArrayType, FLOAT32
>>> x = Var(ArrayType(FLOAT32, (3,)), "x")
>>> y = Var(ArrayType(FLOAT32, (3,)), "y")
>>> prog = Program((x,), (Stmt(PRIMITIVES["sin"], (x,), {}, (y,)),), (y,))
>>> len(prog.stmts)
1
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from pyaccad.ir.types import ArrayType, scalar_type

_var_ids = itertools.count()


class Var:
    """A let-bound IR variable. Identity is the object itself; ``hint`` is only for printing."""

    __slots__ = ("type", "hint", "id")

    def __init__(self, type: ArrayType, hint: str = "") -> None:
        self.type = type
        self.hint = hint
        self.id = next(_var_ids)

    @property
    def dtype(self) -> np.dtype:
        return self.type.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self.type.shape

    def __repr__(self) -> str:
        return f"Var({self.hint or 'v'}{self.id}: {self.type})"


@dataclass(frozen=True)
class Lit:
    """A rank-0 literal (a Python number with its IR dtype).

    ``from_extents`` marks a literal computed from array extents (a mean's ``N``): its value changes with
    the batch size, so the optimiser must not give it structural meaning (``x / 1 = x`` at a batch of 1)
    and the native backend reads it at run time even when it is zero; constant folding keeps the mark.
    """

    value: int | float | bool
    dtype: np.dtype
    from_extents: bool = False

    def is_fixed(self, value: float | bool) -> bool:
        """Whether this literal is ``value`` whatever the extents (equal, and not ``from_extents``).

        >>> from pyaccad.ir import FLOAT32
        >>> Lit(1.0, FLOAT32).is_fixed(1), Lit(1.0, FLOAT32, from_extents=True).is_fixed(1)
        (True, False)
        """
        return not self.from_extents and self.value == value

    @property
    def type(self) -> ArrayType:
        return scalar_type(self.dtype)

    @property
    def shape(self) -> tuple[int, ...]:
        return ()

    def __repr__(self) -> str:
        return f"Lit({self.value!r}: {self.dtype})"


Atom = Var | Lit


@dataclass(frozen=True, eq=False)
class Program:
    """Inputs, let-bound statements, outputs. Also used for lambdas and loop bodies."""

    inputs: tuple[Var, ...]
    stmts: tuple[Stmt, ...]
    outputs: tuple[Atom, ...]

    @property
    def input_types(self) -> tuple[ArrayType, ...]:
        return tuple(v.type for v in self.inputs)

    @property
    def output_types(self) -> tuple[ArrayType, ...]:
        return tuple(a.type for a in self.outputs)

    @cached_property
    def free_vars(self) -> tuple[Var, ...]:
        """Variables used here (or in nested programs) but bound in an enclosing scope, in first-use order."""
        bound: set[Var] = set(self.inputs)
        free: dict[Var, None] = {}

        def use(atom: Atom) -> None:
            if isinstance(atom, Var) and atom not in bound:
                free.setdefault(atom, None)

        for stmt in self.stmts:
            for atom in stmt.args:
                use(atom)
            for sub in stmt.subprograms():
                for var in sub.free_vars:
                    use(var)
            bound.update(stmt.outs)
        for atom in self.outputs:
            use(atom)
        return tuple(free)


@dataclass(frozen=True, eq=False)
class Stmt:
    """``outs = prim(args; params)``. ``source`` is the user's line that created it (for errors)."""

    prim: Primitive
    args: tuple[Atom, ...]
    params: Mapping[str, Any]
    outs: tuple[Var, ...]
    source: str | None = field(default=None, compare=False)

    def subprograms(self) -> Iterator[Program]:
        """The nested programs (lambdas, loop bodies, branches) held in ``params``."""
        for name in self.prim.subprogram_params:
            sub = self.params.get(name)
            if sub is not None:
                yield sub

    def named_subprograms(self) -> Iterator[tuple[str, Program]]:
        """The nested programs held in ``params``, each with its parameter's name (to rebuild ``params``)."""
        for name in self.prim.subprogram_params:
            sub = self.params.get(name)
            if sub is not None:
                yield name, sub


TypeRule = Callable[[Sequence[ArrayType], Mapping[str, Any]], Sequence[ArrayType]]


@dataclass(eq=False)
class Primitive:
    """One IR operation. Declared once here; each stage keeps its rules in a table keyed by it.

    ``type_rule`` checks argument types and params and returns the output
    types, raising :class:`pyaccad.ShapeError`/:class:`pyaccad.DTypeError`.
    ``scope`` says where the primitive may appear: ``"array"`` (top-level
    programs and array-level bodies), ``"scalar"`` (inside lambdas only) or
    ``"both"`` (element-wise operations, which act on rank-0 values inside
    lambdas and on whole arrays outside). ``linear_args`` lists the argument
    positions in which the primitive is linear (for the transpose stage).
    ``family`` (one of :data:`FAMILIES`) is what passes ask instead of lists of
    names; ``commutative`` says its two arguments may be swapped exactly.

    >>> from pyaccad.ir import PRIMITIVES
    >>> PRIMITIVES["fold"].family, PRIMITIVES["fold"].scalar_bodies, PRIMITIVES["add"].commutative
    ('collective', True, True)
    """

    name: str
    type_rule: TypeRule
    scope: str = "array"
    subprogram_params: tuple[str, ...] = ()
    linear_args: tuple[int, ...] = ()
    doc: str = ""
    family: str = "structural"
    commutative: bool = False

    def __post_init__(self) -> None:
        if self.family not in FAMILIES:
            raise ValueError(f"primitive {self.name!r}: family {self.family!r} is not one of {sorted(FAMILIES)}")

    @property
    def scalar_bodies(self) -> bool:
        """Whether its nested programs are scalar lambdas (the collectives'); other bodies are at its own level."""
        return self.family == "collective"

    def __repr__(self) -> str:
        return f"<primitive {self.name}>"


FAMILIES = {
    "elementwise": "acts element by element (the ELEMENTWISE rows, select, cast)",
    "index_map": "each result element is one operand element, or a pad value (broadcasts, slices, ...)",
    "collective": "accelerate's collective operations, holding scalar lambdas (generate, map, fold, ...)",
    "control": "host-side control flow at array level, scalar control flow inside lambdas (cond, while)",
    "custom": "a body computed as it is, with a derivative rule or a recomputation barrier (custom_rule, remat)",
    "read": "a read of a free array inside a lambda (index)",
    "linalg": "dense linear algebra on the last two axes, through LAPACK (cholesky, triangular_solve, solve)",
    "structural": "everything else: constants, matrix products",
}
"""Every primitive belongs to one family, and passes that treat a family alike ask for it."""

PRIMITIVES: dict[str, Primitive] = {}
"""Every primitive of the IR, by name. A stage's rule table is complete when it has an entry for each."""


def declare(prim: Primitive) -> Primitive:
    """Add ``prim`` to the registry (each name once)."""
    if prim.name in PRIMITIVES:
        raise ValueError(f"primitive {prim.name!r} declared twice")
    PRIMITIVES[prim.name] = prim
    return prim
