"""``vmap``: run a function over a batch of examples as one batched program (after ``jax.vmap``).

``vmap(f)`` traces ``f`` once at the types of *one* example, then re-traces
the resulting program with every primitive's batching rule
(:mod:`pyaccad.ad.batching`), so the batch becomes an extra axis of the
arrays rather than a Python loop. Because derivatives are ordinary IR,
``vmap`` composes with itself and with ``grad``/``jvp``/``vjp`` in any order.

``in_axes``/``out_axes`` follow JAX: an int (negative counts from the end) or
None for every leaf, or a tuple with one entry per positional argument, each
a pytree prefix of that argument. ``None`` means "not batched": the value is
passed unchanged to every example (inputs), or is the same for every example
(outputs; an error if it is not).

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> dot = lambda a, b: (a * b).sum()
>>> acc.jit(ad.vmap(dot, in_axes=(0, None)))(np.eye(2), np.array([3.0, 4.0]))
array([3., 4.])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyaccad.ad.batching_rules  # noqa: F401  (fills the table)
from pyaccad.ad.api import bind_keywords, is_python_value, staged
from pyaccad.ad.batching import BatchContext, BDim, batch_into, broadcast_batch, moveaxis
from pyaccad.errors import ShapeError
from pyaccad.frontend.pytree import TreeDef, flatten, unflatten
from pyaccad.frontend.tracing import Value, check_live, fail, to_value, trace_program, value_of
from pyaccad.ir import Atom

Axes = Any  # an int, None, or a pytree (prefix) of them


def vmap(f: Callable[..., Any], in_axes: Axes = 0, out_axes: Axes = 0) -> Callable[..., Any]:
    """``f`` mapped over a batch axis of its inputs, as in ``jax.vmap``.

    Called with tracers it adds the batched program to the current trace;
    called with NumPy arrays it compiles and runs it on the default backend
    (``acc.jit(ad.vmap(f), backend=...)`` picks another).

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> outer = ad.vmap(ad.vmap(lambda x, y: x * y, in_axes=(None, 0)), in_axes=(0, None))
    >>> acc.jit(outer)(np.array([1.0, 2.0]), np.array([3.0, 4.0, 5.0]))
    array([[ 3.,  4.,  5.],
           [ 6.,  8., 10.]])
    """
    return staged(f, lambda *args, **kwargs: _batched_call(f, in_axes, out_axes, args, kwargs))


def _batched_call(
    f: Callable[..., Any], in_axes: Axes, out_axes: Axes, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    if isinstance(in_axes, list):
        in_axes = tuple(in_axes)
    if isinstance(in_axes, tuple) and len(in_axes) != len(args):
        fail(ShapeError, f"vmap: in_axes has {len(in_axes)} entries for {len(args)} positional arguments")
    # As in jax.vmap, keyword arguments holding arrays are mapped over their axis 0; others are passed as they are.
    arrays = {k: v for k, v in kwargs.items() if not is_python_value(v)}
    if arrays:
        f = _keywords_last(bind_keywords(f, {k: v for k, v in kwargs.items() if k not in arrays}), len(args))
        in_axes = (*(in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)), 0)
        args = (*args, arrays)
    else:
        f = bind_keywords(f, kwargs)
    leaves, in_tree = flatten(args)
    axes = _leaf_axes(in_axes, in_tree, "in_axes")
    values = [to_value(x, "vmap") for x in leaves]
    atoms = [check_live(v) for v in values]
    bdims = [
        None if a is None else _normalize(a, len(v.shape), "in_axes", v.shape)
        for a, v in zip(axes, values, strict=True)
    ]
    size = _batch_size(values, bdims)
    per_example = [
        v.var.type if b is None else v.var.type.with_shape(v.shape[:b] + v.shape[b + 1 :])
        for v, b in zip(values, bdims, strict=True)
    ]
    program, out_tree = trace_program(f, per_example, "array", in_tree, what="vmap")
    outs, out_bdims = batch_into(BatchContext(size), program, atoms, bdims)
    targets = _leaf_axes(out_axes, out_tree, "out_axes")
    results = [_place(o, b, t, size) for o, b, t in zip(outs, out_bdims, targets, strict=True)]
    return unflatten(out_tree, [value_of(r) for r in results])


def _keywords_last(f: Callable[..., Any], n: int) -> Callable[..., Any]:
    """``f`` taking its ``n`` positional arguments and then a dict of keyword arguments."""
    return lambda *args: f(*args[:n], **args[n])


def _leaf_axes(prefix: Axes, tree: TreeDef, what: str) -> list[int | None]:
    """One axis per leaf of ``tree``, from a pytree prefix of axes (JAX's rule)."""
    if prefix is None or (isinstance(prefix, int) and not isinstance(prefix, bool)):
        return [prefix] * tree.num_leaves
    kinds = {tuple: "tuple", list: "list", dict: "dict"}
    kind = kinds.get(type(prefix))
    if kind is None:
        fail(ShapeError, f"vmap: {what} entries must be ints, None or pytrees of them, got {prefix!r}")
    keys = tuple(sorted(prefix)) if kind == "dict" else ()
    if kind != tree.kind or len(prefix) != len(tree.children) or keys != tree.keys:
        fail(ShapeError, f"vmap: {what} {prefix!r} does not match the structure {tree} of the values")
    entries = [prefix[k] for k in keys] if kind == "dict" else list(prefix)
    return [
        axis for entry, child in zip(entries, tree.children, strict=True) for axis in _leaf_axes(entry, child, what)
    ]


def _normalize(axis: int, ndim: int, what: str, shape: tuple[int, ...]) -> int:
    if not -ndim <= axis < ndim:
        fail(ShapeError, f"vmap: {what} axis {axis} is out of range for a value of shape {shape}")
    return axis % ndim


def _batch_size(values: list[Value], bdims: list[BDim]) -> int:
    sizes = {v.shape[b] for v, b in zip(values, bdims, strict=True) if b is not None}
    if not sizes:
        fail(ShapeError, "vmap: no argument is batched (every in_axes entry is None)")
    if len(sizes) > 1:
        described = ", ".join(f"{v.shape} over axis {b}" for v, b in zip(values, bdims, strict=True) if b is not None)
        fail(ShapeError, f"vmap: batch sizes differ ({', '.join(map(str, sorted(sizes)))}): {described}")
    return sizes.pop()


def _place(atom: Atom, bdim: BDim, target: int | None, size: int) -> Atom:
    """A batched result with its batch axis at ``target`` (broadcast if every example gave the same value)."""
    per_example_rank = len(atom.shape) - (bdim is not None)
    if target is None:
        if bdim is not None:
            fail(ShapeError, f"vmap: out_axes is None for an output that differs across the batch (size {size})")
        return atom
    axis = _normalize(target, per_example_rank + 1, "out_axes", atom.shape)
    if bdim is None:
        return broadcast_batch(atom, size, axis)
    return moveaxis(atom, bdim, axis)
