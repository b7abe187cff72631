"""The printer's state: names, scopes, layout, literals and types while one exported function is printed.

A :class:`Printer` is given the rule table of its target (:data:`pyaccad.export.rules.RULES` for accelerate)
and asks it what each statement prints as; the rules call back into the printer for names, atoms and
nested programs. It imports no rule module, so the rules, the structural helpers and the templates can
all build on it.

>>> from pyaccad.ir import Var, ArrayType, FLOAT32
>>> p = Printer()
>>> p.bind(Var(ArrayType(FLOAT32, ()), "total"), array_level=True)
'total'
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import numpy as np

from pyaccad.export.names import INDEX_NAMES, RESERVED, letters, sanitize
from pyaccad.export.syntax import HS_SCALAR, MAX_TUPLE, ExportError, hang, lambda_text, literal_text, paren, tuple_of
from pyaccad.ir import BOOL, FLOAT16, FLOAT_DTYPES, Atom, Lit, Program, Stmt, Var
from pyaccad.opt.fusion import matrix_transpose_source

Rule = Callable[["Printer", Stmt, bool], str]
"""``rule(printer, stmt, array_level)``: the right-hand side of the statement's binding."""


def is_elementwise(stmt: Stmt) -> bool:
    """Whether ``stmt`` applies an element-wise primitive (a table row, ``select`` or ``cast``).

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> is_elementwise(trace(lambda x: -x, np.ones(2)).program.stmts[0])
    True
    """
    return stmt.prim.family == "elementwise"


def _index_names() -> Iterator[str]:
    """Names for unnamed index variables: ``i`` to ``n``, then ``i1`` to ``n1``, ``i2``, ...

    >>> list(itertools.islice(_index_names(), 8))
    ['i', 'j', 'k', 'l', 'm', 'n', 'i1', 'j1']
    """
    yield from INDEX_NAMES
    for n in itertools.count(1):
        yield from (f"{c}{n}" for c in INDEX_NAMES)


def _numbered_name(base: str, position: int) -> str:
    """Name ``position`` of ``base``'s numbered names: ``w1``, ``w2``, ...; with no base ``a``, ``b``, ...
    (:meth:`Printer.bind` skips those that read as index names: ``i``, ``jk``).

    >>> _numbered_name("w", 2), _numbered_name("", 0), _numbered_name("", 26)
    ('w2', 'a', 'aa')
    """
    return f"{base}{position}" if base else letters(position)


class Printer:
    """Names, scopes and layout while printing one exported function.

    >>> from pyaccad.ir import Var, ArrayType, FLOAT32
    >>> p = Printer()
    >>> p.bind(Var(ArrayType(FLOAT32, ()), "sum"), array_level=True), p.fresh("v"), p.fresh("v")
    ('sum1', 'v', 'v1')
    """

    def __init__(
        self,
        rules: Mapping[str, Rule] | None = None,
        blas: bool = False,
        ordered_folds: bool = True,
        partial_sums: bool = False,
    ) -> None:
        self.rules = dict(rules or {})
        self.blas = blas
        self.ordered_folds = ordered_folds
        """Float max/min folds as integer folds of ordered bits (:func:`pyaccad.export.rules.ordered_fold`)."""
        self.partial_sums = partial_sums
        """Long float sums in chunks of partial sums, for accelerate without fast-math (:mod:`pyaccad.export.sums`)."""
        self.names: dict[Var, str] = {}
        self.used: set[str] = set(RESERVED)
        """Every name in scope: a name taken here is no other variable's until a :meth:`scope` frees it."""
        self._next: dict[str, int] = {}  # by base ("": a, b, ...): the position its next numbered name starts at
        self._temporaries: list[str] = []  # taken in the innermost scope, freed when it ends
        self.array_level: set[Var] = set()
        self.inlined: dict[Var, str] = {}
        self.fills: dict[Var, Lit] = {}
        self.helpers: set[str] = set()
        self.computed: set[Var] = set()
        """Array-level values printed as ``compute (...)`` (:func:`pyaccad.export.haskell.materialised`)."""
        self.blas_transposed: dict[Var, Atom] = {}
        """Matrix transposes left unprinted: their products read the source transposed (``BLAS.gemm``'s ``T``)."""
        self.swapped: dict[Var, Var] = {}
        """Arrays whose transpose (last two axes swapped) is bound too, in the ``let`` being printed, to that
        binding: a long product sum reads its right operand so (:mod:`pyaccad.export.products`). Not the other
        way: a ``transpose`` read through accelerate's fusion is the same reads of its source."""

    def rule(self, name: str) -> Rule:
        """The export rule of primitive ``name`` (this target's table), or :meth:`no_rule`'s error naming it."""
        rule = self.rules.get(name)
        if rule is None:
            raise self.no_rule(name)
        return rule

    @staticmethod
    def no_rule(name: str) -> ExportError:
        """The error for a primitive this target has no rule for."""
        return ExportError(f"export: no accelerate export rule for primitive {name!r}")

    @contextmanager
    def scope(self) -> Iterator[None]:
        """The temporaries taken inside (:meth:`fresh` names, unnamed index variables) are free again afterwards.

        So every lambda can use ``i``, ``j`` and ``v``. The names of the program's own values stay taken to the
        end, so nothing a reader sees is shadowed. Safe because a printed lambda refers only to its own names
        and to names bound before it.

        >>> p = Printer()
        >>> with p.scope():
        ...     inner = p.fresh("v")
        >>> inner, p.fresh("v")
        ('v', 'v')
        """
        outer, self._temporaries = self._temporaries, []
        try:
            yield
        finally:
            self.used.difference_update(self._temporaries)
            self._temporaries = outer

    # --- names -------------------------------------------------------------------------------------
    def bind(self, var: Var, array_level: bool, index: bool = False) -> str:
        """A name for ``var``: its hint when it has a free one, else the next of its hint's numbered names
        (``x1``, ``x2``, ...; ``a``, ``b``, ... without a hint), taken to the end of the function. An unnamed
        index variable is a temporary instead: the first free of ``i``, ``j``, ..., ``n``, ``i1``, ...

        >>> from pyaccad.ir import Var, ArrayType, FLOAT32
        >>> p, scalar = Printer(), ArrayType(FLOAT32, ())
        >>> [p.bind(Var(scalar, hint), False) for hint in ("W", "W", "", "")], p.bind(Var(scalar), False, index=True)
        (['w', 'w1', 'a', 'b'], 'i')
        """
        if array_level:
            self.array_level.add(var)
        base = sanitize(var.hint)
        if index and not base:
            name = self._temporary(_index_names())
        elif base and base not in self.used:
            name = base
            self.used.add(name)
        else:
            name = self._numbered(base)
        self.names[var] = name
        return name

    def fresh(self, base: str) -> str:
        """A temporary for something the IR does not name (a printed helper's parameter): ``base`` if it is
        free, else the first free of ``base``'s numbered names after those :meth:`bind` took (``v1``, ...)."""
        numbered = (f"{base}{n}" for n in itertools.count(self._next.get(base, 1)))
        return self._temporary(itertools.chain([base], numbered))

    def _temporary(self, candidates: Iterable[str]) -> str:
        """The first free candidate, taken until the innermost scope ends.

        Scopes free these names, so each search starts again from the first candidate; it passes only the
        temporaries of the scopes around and the few names of values spelled the same (a program's values
        named ``v`` end where ``fresh("v")`` starts)."""
        name = next(name for name in candidates if name not in self.used)
        self.used.add(name)
        self._temporaries.append(name)
        return name

    def _numbered(self, base: str) -> str:
        """The next free name of ``base``'s numbered names, taken to the end of the function.

        Each sequence goes on from where its last name was found, so that a long program's thousands of
        ``a``, ``b``, ... cost no more each than the first (searching from the start each time made printing
        quadratic). Nothing before that position is free but what a scope freed since: a temporary the
        search passed (``v`` in ``\\v -> ...``), left unused."""
        position = self._next.get(base, 1 if base else 0)
        while (name := _numbered_name(base, position)) in self.used or name in INDEX_NAMES:
            position += 1
        self._next[base] = position + 1
        self.used.add(name)
        return name

    # --- atoms -------------------------------------------------------------------------------------
    @staticmethod
    def tuple(items: Sequence[str]) -> str:
        """Several values as one (a binding's pattern, a result): accelerate's ``T2 a b`` here, ``Exp`` and ``Acc``
        alike, nested past 16 (a loop's state of 20 arrays; pattern and value nest the same way)."""
        return tuple_of(items, nested=True)

    def array(self, atom: Atom) -> str:
        """An array-level atom as an ``Acc`` expression (literals become ``unit``)."""
        if isinstance(atom, Lit):
            return f"unit {self.annotated(atom)}"
        return self.names[atom]

    def exp(self, atom: Atom, operand_with_var: bool = False) -> str:
        """A scalar atom as an ``Exp``: rank-0 arrays of array level are read with ``the``."""
        if isinstance(atom, Lit):
            # A Bool literal is always True_/False_: the Prelude's True is a Bool, never an Exp Bool.
            bare = operand_with_var and atom.dtype not in (BOOL, FLOAT16)
            return literal_text(atom.value, atom.dtype) if bare else self.annotated(atom)
        if atom in self.inlined:
            return self.inlined[atom]
        name = self.names[atom]
        return f"the {name}" if atom in self.array_level else name

    def fold_fills(self, stmt: Stmt) -> Stmt:
        """``stmt`` reading literals in place of arrays filled with them, where it is element-wise.

        ``x > 0.5`` traces as a comparison with a filled array; printing ``map (> 0.5) x`` instead
        of binding the filled array is what a person would write. The fill itself is then unused
        and dropped. A ``pad``'s value is read as its literal too.
        """
        if stmt.prim.name == "broadcast_in_dim":
            source = stmt.args[0]
            lit = source if isinstance(source, Lit) else self.fills.get(source)
            if lit is not None:
                self.fills[stmt.outs[0]] = lit
                return Stmt(stmt.prim, (lit,), stmt.params, stmt.outs, stmt.source)
            return stmt
        if stmt.prim.name == "pad" and stmt.args[1] in self.fills:  # its value as a literal, not `the` an array:
            # an array read inside a lambda is a kernel of its own for accelerate, every trip inside a loop
            return Stmt(stmt.prim, (stmt.args[0], self.fills[stmt.args[1]]), stmt.params, stmt.outs, stmt.source)
        if not is_elementwise(stmt) or all(a in self.fills or isinstance(a, Lit) for a in stmt.args):
            return stmt
        args = tuple(self.fills.get(a, a) if isinstance(a, Var) else a for a in stmt.args)
        return Stmt(stmt.prim, args, stmt.params, stmt.outs, stmt.source)

    @staticmethod
    def annotated(lit: Lit) -> str:
        """A literal with its type, for places where nothing else fixes it: ``(2.0 :: Exp Float)``."""
        text = literal_text(lit.value, lit.dtype)
        if lit.dtype == BOOL:
            return f"{text}_"
        if lit.dtype == FLOAT16:
            # its bits: accelerate-llvm (1.4) cannot print Half constants, and would fold a converted Float back
            return f"(bitcast ({int(np.float16(lit.value).view(np.uint16))} :: Exp Word16) :: Exp Half)"
        return f"({text.strip('()') if text.startswith('(-') else text} :: Exp {HS_SCALAR[lit.dtype]})"

    # --- programs ----------------------------------------------------------------------------------
    def body(self, program: Program, array_level: bool, result: Callable[[list[str]], str] | None = None) -> list[str]:
        """``let`` bindings for the statements of ``program`` and its result, as lines (first unindented).

        ``result`` shapes the printed outputs (default: themselves, several as a ``T2``/``T3`` tuple).
        """
        stmts = live_stmts(
            [self.fold_fills(s) for s in program.stmts] if array_level else program.stmts, program.outputs
        )
        uses = use_counts(program, stmts)
        if self.blas and array_level:
            self.blas_transposed.update(blas_operand_transposes(stmts, uses))
        bindings: list[list[str]] = []
        outer_swapped = dict(self.swapped)
        for position, stmt in enumerate(stmts):
            if len(stmt.outs) == 1 and stmt.outs[0] in self.blas_transposed:
                continue
            with self.scope():
                text = self.rule(stmt.prim.name)(self, stmt, array_level)
            if position == len(stmts) - 1 and _is_sole_result(stmt, program, uses) and result is None:
                self.inlined[stmt.outs[0]] = text  # the last binding would only be returned: print it there
                continue
            if not array_level and _inlinable(stmt, uses) and "\n" not in text:
                self.inlined[stmt.outs[0]] = text
                continue
            if text.startswith(WIDE):
                bindings += self._projected(stmt, text[len(WIDE) + 2 : -1])
                continue
            if array_level and stmt.outs[0] in self.computed and (len(stmt.outs) == 1 or text.startswith("unzip")):
                text = _computed(text)
            names = [self.bind(v, array_level) for v in stmt.outs]
            # unzip returns a Haskell tuple of arrays; everything else returns one Acc or Exp tuple.
            lhs = f"({', '.join(names)})" if text.startswith("unzip") else self.tuple(names)
            bindings.append(hang(f"{lhs} = ", text))
            source = matrix_transpose_source(stmt.outs[0], {stmt.outs[0]: stmt}) if len(stmt.outs) == 1 else None
            if array_level and source is not None:
                self.swapped[source] = stmt.outs[0]
        self.swapped = outer_swapped  # the names bound here are out of scope after this body
        outputs = [self.exp(a) if not array_level or a in self.inlined else self.array(a) for a in program.outputs]
        out = result(outputs) if result is not None else self.tuple(outputs)
        if not bindings:
            return out.split("\n")
        lines = ["let " + bindings[0][0]] + ["    " + line for line in bindings[0][1:]]
        for binding in bindings[1:]:
            lines += ["    " + line for line in binding]
        if array_level:
            return lines + ["in", *out.split("\n")]
        return lines + ["in  " + out.replace("\n", "\n    ")]

    def _projected(self, stmt: Stmt, operation: str) -> list[list[str]]:
        """The bindings of an operation of more results than ``unzip9`` takes (a scalar loop's): the array of
        its tuples, computed once, then its results nine at a time, each an ``unzip`` of a ``map`` picking them
        out of the tuple (whose pattern nests as the lambda's result does: :func:`.syntax.tuple_of`)."""
        whole = self.fresh("results")
        bindings = [hang(f"{whole} = ", _computed(operation))]
        names = [self.bind(v, True) for v in stmt.outs]
        for start in range(0, len(names), MAX_TUPLE):
            group = range(start, min(start + MAX_TUPLE, len(names)))
            picked = [self.fresh("v") for _ in group]
            pattern = ["_"] * len(names)
            for k, name in zip(group, picked, strict=True):
                pattern[k] = name
            lam = f"\\{paren(tuple_of(pattern, nested=True))} -> {tuple_of(picked)}"
            mapped = f"map ({lam}) {whole}"
            if len(picked) == 1:
                bindings.append([f"{names[start]} = {mapped}"])
            else:
                unzip = f"unzip{len(picked) if len(picked) > 2 else ''}"
                bindings.append([f"({', '.join(names[k] for k in group)}) = {unzip} ({mapped})"])
        return bindings

    def lam(
        self,
        program: Program,
        patterns: Sequence[str] | None = None,
        index: bool = False,
        result: Callable[[list[str]], str] | None = None,
    ) -> str:
        """``\\x y -> body``: a scalar lambda (inputs bound here unless ``patterns`` are given)."""
        if patterns is None:
            patterns = self.bind_inputs(program, index)
        return lambda_text(patterns, self.body(program, array_level=False, result=result))

    def bind_inputs(self, program: Program, index: bool = False) -> list[str]:
        """Names for a lambda's inputs (index names ``i``, ``j``... for unnamed indices)."""
        return [self.bind(v, False, index) for v in program.inputs]


def live_stmts(stmts: Sequence[Stmt], outputs: Sequence[Atom]) -> list[Stmt]:
    """The statements that contribute to ``outputs`` (all primitives are pure).

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> prog = trace(lambda x: (x + x, -x)[0], np.ones(2)).program
    >>> [s.prim.name for s in live_stmts(prog.stmts, prog.outputs)]
    ['add']
    """
    needed = {a for a in outputs if isinstance(a, Var)}
    kept: list[Stmt] = []
    for stmt in reversed(stmts):
        if any(v in needed for v in stmt.outs):
            kept.append(stmt)
            needed.update(a for a in stmt.args if isinstance(a, Var))
            for sub in stmt.subprograms():
                needed.update(sub.free_vars)
    return kept[::-1]


def use_counts(program: Program, stmts: Sequence[Stmt]) -> Counter:
    """How often each variable is used; uses inside nested programs count twice (never inline into them).

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> prog = trace(lambda x: x * x, np.ones(2)).program
    >>> use_counts(prog, prog.stmts)[prog.inputs[0]]
    2
    """
    counts: Counter = Counter(a for a in program.outputs if isinstance(a, Var))
    for stmt in stmts:
        counts.update(a for a in stmt.args if isinstance(a, Var))
        for sub in stmt.subprograms():
            counts.update(2 * list(sub.free_vars))
    return counts


def blas_operand_transposes(stmts: Sequence[Stmt], uses: Counter) -> dict[Var, Atom]:
    """Matrix transposes (output → source) whose every use is an operand of a float matrix product.

    accelerate-blas's ``gemm`` reads such an operand transposed in place (its ``T``), where ``transpose``
    would be materialised first, a pass over the matrix, for the foreign call: the mlp gradient's four.

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> prog = trace(lambda a, b: a.T @ b, np.ones((3, 2)), np.ones((3, 4))).program
    >>> found = blas_operand_transposes(prog.stmts, use_counts(prog, prog.stmts))
    >>> [source is prog.inputs[0] for source in found.values()]
    [True]
    """
    operand_uses: Counter = Counter()
    for stmt in stmts:
        if stmt.prim.name == "matmul" and len(stmt.args[0].shape) == 2 and stmt.args[0].dtype in FLOAT_DTYPES:
            operand_uses.update(a for a in stmt.args if isinstance(a, Var))
    return {
        stmt.outs[0]: stmt.args[0]
        for stmt in stmts
        if stmt.prim.name == "transpose"
        and list(stmt.params["perm"]) == [1, 0]
        and operand_uses[stmt.outs[0]] == uses[stmt.outs[0]] > 0
    }


def _is_sole_result(stmt: Stmt, program: Program, uses: Counter) -> bool:
    return len(stmt.outs) == 1 and tuple(program.outputs) == stmt.outs and uses[stmt.outs[0]] == 1


def _inlinable(stmt: Stmt, uses: Counter) -> bool:
    return len(stmt.outs) == 1 and uses[stmt.outs[0]] == 1 and not stmt.prim.subprogram_params


WIDE = "unzipWide"
"""How a rule marks an operation whose results are more than accelerate unzips (:meth:`Printer._projected`)."""


def _computed(text: str) -> str:
    """``compute`` of the operation ``text`` (inside its ``unzip``, which would otherwise run it once for each
    result it projects). The lines after the first move right as far as the operation did, so layout blocks
    inside keep their columns.

    >>> _computed("unzip (generate Z_ f)"), _computed("map f x")
    ('unzip (compute (generate Z_ f))', 'compute (map f x)')
    """
    head, operation = text.split(" ", 1) if text.startswith("unzip") else ("", text)
    prefix = f"{head} (compute " if head else "compute ("
    moved = len(prefix) - (len(head) + 1 if head else 0)
    return prefix + operation.replace("\n", "\n" + " " * moved) + ")"
