"""The export table: for every primitive, the ``accelerate`` expression it prints as.

``RULES[name](printer, stmt, array_level)`` returns the right-hand side of
the statement's binding (a tuple of outputs is bound with a ``T2``/``T3``
pattern by the printer). Element-wise primitives share one rule driven by
the ``hs`` template of their ``ELEMENTWISE`` row; at array level they print
as ``map``/``zipWith``/``zipWith3`` of that template, written as an operator
section or a function name when the template is one (``zipWith (+) x y``,
``map sin x``). Index-moving primitives (slices, transposes, broadcasts that
stretch) print as ``backpermute`` with an index lambda, ``pad`` as
``generate``; reductions and scans along an axis other than the innermost
move that axis innermost with ``backpermute`` first, because accelerate's
``fold``/``scanl`` work on the innermost axis. ``cholesky`` and the solves
(:data:`NO_ACCELERATE`) raise an :class:`ExportError` naming the primitive:
accelerate has no LAPACK. The table's coverage of
:data:`pyaccad.ir.PRIMITIVES` is a test.

>>> from pyaccad.ir import PRIMITIVES
>>> sorted(set(PRIMITIVES) - set(RULES))
[]
"""

from __future__ import annotations

from collections.abc import Sequence

from pyaccad.errors import NotDifferentiable, with_location
from pyaccad.export import products, structural, sums
from pyaccad.export.printer import WIDE, Printer, Rule
from pyaccad.export.symbolic import SymInt
from pyaccad.export.syntax import MAX_TUPLE, ExportError, index_pattern, paren, shape_exp, tuple_of
from pyaccad.export.templates import (
    fill_template,
    function_of,
    helpers_in,
    param_names,
    template_of,
    top_operator,
)
from pyaccad.ir import ELEMENTWISE, FLOAT32, FLOAT64, FLOAT_DTYPES, PRIMITIVES, Lit, Program, Stmt

RULES: dict[str, Rule] = {}
"""The accelerate target's rule of every primitive, by name (what :class:`~.printer.Printer` is given)."""


def _fixed_by_operands(stmt: Stmt, lit: Lit) -> bool:
    """Whether another operand of ``stmt`` fixes the type of its literal operand ``lit``, which then prints bare:
    a variable of the literal's type. Not ``pow``'s exponent (the base does not fix it), nor the branches of a
    ``select`` by its predicate alone (``p ? (0.5, 1.0)`` is ambiguous to GHC: a gradient's mask)."""
    return stmt.prim.name != "pow" and any(not isinstance(a, Lit) and a.dtype == lit.dtype for a in stmt.args)


def _elementwise(p: Printer, stmt: Stmt, array_level: bool) -> str:
    template = template_of(stmt)
    p.helpers.update(helpers_in(template))
    has_var = any(not isinstance(a, Lit) for a in stmt.args)
    if not array_level:
        return fill_template(
            template, [p.exp(a, operand_with_var=isinstance(a, Lit) and _fixed_by_operands(stmt, a)) for a in stmt.args]
        )
    if has_var and any(isinstance(a, Lit) for a in stmt.args):
        return _with_literals(p, stmt, template)
    n = len(stmt.args)
    if n > MAX_TUPLE:
        raise ExportError(f"export: {stmt.prim.name} of {n} arrays is wider than accelerate's zipWith9")
    combinator = "map" if n == 1 else "zipWith" if n == 2 else f"zipWith{n}"
    return f"{combinator} {paren(function_of(template, p, n))} " + " ".join(paren(p.array(a)) for a in stmt.args)


def _with_literals(p: Printer, stmt: Stmt, template: str) -> str:
    """An element-wise op of arrays and literals: a section (``map (> 0.5) x``) or a lambda over the arrays."""
    arrays = list(dict.fromkeys(a for a in stmt.args if not isinstance(a, Lit)))  # one parameter per array
    op = top_operator(template)
    if len(stmt.args) == 2 and len(arrays) == 1 and template in (f"{{0}} {op} {{1}}", f"{{1}} {op} {{0}}"):
        lit = next(a for a in stmt.args if isinstance(a, Lit))
        bare = _fixed_by_operands(stmt, lit)
        section = fill_template(template, ["" if a is arrays[0] else p.exp(lit, bare) for a in stmt.args]).strip()
        if section.startswith("- "):  # (- 1) is negation, not a section
            section = f"subtract {section[2:]}"
        return f"map {paren(section)} {paren(p.array(arrays[0]))}"
    names = dict(zip(arrays, param_names(p, len(arrays)), strict=True))
    body = fill_template(
        template, [p.exp(a, _fixed_by_operands(stmt, a)) if isinstance(a, Lit) else names[a] for a in stmt.args]
    )
    combinator = "map" if len(arrays) == 1 else "zipWith" if len(arrays) == 2 else f"zipWith{len(arrays)}"
    return f"{combinator} (\\{' '.join(names.values())} -> {body}) " + " ".join(paren(p.array(a)) for a in arrays)


for _name in [*ELEMENTWISE, "select", "cast"]:
    RULES[_name] = _elementwise


# --- collective operations -----------------------------------------------------------------------------------


def _unzipped(n_outputs: int, expression: str) -> str:
    """The arrays of an operation's ``n_outputs`` results; past accelerate's ``unzip9``, :data:`.printer.WIDE`
    marks it for the printer, which projects them from the one array of tuples (:meth:`.Printer.body`)."""
    if n_outputs == 1:
        return expression
    if n_outputs > MAX_TUPLE:
        return f"{WIDE} ({expression})"
    return f"unzip{n_outputs if n_outputs > 2 else ''} ({expression})"


def _generate(p: Printer, stmt: Stmt, array_level: bool) -> str:
    lam: Program = stmt.params["lam"]
    pattern = index_pattern(p.bind_inputs(lam, index=True))
    text = f"generate {paren(shape_exp(stmt.params['shape']))} ({p.lam(lam, [pattern])})"
    return _unzipped(len(lam.outputs), text)


def _map(p: Printer, stmt: Stmt, array_level: bool) -> str:
    lam: Program = stmt.params["lam"]
    n = len(stmt.args)
    if n > MAX_TUPLE:
        raise ExportError(f"export: map over {n} arrays is wider than accelerate's zipWith9")
    combinator = "map" if n == 1 else "zipWith" if n == 2 else f"zipWith{n}"
    function = single_op(lam) or p.lam(lam)
    args = " ".join(paren(p.array(a)) for a in stmt.args)
    return _unzipped(len(lam.outputs), f"{combinator} {paren(function)} {args}")


def single_op(lam: Program) -> str | None:
    """``(+)``/``max``/``sin``/``const`` when the lambda is one element-wise operation on its inputs, in order.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> prog = trace(lambda x: acc.fold(lambda a, b: acc.maximum(a, b), 0, x), np.ones(3, np.int32)).program
    >>> single_op(prog.stmts[-1].params["lam"])
    'max'
    """
    if not lam.stmts and len(lam.outputs) == 1 and lam.inputs and lam.outputs[0] is lam.inputs[0]:
        return "const" if len(lam.inputs) == 2 else "id" if len(lam.inputs) == 1 else None
    if len(lam.stmts) != 1 or len(lam.outputs) != 1:
        return None
    (stmt,) = lam.stmts
    if stmt.prim.name not in ELEMENTWISE or list(stmt.args) != list(lam.inputs) or lam.outputs[0] is not stmt.outs[0]:
        return None
    function = function_of(template_of(stmt), Printer(), len(stmt.args))
    return None if function.startswith("\\") else function


def _reduction_function(p: Printer, lam: Program, n: int) -> str:
    """The combining function of a fold/scan over ``n`` arrays: tuples of ``n`` on each side."""
    if n == 1:
        return single_op(lam) or p.lam(lam)
    names = p.bind_inputs(lam)
    patterns = [paren(tuple_of(names[:n])), paren(tuple_of(names[n:]))]
    return p.lam(lam, patterns)


def _innermost(p: Printer, atom, axis: int) -> str:
    """``atom`` with ``axis`` moved innermost (a backpermute), as accelerate reduces the innermost axis."""
    shape = atom.shape
    if axis == len(shape) - 1:
        return p.array(atom)
    perm = [d for d in range(len(shape)) if d != axis] + [axis]
    return structural.permute_axes(p, p.array(atom), shape, perm)


# accelerate's names for the common reductions of the innermost axis: (operator, init or None for fold1).
_NAMED_FOLDS = {("(+)", "0"): "sum", ("(*)", "1"): "product", ("max", None): "maximum", ("min", None): "minimum"}


def _fold(p: Printer, stmt: Stmt, array_level: bool) -> str:
    lam: Program = stmt.params["lam"]
    n, axis = len(lam.outputs), stmt.params["axis"]
    arrays, inits = stmt.args[:n], stmt.args[n:]
    function = _reduction_function(p, lam, n)
    source = _zipped_along(p, arrays, axis)
    init = tuple_of([p.exp(z, operand_with_var=True) for z in inits]) if inits else None
    extremum = _extremum_of(lam)  # by the lambda's primitive: how `max` itself prints may change
    if p.ordered_folds and n == 1 and extremum and stmt.outs[0].dtype in _ORDERED_WIDTH:
        typed_init = p.exp(inits[0]) if inits else None  # annotated: nothing else fixes a literal's type there
        return ordered_fold(p, extremum, _ORDERED_WIDTH[stmt.outs[0].dtype], source, typed_init)
    named = _NAMED_FOLDS.get((function, init.replace(".0", "") if init else None))
    long_float = stmt.outs[0].dtype in FLOAT_DTYPES and sums.is_long(arrays[0].shape[axis])
    if p.partial_sums and named == "sum" and n == 1 and long_float:
        return sums.long_sum(p, source)
    if named and n == 1:
        return f"{named} {source}"
    if inits:
        return _unzipped(n, f"fold {paren(function)} {paren(init)} {source}")
    return _unzipped(n, f"fold1 {paren(function)} {source}")


_ORDERED_WIDTH = {FLOAT32: 32, FLOAT64: 64}


def _extremum_of(lam: Program) -> str | None:
    """``"max"``/``"min"`` when the fold's lambda is one ``maximum``/``minimum`` of its two inputs, else None."""
    if len(lam.stmts) != 1 or len(lam.outputs) != 1 or lam.outputs[0] is not lam.stmts[0].outs[0]:
        return None
    (stmt,) = lam.stmts
    if stmt.prim.name not in ("maximum", "minimum") or set(stmt.args) != set(lam.inputs) or len(lam.inputs) != 2:
        return None
    return "max" if stmt.prim.name == "maximum" else "min"


def ordered_fold(p: Printer, function: str, width: int, source: str, init: str | None) -> str:
    """A float ``max``/``min`` fold as the same fold of the elements' ordered bits (``orderedBits32``), converted
    back: accelerate-llvm runs the integer fold vectorised, its float ``max`` (libm's ``fmax``) element by element
    (a 1024×1024 row maximum: 1.3 → 0.2 ms through the bridge). A NaN is given the sign that makes it win, so the
    fold's result is NaN where an element is, as NumPy's (and pyaccad's) ``max`` is, and fmax is not.

    >>> print(ordered_fold(Printer(), "max", 32, "x", None))
    map fromOrderedBits32 (maximum (map (\\v -> orderedBits32 (isNaN v ? (abs v, v))) x))
    """
    to, back = f"orderedBits{width}", f"fromOrderedBits{width}"
    p.helpers.update((to, back))
    v = p.fresh("v")
    winner = f"abs {v}" if function == "max" else f"negate (abs {v})"
    keyed = f"(map (\\{v} -> {to} (isNaN {v} ? ({winner}, {v}))) {source})"
    if init is None:
        folded = f"{'maximum' if function == 'max' else 'minimum'} {keyed}"
    else:
        folded = f"fold {function} ({to} {paren(init)}) {keyed}"
    return f"map {back} ({folded})"


def _zipped_along(p: Printer, arrays: Sequence, axis: int) -> str:
    moved = [_innermost(p, a, axis) for a in arrays]
    if len(moved) == 1:
        return paren(moved[0])
    return paren(f"zip{len(moved) if len(moved) > 2 else ''} " + " ".join(paren(m) for m in moved))


def _scan(p: Printer, stmt: Stmt, array_level: bool) -> str:
    lam: Program = stmt.params["lam"]
    n, axis, reverse = len(lam.outputs), stmt.params["axis"], stmt.params["reverse"]
    arrays, inits = stmt.args[:n], stmt.args[n:]
    function = _reduction_function(p, lam, n)
    source = _zipped_along(p, arrays, axis)
    name = ("scanr" if reverse else "scanl") + ("" if inits else "1")
    init = f" {paren(tuple_of([p.exp(z, operand_with_var=True) for z in inits]))}" if inits else ""
    scanned = f"{name} {paren(function)}{init} {source}"
    rank = len(arrays[0].shape)
    if axis != rank - 1:
        # The scan ran with `axis` innermost; put it back (the inverse of _innermost's permutation),
        # on the array of tuples before unzipping it.
        perm = [d for d in range(rank) if d != axis] + [axis]
        inverse = [perm.index(d) for d in range(rank)]
        moved_shape = [stmt.outs[0].shape[d] for d in perm]
        scanned = structural.permute_axes(p, scanned, moved_shape, inverse)
    return _unzipped(n, scanned)


def index_result(outputs: Sequence[str]) -> str:
    """Index components as an ``Exp`` shape: ``I2 i (j + 1)``.

    >>> index_result(["i", "j + 1"])
    'I2 i (j + 1)'
    """
    return "Z_" if not outputs else f"I{len(outputs)} " + " ".join(paren(o) for o in outputs)


def _backpermute(p: Printer, stmt: Stmt, array_level: bool) -> str:
    lam: Program = stmt.params["index"]
    function = p.lam(lam, [index_pattern(p.bind_inputs(lam, index=True))], result=index_result)
    return f"backpermute {paren(shape_exp(stmt.params['shape']))} ({function}) {paren(p.array(stmt.args[0]))}"


def _permute(p: Printer, stmt: Stmt, array_level: bool) -> str:
    index: Program = stmt.params["index"]
    combine = single_op(stmt.params["combine"]) or p.lam(stmt.params["combine"])
    keep = index.outputs[0]

    def result(outputs: list[str]) -> str:
        just = f"Just_ ({index_result(outputs[1:])})"
        return just if isinstance(keep, Lit) and keep.value else f"{paren(outputs[0])} ? ({just}, Nothing_)"

    function = p.lam(index, [index_pattern(p.bind_inputs(index, index=True))], result=result)
    defaults, source = (paren(p.array(a)) for a in stmt.args)
    return f"permute {paren(combine)} {defaults} ({function}) {source}"


def _stencil(p: Printer, stmt: Stmt, array_level: bool) -> str:
    size, boundary = tuple(stmt.params["size"]), stmt.params["boundary"]
    lam: Program = stmt.params["lam"]
    if (
        not size  # a rank-0 stencil: its one neighbour is the element
        or any(s not in (3, 5, 7, 9) for s in size)
        or len(size) > 3
        or not _bounded_once(size, stmt.args[0].shape, boundary)
    ):
        # accelerate's Stencil instances have extents 3..9: other stencils gather their neighbours themselves.
        return _unzipped(len(lam.outputs), structural.stencil_by_generate(p, stmt))
    names = p.bind_inputs(lam)
    pattern = _nested_tuple(names, size)
    function = p.lam(lam, [pattern])
    if boundary == "constant":
        value = stmt.params["value"]
        bound = f"function (const {p.annotated(Lit(value, stmt.args[0].dtype))})"
    else:
        bound = boundary
    return _unzipped(len(lam.outputs), f"stencil ({function}) {paren(bound)} {paren(p.array(stmt.args[0]))}")


def _bounded_once(size: Sequence[int], shape: Sequence[int], boundary: str) -> bool:
    """Whether accelerate's own boundary reaches every neighbour: it reflects (mirror) or shifts (wrap) an
    index outside the array once (``bound`` in its interpreter), so the array must be longer than the
    stencil's radius (mirror) or at least as long (wrap); shorter arrays would be read out of bounds.

    >>> _bounded_once((5,), (2,), "mirror"), _bounded_once((5,), (2,), "wrap"), _bounded_once((5,), (2,), "clamp")
    (False, True, True)
    """
    slack = {"mirror": 1, "wrap": 0}.get(boundary)
    if slack is not None and any(isinstance(n, SymInt) for s, n in zip(size, shape, strict=True) if s > 1):
        return False  # a generic extent may be short: bring indices inside as stencil_by_generate does
    return slack is None or all(s // 2 <= n - slack for s, n in zip(size, shape, strict=True))


def _nested_tuple(names: Sequence[str], size: Sequence[int]) -> str:
    if len(size) == 1:
        return "(" + ", ".join(names) + ")"
    step = len(names) // size[0]
    return "(" + ", ".join(_nested_tuple(names[i : i + step], size[1:]) for i in range(0, len(names), step)) + ")"


RULES.update(
    generate=_generate, map=_map, fold=_fold, scan=_scan, backpermute=_backpermute, permute=_permute, stencil=_stencil
)


# --- control flow and reads ---------------------------------------------------------------------------------


def _cond(p: Printer, stmt: Stmt, array_level: bool) -> str:
    branches = cond_branches(p, stmt, array_level)
    head = f"acond (the {p.array(stmt.args[0])})" if array_level else f"cond {paren(p.exp(stmt.args[0]))}"
    if "\n" not in "".join(branches):
        return f"{head} {branches[0]} {branches[1]}"
    # A branch of several lines starts a line of its own, so that its `let` block's column (set by the
    # first binding) is where the following bindings stand too: Haskell's layout rule reads them by column.
    return head + "".join("\n  " + branch.replace("\n", "\n  ") for branch in branches)


def cond_branches(p: Printer, stmt: Stmt, array_level: bool) -> list[str]:
    """A ``cond``'s two branches, each one bracketed expression (its continuation lines one column in)."""
    return [_block(p.body(branch, array_level)) for branch in (stmt.params["then_"], stmt.params["else_"])]


def _block(lines: list[str]) -> str:
    """A branch in brackets; continuation lines one column in, under the first line's ``let``."""
    if len(lines) == 1:
        return paren(lines[0])
    return "(" + "\n ".join(lines) + ")"


def while_functions(p: Printer, stmt: Stmt, array_level: bool) -> tuple[str, str, str]:
    """A ``while``'s condition and body as bracketed lambdas over its state, and its initial state (in the
    printer's tuples: accelerate's here, Haskell's in the generic target)."""
    functions = []
    for sub in (stmt.params["cond"], stmt.params["body"]):
        names = [p.bind(v, array_level) for v in sub.inputs]
        lines = p.body(sub, array_level)
        head = f"\\{paren(p.tuple(names))} ->"
        functions.append(f"({head} {lines[0]})" if len(lines) == 1 else f"({head}\n   " + "\n   ".join(lines) + ")")
    init = p.tuple([p.array(a) if array_level else p.exp(a) for a in stmt.args])
    return functions[0], functions[1], paren(init)


def _while(p: Printer, stmt: Stmt, array_level: bool) -> str:
    cond, body, init = while_functions(p, stmt, array_level)
    return f"{'awhile' if array_level else 'while'} {cond}\n  {body}\n  {init}"


def _index(p: Printer, stmt: Stmt, array_level: bool) -> str:
    array, *indices = stmt.args
    if not indices:
        return f"the {p.names[array]}"
    operands = " ".join(paren(p.exp(i, operand_with_var=True)) for i in indices)
    if stmt.params.get("checked"):  # pyaccad.export.checked: the value and whether the index was inside
        p.helpers.add(f"readChecked{len(indices)}")
        return f"readChecked{len(indices)} {p.names[array]} {operands}"
    return f"{p.names[array]} ! I{len(indices)} {operands}"


def spliced_body(p: Printer, stmt: Stmt, array_level: bool) -> str:
    """``custom_rule``/``remat``: their body, its inputs naming the arguments (what the optimiser splices in)."""
    error = stmt.params["rule"].forward_error if stmt.prim.name == "custom_rule" else None
    if error is not None:
        raise NotDifferentiable(with_location(error, stmt.source))
    body = stmt.params["body"]
    for var, arg in zip(body.inputs, stmt.args, strict=True):
        if isinstance(arg, Lit) or arg in p.inlined:
            p.inlined[var] = p.exp(arg)
        else:
            p.names[var] = p.names[arg]
            if arg in p.array_level:
                p.array_level.add(var)
    lines = p.body(body, array_level)
    return lines[0] if len(lines) == 1 else "\n" + "\n".join(lines)  # a let block keeps its own layout


RULES.update({"cond": _cond, "while": _while, "index": _index, "custom_rule": spliced_body, "remat": spliced_body})
RULES.update(structural.RULES)
RULES["matmul"] = products.matmul

NO_ACCELERATE = sorted(p.name for p in PRIMITIVES.values() if p.family == "linalg")
"""Primitives accelerate has no counterpart of (it has no LAPACK): exporting one is an :class:`ExportError`."""


def _no_accelerate(p: Printer, stmt: Stmt, array_level: bool) -> str:
    message = (
        f"export: {stmt.prim.name} has no accelerate counterpart (accelerate has no LAPACK); "
        "run this program on the native backend instead"
    )
    raise ExportError(with_location(message, stmt.source))


RULES.update(dict.fromkeys(NO_ACCELERATE, _no_accelerate))
