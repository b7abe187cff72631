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

from pyaccad.export.names import RESERVED
from pyaccad.export.printer import Printer
from pyaccad.export.rules import RULES
from pyaccad.export.syntax import ExportError, paren, signature_type, tuple_of
from pyaccad.export.templates import HELPER_PRAGMA, HELPERS
from pyaccad.ir import Program, Var
from pyaccad.opt.fusion import plan_program


def module_source(program: Program, module: str, name: str, blas: bool = False) -> str:
    """The Haskell module exporting ``name``, the accelerate version of ``program`` (see the module doc)."""
    if not re.fullmatch(r"[A-Z][\w']*(\.[A-Z][\w']*)*", module):
        raise ExportError(f"export: {module!r} is not a Haskell module name (Capitalised, dotted)")
    if not re.fullmatch(r"[a-z_][\w']*", name) or name in RESERVED:
        raise ExportError(
            f"export: {name!r} is not a usable Haskell function name (lower-case, and not a name "
            "Data.Array.Accelerate exports)"
        )
    printer = Printer(RULES, blas)
    printer.computed = materialised(program)
    printer.used.add(name)
    ins = [printer.bind(v, True) for v in program.inputs]
    sig = f"{name} :: {signature_type(program.input_types)} -> {signature_type(program.output_types)}"
    if not program.inputs:
        sig = f"{name} :: {signature_type(program.output_types)}"
    body = printer.body(program, array_level=True)
    head = f"{name} {tuple_of(ins, 'argument list') if len(ins) == 1 else paren(tuple_of(ins))}" if ins else name
    if len(body) == 1:
        definition = [f"{head} = {body[0]}"]
    else:
        definition = [f"{head} ="] + ["  " + line for line in body]
    described = ", ".join(f"{n} :: {t}" for n, t in zip(ins, program.input_types, strict=True))
    header = f"-- | {name}, exported by pyaccad from a trace at the example arguments"
    header += f" {described}." if described else " (none)."
    helpers = [line for helper in sorted(printer.helpers) for line in ["", *HELPERS[helper]]]
    pragmas = [HELPER_PRAGMA] if printer.helpers else []
    imports = ["import Data.Array.Accelerate"]
    if printer.blas and any("BLAS." in line for line in definition):
        imports.append("import qualified Data.Array.Accelerate.Numeric.LinearAlgebra as BLAS")
    if any("Bits." in line for line in definition):  # the bitwise operations (element-wise table)
        imports.append("import qualified Data.Array.Accelerate.Data.Bits as Bits")
    imports.append("import Prelude ()")
    lines = [header, *pragmas, f"module {module} ({name}) where", "", *imports, "", sig, *definition, *helpers]
    return "\n".join(lines) + "\n"


def materialised(program: Program) -> set[Var]:
    """The element-wise values that pyaccad's own fusion plan writes to memory, which the export marks with
    accelerate's ``compute``.

    accelerate fuses a producer used once into its consumer, whatever the consumer does with it: the ``tanh``
    of one layer of an MLP, read by the next matrix product's ``replicate``, would be recomputed once per
    output column (measured: 192 ms instead of 54 ms for the mlp primal). pyaccad's plan materialises exactly
    the values worth computing once (:mod:`pyaccad.opt.fusion`), so the export says so.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> program = trace(lambda x, w: (acc.tanh(x) @ w).sum(), np.ones((4, 3)), np.ones((3, 2))).program
    >>> [v.type.shape for v in materialised(program)]
    [(4, 3)]
    """
    plan = plan_program(program)
    return {
        v
        for kernel in plan.kernels
        if kernel.kind == "map"
        for stmt in kernel.roots
        if stmt.prim.family == "elementwise" or stmt.prim.name == "map"
        for v in stmt.outs
    }
