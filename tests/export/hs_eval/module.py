"""Running an exported module: its signature, its inputs, its outputs.

The exported function's signature (``f :: Acc (Vector Float, Matrix Int) ->
Acc (Scalar Float)``) says how many arrays go in and come out, of which ranks
and element types; inputs are checked against it and outputs converted to it
(an untyped number in an output takes the signature's type, as GHC's inference
would give it).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from contextlib import contextmanager
from typing import NamedTuple

import numpy as np

from .errors import HsTypeError, Unsupported
from .evaluator import Scope, Static, array_type, bind_all, compile_expr
from .parser import parse_module
from .runtime import Builtin, call, force
from .syntax import Module, PVar, TCon, TFun, TTuple
from .values import Arr, Tup, from_numpy, to_numpy, with_extra_error

KNOWN_IMPORTS = {
    "Data.Array.Accelerate": "",
    "Prelude": "",
    "Data.Array.Accelerate.Numeric.LinearAlgebra": "BLAS",  # accelerate-blas, for the `blas=True` export
    "Data.Array.Accelerate.Numeric.LinearAlgebra.BLAS.Level3": "BLAS",  # its gemm, and N and T
    "Data.Array.Accelerate.Data.Bits": "Bits",  # the bitwise operations
}


class Output(NamedTuple):
    """One result array, and the first-order bound on each element's rounding error (zeros for integers)."""

    values: np.ndarray
    bounds: np.ndarray


def evaluate_module(
    source: str, *inputs: np.ndarray, approximations: Mapping[str, float] | None = None
) -> list[Output]:
    """Run the function ``source`` exports on ``inputs``; its results in order.

    ``approximations`` names top-level helpers that approximate a function (``erf``) and the
    absolute error their documentation promises; it is added to their results' bounds.
    """
    module = parse_module(source)
    for imported, alias in module.imports.items():
        if KNOWN_IMPORTS.get(imported) != alias:
            raise Unsupported(f"import of {imported}{' as ' + alias if alias else ''}")
    if len(module.exports) != 1 or module.exports[0] not in module.signatures:
        raise Unsupported(f"a module exporting {module.exports} (one function with a signature expected)")
    name = module.exports[0]
    (in_types, in_layout), (out_types, out_layout) = signature(module, name)
    if len(inputs) != len(in_types):
        raise HsTypeError(f"{name} takes {len(in_types)} arrays, given {len(inputs)}")
    arrays = [
        _input(np.asarray(x), t, f"{name} argument {k}") for k, (x, t) in enumerate(zip(inputs, in_types, strict=True))
    ]
    with _evaluation():
        static = Static(set(module.binds), None)
        top = bind_all([(PVar(n), compile_expr(e, static)) for n, e in module.binds.items()], None)
        _approximate(top, approximations or {})
        function = top.names[name]
        result = call(function, _packed(arrays, in_layout)) if arrays else force(function)
        results = _unpacked(result, out_layout, name)
        return [
            _output(force(r), t, f"{name} result {k}") for k, (r, t) in enumerate(zip(results, out_types, strict=True))
        ]


Layout = int | tuple  # where a signature's arrays stand: an array's number, or a tuple of layouts (nested past 16)


def signature(module: Module, name: str) -> tuple[tuple[list, Layout], tuple[list, Layout]]:
    """The ``(rank, dtype)`` of each argument and each result of ``name``, in order, and how each side's tuple
    holds them."""
    ty = module.signatures[name]
    args, result = (ty.arg, ty.result) if isinstance(ty, TFun) else (None, ty)
    return (_acc_types(args) if args is not None else ([], ())), _acc_types(result)


def _acc_types(ty: object) -> tuple[list, Layout]:
    if not (isinstance(ty, TCon) and ty.name == "Acc" and len(ty.args) == 1):
        raise Unsupported(f"signature type {ty!r} (Acc (...) expected)")
    types: list = []

    def layout(t: object) -> Layout:
        if isinstance(t, TTuple):
            return tuple(layout(item) for item in t.items)
        types.append(array_type(t))
        return len(types) - 1

    shape = layout(ty.args[0])
    if any(t is None for t in types):
        raise Unsupported(f"signature type {ty!r}")
    return types, shape


def _packed(arrays: list, layout: Layout) -> object:
    return arrays[layout] if isinstance(layout, int) else Tup(tuple(_packed(arrays, item) for item in layout))


def _unpacked(result: object, layout: Layout, name: str) -> list:
    """The arrays of ``result``, in the signature's order."""
    if isinstance(layout, int):
        return [result]
    result = force(result)
    if not isinstance(result, Tup) or len(result.items) != len(layout):
        raise HsTypeError(f"{name} returns {result!r}, its signature a tuple of {len(layout)}")
    return [array for item, sub in zip(result.items, layout, strict=True) for array in _unpacked(item, sub, name)]


def _approximate(top: Scope, approximations: Mapping[str, float]) -> None:
    for helper, extra in approximations.items():
        if helper in top.names:
            original = top.names[helper]
            top.names[helper] = Builtin(helper, 1, lambda x, f=original, e=extra: with_extra_error(call(f, x), e))


def _input(x: np.ndarray, rank_dtype: tuple, what: str) -> Arr:
    rank, dtype = rank_dtype
    if x.ndim != rank or x.dtype != dtype:
        raise HsTypeError(f"{what}: a {x.dtype} array of rank {x.ndim}, the signature says {dtype} of rank {rank}")
    return from_numpy(x)


def _output(result: object, rank_dtype: tuple, what: str) -> Output:
    rank, dtype = rank_dtype
    if not isinstance(result, Arr) or len(result.shape) != rank:
        raise HsTypeError(f"{what}: {result!r} where the signature has an array of rank {rank}")
    return Output(*to_numpy(result, dtype, what))


@contextmanager
def _evaluation():
    """IEEE arithmetic without warnings (overflow to inf, 0/0 to NaN, Int wrapping), and room for deep thunks."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        with np.errstate(all="ignore"):
            yield
    finally:
        sys.setrecursionlimit(limit)
