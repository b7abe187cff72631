"""Control flow and scalar-level reads: ``cond``, ``while``, ``index``.

``cond`` and ``while`` serve both levels: at array level they are
accelerate's ``acond``/``awhile`` (host-side control between kernels); inside
lambdas they are ``cond``/``while`` on scalars. Their branches and bodies are
Programs; branches take no inputs and use the enclosing scope lexically.

``index(a, i_0, .., i_{r-1})`` reads one element of an array from an
enclosing scope; it may appear only inside lambdas. Indices are int64 and
must be in bounds (the interpreter checks; compiled backends may not).

Its one param, ``checked`` (absent, or False, by default), is the bridge's: where True the read yields a
second value, a bool, whether the index lies inside ``a``, and the value is unspecified where it does not
(a read that is memory safe, never an error). Only :func:`pyaccad.export.checked.checked_reads` writes it,
and only the Haskell printer reads it (``readChecked``); the programs it is in go to no other backend, so
those may ignore it.

>>> from pyaccad.ir import PRIMITIVES
>>> PRIMITIVES["while"].subprogram_params
('cond', 'body')
>>> from pyaccad.ir import ArrayType, FLOAT64, INDEX_DTYPE
>>> a, i = ArrayType(FLOAT64, (3,)), ArrayType(INDEX_DTYPE, ())
>>> [str(t) for t in PRIMITIVES["index"].type_rule([a, i], {"checked": True})]
['f64[]', 'bool[]']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyaccad.errors import DTypeError, ShapeError
from pyaccad.ir.core import Primitive, declare
from pyaccad.ir.types import BOOL, INDEX_DTYPE, ArrayType, scalar_type

Params = Mapping[str, Any]


def _cond_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    (pred,) = args
    if pred != scalar_type(BOOL):
        raise DTypeError(f"cond: the predicate must be a scalar bool, got {pred}")
    then_, else_ = params["then_"], params["else_"]
    if then_.inputs or else_.inputs:
        raise ShapeError("cond: branches take no inputs (they read the enclosing scope)")
    if then_.output_types != else_.output_types:
        raise ShapeError(
            f"cond: branches return different types: {[str(t) for t in then_.output_types]} "
            f"and {[str(t) for t in else_.output_types]}"
        )
    return list(then_.output_types)


def _while_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    state = list(args)
    cond, body = params["cond"], params["body"]
    if list(cond.input_types) != state or list(body.input_types) != state:
        raise ShapeError(f"while: condition and body must take the loop state {[str(t) for t in state]}")
    if list(cond.output_types) != [scalar_type(BOOL)]:
        raise DTypeError(f"while: the condition must return one scalar bool, got {[str(t) for t in cond.output_types]}")
    if list(body.output_types) != state:
        raise ShapeError(
            f"while: the body must return the loop state {[str(t) for t in state]}, "
            f"got {[str(t) for t in body.output_types]}"
        )
    return state


def _index_rule(args: Sequence[ArrayType], params: Params) -> list[ArrayType]:
    array, *indices = args
    if len(indices) != array.ndim:
        raise ShapeError(f"index: {len(indices)} indices for an array of shape {array.shape}")
    for idx in indices:
        if idx.shape != () or idx.dtype != INDEX_DTYPE:
            raise DTypeError(f"index: indices must be scalar ints, got {idx}")
    if params.get("checked"):  # the value and whether the index was inside (module doc)
        return [scalar_type(array.dtype), scalar_type(BOOL)]
    return [scalar_type(array.dtype)]


COND = declare(
    Primitive(
        "cond",
        _cond_rule,
        scope="both",
        subprogram_params=("then_", "else_"),
        doc="cond(p; then_, else_)",
        family="control",
    )
)
WHILE = declare(
    Primitive(
        "while",
        _while_rule,
        scope="both",
        subprogram_params=("cond", "body"),
        doc="while(*init; cond, body)",
        family="control",
    )
)
INDEX = declare(
    Primitive(
        "index",
        _index_rule,
        scope="scalar",
        doc="index(a, *i[; checked]): read a[i] inside a lambda (checked: and whether i is inside a)",
        family="read",
    )
)
