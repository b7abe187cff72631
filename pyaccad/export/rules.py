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
``fold``/``scanl`` work on the innermost axis. The table's coverage of
:data:`pyaccad.ir.PRIMITIVES` is a test.

>>> from pyaccad.ir import PRIMITIVES
>>> sorted(set(PRIMITIVES) - set(RULES))
[]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from pyaccad.export import structural
from pyaccad.export.haskell import (
    HELPERS,
    MAX_TUPLE,
    ExportError,
    Printer,
    index_pattern,
    paren,
    shape_exp,
    tuple_of,
)
from pyaccad.ir import BOOL, ELEMENTWISE, FLOAT_DTYPES, INT_DTYPES, Lit, Program, Stmt

Rule = Callable[[Printer, Stmt, bool], str]
RULES: dict[str, Rule] = {}

# Templates that differ by dtype, where the ELEMENTWISE row's single template fits only floats:
# accelerate's (**) is Floating-only, integers use (^); mod' is for fractional types, mod for integral ones.
_INT_TEMPLATES = {"pow": "{0} ^ {1}", "mod": "{0} `mod` {1}"}
_OPERATOR_CHARS = set("+-*/<>=&|^!?.")


def rule_for(name: str) -> Rule:
    """The rule for primitive ``name``, or an ExportError naming it."""
    rule = RULES.get(name)
    if rule is None:
        raise ExportError(f"export: no accelerate export rule for primitive {name!r}")
    return rule


def template_of(stmt: Stmt) -> str:
    """The Haskell template of an element-wise statement (``{0}``, ``{1}``... for the operands)."""
    name = stmt.prim.name
    if name == "select":
        return "{0} ? ({1}, {2})"
    if name == "cast":
        return _cast_template(stmt.args[0].dtype, stmt.params["dtype"])
    if stmt.args[0].dtype in INT_DTYPES and name in _INT_TEMPLATES:
        return _INT_TEMPLATES[name]
    return ELEMENTWISE[name].hs


def _cast_template(source, target) -> str:
    if source == BOOL:
        return "boolToInt {0}" if target.name == "int64" else "fromIntegral (boolToInt {0})"
    if target == BOOL:
        return "{0} /= 0"
    if source in FLOAT_DTYPES:
        return "toFloating {0}" if target in FLOAT_DTYPES else "truncate {0}"
    return "fromIntegral {0}"


# Fixities of the operators templates use (Haskell's and accelerate's): (precedence, associativity).
FIXITY = {
    "!": (9, "l"),
    "^": (8, "r"),
    "**": (8, "r"),
    "*": (7, "l"),
    "/": (7, "l"),
    "`div`": (7, "l"),
    "`mod`": (7, "l"),
    "`mod'`": (7, "l"),
    "+": (6, "l"),
    "-": (6, "l"),
    "==": (4, "n"),
    "/=": (4, "n"),
    "<": (4, "n"),
    "<=": (4, "n"),
    ">": (4, "n"),
    ">=": (4, "n"),
    "&&": (3, "r"),
    "||": (2, "r"),
    "?": (0, "n"),
    "::": (-1, "n"),
}


def fill_template(template: str, operands: Sequence[str]) -> str:
    """``template`` with its placeholders replaced, bracketing operands only where Haskell's fixities need it.

    >>> fill_template("{0} + {1}", ["sin x * y", "y - z"])
    'sin x * y + (y - z)'
    """
    outer = top_operator(template)
    parts = template.split("{")
    out = [parts[0]]
    depth = parts[0].count("(") - parts[0].count(")")
    for part in parts[1:]:
        index, rest = part.split("}", 1)
        operand = operands[int(index)]
        side = "l" if index == "0" else "r"
        out.append(operand if depth == 0 and outer and _fits(top_operator(operand), outer, side) else paren(operand))
        out.append(rest)
        depth += rest.count("(") - rest.count(")")
    return "".join(out)


def _fits(inner: str | None, outer: str, side: str) -> bool:
    """Whether an operand whose lowest operator is ``inner`` may stand bare on ``side`` of ``outer``."""
    if inner is None:
        return True
    (p_in, assoc_in), (p_out, assoc_out) = FIXITY.get(inner, (9, "l")), FIXITY.get(outer, (9, "l"))
    return p_in > p_out or (p_in == p_out and assoc_in == assoc_out == side)


def top_operator(text: str) -> str | None:
    """The loosest-binding operator at bracket depth 0 of ``text`` (None for an application or atom)."""
    if text.startswith("\\"):
        return "::"
    depth, best = 0, None
    for token in text.replace("(", " ( ").replace(")", " ) ").split():
        depth += (token == "(") - (token == ")")
        if depth == 0 and (token.startswith("`") or set(token) <= _OPERATOR_CHARS) and token not in "()":
            if best is None or FIXITY.get(token, (9, "l"))[0] <= FIXITY.get(best, (9, "l"))[0]:
                best = token
    return best


def param_names(printer: Printer, n: int) -> list[str]:
    """Fresh names for the parameters of a printed helper lambda: ``v``, ``w``, ``u``, then ``v1``, ..."""
    return [printer.fresh(base) for base in ["v", "w", "u", *(f"v{k}" for k in range(1, n))][:n]]


def function_of(template: str, printer: Printer, arity: int) -> str:
    """The template as a function: ``(+)``, ``sin``, ``atan2``, or a lambda when it is neither."""
    holes = " ".join(f"{{{i}}}" for i in range(arity))
    if arity == 2 and template.startswith("{0} ") and template.endswith(" {1}"):
        op = template[4:-4]
        if op.startswith("`") and op.endswith("`"):
            return op[1:-1]
        if set(op) <= _OPERATOR_CHARS:
            return f"({op})"
    if template.endswith(" " + holes) and _is_name(template[: -len(holes) - 1]):
        return template[: -len(holes) - 1]
    names = param_names(printer, arity)
    return f"\\{' '.join(names)} -> {fill_template(template, names)}"


def _is_name(text: str) -> bool:
    return text.replace("_", "a").replace("'", "a").isalnum() and text[:1].islower()


def is_elementwise(stmt: Stmt) -> bool:
    return stmt.prim.name in ELEMENTWISE or stmt.prim.name in ("select", "cast")


# Literals print bare where another operand fixes their type; ``pow``'s exponent is the exception.
def _elementwise(p: Printer, stmt: Stmt, array_level: bool) -> str:
    template = template_of(stmt)
    if stmt.prim.name in HELPERS:
        p.helpers.add(stmt.prim.name)
    has_var = any(not isinstance(a, Lit) for a in stmt.args)
    if not array_level:
        bare = has_var and stmt.prim.name != "pow"
        return fill_template(template, [p.exp(a, operand_with_var=bare) for a in stmt.args])
    if has_var and any(isinstance(a, Lit) for a in stmt.args):
        return _with_literals(p, stmt, template)
    n = len(stmt.args)
    if n > MAX_TUPLE:
        raise ExportError(f"export: {stmt.prim.name} of {n} arrays is wider than accelerate's zipWith9")
    combinator = "map" if n == 1 else "zipWith" if n == 2 else f"zipWith{n}"
    return f"{combinator} {paren(function_of(template, p, n))} " + " ".join(paren(p.array(a)) for a in stmt.args)


def _with_literals(p: Printer, stmt: Stmt, template: str) -> str:
    """An element-wise op of arrays and literals: a section (``map (> 0.5) x``) or a lambda over the arrays."""
    arrays = [a for a in stmt.args if not isinstance(a, Lit)]
    bare = stmt.prim.name != "pow"  # an exponent's type is not fixed by the base: annotate it
    op = top_operator(template)
    if len(stmt.args) == 2 and len(arrays) == 1 and template in (f"{{0}} {op} {{1}}", f"{{1}} {op} {{0}}"):
        lit = next(a for a in stmt.args if isinstance(a, Lit))
        section = fill_template(template, ["" if a is arrays[0] else p.exp(lit, bare) for a in stmt.args]).strip()
        if not section.startswith("-"):
            return f"map ({section}) {paren(p.array(arrays[0]))}"
    names = dict(zip(arrays, param_names(p, len(arrays)), strict=True))
    body = fill_template(template, [p.exp(a, bare) if isinstance(a, Lit) else names[a] for a in stmt.args])
    combinator = "map" if len(arrays) == 1 else "zipWith" if len(arrays) == 2 else f"zipWith{len(arrays)}"
    return f"{combinator} (\\{' '.join(names.values())} -> {body}) " + " ".join(paren(p.array(a)) for a in arrays)


for _name in [*ELEMENTWISE, "select", "cast"]:
    RULES[_name] = _elementwise


# --- collective operations -----------------------------------------------------------------------------------


def _unzipped(n_outputs: int, expression: str) -> str:
    if n_outputs == 1:
        return expression
    if n_outputs > MAX_TUPLE:
        raise ExportError(f"export: {n_outputs} results is wider than accelerate's unzip9")
    return f"unzip{n_outputs if n_outputs > 2 else ''} ({expression})"


def _zipped(p: Printer, atoms: Sequence) -> str:
    names = [paren(p.array(a)) for a in atoms]
    if len(names) == 1:
        return names[0]
    if len(names) > MAX_TUPLE:
        raise ExportError(f"export: {len(names)} arrays is wider than accelerate's zip9")
    return paren(f"zip{len(names) if len(names) > 2 else ''} " + " ".join(names))


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
    """``(+)``/``max``/``sin`` when the lambda is one element-wise operation on its inputs, in order."""
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
    named = _NAMED_FOLDS.get((function, init.replace(".0", "") if init else None))
    if named and n == 1:
        return f"{named} {source}"
    if inits:
        return _unzipped(n, f"fold {paren(function)} {paren(init)} {source}")
    return _unzipped(n, f"fold1 {paren(function)} {source}")


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
    if axis == rank - 1:
        return _unzipped(n, scanned)
    # The scan ran with `axis` innermost; put it back (the inverse permutation of _innermost's).
    perm = [d for d in range(rank) if d != axis] + [axis]
    inverse = [perm.index(d) for d in range(rank)]
    moved_shape = [stmt.outs[0].shape[d] for d in perm]
    if n == 1:
        return structural.permute_axes(p, paren(scanned), moved_shape, inverse)
    raise ExportError(f"export: scan of {n} arrays along axis {axis} (not innermost) is not supported yet")


def index_result(outputs: Sequence[str]) -> str:
    """Index components as an ``Exp`` shape: ``I2 i (j + 1)``."""
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
    if any(s not in (3, 5, 7, 9) for s in size):
        raise ExportError(f"export: stencil of size {size}: accelerate's stencils have extents 3, 5, 7 or 9")
    lam: Program = stmt.params["lam"]
    names = p.bind_inputs(lam)
    pattern = _nested_tuple(names, size)
    function = p.lam(lam, [pattern])
    if boundary == "constant":
        value = stmt.params["value"]
        bound = f"function (const {p.annotated(Lit(value, stmt.args[0].dtype))})"
    else:
        bound = boundary
    return _unzipped(len(lam.outputs), f"stencil ({function}) {paren(bound)} {paren(p.array(stmt.args[0]))}")


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
    then_, else_ = stmt.params["then_"], stmt.params["else_"]
    branches = [_block(p.body(branch, array_level)) for branch in (then_, else_)]
    head = f"acond (the {p.array(stmt.args[0])})" if array_level else f"cond {paren(p.exp(stmt.args[0]))}"
    separator = " " if "\n" not in "".join(branches) else "\n  "
    return f"{head} {branches[0]}{separator}{branches[1]}"


def _block(lines: list[str]) -> str:
    if len(lines) == 1:
        return paren(lines[0])
    return "(" + "\n   ".join(lines) + ")"


def _while(p: Printer, stmt: Stmt, array_level: bool) -> str:
    cond, body = stmt.params["cond"], stmt.params["body"]
    functions = []
    for sub in (cond, body):
        names = [p.bind(v, array_level) for v in sub.inputs]
        lines = p.body(sub, array_level)
        head = f"\\{paren(tuple_of(names))} ->"
        functions.append(f"({head} {lines[0]})" if len(lines) == 1 else f"({head}\n   " + "\n   ".join(lines) + ")")
    if array_level:
        init = tuple_of([p.array(a) for a in stmt.args])
        return f"awhile {functions[0]}\n  {functions[1]}\n  {paren(init)}"
    init = tuple_of([p.exp(a) for a in stmt.args])
    return f"while {functions[0]}\n  {functions[1]}\n  {paren(init)}"


def _index(p: Printer, stmt: Stmt, array_level: bool) -> str:
    array, *indices = stmt.args
    if not indices:
        return f"the {p.names[array]}"
    return f"{p.names[array]} ! I{len(indices)} " + " ".join(paren(p.exp(i, operand_with_var=True)) for i in indices)


RULES.update({"cond": _cond, "while": _while, "index": _index})
RULES.update(structural.RULES)
