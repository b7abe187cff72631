"""Loops over small arrays as one scalar ``while``: what the export prints for such an ``awhile``.

accelerate runs an ``awhile`` on the host: every array operation of its body, on every trip, is a task of
its executor (about 5 µs each through accelerate-llvm-native, whatever its size; BENCHMARKS.md, "Loops through
accelerate"), even where each holds a handful of numbers. A loop whose state is a few small arrays of fixed
extents (a counter, a running value, an LSTM's 14-element rows) can instead run as one scalar ``while``
(accelerate's ``Exp``-level ``while``), its state every element of those arrays, on one thread inside one
``generate`` of one element. :func:`scalar_loops` rewrites such loops so (in nested array-level bodies too).

The body is written element by element, each element computed where a result needs it (so an intermediate
of an extent that varies, a parameter row sliced from a larger array, costs nothing but the elements read):

* element-wise statements act on the operands' elements at the same index;
* index maps (slices, reshapes, broadcasts, transposes, pads, concatenations) read the operand element their
  index map (:mod:`pyaccad.ir.index_maps`) names;
* a ``generate``/``map`` lends its lambda's statements at that index, a ``backpermute`` its index lambda's;
  a ``fold`` combines the elements along its axis in index order (as accelerate-llvm's sequential fold
  does), then the initial value, as the IR's ``fold`` means;
* an array bound outside the loop is read with ``index`` (at a literal index before the loop, at one computed
  from the state inside it); a rank-0 one is used as it is;
* an array-level ``cond`` or ``while`` of such values becomes the scalar one.

A loop with anything else (a scan, a scatter, a stencil, a product, extents that vary, more than
:data:`STATE_LIMIT` numbers of state or :data:`STATEMENT_LIMIT` statements unrolled) is left an ``awhile``.

Only the results used after the loop leave its ``generate``; an array result is gathered back from its
elements. The
``generate`` is materialised (:func:`scalar_loops` returns its results for ``compute``): accelerate would
otherwise fuse it into each consumer, and run the loop again for every element of one that reads it
everywhere (a ``replicate``), and once for each result it unzips.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad.frontend import trace
>>> def f(x):
...     return acc.awhile(lambda s: s[0] < 10, lambda s: (s[0] + 1, s[1] * 0.5 + x[s[0] % 3]), (0, x[:2]))[1]
>>> program, loops = scalar_loops(trace(f, np.arange(3.0)).program)
>>> [s.prim.name for s in program.stmts if s.outs[0] in loops], len(loops)  # the loop, its two numbers
(['generate'], 2)
"""

from __future__ import annotations

import math
import operator
from collections.abc import Sequence

import numpy as np

from pyaccad.export.checked import inside_at_trace
from pyaccad.export.symbolic import SymInt
from pyaccad.ir import INDEX_DTYPE, PRIMITIVES, Atom, Lit, Program, Stmt, Var, scalar_type
from pyaccad.ir.index_maps import Bin, Const, Expr, Extent, Let, Out, OutFlat, Unravel, reads_of
from pyaccad.ir.rewrite import rebuild_program, rebuild_stmt, substitute
from pyaccad.opt.constant_fold import evaluate

STATE_LIMIT = 128
"""The most numbers a loop's state may hold to run as a scalar loop (each one a variable of the ``while``):
accelerate's work converting a loop grows fast with its state (64 numbers: 1.0 s a process, 128: 3.3 s)."""
STATEMENT_LIMIT = 2048
"""The most scalar statements one loop may unroll to (its nested loops' counted): the LSTM's primal takes 1196,
and accelerate converts it in 3.6 s (once a process; BENCHMARKS.md)."""

_INDEX, _GENERATE, _WHILE, _COND = (PRIMITIVES[n] for n in ("index", "generate", "while", "cond"))
_EQ, _SELECT, _ADD, _MUL = (PRIMITIVES[n] for n in ("eq", "select", "add", "mul"))

Index = tuple[int | Atom, ...]  # an element's position: known numbers, or values computed in the loop


class _Unsuitable(Exception):
    """The loop computes something a scalar loop does not: it stays an ``awhile``."""


def scalar_loops(program: Program) -> tuple[Program, set[Var]]:
    """``program`` with every array-level ``while`` over small arrays run as a scalar ``while`` (module doc),
    and the results of the ``generate`` each became (to materialise)."""
    loops: set[Var] = set()
    return _program(program, loops), loops


def _program(program: Program, loops: set[Var]) -> Program:
    used = _used(program)
    stmts: list[Stmt] = []
    for stmt in program.stmts:
        if stmt.prim is _WHILE:  # the whole loop first: its nested loops then run inside its scalar one
            try:
                stmts += _scalar_loop(stmt, used, loops)
                continue
            except _Unsuitable:
                pass
        stmts.append(_nested(stmt, loops))
    return rebuild_program(program, stmts, program.outputs)


def _nested(stmt: Stmt, loops: set[Var]) -> Stmt:
    """``stmt`` with the loops of its array-level bodies rewritten (a collective's lambdas are scalar already)."""
    if stmt.prim.scalar_bodies or not stmt.prim.subprogram_params:
        return stmt
    params = {**stmt.params, **{name: _program(sub, loops) for name, sub in stmt.named_subprograms()}}
    return rebuild_stmt(stmt, stmt.args, params, stmt.outs)


def _used(program: Program) -> set[Var]:
    """The variables ``program``'s statements, nested programs and outputs read."""
    used = {a for a in program.outputs if isinstance(a, Var)}
    for stmt in program.stmts:
        used.update(a for a in stmt.args if isinstance(a, Var))
        for sub in stmt.subprograms():
            used.update(sub.free_vars)
    return used


def _extents(var: Var | Lit) -> tuple[int, ...]:
    """The fixed extents of ``var`` (a loop's state, an element's whole array); one that varies is unsuitable."""
    if any(isinstance(n, SymInt) for n in var.type.shape):
        raise _Unsuitable
    return tuple(int(n) for n in var.type.shape)


def _scalar_loop(stmt: Stmt, used: set[Var], loops: set[Var]) -> list[Stmt]:
    """The ``generate`` running ``stmt`` as a scalar loop, and the gathers of its array results used later."""
    sizes = [math.prod(_extents(v)) for v in stmt.outs]
    if sum(sizes) > STATE_LIMIT or 0 in sizes:  # (an empty array has no element to carry, nor to gather)
        raise _Unsuitable
    before: list[Stmt] = []  # the generate's lambda: the reads of the initial state, then the loop
    outside = _Elements(before, {}, {}, _Budget())
    results = outside.loop(stmt)
    wanted: list[tuple[Var, Atom]] = []  # (a rank-0 result of the generate, its number)
    gathers: list[Stmt] = []
    for var, elements in zip(stmt.outs, results, strict=True):
        if var not in used:
            continue
        if not var.type.shape:
            wanted.append((var, elements[0]))
            continue
        numbers = [Var(scalar_type(var.dtype), var.hint) for _ in elements]
        wanted += zip(numbers, elements, strict=True)
        gathers.append(_gathered(var, numbers, stmt.source))
    if not wanted:
        raise _Unsuitable
    loops.update(var for var, _ in wanted)
    lam = Program((), tuple(before), tuple(number for _, number in wanted))
    generate = Stmt(_GENERATE, (), {"shape": (), "lam": lam}, tuple(var for var, _ in wanted), stmt.source)
    return [generate, *gathers]


def _gathered(var: Var, numbers: Sequence[Var], source: str | None) -> Stmt:
    """``var`` made of the rank-0 arrays ``numbers`` (its elements in row-major order): a ``generate`` picking
    the one at each element's position."""
    shape = _extents(var)
    index = [Var(scalar_type(INDEX_DTYPE), f"i{a}") for a in range(len(shape))]
    stmts: list[Stmt] = []
    position: Atom = index[0]
    for axis, n in zip(index[1:], shape[1:], strict=True):
        position = _emit(stmts, _MUL, (position, Lit(n, INDEX_DTYPE)), INDEX_DTYPE)
        position = _emit(stmts, _ADD, (position, axis), INDEX_DTYPE)
    picked: Atom = numbers[-1]
    for k in reversed(range(len(numbers) - 1)):
        here = _emit(stmts, _EQ, (position, Lit(k, INDEX_DTYPE)), np.dtype(bool))
        picked = _emit(stmts, _SELECT, (here, numbers[k], picked), var.dtype)
    lam = Program(tuple(index), tuple(stmts), (picked,))
    return Stmt(_GENERATE, (), {"shape": var.type.shape, "lam": lam}, (var,), source)


def _emit(out: list[Stmt], prim, args: Sequence[Atom], dtype: np.dtype, params: dict | None = None) -> Atom:
    """The value of ``prim`` on scalar ``args``: a literal where it is integer arithmetic on literals (an
    index the loop's unrolling knows), else a statement appended to ``out``."""
    stmt = Stmt(prim, tuple(args), params or {}, (Var(scalar_type(dtype)),))
    folded = _folded(stmt)
    if folded is not None:
        return folded
    out.append(stmt)
    return stmt.outs[0]


def _folded(stmt: Stmt) -> Lit | None:
    """``stmt``'s literal result where it is an integer or bool operation of plain literals (an extent's
    expression keeps its symbol: it is left to the program)."""
    args = stmt.args
    if stmt.prim.family != "elementwise" or not all(
        isinstance(a, Lit) and not isinstance(a.value, SymInt) for a in args
    ):
        return None
    if stmt.outs[0].dtype.kind not in "iub":
        return None
    value = evaluate(stmt, [np.asarray(a.value, a.dtype) for a in args])
    return None if value is None else Lit(value.item(), stmt.outs[0].dtype)


class _Budget:
    """The scalar statements a loop has left to unroll to (:data:`STATEMENT_LIMIT`)."""

    def __init__(self) -> None:
        self.left = STATEMENT_LIMIT

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise _Unsuitable


class _Elements:
    """The elements of one scope's arrays as scalar values, each computed (into ``out``) where first asked for.

    A scope is the loop's ``generate`` lambda before the loop (its initial state, reads of arrays from outside
    at literal indices), a loop body or condition (``state``: each state array's elements, the ``while``'s
    variables), or a ``cond`` branch; ``defs`` are the statements of the scope's own array-level program.
    Values of enclosing scopes come from ``parent`` (computed there: they do not change inside this one).
    """

    def __init__(
        self,
        out: list[Stmt],
        defs: dict[Var, Stmt],
        state: dict[Var, list[Atom]],
        budget: _Budget,
        parent: _Elements | None = None,
        branch: bool = False,
    ) -> None:
        self.out, self.defs, self.state, self.budget, self.parent = out, defs, state, budget, parent
        self.branch = branch
        self.known: dict[tuple, Atom] = {}

    # --- where a value lives ------------------------------------------------------------------------
    def in_branch(self) -> bool:
        """Whether this scope, or one it is inside, is a ``cond`` branch (which runs only when taken)."""
        scope: _Elements | None = self
        while scope is not None:
            if scope.branch:
                return True
            scope = scope.parent
        return False

    def owner(self, var: Var) -> _Elements | None:
        """The scope of the loop that binds ``var``; None where it is bound outside the loop."""
        scope: _Elements | None = self
        while scope is not None:
            if var in scope.defs or var in scope.state:
                return scope
            scope = scope.parent
        return None

    def at(self, atom: Atom, index: Index) -> Atom:
        """The element of ``atom`` at ``index``."""
        if isinstance(atom, Lit):
            return atom
        index = tuple(i.value if isinstance(i, Lit) else i for i in index)
        owner = self.owner(atom)
        if owner is None:
            return self._outside(atom, index)
        if owner is not self and not any(isinstance(i, Var) for i in index):
            return owner.at(atom, index)  # an enclosing scope's value at a known place: computed there
        key = (atom, _key(index))
        found = self.known.get(key)
        if found is None:
            found = self.known[key] = self._compute(atom, index, owner)
        return found

    def whole(self, atom: Atom) -> list[Atom]:
        """Every element of ``atom``, in row-major order."""
        if isinstance(atom, Lit):
            return [atom]
        return [self.at(atom, index) for index in np.ndindex(*_extents(atom))]

    def _outside(self, var: Var, index: Index) -> Atom:
        """An element of an array bound outside the loop: a rank-0 one as it is, else its ``index`` read. A read at
        a known index is made once, before the loop, where it is inside the array wherever it runs (within fixed
        extents) or every trip makes it (not in a branch); any other where the original makes it. (A loop of no
        trips then reads too: where that read is outside, the bridge's check sends the call to the interpreter,
        which gives the loop's result.)"""
        if not var.type.shape:
            return var
        scope = self
        read = Stmt(_INDEX, (var, *map(_atom, index)), {}, (Var(scalar_type(var.dtype)),))
        if inside_at_trace(read) or not any(isinstance(i, Var) for i in index) and not self.in_branch():
            while scope.parent is not None:  # every trip reads the same element: read it once, before the loop
                scope = scope.parent
        key = (var, _key(index))
        found = scope.known.get(key)
        if found is None:
            scope.budget.spend()
            scope.out.append(read)
            found = scope.known[key] = read.outs[0]
        return found

    def emit(self, prim, args: Sequence[Atom], dtype: np.dtype, params: dict | None = None) -> Atom:
        self.budget.spend()
        return _emit(self.out, prim, args, dtype, params)

    # --- the statements of a scope ------------------------------------------------------------------
    def _compute(self, var: Var, index: Index, owner: _Elements) -> Atom:
        if var in owner.state:
            return owner.state[var][_position(index, _extents(var))]
        stmt = owner.defs[var]
        name, family = stmt.prim.name, stmt.prim.family
        if family == "elementwise":
            args = [self.at(a, index if a.type.shape else ()) for a in stmt.args]
            return self.emit(stmt.prim, args, var.dtype, dict(stmt.params))
        if family == "index_map":
            return self._index_map(stmt, _known(index))
        if name == "const":
            return Lit(stmt.params["value"][_known(index)].item(), var.dtype)
        if name in ("generate", "map", "fold", "backpermute"):  # every result's element at the same index
            by_name = {
                "generate": self._generate,
                "map": self._map,
                "fold": self._fold,
                "backpermute": self._backpermute,
            }
            results = by_name[name](stmt, index)
            for out, result in zip(stmt.outs, results, strict=True):
                self.known[(out, _key(index))] = result
            return self.known[(var, _key(index))]
        if name in ("cond", "while"):  # whole arrays: every element of every result
            elements = iter(self._cond(stmt) if name == "cond" else [e for group in self.loop(stmt) for e in group])
            for out in stmt.outs:
                for at in np.ndindex(*_extents(out)):
                    self.known[(out, _key(at))] = next(elements)
            return self.known[(var, _key(_known(index)))]
        raise _Unsuitable  # scans, scatters, stencils, products, custom rules

    def _index_map(self, stmt: Stmt, index: tuple[int, ...]) -> Atom:
        shapes = [a.type.shape for a in stmt.args]
        flat = _position(index, stmt.outs[0].type.shape)  # the element's row-major position (a reshape's reads)
        for read in reads_of(stmt):
            if all(_OPS[c.op](_value(c.a, index, shapes, flat), _value(c.b, index, shapes, flat)) for c in read.valid):
                source = stmt.args[read.arg]
                return self.at(source, tuple(_value(e, index, shapes, flat) for e in read.index))
        raise AssertionError("an index map's last read has no condition")

    def _generate(self, stmt: Stmt, index: Index) -> list[Atom]:
        return self.lam(stmt.params["lam"], [_atom(i) for i in index])

    def _map(self, stmt: Stmt, index: Index) -> list[Atom]:
        return self.lam(stmt.params["lam"], [self.at(a, index) for a in stmt.args])

    def _backpermute(self, stmt: Stmt, index: Index) -> list[Atom]:
        (source,) = stmt.args
        at = self.lam(stmt.params["index"], [_atom(i) for i in index])
        return [self.at(source, tuple(at))]  # a loop's own array only at known places (else unsuitable)

    def _fold(self, stmt: Stmt, index: Index) -> list[Atom]:
        lam, axis = stmt.params["lam"], stmt.params["axis"]
        n = len(lam.outputs)
        arrays, inits = stmt.args[:n], stmt.args[n:]
        extent = _extents(arrays[0])[axis]
        rows = [[self.at(a, (*index[:axis], k, *index[axis:])) for a in arrays] for k in range(extent)]
        if not rows:
            return [self.at(z, ()) for z in inits]
        total = rows[0]
        for row in rows[1:]:
            total = self.lam(lam, [*total, *row])
        return self.lam(lam, [*(self.at(z, ()) for z in inits), *total]) if inits else total

    def _cond(self, stmt: Stmt) -> list[Atom]:
        """The scalar ``cond`` of the array-level ``cond`` ``stmt`` (appended here): every element of its
        results, each branch computing its own in a scope of its own."""
        (predicate,) = stmt.args
        params = dict(stmt.params)
        for name, branch in stmt.named_subprograms():
            out: list[Stmt] = []
            scope = _Elements(out, _defs(branch), {}, self.budget, self, branch=True)
            results = [e for a in branch.outputs for e in scope.whole(a)]
            params[name] = Program((), tuple(out), tuple(results))
        return self._scalar_control(stmt, (self.at(predicate, ()),), params, params["then_"].outputs)

    def loop(self, stmt: Stmt) -> list[list[Atom]]:
        """The scalar ``while`` of the array-level ``while`` ``stmt`` (appended here), its results grouped by
        the state array they are elements of."""
        init = [e for a in stmt.args for e in self.whole(a)]
        params = dict(stmt.params)
        for name in ("cond", "body"):
            sub = stmt.params[name]
            state = {v: [Var(scalar_type(v.dtype), v.hint) for _ in range(math.prod(_extents(v)))] for v in sub.inputs}
            out: list[Stmt] = []
            scope = _Elements(out, _defs(sub), state, self.budget, self)
            results = [e for a in sub.outputs for e in scope.whole(a)]
            params[name] = Program(tuple(e for v in sub.inputs for e in state[v]), tuple(out), tuple(results))
        flat = self._scalar_control(stmt, tuple(init), params, init)
        sizes = [math.prod(_extents(v)) for v in stmt.outs]
        starts = np.cumsum([0, *sizes])
        return [flat[a:b] for a, b in zip(starts[:-1], starts[1:], strict=True)]

    def _scalar_control(self, stmt: Stmt, args: tuple[Atom, ...], params: dict, like: Sequence[Atom]) -> list[Atom]:
        """The scalar ``cond``/``while`` of ``stmt`` on ``args`` with these bodies (appended here): its results,
        one of each dtype of ``like`` in turn (a branch's results, a loop's state)."""
        outs = tuple(Var(scalar_type(e.dtype), "") for e in like)
        self.budget.spend()
        self.out.append(Stmt(stmt.prim, args, params, outs, stmt.source))
        return list(outs)

    def lam(self, lam: Program, args: Sequence[Atom]) -> list[Atom]:
        """The results of the scalar lambda ``lam`` on ``args``, its statements appended here: its reads of the
        loop's own arrays become their elements, its uses of the loop's rank-0 values those values."""
        env: dict[Var, Atom] = dict(zip(lam.inputs, args, strict=True))

        def value(atom: Atom) -> Atom:
            if isinstance(atom, Lit):
                return atom
            if atom in env:
                return env[atom]
            return self.at(atom, ()) if self.owner(atom) is not None else atom

        for s in lam.stmts:
            if s.prim is _INDEX and isinstance(s.args[0], Var) and self.owner(s.args[0]) is not None:
                env[s.outs[0]] = self.at(s.args[0], tuple(value(a) for a in s.args[1:]))  # the loop's own array
                continue
            args_here = [value(a) for a in s.args]
            params = dict(s.params)
            for name, sub in s.named_subprograms():
                if any(self.owner(v) is not None and v.type.shape for v in sub.free_vars):
                    raise _Unsuitable  # a nested lambda reading a loop's own array
                inner = {v: value(v) for v in sub.free_vars if v in env or self.owner(v) is not None}
                params[name] = substitute(sub, inner)
            if len(s.outs) == 1 and not s.prim.subprogram_params:
                env[s.outs[0]] = self.emit(s.prim, args_here, s.outs[0].dtype, params)
                continue
            self.budget.spend()
            outs = tuple(Var(v.type, v.hint) for v in s.outs)
            self.out.append(Stmt(s.prim, tuple(args_here), params, outs, s.source))
            env.update(zip(s.outs, outs, strict=True))
        return [value(a) for a in lam.outputs]


def _defs(program: Program) -> dict[Var, Stmt]:
    return {out: stmt for stmt in program.stmts for out in stmt.outs}


def _key(index: Index) -> tuple:
    """A hashable form of an index: numbers by value and text (an extent's symbol counts), values by identity."""
    return tuple(("v", i.id) if isinstance(i, Var) else ("n", int(i), str(i)) for i in index)


def _atom(i: int | Atom) -> Atom:
    return i if isinstance(i, (Var, Lit)) else Lit(i, INDEX_DTYPE)


def _known(index: Index) -> tuple[int, ...]:
    """``index`` where every component is a known number; unsuitable where one is a value computed in the loop
    (an element of the loop's own arrays at a place only the run knows)."""
    if any(isinstance(i, (Var, Lit)) for i in index):
        raise _Unsuitable
    return index


def _position(index: Index, shape: Sequence[int]) -> int:
    """The row-major position of a known ``index`` in ``shape``."""
    position = 0
    for i, n in zip(_known(index), shape, strict=True):
        position = position * int(n) + int(i)
    return position


def _value(e: Expr, index: tuple[int, ...], shapes: Sequence[Sequence[int]], flat: int) -> int:
    """An index expression at a known element ``index`` (``flat``: its row-major position)."""
    if isinstance(e, Out):
        return index[e.axis]
    if isinstance(e, OutFlat):
        return flat
    if isinstance(e, Const):
        return e.value
    if isinstance(e, Extent):
        return shapes[e.arg][e.axis]
    if isinstance(e, Let):
        return _value(e.expr, index, shapes, flat)
    if isinstance(e, Unravel):
        return int(np.unravel_index(int(_value(e.flat, index, shapes, flat)), [int(n) for n in shapes[e.arg]])[e.axis])
    assert isinstance(e, Bin)
    return _OPS[e.op](_value(e.a, index, shapes, flat), _value(e.b, index, shapes, flat))


_OPS = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.floordiv,  # of non-negative operands wherever the read holds
    "%": operator.mod,
    ">=": operator.ge,
    "<": operator.lt,
    "==": operator.eq,
}
"""An index expression's operators (:class:`~pyaccad.ir.index_maps.Bin`, ``Cond``) on known numbers (an extent's
:class:`SymInt` keeps its symbol through ``+ - *``)."""
