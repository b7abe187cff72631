"""Array-level primitives that carry scalar lambdas: accelerate's collective operations.

Each lambda is a :class:`~pyaccad.ir.core.Program` over rank-0 values. The
lambda may use variables of the enclosing scopes (lexical scoping): free
arrays are read with the scalar-level ``index`` primitive.

========== ============================ =========================================================
primitive  arguments                     lambda signature (all rank-0)
========== ============================ =========================================================
generate   (none); shape                 ``lam(i0, .., i_{r-1}: int64) -> (y_1, .., y_k)``
map        x_1..x_n (one shape)          ``lam(x_1, .., x_n) -> (y_1, .., y_k)``
fold       x_1..x_n [, z_1..z_n]; axis   ``lam(a_1..a_n, b_1..b_n) -> (c_1..c_n)`` associative
scan       x_1..x_n [, z_1..z_n]; axis,  same as fold; with inits the output axis is one longer
           reverse                       (``scanl``/``scanr``), without it has the input length
backperm.  x; shape                      ``index(i0..: int64) -> (j0..: int64)`` with rank(x) results
permute    defaults, x                   ``index(i..) -> (keep: bool, j..)``, ``combine(new, old) -> v``
stencil    x; size, boundary             ``lam(n_0, .., n_{prod(size)-1}) -> (y_1..y_k)``, row-major
========== ============================ =========================================================

>>> from pyaccad.ir import PRIMITIVES
>>> PRIMITIVES["fold"].subprogram_params
('lam',)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import prod
from typing import Any

from pyaccad.errors import DTypeError, ShapeError
from pyaccad.ir.core import Primitive, Program, declare
from pyaccad.ir.types import BOOL, INDEX_DTYPE, ArrayType, scalar_type

Params = Mapping[str, Any]
BOUNDARIES = ("clamp", "mirror", "wrap", "constant")


def check_lambda(op: str, lam: Program, in_types: Sequence[ArrayType], n_out: int | None = None) -> None:
    """Raise a ShapeError/DTypeError naming ``op`` unless ``lam`` takes ``in_types`` and returns scalars."""
    if len(lam.inputs) != len(in_types):
        raise ShapeError(f"{op}: the function takes {len(lam.inputs)} arguments, expected {len(in_types)}")
    for var, want in zip(lam.inputs, in_types, strict=True):
        if var.type != want:
            raise DTypeError(f"{op}: function argument has type {var.type}, expected {want}")
    for atom in lam.outputs:
        if atom.type.shape != ():
            raise ShapeError(f"{op}: the function must return scalars (Exp), got an array of shape {atom.type.shape}")
    if n_out is not None and len(lam.outputs) != n_out:
        raise ShapeError(f"{op}: the function returns {len(lam.outputs)} values, expected {n_out}")


def _axis(op: str, axis: int, ndim: int) -> int:
    if not 0 <= axis < ndim:
        raise ShapeError(f"{op}: axis {axis} out of range for an array of rank {ndim}")
    return axis


def _generate_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    shape = tuple(params["shape"])
    lam = params["lam"]
    check_lambda("generate", lam, [scalar_type(INDEX_DTYPE)] * len(shape))
    return [ArrayType(t.dtype, shape) for t in lam.output_types]


def _map_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    if not args:
        raise ShapeError("map: needs at least one array")
    shape = args[0].shape
    if any(a.shape != shape for a in args):
        raise ShapeError(f"map: arrays must have one shape, got {', '.join(str(a.shape) for a in args)}")
    lam = params["lam"]
    check_lambda("map", lam, [scalar_type(a.dtype) for a in args])
    return [ArrayType(t.dtype, shape) for t in lam.output_types]


def _split_fold_args(op: str, args: Sequence[ArrayType], lam: Program) -> tuple[list, list]:
    n = len(lam.outputs)
    if len(args) not in (n, 2 * n):
        raise ShapeError(f"{op}: {len(args)} operands for a function of {n} results")
    arrays, inits = list(args[:n]), list(args[n:])
    shape = arrays[0].shape
    if any(a.shape != shape for a in arrays):
        raise ShapeError(f"{op}: arrays must have one shape, got {', '.join(str(a.shape) for a in arrays)}")
    element_types = [scalar_type(a.dtype) for a in arrays]
    check_lambda(op, lam, element_types * 2, n)
    if [t for t in lam.output_types] != element_types:
        raise DTypeError(f"{op}: the function must return its argument types {element_types}, got {lam.output_types}")
    for init, want in zip(inits, element_types, strict=False):
        if init != want:
            raise DTypeError(f"{op}: initial value has type {init}, expected a scalar {want.dtype}")
    return arrays, inits


def _fold_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    arrays, inits = _split_fold_args("fold", args, params["lam"])
    shape = arrays[0].shape
    if not shape:
        raise ShapeError("fold: cannot reduce a rank-0 array (it has no axis)")
    axis = _axis("fold", params["axis"], len(shape))
    if not inits and shape[axis] == 0:
        raise ShapeError(f"fold1: cannot reduce an empty axis (shape {shape}) without an initial value")
    out_shape = shape[:axis] + shape[axis + 1 :]
    return [ArrayType(a.dtype, out_shape) for a in arrays]


def _scan_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    arrays, inits = _split_fold_args("scan", args, params["lam"])
    shape = arrays[0].shape
    if not shape:
        raise ShapeError("scan: cannot scan a rank-0 array (it has no axis)")
    axis = _axis("scan", params["axis"], len(shape))
    out_shape = list(shape)
    out_shape[axis] += 1 if inits else 0
    return [ArrayType(a.dtype, tuple(out_shape)) for a in arrays]


def _backpermute_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    (x,) = args
    shape = tuple(params["shape"])
    check_lambda("backpermute", params["index"], [scalar_type(INDEX_DTYPE)] * len(shape), x.ndim)
    if any(t.dtype != INDEX_DTYPE for t in params["index"].output_types):
        raise DTypeError("backpermute: the index function must return int indices")
    return [ArrayType(x.dtype, shape)]


def _permute_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    defaults, x = args
    if defaults.dtype != x.dtype:
        raise DTypeError(f"permute: defaults ({defaults.dtype}) and source ({x.dtype}) dtypes differ")
    index = params["index"]
    check_lambda("permute", index, [scalar_type(INDEX_DTYPE)] * x.ndim, 1 + defaults.ndim)
    if index.output_types[0].dtype != BOOL or any(t.dtype != INDEX_DTYPE for t in index.output_types[1:]):
        raise DTypeError("permute: the index function must return (keep: bool, *int indices)")
    element = scalar_type(x.dtype)
    check_lambda("permute", params["combine"], [element, element], 1)
    if params["combine"].output_types[0] != element:
        raise DTypeError(f"permute: the combine function must return {x.dtype}")
    return [defaults]


def _stencil_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    (x,) = args
    size = tuple(params["size"])
    if len(size) != x.ndim or any(s < 1 or s % 2 == 0 for s in size):
        raise ShapeError(f"stencil: size {size} must give one odd extent per axis of shape {x.shape}")
    boundary = params["boundary"]
    if boundary not in BOUNDARIES:
        raise ShapeError(f"stencil: boundary {boundary!r} is not one of {BOUNDARIES}")
    if boundary == "constant" and not isinstance(params.get("value"), (int, float, bool)):
        raise DTypeError("stencil: a constant boundary needs a scalar value")
    lam = params["lam"]
    check_lambda("stencil", lam, [scalar_type(x.dtype)] * prod(size))
    return [ArrayType(t.dtype, x.shape) for t in lam.output_types]


GENERATE = declare(
    Primitive("generate", _generate_rule, subprogram_params=("lam",), doc="generate(; shape, lam)", family="collective")
)
MAP = declare(
    Primitive(
        "map", _map_rule, subprogram_params=("lam",), doc="map(*xs; lam): zipWith of any arity", family="collective"
    )
)
FOLD = declare(
    Primitive(
        "fold",
        _fold_rule,
        subprogram_params=("lam",),
        doc="fold(*xs[, *inits]; lam, axis): reduce one axis",
        family="collective",
    )
)
SCAN = declare(
    Primitive(
        "scan",
        _scan_rule,
        subprogram_params=("lam",),
        doc="scan(*xs[, *inits]; lam, axis, reverse): inclusive scan; with inits scanl/scanr (one longer)",
        family="collective",
    )
)
BACKPERMUTE = declare(
    Primitive(
        "backpermute",
        _backpermute_rule,
        subprogram_params=("index",),
        linear_args=(0,),
        doc="backpermute(x; shape, index): gather out[i] = x[index(i)]",
        family="collective",
    )
)
PERMUTE = declare(
    Primitive(
        "permute",
        _permute_rule,
        subprogram_params=("combine", "index"),
        doc="permute(defaults, x; combine, index): scatter with combine; keep=False drops (acc.IGNORE)",
        family="collective",
    )
)
STENCIL = declare(
    Primitive(
        "stencil",
        _stencil_rule,
        subprogram_params=("lam",),
        doc="stencil(x; lam, size, boundary[, value]): lam of the row-major neighbourhood",
        family="collective",
    )
)
