"""The generic target's rule for each primitive it prints (see :mod:`pyaccad.export.generic`).

``GENERIC_RULES[name](printer, stmt, array_level)`` returns the right-hand side of the statement's binding,
as :data:`pyaccad.export.rules.RULES` does for the accelerate target, in plain Haskell over flat
``Data.Vector`` values (:mod:`.generic_printer`). Collective operations print as ``V.generate`` over the
result's positions with list folds inside (shapes are fixed, clarity beats speed: the module exists to be
differentiated by ``Numeric.AD``), the index maps from their one description
(:mod:`pyaccad.ir.index_maps`), ``permute`` as ``V.accum`` (its writes in source order), loops as ``until``.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad.export.generic import generic_module_source
>>> from pyaccad.frontend import trace
>>> program = trace(lambda x: acc.scanl1(lambda a, b: a + b, x), np.ones(4)).program
>>> src = generic_module_source(program, "Cum", "cum")
>>> print(src[src.index("cum ::"):].strip())
cum :: RealFloat a => Vector a -> Vector a
cum x =
  V.generate 4 (\\o1 -> foldl1 (+) [x V.! k1 | k1 <- [0 .. o1]])
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from math import prod

from pyaccad.export.generic_linalg import HELPERS as LINALG_HELPERS
from pyaccad.export.generic_linalg import linalg
from pyaccad.export.generic_printer import GenericExportError, GenericPrinter, flat_index, unflatten
from pyaccad.export.printer import Rule
from pyaccad.export.rules import cond_branches, single_op, spliced_body, while_functions
from pyaccad.export.syntax import lambda_text, let_block, literal_text, paren
from pyaccad.export.templates import fill_template, function_of, param_names, template_of
from pyaccad.ir import BOOL, ELEMENTWISE, FLOAT_DTYPES, Lit, Program, Stmt
from pyaccad.ir.index_maps import INDEX_MAPS, Bin, Const, Expr, Extent, Let, Out, OutFlat, Read, Unravel, reads_of

# Prelude spellings where the accelerate template uses accelerate-only names.
_PRELUDE = {
    "floor": "fromIntegral (floor {0} :: Int)",
    "ceil": "fromIntegral (ceiling {0} :: Int)",
    "round": "fromIntegral (round {0} :: Int)",
    "floordiv": "(if {1} == 0 then 0 else {0} `div` {1})",
    "mod": "(if {1} == 0 then 0 else {0} `mod` {1})",  # of integers: floats raise (see _template)
    "erf": "erfSeries {0}",  # the Prelude has none: a helper (GENERIC_HELPERS)
    "trunc": "fromIntegral (truncate {0} :: Int)",
    "select": "if {0} then {1} else {2}",
    "maximum": "max {0} {1}",  # the accelerate target's NaN guard is written with accelerate's (?)
    "minimum": "min {0} {1}",
    "ne": "{0} /= {1}",
    # the accelerate target guards these against accelerate-llvm's signum of NaN and accelerate's simplifier
    "sign": "signum {0}",
    "mul": "{0} * {1}",
    "sub": "{0} - {1}",
    "tanh": "tanh {0}",  # the accelerate target's tanh' is for accelerate-llvm's speed; the Prelude's is exact
}
ERF = [
    "-- | The error function within a few ulps of libm's: its Maclaurin series below 1.5 in magnitude, the continued",
    "-- fraction of erfc (200 terms, bottom-up) above, 1 past 6 (as in double precision).",
    "erfSeries :: RealFloat a => a -> a",
    "erfSeries x",
    "  | isNaN x || x == 0 = x",
    "  | abs x >= 6 = signum x",
    "  | abs x < 1.5 = 2 / sqrt pi * sum (zipWith (/) terms (map fromIntegral [1 :: Int, 3 ..]))",
    "  | otherwise = signum x * (1 - exp (negate (x * x)) / (sqrt pi * fraction))",
    "  where",
    "    terms = take 80 (scanl (\\a n -> a * negate (x * x) / fromIntegral n) x [1 :: Int ..])",
    "    fraction = foldr (\\k t -> abs x + fromIntegral k / 2 / t) (abs x) [1 :: Int .. 200]",
]
"""``erf`` as a helper printed into the module (the differences from libm, at most 7.3e-16 relative across
[-6, 6], were measured against Python's ``math.erf``)."""

MOD = [
    "-- | NumPy's float remainder, of the divisor's sign: x - y * floor (x / y) to rounding where both are finite",
    "-- (the accelerate export's modFloat is exact); NaN by a zero divisor or of an infinity; by an infinity, x",
    "-- where the signs agree, else y. Its derivatives are 1 and -floor (x / y), as pyaccad's.",
    "modFloating :: RealFloat a => a -> a -> a",
    "modFloating x y",
    "  | isNaN x || isNaN y || isInfinite x || y == 0 = 0 / 0",
    "  | isInfinite y = if x == 0 then 0 * signum y else if (x < 0) == (y < 0) then x else y",
    "  | r /= 0 && (r < 0) /= (y < 0) = r + y  -- rounding left it a hair across zero",
    "  | r == 0 = 0 * signum y",
    "  | otherwise = r",
    "  where",
    "    r = x - y * fromInteger (floor (x / y))",
]
"""Float ``mod`` as a helper printed into the module."""

GENERIC_HELPERS = {**LINALG_HELPERS, "erf": ERF, "mod": MOD}
"""The Haskell helpers a rule can ask for (``printer.helpers``), each printed once into the module."""


def _helper(stmt: Stmt) -> str | None:
    """The helper (:data:`GENERIC_HELPERS`) an element-wise statement's template calls, if any."""
    if stmt.prim.name == "mod":
        return "mod" if stmt.outs[0].dtype in FLOAT_DTYPES else None
    return stmt.prim.name if stmt.prim.name in GENERIC_HELPERS else None


def _template(stmt: Stmt) -> str:
    if _helper(stmt) == "mod":
        return "modFloating {0} {1}"
    if stmt.prim.name == "cast":
        source, target = stmt.args[0].dtype, stmt.params["dtype"]
        if source == BOOL:
            return "if {0} then 1 else 0"
        if target == BOOL:
            return "{0} /= 0"
        if source in FLOAT_DTYPES and target in FLOAT_DTYPES:
            return "{0}"
        if source in FLOAT_DTYPES:  # towards zero, as C (pyaccad's cast); piecewise constant: ad's derivative 0
            return "truncate {0}"
        return "fromIntegral {0}"
    return _PRELUDE.get(stmt.prim.name) or template_of(stmt).replace(" :: Exp Int", " :: Int")


def _elementwise(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    template = _template(stmt)
    if _helper(stmt) is not None:
        p.helpers.add(_helper(stmt))
    if not array_level or not stmt.outs[0].shape:
        return fill_template(template, [p.exp(a) for a in stmt.args])
    arrays = [a for a in stmt.args if not isinstance(a, Lit) and a.shape]
    n = len(arrays)
    combinator = "V.map" if n == 1 else "V.zipWith" if n == 2 else f"V.zipWith{n}"
    if n == len(stmt.args):
        function = function_of(template, p, n)
    else:  # literals and rank-0 values are operands of a lambda over the arrays
        names = dict(zip(arrays, param_names(p, len(arrays)), strict=True))
        operands = [names[a] if a in names else p.exp(a) for a in stmt.args]
        function = f"\\{' '.join(names.values())} -> {fill_template(template, operands)}"
    return f"{combinator} {paren(function)} " + " ".join(p.array(a) for a in arrays)


def _const(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    value = stmt.params["value"]
    items = [literal_text(v, value.dtype) for v in value.reshape(-1).tolist()]
    return items[0] if value.ndim == 0 else f"V.fromList [{', '.join(items)}]"


def _broadcast_literal(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    """A literal filling an array: ``V.replicate``; an array broadcast is an index map like the others."""
    (x,) = stmt.args
    if not isinstance(x, Lit):
        return _index_map(p, stmt, array_level)
    lit = literal_text(x.value, x.dtype)
    return lit if not stmt.params["shape"] else f"V.replicate {prod(stmt.params['shape'])} {lit}"


def _index_map(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    """Each element as its read (:func:`pyaccad.ir.index_maps.reads_of`); several reads as ``if``s, in order."""
    shapes = [a.type.shape for a in stmt.args]
    out_shape = stmt.outs[0].shape

    def element(ix: list[str]) -> str:
        def index(e: Expr) -> str:
            if isinstance(e, Out):
                return ix[e.axis]
            if isinstance(e, OutFlat):
                return flat_index(ix, out_shape)
            if isinstance(e, Const):
                return str(e.value)
            if isinstance(e, Extent):
                return str(shapes[e.arg][e.axis])
            if isinstance(e, Let):  # computed once where it matters; here clarity: written where it is used
                return index(e.expr)
            if isinstance(e, Unravel):
                return unflatten(index(e.flat), shapes[e.arg])[e.axis]
            assert isinstance(e, Bin), e
            op = {"/": "`div`", "%": "`mod`"}.get(e.op, e.op)  # of non-negative operands: div is C's division
            return f"{paren(index(e.a))} {op} {paren(index(e.b))}"

        def value(read: Read) -> str:
            source = stmt.args[read.arg]
            if read.flat is not None and source.shape:
                return f"{p.names[source]} V.! {paren(index(read.flat))}"
            return p.read(source, [index(i) for i in read.index])

        *guarded, last = reads_of(stmt)
        text = value(last)
        for read in reversed(guarded):
            test = " && ".join(f"{paren(index(c.a))} {c.op} {paren(index(c.b))}" for c in read.valid)
            text = f"if {test} then {value(read)} else {text}"
        return text

    return p.tabulate(out_shape, element)


def _reshape(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    """A flat vector is its every reshape: only rank 0 changes the representation."""
    (x,) = stmt.args
    if not x.shape:
        return f"V.singleton {p.exp(x)}"
    return p.exp(x) if stmt.outs[0].shape else f"V.head {p.exp(x)}"


def _unzipped(k: int, shape: Sequence[int], text: str) -> str:
    """``k`` arrays from ``text``, one vector of ``k``-tuples (``V.unzip``, ``V.unzip3``...); at rank 0 the tuple."""
    if k == 1 or not shape:
        return text
    if k > 6:
        raise GenericExportError(f"export_generic: a lambda of {k} results is wider than Data.Vector's unzip6")
    return f"V.unzip{'' if k == 2 else k} ({text})"


def _combiner(p: GenericPrinter, lam: Program, k: int) -> str:
    """A fold's or scan's lambda of ``2k`` inputs (``k`` accumulated, ``k`` new) as a function of two
    ``k``-tuples, bracketed."""
    if k == 1:
        return paren(single_op(lam) or p.lam(lam))
    names = p.bind_inputs(lam)
    return paren(p.lam(lam, patterns=[p.tuple(names[:k]), p.tuple(names[k:])]))


def _fold(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    lam: Program = stmt.params["lam"]
    k = len(lam.outputs)
    xs, inits = stmt.args[:k], stmt.args[k:]
    axis, shape = stmt.params["axis"], xs[0].shape
    function = _combiner(p, lam, k)
    if k == 1 and len(shape) == 1:
        if function == "(+)" and inits and p.exp(inits[0]) in ("0", "0.0"):
            return f"V.sum {p.exp(xs[0])}"
        start = f"{paren(p.exp(inits[0]))} " if inits else ""
        return f"V.foldl{'' if inits else '1'} {function} {start}{p.exp(xs[0])}"
    j = p.fresh("k")

    def element(ix: list[str]) -> str:
        at = [*ix[:axis], j, *ix[axis:]]
        items = f"[{p.tuple([p.read(x, at) for x in xs])} | {j} <- [0 .. {shape[axis] - 1}]]"
        if inits:
            return f"foldl {function} {paren(p.tuple([p.exp(z) for z in inits]))} {items}"
        return f"foldl1 {function} {items}"

    return _unzipped(k, stmt.outs[0].shape, p.tabulate(stmt.outs[0].shape, element))


def _map(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    lam: Program = stmt.params["lam"]
    n = len(stmt.args)
    combinator = "V.map" if n == 1 else "V.zipWith" if n == 2 else f"V.zipWith{n}"
    mapped = f"{combinator} ({p.lam(lam)}) " + " ".join(p.exp(a) for a in stmt.args)
    return _unzipped(len(lam.outputs), stmt.outs[0].shape, mapped)


def _at_each(flat: str, shape: Sequence[int], names: Sequence[str], body: list[str]) -> str:
    """``\\flat -> let i = ..; j = .. in body``: ``names`` bound to the multi-index of position ``flat``."""
    bindings = [f"{n} = {e}" for n, e in zip(names, unflatten(flat, shape), strict=True)]
    return lambda_text([flat], let_block(bindings, body))


def _indexed(p: GenericPrinter, shape: Sequence[int], names: Sequence[str], body: list[str]) -> str:
    """``V.generate n (\\o -> let i = ..; j = .. in body)``: ``names`` bound to the multi-index of ``o``."""
    return f"V.generate {prod(shape)} ({_at_each(p.fresh('o'), shape, names, body)})"


def _generate(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    lam: Program = stmt.params["lam"]
    names = p.bind_inputs(lam, index=True)
    generated = _indexed(p, stmt.params["shape"], names, p.body(lam, array_level=False))
    return _unzipped(len(lam.outputs), stmt.params["shape"], generated)


def _backpermute(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    lam: Program = stmt.params["index"]
    (x,) = stmt.args
    names = p.bind_inputs(lam, index=True)
    body = p.body(lam, array_level=False, result=lambda outs: p.read(x, outs))
    return _indexed(p, stmt.params["shape"], names, body)


def _matmul(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    a, b = stmt.args
    k = p.fresh("k")
    inner = a.shape[-1]

    def element(ix: list[str]) -> str:
        batch, i, j = ix[:-2], ix[-2], ix[-1]
        return f"sum [{p.read(a, [*batch, i, k])} * {p.read(b, [*batch, k, j])} | {k} <- [0 .. {inner - 1}]]"

    return p.tabulate(stmt.outs[0].shape, element)


def _index(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    array, *indices = stmt.args
    return p.read(array, [p.exp(i) for i in indices])


def _scan(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    """Each element as the fold of its prefix (``foldl``) or suffix (``foldr``, reverse), with the inits where
    there are some (the result then one longer along the axis)."""
    lam: Program = stmt.params["lam"]
    k = len(lam.outputs)
    xs, inits = stmt.args[:k], stmt.args[k:]
    axis, n = stmt.params["axis"], xs[0].shape[stmt.params["axis"]]
    function = _combiner(p, lam, k)
    init = paren(p.tuple([p.exp(z) for z in inits])) if inits else ""
    j = p.fresh("k")

    def element(ix: list[str]) -> str:
        t = ix[axis]

        def items(first: str, last: str) -> str:
            at = [*ix[:axis], j, *ix[axis + 1 :]]
            return f"[{p.tuple([p.read(x, at) for x in xs])} | {j} <- [{first} .. {last}]]"

        if stmt.params["reverse"]:
            fold = f"foldr {function} {init}" if inits else f"foldr1 {function}"
            return f"{fold} {items(t, str(n - 1))}"
        if inits:
            return f"foldl {function} {init} {items('0', f'{paren(t)} - 1')}"
        return f"foldl1 {function} {items('0', t)}"

    return _unzipped(k, stmt.outs[0].shape, p.tabulate(stmt.outs[0].shape, element))


def _permute(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    """``V.accum`` of the kept elements' writes, in source order: ``out[j] = combine(x[i], out[j])``."""
    defaults, x = stmt.args
    combine, index = stmt.params["combine"], stmt.params["index"]
    function = paren(single_op(combine) or p.lam(combine))
    s = p.fresh("s")
    value = f"{p.names[x]} V.! {s}" if x.shape else p.exp(x)
    names = p.bind_inputs(index, index=True)

    def write(outs: list[str]) -> str:
        return f"if {outs[0]} then [({flat_index(outs[1:], defaults.shape)}, {value})] else []"

    at_each = _at_each(s, x.shape, names, p.body(index, array_level=False, result=write))
    writes = f"(concatMap ({at_each}) [0 .. {prod(x.shape) - 1}])"
    if not defaults.shape:
        return f"V.head (V.accum (flip {function}) (V.singleton {paren(p.exp(defaults))}) {writes})"
    return f"V.accum (flip {function}) {p.exp(defaults)} {writes}"


def _shifted(i: str, offset: int) -> str:
    """``i + offset`` (``i - 1``, never ``i + -1``: Haskell's unary minus does not follow ``+``)."""
    return f"{paren(i)} {'+' if offset > 0 else '-'} {abs(offset)}"


def _neighbour(i: str, offset: int, n: int, boundary: str) -> str:
    """Index ``i + offset`` along an axis of ``n``, brought back inside by ``boundary`` (``constant``: clamped,
    the caller tests whether it was inside). As the interpreter's ``_axis_indices``."""
    if offset == 0:
        return i
    shifted = _shifted(i, offset)
    if boundary == "wrap":
        return f"({shifted}) `mod` {n}"
    if boundary == "mirror":  # about the edge without repeating it; period 2n - 2 when the stencil is wider
        if n == 1:
            return "0"
        period = 2 * (n - 1)
        return f"(\\m -> if m >= {n} then {period} - m else m) (({shifted}) `mod` {period})"
    return f"max 0 (min {n - 1} ({shifted}))"


def _stencil(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    """The lambda applied to each element's neighbours, row-major in their offsets (first axis slowest)."""
    (x,) = stmt.args
    lam: Program = stmt.params["lam"]
    if len(lam.outputs) != 1:
        raise GenericExportError("export_generic: stencils with several results are not supported")
    boundary = stmt.params["boundary"]
    function = paren(p.lam(lam))
    offsets = list(itertools.product(*(range(-(s // 2), s // 2 + 1) for s in stmt.params["size"])))

    def neighbour(ix: list[str], offset: tuple[int, ...]) -> str:
        read = p.read(x, [_neighbour(i, d, n, boundary) for i, d, n in zip(ix, offset, x.shape, strict=True)])
        if boundary != "constant" or not any(offset):
            return read
        bounds = [(_shifted(i, d), n) for i, d, n in zip(ix, offset, x.shape, strict=True) if d]
        inside = " && ".join(f"{t} >= 0 && {t} < {n}" for t, n in bounds)
        return f"if {inside} then {read} else {literal_text(stmt.params['value'], x.dtype)}"

    return p.tabulate(x.shape, lambda ix: f"{function} " + " ".join(paren(neighbour(ix, o)) for o in offsets))


def _cond(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    then_, else_ = cond_branches(p, stmt, array_level)
    head = f"if {p.exp(stmt.args[0])}"
    if "\n" not in then_ + else_:
        return f"{head} then {then_} else {else_}"
    # each branch under its keyword, its continuation lines as far in as its first, for the layout rule
    return head + "".join(
        f"\n  {word} " + branch.replace("\n", "\n" + " " * len(f"  {word} "))
        for word, branch in (("then", then_), ("else", else_))
    )


def _while(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    cond, body, init = while_functions(p, stmt, array_level)
    return f"until (not . {cond})\n  {body}\n  {init}"


GENERIC_RULES: dict[str, Rule] = {name: _elementwise for name in (*ELEMENTWISE, "select", "cast")}
"""The generic target's rule of every primitive it prints, by name (a primitive missing here is a
:class:`GenericExportError` naming it)."""
GENERIC_RULES.update({prim.name: _index_map for prim in INDEX_MAPS})
GENERIC_RULES.update(dict.fromkeys(LINALG_HELPERS, linalg))
GENERIC_RULES.update(
    {"while": _while},
    const=_const,
    broadcast_in_dim=_broadcast_literal,
    reshape=_reshape,
    fold=_fold,
    scan=_scan,
    map=_map,
    generate=_generate,
    backpermute=_backpermute,
    permute=_permute,
    stencil=_stencil,
    matmul=_matmul,
    index=_index,
    cond=_cond,
    custom_rule=spliced_body,
    remat=spliced_body,
)
