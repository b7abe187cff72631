"""The ``accelerate`` printer: an IR program as a readable Haskell module.

The shape of what comes out::

    -- | f, exported by pyaccad from a trace at the example arguments x :: f32[3].
    module M (f) where

    import Data.Array.Accelerate
    import Prelude ()

    f :: Acc (Vector Float) -> Acc (Scalar Float)
    f x =
      let a = map (\\v -> sin v * v) x
          b = fold (+) 0 a
      in
      b

Each array-level statement becomes one ``let`` binding (sharing is explicit,
as accelerate's own sharing recovery would find it); statements whose results
are never used are dropped, since a binding that nothing uses leaves its
element type ambiguous to GHC. Lambdas are printed as Haskell lambdas whose
single-use scalar temporaries are inlined into their consumer. What each
primitive prints is decided by the rule table in :mod:`pyaccad.export.rules`;
:mod:`pyaccad.export.printer` owns names, layout, literals and types.

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> print(module_source(trace(lambda x: x * x, np.ones(3, np.float32)).program, "M", "square"))
... # doctest: +ELLIPSIS
-- | square, ...
module M (square) where
<BLANKLINE>
import Data.Array.Accelerate
import Prelude ()
<BLANKLINE>
square :: Acc (Vector Float) -> Acc (Vector Float)
square x = zipWith (*) x x
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from pyaccad.export.checked import checked_reads as with_checked_reads
from pyaccad.export.extents import Extents, Symbol, Tracer, fit_extents
from pyaccad.export.names import RESERVED
from pyaccad.export.printer import Printer
from pyaccad.export.products import is_gemm
from pyaccad.export.rules import RULES
from pyaccad.export.scalar_loops import scalar_loops
from pyaccad.export.syntax import ExportError, paren, shape_exp, signature_type, tuple_of
from pyaccad.export.templates import HELPER_PRAGMA, HELPERS
from pyaccad.export.unshared import unshared
from pyaccad.ir import Program, Stmt, Var
from pyaccad.ir.types import ArrayType
from pyaccad.opt.fusion import collect_fused, element_cost, matrix_transpose_source, plan_program
from pyaccad.opt.kernels import Plan


def module_source(
    program: Program,
    module: str,
    name: str,
    blas: bool = False,
    extents: Extents | None = None,
    ordered_folds: bool = True,
    checked_reads: bool = False,
    partial_sums: bool = False,
) -> str:
    """The Haskell module exporting ``name``, the accelerate version of ``program`` (see the module doc).

    With ``extents``, ``program`` is ``extents.annotate``'s: its extents print as the symbols, bound
    from the inputs' shapes at the top of the function (``let I2 n m = shape x``). With ``checked_reads``
    (the bridge's), its reads are checked and it returns one more value, whether all were in bounds
    (:mod:`pyaccad.export.checked`). ``ordered_folds`` and ``partial_sums`` are :class:`.Printer`'s.
    """
    if not re.fullmatch(r"[A-Z][\w']*(\.[A-Z][\w']*)*", module):
        raise ExportError(f"export: {module!r} is not a Haskell module name (Capitalised, dotted)")
    if not re.fullmatch(r"[a-z_][\w']*", name) or name in RESERVED or name in HELPERS:
        raise ExportError(
            f"export: {name!r} is not a usable Haskell function name (lower-case, and not a name "
            "Data.Array.Accelerate exports or the export's own helpers)"
        )
    program, scalar_loop_results = scalar_loops(program)
    printer = Printer(RULES, blas, ordered_folds, partial_sums)
    printer.computed = materialised(program, blas) | scalar_loop_results
    program = unshared(program)
    if checked_reads:
        program = with_checked_reads(program)
    printer.used |= {name, *HELPERS, *(extents.names if extents else ())}  # a value named orderedBits32 would hide it
    ins = [printer.bind(v, True) for v in program.inputs]
    sig = f"{name} :: {signature_type(program.input_types)} -> {signature_type(program.output_types)}"
    if not program.inputs:
        sig = f"{name} :: {signature_type(program.output_types)}"
    body = printer.body(program, array_level=True)
    if extents is not None:
        used = set(re.findall(r"[\w']+", "\n".join(body)))
        body = _with_bindings(_shape_bindings(extents, ins, used), body)
    head = f"{name} {paren(tuple_of(ins, nested=True))}" if ins else name  # as signature_type nests them
    if len(body) == 1:
        definition = [f"{head} = {body[0]}"]
    else:
        definition = [f"{head} ="] + ["  " + line for line in body]
    described = ", ".join(
        f"{n} :: {ArrayType(t.dtype, tuple(map(int, t.shape)))}" for n, t in zip(ins, program.input_types, strict=True)
    )
    header = f"-- | {name}, exported by pyaccad from a trace at the example arguments"
    header += f" {described}." if described else " (none)."
    if extents is not None:
        header += "\n" + _generic_note(extents, ins)
    helpers = [line for helper in sorted(printer.helpers) for line in ["", *HELPERS[helper]]]
    pragmas = [HELPER_PRAGMA] if printer.helpers else []
    imports = ["import Data.Array.Accelerate"]
    if printer.blas and any("BLAS." in line for line in definition):
        imports.append("import qualified Data.Array.Accelerate.Numeric.LinearAlgebra as BLAS")
    if printer.blas and any("BLAS.gemm" in line for line in definition):  # gemm and its Transpose (N, T)
        imports.append("import qualified Data.Array.Accelerate.Numeric.LinearAlgebra.BLAS.Level3 as BLAS")
    if any("Bits." in line for line in definition + helpers):  # bitwise operations (element-wise table, helpers)
        imports.append("import qualified Data.Array.Accelerate.Data.Bits as Bits")
    if any("Unsafe." in line for line in helpers):  # the checked reads' undef (pyaccad.export.checked)
        imports.append("import qualified Data.Array.Accelerate.Unsafe as Unsafe")
    imports.append("import Prelude ()")
    lines = [header, *pragmas, f"module {module} ({name}) where", "", *imports, "", sig, *definition, *helpers]
    return "\n".join(lines) + "\n"


def shape_generic_module_source(
    f: Callable[..., Any],
    args: tuple,
    tracer: Tracer,
    module: str,
    name: str,
    blas: bool = False,
    ordered_folds: bool = True,
    checked_reads: bool = False,
    partial_sums: bool = False,
) -> tuple[str, Extents]:
    """The module of ``f`` written in terms of its inputs' extents (:mod:`pyaccad.export.extents`), and the fit
    it is printed from (:meth:`.Extents.describes` tells which programs it computes).

    The module is printed twice, from the example's trace and from the trace at the further sizes
    that checked the fits, each with its numbers annotated by the same expressions: the two texts must
    be the same, or the printer computed a number from an extent without its expression somewhere.
    Then (and wherever no symbol fits) the extents are the example's, and the header says why.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> tracer = lambda f, args: trace(f, *args).program
    >>> src, _ = shape_generic_module_source(lambda x: x[1:] * 2.0, (np.ones(5),), tracer, "M", "f")
    >>> print(src[src.index("f ::"):])
    f :: Acc (Vector Double) -> Acc (Vector Double)
    f x =
      let I1 n = shape x
          a = backpermute (I1 (n - 1)) (\\(I1 i) -> I1 (i + 1)) x
      in
      map (* 2.0) a
    <BLANKLINE>
    """
    extents = fit_extents(f, args, tracer)
    style = {"ordered_folds": ordered_folds, "checked_reads": checked_reads, "partial_sums": partial_sums}
    source = module_source(extents.annotate(extents.example), module, name, blas, extents, **style)
    if extents.check is None:
        return source, extents
    checked = extents.annotate(extents.check, extents.check_values)
    other = module_source(checked, module, name, blas, extents, **style)
    code = [line for line in source.split("\n") if not line.startswith("--")]
    other_code = [line for line in other.split("\n") if not line.startswith("--")]
    differing = next((a for a, b in zip(code, other_code, strict=False) if a != b), None)
    if differing is None and len(code) == len(other_code):
        return source, extents
    extents.fix_all(f"the export wrote a number of an extent without its expression (in {differing!r})")
    return module_source(extents.annotate(extents.example), module, name, blas, extents, **style), extents


def _shape_bindings(extents: Extents, inputs: list[str], used: set[str]) -> list[str]:
    """``I2 n m = shape x`` for each input that first has one of the generic symbols the body ``used``."""
    symbol_names = {id(s): n for s, n in zip(extents.generic, extents.names, strict=True)}
    bound: set[str] = set()
    bindings = []
    for position, (var_name, var) in enumerate(zip(inputs, extents.example.inputs, strict=True)):
        components = []
        for axis in range(len(var.shape)):
            symbol = next((s for s in extents.generic if (position, axis) in s.axes), None)
            symbol_name = symbol_names.get(id(symbol)) if symbol is not None else None
            wanted = symbol_name is not None and symbol_name in used and symbol_name not in bound
            components.append(symbol_name if wanted else "_")
            bound.add(components[-1])
        if any(c != "_" for c in components):
            bindings.append(f"{shape_exp(components)} = shape {var_name}")
    return bindings


def _with_bindings(bindings: list[str], body: list[str]) -> list[str]:
    """``body`` (a function's lines) with ``bindings`` first in its ``let``."""
    if not bindings:
        return body
    head = ["let " + bindings[0], *("    " + b for b in bindings[1:])]
    if body[0].startswith("let "):
        return [*head, "    " + body[0][4:], *body[1:]]
    return [*head, "in", *body]


def _generic_note(extents: Extents, inputs: list[str]) -> str:
    """The header's second line: which extents are symbols, and which stay fixed and why."""

    def axes(symbol: Symbol) -> str:
        return ", ".join(f"{inputs[i]}'s axis {a}" for i, a in symbol.axes)

    generic = "; ".join(f"{n} = {axes(s)}" for n, s in zip(extents.names, extents.generic, strict=True))
    note = f"-- Written for every size: {generic}." if generic else "-- Extents fixed at the example's."
    fixed = [s for s in extents.symbols if s.fixed is not None and s.extent > 1]
    if fixed:
        note += " Fixed: " + "; ".join(f"{s.extent} ({axes(s)}): {s.fixed}" for s in fixed) + "."
    return note


def materialised(program: Program, blas: bool = False) -> set[Var]:
    """The element-wise values that pyaccad's own fusion plan writes to memory, which the export marks with
    accelerate's ``compute``, except cheap operands of the products printed as sums (:func:`summed_operands`).

    accelerate fuses a producer used once into its consumer, whatever the consumer does with it: the ``tanh``
    of one layer of an MLP, read by the next matrix product, would be recomputed once per output column
    (measured: 192 ms instead of 54 ms for the mlp primal). pyaccad's plan materialises exactly the values
    worth computing once (:mod:`pyaccad.opt.fusion`), so the export says so.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> program = trace(lambda x, w: (acc.tanh(x) @ w).sum(), np.ones((4, 3)), np.ones((3, 2))).program
    >>> [v.type.shape for v in materialised(program)]
    [(4, 3)]
    """
    plan = plan_program(program)
    left_delayed = summed_operands(plan, blas)
    return {
        v
        for kernel in plan.kernels
        if kernel.kind == "map"
        for stmt in kernel.roots
        if (stmt.prim.family == "elementwise" or stmt.prim.name == "map") and stmt not in left_delayed
        for v in stmt.outs
    }


CHEAP_OPERATIONS = 2
"""At most this many element-wise operations, none expensive, make a value cheap to recompute."""


def summed_operands(plan: Plan, blas: bool) -> set[Stmt]:
    """The statements computing an operand of a product printed as sums (:mod:`pyaccad.export.products`; not
    a BLAS ``gemm``) that are cheap: each element costs about what reading it back would, no expensive
    operation (:func:`pyaccad.opt.fusion.element_cost`) among it and the producers fused into it, and at most
    :data:`CHEAP_OPERATIONS` element-wise ones beside index moves.

    pyaccad's plan writes every product operand to memory (its products are library calls). The export's
    sums are fused by accelerate, which itself materialises an array read twice, so a ``compute`` of a cheap
    operand only adds a pass: gmm's centred data ``x - means`` was written by ``compute``, then its transpose,
    read by the products, written again by accelerate (about 2 ms of the primal's 8).

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> plan = plan_program(trace(lambda x, y: (x - y) @ y, np.ones((2, 2)), np.ones((2, 2))).program)
    >>> [s.prim.name for s in summed_operands(plan, blas=False)], summed_operands(plan, blas=True)
    (['sub'], set())
    """
    producer = {v: s for kernel in plan.kernels for s in kernel.roots for v in s.outs}
    found = set()
    for kernel in plan.kernels:
        for product in kernel.roots:
            if product.prim.name != "matmul" or is_gemm(product, blas):
                continue
            for operand in product.args:
                source = producer.get(matrix_transpose_source(operand, plan.delayed) or operand)
                if source is not None and _cheap(source, plan):
                    found.add(source)
    return found


def _cheap(stmt: Stmt, plan: Plan) -> bool:
    fused: dict[Stmt, None] = {}
    collect_fused(stmt, plan.delayed, fused)
    chain = [stmt, *fused]
    operations = sum(s.prim.family == "elementwise" for s in chain)
    return operations <= CHEAP_OPERATIONS and all(element_cost(s) == 0 for s in chain)
