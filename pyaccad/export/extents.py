"""Shape-generic export: the program's integers as expressions in its inputs' extents, found by retracing.

The tracer knows only the example's sizes, so the program it makes has numbers where a
person would write ``n - 1``. This module finds those expressions without changing the
tracer: every input axis gets a symbol (axes whose example extents are equal share one;
give distinct sizes to axes that vary independently), ``f`` is traced again with the
symbols at other values, and, walking the programs side by side, every integer (the types'
extents, integer parameters, integer literals in lambdas) is fitted with a polynomial in the
symbols: a multilinear one plus squares, with rational coefficients, so ``n * (n - 1) `div`
2`` is found too. The design is the full factorial of two values per symbol plus a third value
of each alone; one more trace, every symbol at a fresh value, checks every fit. A float
literal that varies (a mean's ``1/N``) is fitted as the reciprocal of such a polynomial.

A symbol stays fixed at its example extent when changing it changes the program's structure
(a Python loop over ``range(x.shape[0])``, a size written into ``f``), when a number that
depends on it fits no polynomial, beyond :data:`MAX_SYMBOLS` symbols, and for extents 0 and 1
(a size-1 axis broadcasts). :class:`Extents` says which are generic and why the others are not.

>>> import numpy as np
>>> extents = fit_extents(lambda v: v[1:] * 2.0, (np.ones(5),))
>>> extents.names, [str(t) for t in extents.annotate(extents.example).output_types]
(('n',), ['f64[(n - 1)]'])
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from pyaccad.export.names import sanitize
from pyaccad.export.symbolic import Poly, SymFloat, SymInt
from pyaccad.frontend.pytree import flatten, unflatten
from pyaccad.ir import BOOL, FLOAT_DTYPES, Lit, Program, Stmt, Var
from pyaccad.ir.types import ArrayType

MAX_SYMBOLS = 4
"""Symbols fitted at most (the design traces 2^k + k + 1 times); further extents stay fixed."""
NAMES = "nmpqrstuvw"
CHANGES_ALONE = (
    "the program traced is different when it alone changes "
    "(a Python loop over it, a size written in f, or an extent that must change with it)"
)
Tracer = Callable[[Any, tuple], Program]
"""``tracer(f, args)``: the program ``f`` traces to at ``args`` (optimised as the export wants it)."""


@dataclass(eq=False)
class Symbol:
    """One extent of the example, the input axes that have it, and why it is fixed (None: generic)."""

    extent: int
    axes: list[tuple[int, int]]
    fixed: str | None = None


@dataclass
class Extents:
    """The symbols of a program's extents and the expression of each of its integers."""

    example: Program
    symbols: list[Symbol]
    names: tuple[str, ...]
    """The generic symbols' Haskell names, by position among the generic ones."""
    ints: list[Poly] = field(default_factory=list)
    floats: list[tuple[Poly, bool] | None] = field(default_factory=list)
    check: Program | None = None
    """The program traced at the further sizes that checked the fits (None when nothing is generic)."""
    check_values: dict[int, int] = field(default_factory=dict)

    def fix_all(self, reason: str) -> None:
        """Give up on every symbol: the numbers are the example's again."""
        for symbol in self.generic:
            symbol.fixed = reason
        _, ints, floats, _ = numbers(self.example)
        self.ints, self.floats, self.names, self.check = [Poly.const(n) for n in ints], [None] * len(floats), (), None

    @property
    def generic(self) -> list[Symbol]:
        return [s for s in self.symbols if s.fixed is None]

    def describes(self, program: Program) -> bool:
        """Whether ``program`` (``f`` traced at other sizes) is the one this fit writes for every size: the
        example's structure, with each number the value of its expression at ``program``'s input extents (a
        float that did not vary with the sizes, the example's own bits). A module printed from this fit then
        computes ``program``.

        >>> import numpy as np
        >>> from pyaccad.frontend import trace
        >>> extents = fit_extents(lambda v: v[1:] * 2.0, (np.ones(5),))
        >>> [extents.describes(trace(fn, np.ones(9)).program) for fn in (lambda v: v[1:] * 2.0, lambda v: v[2:] * 2.0)]
        [True, False]
        """
        skeleton, ints, floats, _ = numbers(program)
        example_skeleton, _, example_floats, _ = numbers(self.example)
        if skeleton != example_skeleton:
            return False
        values = {}
        for k, symbol in enumerate(self.generic):
            seen = {program.inputs[position].shape[axis] for position, axis in symbol.axes}
            if len(seen) != 1:
                return False
            values[k] = seen.pop()
        if any(poly.at(values) != n for poly, n in zip(self.ints, ints, strict=True)):
            return False
        return all(
            float(value).hex() == float(example).hex() if fit is None else _float_matches(fit, values, value)
            for fit, value, example in zip(self.floats, floats, example_floats, strict=True)
        )

    def annotate(self, program: Program, values: dict[int, int] | None = None) -> Program:
        """``program`` (the example's or a retrace's) with every integer that varies as a :class:`SymInt`."""
        values = values or {k: s.extent for k, s in enumerate(self.generic)}
        ints, floats = iter(self.ints), iter(self.floats)

        def on_int(value: int) -> int:
            return SymInt.of(next(ints), values, self.names)

        def on_float(value: float) -> float:
            fit = next(floats)
            return value if fit is None else SymFloat(value, fit[0], fit[1], self.names)

        return Walk(on_int, on_float).program(program)


class Walk:
    """A copy of a program, every integer and float passed through a function, its structure recorded.

    Two programs have the same structure when their ``skeleton`` lists are equal: everything but
    the numbers (primitives, parameters' names, which variable each argument is, dtypes, ranks).
    """

    def __init__(self, on_int: Callable[[int], int], on_float: Callable[[float], float]) -> None:
        self.on_int, self.on_float = on_int, on_float
        self.skeleton: list[object] = []
        self.vars: dict[Var, Var] = {}
        self.positions: dict[Var, int] = {}  # each var's place in ``vars`` (a list's index() made this quadratic)

    def program(self, program: Program) -> Program:
        inputs = tuple(self.bind(v) for v in program.inputs)
        stmts = tuple(self.stmt(s) for s in program.stmts)
        return Program(inputs, stmts, tuple(self.atom(a) for a in program.outputs))

    def stmt(self, stmt: Stmt) -> Stmt:
        self.skeleton.append(stmt.prim.name)
        args = tuple(self.atom(a) for a in stmt.args)
        params = {key: self.value(key, value) for key, value in stmt.params.items()}
        outs = tuple(self.bind(v) for v in stmt.outs)
        return Stmt(stmt.prim, args, params, outs, stmt.source)

    def bind(self, var: Var) -> Var:
        self.skeleton.append(("var", var.dtype.str, var.type.ndim))
        new = Var(ArrayType(var.dtype, tuple(self.on_int(n) for n in var.shape)), var.hint)
        self.vars[var] = new
        self.positions.setdefault(var, len(self.positions))
        return new

    def atom(self, atom: Var | Lit) -> Var | Lit:
        if isinstance(atom, Var):
            self.skeleton.append(("use", self.positions[atom]))
            return self.vars[atom]
        self.skeleton.append(("lit", atom.dtype.str, atom.from_extents))
        return Lit(self.number(atom.value, atom.dtype), atom.dtype, atom.from_extents)

    def number(self, value: object, dtype: np.dtype) -> object:
        if dtype == BOOL:
            self.skeleton.append(bool(value))
            return value
        if dtype in FLOAT_DTYPES:
            return self.on_float(value)  # type: ignore[arg-type]
        return self.on_int(int(value))  # type: ignore[call-overload]

    def value(self, key: str, value: object) -> object:
        self.skeleton.append(key)
        if isinstance(value, Program):
            return self.program(value)
        if isinstance(value, bool | np.bool_):
            self.skeleton.append(bool(value))
            return value
        if isinstance(value, int | np.integer):
            return self.on_int(int(value))
        if isinstance(value, float | np.floating):
            return self.on_float(float(value))
        if isinstance(value, tuple | list):
            self.skeleton.append((type(value).__name__, len(value)))
            return type(value)(self.value(key, v) for v in value)
        if isinstance(value, np.ndarray):
            self.skeleton.append((value.dtype.str, value.shape, value.tobytes()))
        elif isinstance(value, str | np.dtype) or value is None:
            self.skeleton.append(value)
        else:
            self.skeleton.append(type(value).__name__)  # a custom rule's object: its body is a subprogram
        return value


def numbers(program: Program) -> tuple[list[object], list[int], list[float], Program]:
    """The structure of ``program``, its integers and floats in walking order, and itself."""
    ints: list[int] = []
    floats: list[float] = []

    def on_int(value: int) -> int:
        ints.append(value)
        return value

    def on_float(value: float) -> float:
        floats.append(value)
        return value

    walk = Walk(on_int, on_float)
    walk.program(program)
    return walk.skeleton, ints, floats, program


def fit_extents(f: Any, args: tuple, tracer: Tracer | None = None) -> Extents:
    """Trace ``f`` at ``args`` and at other sizes, and fit its integers in its extents (see the module doc)."""
    tracer = tracer or _default_tracer
    leaves, tree = flatten(tuple(args))
    shapes = [np.shape(leaf) if isinstance(leaf, np.ndarray | np.generic) else None for leaf in leaves]
    symbols: dict[int, Symbol] = {}
    for position, shape in enumerate(shapes):
        for axis, extent in enumerate(shape or ()):
            symbols.setdefault(extent, Symbol(extent, [])).axes.append((position, axis))
    ordered = list(symbols.values())
    for k, symbol in enumerate(ordered):
        if symbol.extent < 2:
            symbol.fixed = "an extent of 0 or 1 (a size-1 axis broadcasts)"
        elif k >= MAX_SYMBOLS + sum(s.extent < 2 for s in ordered[:k]):
            symbol.fixed = f"only {MAX_SYMBOLS} extents are fitted"

    def at(values: dict[Symbol, int]) -> tuple[list, list[int], list[float], Program] | str:
        sized = []
        for leaf, shape in zip(leaves, shapes, strict=True):
            if shape is None:
                sized.append(leaf)
                continue
            new = tuple(values.get(symbols[n], n) for n in shape)
            # a read-only view of one zero: tracing reads shapes and dtypes only, and a design point's extents
            # multiply (a (3, 5) input at two fitted extents past 2^18 would be a 256 GiB array)
            sized.append(np.broadcast_to(np.zeros((), np.asarray(leaf).dtype), new))
        try:
            return numbers(tracer(f, tuple(unflatten(tree, sized))))
        # f cannot be traced at a size nobody asked for (its own check of a shape, an `assert`): those extents
        # stay fixed. acc.jit on the bridge fits every function it compiles, and must not fail where f works.
        except Exception as exc:
            return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"

    example = tracer(f, tuple(args))
    base = numbers(example)
    taken = {sanitize(v.hint) for v in _all_vars(example)}
    while True:
        outcome = _fit(ordered, base, at)
        if outcome is not None:
            ints, floats, check, check_values = outcome
            names = [n for n in NAMES if n not in taken][: len([s for s in ordered if s.fixed is None])]
            return Extents(example, ordered, tuple(names), ints, floats, check, check_values)


def _all_vars(program: Program) -> Iterator[Var]:
    yield from program.inputs
    for stmt in program.stmts:
        yield from stmt.outs
        for sub in stmt.subprograms():
            yield from _all_vars(sub)


def _default_tracer(f: Any, args: tuple) -> Program:
    from pyaccad.frontend import trace

    return trace(f, *args).program


def _fit(symbols: list[Symbol], base, at) -> tuple | None:
    """Fit every number, or fix at least one more symbol (and return None, to be called again)."""
    active = [s for s in symbols if s.fixed is None]
    skeleton, base_ints, base_floats, _ = base
    if not active:
        return [Poly.const(n) for n in base_ints], [None] * len(base_floats), None, {}
    levels = _levels(symbols)
    points = _design(active, levels)
    traces = [base]
    for point in points[1:]:
        got = at(point)
        reason = got if isinstance(got, str) else None
        if reason is None and got[0] != skeleton:
            reason = CHANGES_ALONE
        if reason is not None:
            for symbol in active:
                if point[symbol] != symbol.extent:
                    symbol.fixed = reason
            return None
        traces.append(got)
    solve = _solver(active, points)
    singles = {s: next(t for p, t in zip(points, traces, strict=True) if _only(p, s, levels)) for s in active}
    ints = [solve([Fraction(t[1][slot]) for t in traces]) for slot in range(len(base_ints))]
    floats = []
    for slot in range(len(base_floats)):
        observed = [t[2][slot] for t in traces]
        floats.append(None if len(set(observed)) == 1 else _fit_float(observed, solve))
    check = {s: levels[s][2] for s in active}
    got = at(check)
    if isinstance(got, str) or got[0] != skeleton:
        reason = got if isinstance(got, str) else "the program's structure changes at other sizes"
        for symbol in active:
            symbol.fixed = reason
        return None
    values = {k: check[s] for k, s in enumerate(active)}
    failed: set[Symbol] = set()
    for slot, (poly, value) in enumerate(zip(ints, got[1], strict=True)):
        if (
            poly is None
            or max(c.denominator for c in poly.terms.values() or [Fraction(1)]) > 1000
            or poly.at(values) != value
        ):
            failed |= _depends(active, singles, lambda t, slot=slot: t[1][slot], base_ints[slot])
    for slot, (fit, value) in enumerate(zip(floats, got[2], strict=True)):
        varies = len({t[2][slot] for t in traces}) > 1
        if varies and (fit is None or not _float_matches(fit, values, value)):
            failed |= _depends(active, singles, lambda t, slot=slot: t[2][slot], base_floats[slot])
    if failed:
        for symbol in failed:
            symbol.fixed = "a number that depends on it is no polynomial in the extents"
        return None
    return ints, floats, got[3], values


def _levels(symbols: Sequence[Symbol]) -> dict[Symbol, tuple[int, int, int]]:
    """Three new values of each symbol (two design values and the check's), above every example extent and
    apart from every other symbol's: two extents made equal could let the optimiser share what the example
    keeps apart (two fills of one shape), and the program would look different for that reason alone."""
    top = max(s.extent for s in symbols)
    return {s: (top + 1 + 3 * k, top + 2 + 3 * k, top + 3 + 3 * k) for k, s in enumerate(symbols)}


def _only(point: dict[Symbol, int], symbol: Symbol, levels: dict) -> bool:
    """Whether ``point`` moves ``symbol`` alone, to its third design value."""
    return all((v == s.extent) != (s is symbol) for s, v in point.items()) and point[symbol] == levels[symbol][1]


def _depends(active: list[Symbol], singles: dict, read: Callable, value: object) -> set[Symbol]:
    """The symbols that change a number when moved alone (all of them if none does by itself)."""
    moved = {s for s in active if read(singles[s]) != value}
    return moved or set(active)


def _design(active: Sequence[Symbol], levels: dict) -> list[dict[Symbol, int]]:
    """Two values of every symbol (its extent first, so the example is the first point), a third of each alone."""
    grid = [dict(zip(active, p, strict=True)) for p in itertools.product(*[(s.extent, levels[s][0]) for s in active])]
    singles = [{t: (levels[s][1] if t is s else t.extent) for t in active} for s in active]
    # fewer symbols moved first: a symbol that changes the program alone is found (and fixed) alone
    return sorted(grid + singles, key=lambda p: sum(v != s.extent for s, v in p.items()))


def _monomials(k: int) -> list[tuple[int, ...]]:
    subsets = [m for r in range(k + 1) for m in itertools.combinations(range(k), r)]
    return subsets + [(s, s) for s in range(k)]


def _solver(active: Sequence[Symbol], points: Sequence[dict[Symbol, int]]) -> Callable:
    """``solve(values)``: the polynomial through ``values`` at ``points`` (exact Gauss-Jordan, inverse once)."""
    monomials = _monomials(len(active))
    rows = [[Fraction(int(np.prod([p[active[s]] for s in m]))) for m in monomials] for p in points]
    inverse = _inverse(rows)

    def solve(values: Sequence[Fraction]) -> Poly | None:
        if inverse is None:
            return None
        coefficients = [sum((r * v for r, v in zip(row, values, strict=True)), Fraction(0)) for row in inverse]
        return Poly(dict(zip(monomials, coefficients, strict=True)))

    return solve


def _inverse(rows: list[list[Fraction]]) -> list[list[Fraction]] | None:
    n = len(rows)
    augmented = [row + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(rows)]
    for col in range(n):
        pivot = next((r for r in range(col, n) if augmented[r][col] != 0), None)
        if pivot is None:
            return None
        augmented[col], augmented[pivot] = augmented[pivot], augmented[col]
        scale = augmented[col][col]
        augmented[col] = [x / scale for x in augmented[col]]
        for r in range(n):
            if r != col and augmented[r][col] != 0:
                factor = augmented[r][col]
                augmented[r] = [x - factor * y for x, y in zip(augmented[r], augmented[col], strict=True)]
    return [row[n:] for row in augmented]


def _fit_float(observed: Sequence[float], solve: Callable) -> tuple[Poly, bool] | None:
    """A float that varies with the sizes: a polynomial (a count), or the reciprocal of one (``1/N``)."""
    for reciprocal in (False, True):
        if reciprocal and any(v == 0 for v in observed):
            return None
        rationals = [Fraction(1 / v if reciprocal else v).limit_denominator(1000) for v in observed]
        poly = solve(rationals)
        if poly is not None and not poly.is_constant() and max(c.denominator for c in poly.terms.values()) < 1 << 10:
            return poly, reciprocal
    return None


def _float_matches(fit: tuple[Poly, bool], values: dict[int, int], observed: float) -> bool:
    poly, reciprocal = fit
    exact = poly.at(values)
    if exact == 0:
        return False
    value = float(1 / exact if reciprocal else exact)
    return abs(value - observed) <= 1e-6 * abs(observed)
