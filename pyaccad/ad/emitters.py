"""Small emitters the derivative rules share: constants, single-result statements, sums, slices.

Each appends statements to the innermost builder (see
:func:`pyaccad.frontend.tracing.emit`) and returns the new atom. ``lit``
works in both scopes: inside a lambda a constant is a literal atom, at array
level it is a ``broadcast_in_dim`` of one (the IR never broadcasts implicitly).

>>> import numpy as np, pyaccad as acc
>>> acc.jit(lambda x: value_of(fold_add(x.var, 1)))(np.ones((2, 3)))
array([3., 3.])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pyaccad.frontend.tracing import call_program, emit, in_scalar_scope, trace_program, value_of
from pyaccad.ir import INDEX_DTYPE, ArrayType, Atom, Lit, Program, scalar_type


def lit(value: float | int | bool, type_: ArrayType) -> Atom:
    """The constant ``value`` with ``type_``: a literal inside lambdas, a filled array at array level."""
    scalar = Lit(type_.dtype.type(value).item(), type_.dtype)
    if in_scalar_scope():
        return scalar
    (var,) = emit("broadcast_in_dim", (scalar,), {"shape": tuple(type_.shape), "dims": ()})
    return var


def op(name: str, *args: Atom, **params: Any) -> Atom:
    """Emit the single-output primitive ``name`` and return its result."""
    (var,) = emit(name, args, params or None)
    return var


def idx(value: int) -> Lit:
    return Lit(value, INDEX_DTYPE)


def along(y: Atom, shape: tuple[int, ...], axis: int) -> Atom:
    """``y`` (the shape without ``axis``) broadcast back along ``axis``."""
    dims = tuple(d for d in range(len(shape)) if d != axis)
    return op("broadcast_in_dim", y, shape=shape, dims=dims)


def binary(name: str, dtype) -> Program:
    s = scalar_type(dtype)
    lam, _ = trace_program(lambda a, b: value_of(op(name, a.var, b.var)), [s, s], "scalar")
    return lam


def counted_loop(
    cond: Program | None, body: Program, init: Sequence[Atom], limit: Atom | None
) -> tuple[Atom, list[Atom]]:
    """``(trips, state)`` of ``while cond: body`` from ``init``, stopped after ``limit`` trips if given.

    Without ``cond`` the loop runs exactly ``limit`` trips (advancing a state known to lie on the loop's
    path). Emitted as a scalar ``while_`` inside a lambda, else as an ``awhile``.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend.tracing import trace_program
    >>> lam, _ = trace_program(lambda: acc.while_(lambda s: s < 5, lambda s: s + 2, np.int64(0)), [], "scalar")
    >>> loop = lam.stmts[0].params
    >>> def trips(i):
    ...     return value_of(counted_loop(loop["cond"], loop["body"], [Lit(0, INDEX_DTYPE)], i.var)[0])
    >>> acc.jit(lambda: acc.generate((4,), trips))()
    array([0, 1, 2, 3])
    """
    types = [scalar_type(INDEX_DTYPE), *body.input_types]

    def go(k: Any, *state: Any) -> Any:
        if cond is None:
            return k < value_of(limit)
        more = call_program(cond, list(state))[0]
        return more if limit is None else more & (k < value_of(limit))

    def step(k: Any, *state: Any) -> list[Any]:
        return [k + 1, *call_program(body, list(state))]

    level = "scalar" if in_scalar_scope() else "array"
    params = {"cond": trace_program(go, types, level)[0], "body": trace_program(step, types, level)[0]}
    zero = value_of(Lit(0, INDEX_DTYPE)).var  # a variable, not a literal: the native awhile keeps its state in buffers
    trips, *state = emit("while", (zero, *init), params)
    return trips, state


def fold_add(x: Atom, axis: int) -> Atom:
    (out,) = emit("fold", (x,), {"lam": binary("add", x.dtype), "axis": axis})
    return out


def scan_with(name: str, x: Atom, axis: int, reverse: bool, init: float | None = None) -> Atom:
    inits = () if init is None else (lit(init, x.type.with_shape(())),)
    (out,) = emit("scan", (x, *inits), {"lam": binary(name, x.dtype), "axis": axis, "reverse": reverse})
    return out


def axis_slice(x: Atom, axis: int, start: int, stop: int) -> Atom:
    starts = tuple(start if d == axis else 0 for d in range(x.type.ndim))
    stops = tuple(stop if d == axis else n for d, n in enumerate(x.shape))
    return op("slice", x, starts=starts, stops=stops, steps=(1,) * x.type.ndim)


def sum_all(x: Atom) -> Atom:
    """The sum of every element of ``x``, rank 0 (0 for an empty array)."""
    flat = op("reshape", x, shape=(x.type.size,))
    (out,) = emit("fold", (flat, lit(0, x.type.with_shape(()))), {"lam": binary("add", x.dtype), "axis": 0})
    return out


def at_targets(
    index: Program, shape: tuple[int, ...], read: Callable[[list[Atom], list[Atom]], Atom], default: Lit
) -> Atom:
    """Per source element of a scatter (``permute`` index function ``index``, sources of ``shape``):
    ``read(source index, target index)`` where the element is kept, ``default`` where it is dropped.

    The read sits in a lambda ``cond``, so a dropped element's target is never read.
    """

    def per_element(*ix: Any) -> Any:
        source = [v.var for v in ix]
        keep, *target = call_program(index, list(ix))
        then_, _ = trace_program(lambda: value_of(read(source, [t.var for t in target])), [], "scalar")
        else_, _ = trace_program(lambda: value_of(default), [], "scalar")
        (value,) = emit("cond", (keep.var,), {"then_": then_, "else_": else_})
        return value_of(value)

    lam, _ = trace_program(per_element, [scalar_type(INDEX_DTYPE)] * len(shape), "scalar")
    return op("generate", shape=shape, lam=lam)
