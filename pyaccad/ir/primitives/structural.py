"""Array-level primitives that move, copy or embed data: no lambdas.

``broadcast_in_dim`` is the one broadcasting primitive (NumPy broadcasting,
``replicate`` and ``broadcast_to`` all lower to it); ``slice``/``pad`` are
each other's transposes; ``matmul`` is batched matrix-matrix only (the front
end turns vector cases into it).

>>> from pyaccad.ir import PRIMITIVES, ArrayType, FLOAT32
>>> PRIMITIVES["reshape"].type_rule([ArrayType(FLOAT32, (2, 3))], {"shape": (6,)})
[ArrayType(dtype=dtype('float32'), shape=(6,))]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from math import prod
from typing import Any

from pyaccad.errors import DTypeError, ShapeError
from pyaccad.ir.core import Primitive, declare
from pyaccad.ir.types import NUMERIC_DTYPES, ArrayType, dtype_of

Params = Mapping[str, Any]


def _const_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    value = params["value"]
    return [ArrayType(dtype_of(value.dtype), tuple(value.shape))]


def _broadcast_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    (x,) = args
    shape, dims = tuple(params["shape"]), tuple(params["dims"])
    if len(dims) != x.ndim or any(not 0 <= d < len(shape) for d in dims) or list(dims) != sorted(set(dims)):
        raise ShapeError(f"broadcast: cannot place axes of shape {x.shape} at positions {dims} of {shape}")
    for axis, d in enumerate(dims):
        if x.shape[axis] not in (1, shape[d]):
            raise ShapeError(f"broadcast: cannot broadcast shape {x.shape} to {shape}")
    return [ArrayType(x.dtype, shape)]


def _reshape_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    (x,) = args
    shape = tuple(params["shape"])
    if prod(shape) != x.size or any(n < 0 for n in shape):
        raise ShapeError(f"reshape: cannot reshape an array of shape {x.shape} (size {x.size}) to {shape}")
    return [ArrayType(x.dtype, shape)]


def _transpose_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    (x,) = args
    perm = tuple(params["perm"])
    if sorted(perm) != list(range(x.ndim)):
        raise ShapeError(f"transpose: axes {perm} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    return [ArrayType(x.dtype, tuple(x.shape[p] for p in perm))]


def _reverse_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    (x,) = args
    if any(not 0 <= a < x.ndim for a in params["axes"]):
        raise ShapeError(f"reverse: axes {params['axes']} out of range for shape {x.shape}")
    return [x]


def _slice_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    (x,) = args
    starts, stops, steps = params["starts"], params["stops"], params["steps"]
    if not (len(starts) == len(stops) == len(steps) == x.ndim):
        raise ShapeError(f"slice: {len(starts)} bounds for an array of rank {x.ndim}")
    out = []
    for dim, lo, hi, step in zip(x.shape, starts, stops, steps, strict=True):
        if not (0 <= lo <= hi <= dim and step >= 1):
            raise ShapeError(f"slice: bounds {lo}:{hi}:{step} out of range for an axis of length {dim}")
        out.append(-(-(hi - lo) // step))
    return [ArrayType(x.dtype, tuple(out))]


def _pad_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    x, value = args
    lo, hi, interior = params["lo"], params["hi"], params["interior"]
    if value.shape != () or value.dtype != x.dtype:
        raise DTypeError(f"pad: padding value must be a {x.dtype} scalar, got {value}")
    if not (len(lo) == len(hi) == len(interior) == x.ndim) or min((*lo, *hi, *interior), default=0) < 0:
        raise ShapeError(f"pad: bad padding lo={lo} hi={hi} interior={interior} for shape {x.shape}")
    shape = tuple(
        lo_ + hi_ + n + max(n - 1, 0) * mid for n, lo_, hi_, mid in zip(x.shape, lo, hi, interior, strict=True)
    )
    return [ArrayType(x.dtype, shape)]


def _concatenate_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    axis = params["axis"]
    first = args[0]
    if not 0 <= axis < first.ndim:
        raise ShapeError(f"concatenate: axis {axis} out of range for rank {first.ndim}")
    for other in args[1:]:
        if other.dtype != first.dtype:
            raise DTypeError(f"concatenate: dtypes differ: {', '.join(str(a.dtype) for a in args)}")
        if other.ndim != first.ndim or any(
            a != b for i, (a, b) in enumerate(zip(other.shape, first.shape, strict=True)) if i != axis
        ):
            raise ShapeError(f"concatenate: shapes {', '.join(str(a.shape) for a in args)} differ off axis {axis}")
    shape = list(first.shape)
    shape[axis] = sum(a.shape[axis] for a in args)
    return [ArrayType(first.dtype, tuple(shape))]


def _matmul_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    a, b = args
    if a.dtype != b.dtype or a.dtype not in NUMERIC_DTYPES:
        raise DTypeError(f"matmul: operands must share a numeric dtype, got {a.dtype} and {b.dtype}")
    if a.ndim < 2 or a.ndim != b.ndim or a.shape[:-2] != b.shape[:-2] or a.shape[-1] != b.shape[-2]:
        raise ShapeError(f"matmul: shapes {a.shape} and {b.shape} do not fit (need (..., m, k) @ (..., k, n))")
    return [ArrayType(a.dtype, (*a.shape[:-1], b.shape[-1]))]


CONST = declare(Primitive("const", _const_rule, doc="const(; value): an embedded NumPy array (acc.use)"))
BROADCAST_IN_DIM = declare(
    Primitive(
        "broadcast_in_dim",
        _broadcast_rule,
        linear_args=(0,),
        doc="broadcast_in_dim(x; shape, dims): axis i of x becomes axis dims[i] of the result; size-1 axes stretch",
        family="index_map",
    )
)
RESHAPE = declare(
    Primitive("reshape", _reshape_rule, linear_args=(0,), doc="reshape(x; shape), row-major", family="index_map")
)
TRANSPOSE = declare(
    Primitive(
        "transpose",
        _transpose_rule,
        linear_args=(0,),
        doc="transpose(x; perm): out axis i = x axis perm[i]",
        family="index_map",
    )
)
REVERSE = declare(Primitive("reverse", _reverse_rule, linear_args=(0,), doc="reverse(x; axes)", family="index_map"))
SLICE = declare(
    Primitive(
        "slice",
        _slice_rule,
        linear_args=(0,),
        doc="slice(x; starts, stops, steps): strided box, steps >= 1",
        family="index_map",
    )
)
PAD = declare(
    Primitive(
        "pad",
        _pad_rule,
        linear_args=(0, 1),
        doc="pad(x, value; lo, hi, interior): lo/hi edge padding and interior padding between elements",
        family="index_map",
    )
)
CONCATENATE = declare(
    Primitive(
        "concatenate",
        _concatenate_rule,
        linear_args=(),
        doc="concatenate(*xs; axis) (linear in every operand)",
        family="index_map",
    )
)
MATMUL = declare(
    Primitive("matmul", _matmul_rule, linear_args=(0, 1), doc="matmul(a, b): (..., m, k) @ (..., k, n), bilinear")
)
