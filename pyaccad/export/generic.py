"""The second target: plain Haskell, generic in its number type, for ``Numeric.AD`` cross-checks.

``accelerate`` programs cannot be differentiated by the ``ad`` package, so the
primal is also printed as ordinary Haskell over boxed ``Data.Vector`` values,
polymorphic in the float type ``a``: every float becomes ``a`` (float32 and
float64 alike), ints become ``Int``, bools ``Bool``. Arrays are flat, row-major
vectors whose shapes are fixed at export time, so every index computation is
plain arithmetic on ``Int``. A scalar-valued ``f`` then differentiates with
``Numeric.AD.grad`` after packing its float inputs into one list (the module
also exports ``nameFlat :: RealFloat a => [a] -> a`` doing exactly that).

Supported: element-wise operations, ``select``, ``cast``, constants,
broadcasts, reshapes, transposes, slices, reverses, ``fold`` (any axis, any
lambda of one array), ``map``, ``generate``, ``backpermute``, ``matmul`` and
scalar ``cond``/``index`` inside lambdas — the benchmark workloads. Anything
else raises :class:`GenericExportError` naming the primitive.

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> src = generic_module_source(trace(lambda x: (x * x).sum(), np.ones(3)).program, "Sq", "sq")
>>> print(src[src.index("sq ::") : src.index("-- | All")].strip())
sq :: RealFloat a => Vector a -> a
sq x =
  let a = V.zipWith (*) x x
  in
  V.sum a
"""

from __future__ import annotations

from collections.abc import Sequence
from math import prod

from pyaccad.export.printer import Printer
from pyaccad.export.rules import fill_template, function_of, param_names, single_op, template_of
from pyaccad.export.syntax import ExportError, lambda_text, let_block, literal_text, paren
from pyaccad.ir import BOOL, ELEMENTWISE, FLOAT_DTYPES, ArrayType, Atom, Lit, Program, Stmt, Var


class GenericExportError(ExportError):
    """The program uses a primitive the generic (``ad``) target does not support.

    >>> import pyaccad as acc
    >>> issubclass(GenericExportError, acc.Error)
    True
    """


# Prelude spellings where the accelerate template uses accelerate-only names.
_PRELUDE = {
    "floor": "fromIntegral (floor {0} :: Int)",
    "ceil": "fromIntegral (ceiling {0} :: Int)",
    "round": "fromIntegral (round {0} :: Int)",
    "floordiv": "(if {1} == 0 then 0 else {0} `div` {1})",
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
_UNSUPPORTED = {"erf", "mod"}


def _strides(shape: Sequence[int]) -> list[int]:
    return [prod(shape[d + 1 :]) for d in range(len(shape))]


def flat_index(indices: Sequence[str], shape: Sequence[int]) -> str:
    """``i * 4 + j`` for indices into an array of ``shape``.

    >>> flat_index(["i", "j"], (3, 4))
    'i * 4 + j'
    """
    terms = [i if s == 1 else f"{paren(i)} * {s}" for i, s in zip(indices, _strides(shape), strict=True)]
    return " + ".join(terms) if terms else "0"


def unflatten(flat: str, shape: Sequence[int]) -> list[str]:
    """The multi-index of element ``flat`` of an array of ``shape``.

    >>> unflatten("o", (3, 4))
    ['o `div` 4', 'o `mod` 4']
    """
    out = []
    for d, (n, s) in enumerate(zip(shape, _strides(shape), strict=True)):
        text = flat if s == 1 else f"{flat} `div` {s}"
        out.append(text if d == 0 else f"{paren(text)} `mod` {n}")
    return out


class GenericPrinter(Printer):
    """The printer with the generic target's rules: Prelude names, flat ``Vector`` reads, no ``the``.

    >>> from pyaccad.ir import Var, ArrayType, FLOAT64
    >>> p = GenericPrinter()
    >>> x = Var(ArrayType(FLOAT64, (2, 3)), "x")
    >>> _ = p.bind(x, array_level=True)
    >>> p.read(x, ["i", "j"])
    'x V.! (i * 3 + j)'
    """

    def rule(self, name: str):
        """This target's rule for ``name``, or a GenericExportError naming the primitive."""
        rule = _RULES.get(name) or (_elementwise if name in ELEMENTWISE or name in ("select", "cast") else None)
        if rule is None or name in _UNSUPPORTED:
            raise GenericExportError(f"export_generic: primitive {name!r} is not supported by the generic target")
        return rule

    def exp(self, atom: Atom, operand_with_var: bool = False) -> str:
        """A scalar: literals bare (types come from ``a``), rank-0 arrays are plain scalars here."""
        if isinstance(atom, Lit):
            return literal_text(atom.value, atom.dtype)
        return self.inlined.get(atom) or self.names[atom]

    def array(self, atom: Atom) -> str:
        """An array value: its name (a ``Vector``, or a scalar at rank 0)."""
        return self.exp(atom)

    def read(self, atom: Atom, indices: Sequence[str]) -> str:
        """Element ``indices`` of array ``atom`` (a scalar when rank 0)."""
        if not atom.shape:
            return self.exp(atom)
        return f"{self.names[atom]} V.! {paren(flat_index(indices, atom.shape))}"

    def tabulate(self, shape: Sequence[int], element) -> str:
        """``V.generate n (\\o -> ...)`` with ``element(multi-index names)`` giving each element."""
        if not shape:
            return element([])
        o = self.fresh("o")
        return f"V.generate {prod(shape)} (\\{o} -> {element(unflatten(o, shape))})"


def _template(stmt: Stmt) -> str:
    if stmt.prim.name == "cast":
        source, target = stmt.args[0].dtype, stmt.params["dtype"]
        if source == BOOL:
            return "if {0} then 1 else 0"
        if target == BOOL:
            return "{0} /= 0"
        if source in FLOAT_DTYPES and target in FLOAT_DTYPES:
            return "{0}"
        if source in FLOAT_DTYPES:
            raise GenericExportError("export_generic: a float -> int cast is not differentiable; not supported")
        return "fromIntegral {0}"
    return _PRELUDE.get(stmt.prim.name) or template_of(stmt).replace(" :: Exp Int", " :: Int")


def _elementwise(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    template = _template(stmt)
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


def _broadcast(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    (x,) = stmt.args
    dims = stmt.params["dims"]
    if isinstance(x, Lit):
        lit = literal_text(x.value, x.dtype)
        return lit if not stmt.params["shape"] else f"V.replicate {prod(stmt.params['shape'])} {lit}"
    return p.tabulate(
        stmt.outs[0].shape, lambda ix: p.read(x, ["0" if x.shape[a] == 1 else ix[d] for a, d in enumerate(dims)])
    )


def _moved(index_map):
    def rule(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
        (x,) = stmt.args
        return p.tabulate(stmt.outs[0].shape, lambda ix: p.read(x, index_map(stmt, x, ix)))

    return rule


def _transpose_map(stmt: Stmt, x: Var, ix: list[str]) -> list[str]:
    perm = list(stmt.params["perm"])
    return [ix[perm.index(a)] for a in range(len(perm))]


def _slice_map(stmt: Stmt, x: Var, ix: list[str]) -> list[str]:
    return [
        f"{start} + {step} * {paren(i)}"
        for i, start, step in zip(ix, stmt.params["starts"], stmt.params["steps"], strict=True)
    ]


def _reverse_map(stmt: Stmt, x: Var, ix: list[str]) -> list[str]:
    axes = stmt.params["axes"]
    return [f"{n - 1} - {paren(i)}" if a in axes else i for a, (i, n) in enumerate(zip(ix, x.shape, strict=True))]


def _reshape(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    (x,) = stmt.args
    if not x.shape:
        return f"V.singleton {p.exp(x)}"
    return p.exp(x) if stmt.outs[0].shape else f"V.head {p.exp(x)}"


def _fold(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    lam: Program = stmt.params["lam"]
    if len(lam.outputs) != 1:
        raise GenericExportError("export_generic: folds over tuples of arrays are not supported")
    (x, *init) = stmt.args
    axis, shape = stmt.params["axis"], x.shape
    function = single_op(lam) or p.lam(lam)
    k = p.fresh("k")

    def element(ix: list[str]) -> str:
        items = f"[{p.read(x, [*ix[:axis], k, *ix[axis:]])} | {k} <- [0 .. {shape[axis] - 1}]]"
        if init:
            return f"foldl {paren(function)} {paren(p.exp(init[0]))} {items}"
        return f"foldl1 {paren(function)} {items}"

    if len(shape) == 1 and function == "(+)" and init and p.exp(init[0]) in ("0", "0.0"):
        return f"V.sum {p.exp(x)}"
    if len(shape) == 1:
        start = f"{paren(p.exp(init[0]))} " if init else ""
        return f"V.foldl{'' if init else '1'} {paren(function)} {start}{p.exp(x)}"
    return p.tabulate(stmt.outs[0].shape, element)


def _map(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    lam: Program = stmt.params["lam"]
    if len(lam.outputs) != 1:
        raise GenericExportError("export_generic: maps with several results are not supported")
    n = len(stmt.args)
    combinator = "V.map" if n == 1 else "V.zipWith" if n == 2 else f"V.zipWith{n}"
    return f"{combinator} ({p.lam(lam)}) " + " ".join(p.exp(a) for a in stmt.args)


def _indexed(p: GenericPrinter, shape: Sequence[int], names: Sequence[str], body: list[str]) -> str:
    """``V.generate n (\\o -> let i = ..; j = .. in body)``: ``names`` bound to the multi-index of ``o``."""
    o = p.fresh("o")
    bindings = [f"{n} = {e}" for n, e in zip(names, unflatten(o, shape), strict=True)]
    return f"V.generate {prod(shape)} ({lambda_text([o], let_block(bindings, body))})"


def _generate(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    lam: Program = stmt.params["lam"]
    if len(lam.outputs) != 1:
        raise GenericExportError("export_generic: generate with several results is not supported")
    names = p.bind_inputs(lam, index=True)
    return _indexed(p, stmt.params["shape"], names, p.body(lam, array_level=False))


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


def _cond(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    if array_level:
        raise GenericExportError("export_generic: array-level acond is not supported")
    then_, else_ = (" ".join(p.body(b, False)) for b in (stmt.params["then_"], stmt.params["else_"]))
    return f"if {p.exp(stmt.args[0])} then {then_} else {else_}"


_RULES = {
    "const": _const,
    "broadcast_in_dim": _broadcast,
    "reshape": _reshape,
    "transpose": _moved(_transpose_map),
    "slice": _moved(_slice_map),
    "reverse": _moved(_reverse_map),
    "fold": _fold,
    "map": _map,
    "generate": _generate,
    "backpermute": _backpermute,
    "matmul": _matmul,
    "index": _index,
    "cond": _cond,
}


def _type(t: ArrayType) -> str:
    scalar = "a" if t.dtype in FLOAT_DTYPES else {BOOL: "Bool"}.get(t.dtype, "Int")
    return scalar if not t.shape else f"Vector {scalar}"


def generic_module_source(program: Program, module: str, name: str) -> str:
    """The generic Haskell module of ``program``: ``name`` and ``nameFlat`` (float inputs as one list).

    See the module docstring for an example.
    """
    p = GenericPrinter()
    p.used.update({name, f"{name}Flat", "o", "k"})
    ins = [p.bind(v, True) for v in program.inputs]
    if len(program.outputs) > 1:
        raise GenericExportError("export_generic: programs with several results are not supported")
    body = p.body(program, array_level=True)
    sig = " -> ".join([*(_type(t) for t in program.input_types), _type(program.output_types[0])])
    lines = [
        f"-- | {name}, exported by pyaccad (export_generic): flat row-major vectors, shapes fixed at export.",
        f"module {module} ({name}, {name}Flat) where",
        "",
        "import Data.Vector (Vector)",
        "import qualified Data.Vector as V",
        "",
        f"{name} :: RealFloat a => {sig}",
        f"{name} {' '.join(ins)} =",
    ]
    lines += ["  " + line for line in body]
    floats = [v for v in program.inputs if v.dtype in FLOAT_DTYPES]
    if len(floats) == len(program.inputs) and program.output_types[0].shape == ():
        lines += _flat_wrapper(name, program.inputs)
    return "\n".join(lines) + "\n"


def _flat_wrapper(name: str, inputs: Sequence[Var]) -> list[str]:
    """``nameFlat ps``: the inputs cut from one list, in order (what ``Numeric.AD.grad`` wants)."""
    args, offset = [], 0
    for v in inputs:
        size = prod(v.shape)
        piece = f"take {size} (drop {offset} ps)" if offset else f"take {size} ps"
        args.append(f"(V.fromList ({piece}))" if v.shape else f"(ps !! {offset})")
        offset += size
    return [
        "",
        "-- | All float inputs as one list, for Numeric.AD.grad.",
        f"{name}Flat :: RealFloat a => [a] -> a",
        f"{name}Flat ps = {name} {' '.join(args)}",
    ]
