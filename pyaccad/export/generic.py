"""The second target: plain Haskell, generic in its number type, for ``Numeric.AD`` cross-checks.

``accelerate`` programs cannot be differentiated by the ``ad`` package, so the
primal is also printed as ordinary Haskell over boxed ``Data.Vector`` values,
polymorphic in the float type ``a``: every float becomes ``a`` (float32 and
float64 alike), ints become ``Int``, bools ``Bool``. Arrays are flat, row-major
vectors whose shapes are fixed at export time, so every index computation is
plain arithmetic on ``Int``. A scalar-valued ``f`` then differentiates with
``Numeric.AD.grad`` after packing its float inputs into one list (the module
also exports ``nameFlat :: RealFloat a => [a] -> a`` doing exactly that).

Supported: every element-wise operation (``erf`` through a series, float ``mod`` to rounding), ``select``,
``cast`` (float → int truncates; Haskell's ``Int`` holds every integer
type), constants, every index map (broadcasts, reshapes, transposes, slices,
reverses, pads, concatenations), ``fold`` and ``scan`` (any axis),
``map``, ``generate``, ``backpermute``, ``permute``, ``stencil`` (every
boundary), ``matmul``, ``cholesky``, ``triangular_solve`` and ``solve``
(:mod:`.generic_linalg`), ``cond`` and ``while`` at array level and inside
lambdas (as ``until``), ``index``, and the bodies of
``custom_rule``/``remat`` — every benchmark workload. Lambdas of several
results (tuple folds and scans, maps and generates of several arrays) print
over Haskell tuples, unzipped (up to six, ``Data.Vector``'s ``unzip6``); a
program of several results returns a Haskell tuple. Any other primitive
raises :class:`GenericExportError`. The printer (:mod:`.generic_printer`)
and the rules (:mod:`.generic_rules`) live beside this module.

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

from pyaccad.export.generic_printer import GenericExportError, GenericPrinter
from pyaccad.export.generic_rules import GENERIC_HELPERS, GENERIC_RULES
from pyaccad.ir import BOOL, FLOAT_DTYPES, ArrayType, Program, Var

__all__ = ["GenericExportError", "generic_module_source"]


def _type(t: ArrayType) -> str:
    scalar = "a" if t.dtype in FLOAT_DTYPES else {BOOL: "Bool"}.get(t.dtype, "Int")
    return scalar if not t.shape else f"Vector {scalar}"


def generic_module_source(program: Program, module: str, name: str) -> str:
    """The generic Haskell module of ``program``: ``name``, and ``nameFlat`` (float inputs as one list) where
    ``program`` takes float arrays only and returns one scalar (what ``Numeric.AD.grad`` differentiates).

    See the module docstring for an example.
    """
    p = GenericPrinter(GENERIC_RULES)
    p.used.update({name, f"{name}Flat", "o", "k"})
    ins = [p.bind(v, True) for v in program.inputs]
    body = p.body(program, array_level=True)
    result = p.tuple([_type(t) for t in program.output_types])  # several: a Haskell tuple, as the body returns
    sig = " -> ".join([*(_type(t) for t in program.input_types), result])
    floats = [v for v in program.inputs if v.dtype in FLOAT_DTYPES]
    flat = len(floats) == len(program.inputs) and [t.shape for t in program.output_types] == [()]
    lines = [
        f"-- | {name}, exported by pyaccad (export_generic): flat row-major vectors, shapes fixed at export.",
        f"module {module} ({name}{f', {name}Flat' if flat else ''}) where",
        "",
        "import Data.Vector (Vector)",
        "import qualified Data.Vector as V",
        "",
        f"{name} :: RealFloat a => {sig}",
        f"{name} {' '.join(ins)} =",
    ]
    lines += ["  " + line for line in body]
    for helper in sorted(p.helpers):
        lines += ["", *GENERIC_HELPERS[helper]]
    if flat:
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
