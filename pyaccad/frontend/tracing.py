"""Tracing: turning Python functions over :class:`Array`/:class:`Exp` into IR programs.

A stack of :class:`Builder` records statements. Calling an operation on
tracers emits one statement into the innermost builder. Builders nest:
tracing a lambda opens a *scalar* builder inside the current one, tracing an
``awhile`` body or a function to differentiate opens an *array* builder.
Scoping is lexical, so a nested trace may use any tracer of an enclosing,
still-open builder (that is how lambdas read free arrays and how closures
over outer variables differentiate without perturbation confusion: the
inner program sees the outer value as a free variable, a constant to it).

This module traces whole functions (:func:`trace`, :func:`trace_program`,
:func:`call_program`); builders and tracers live in
:mod:`pyaccad.frontend.values`, literal and NumPy conversion in
:mod:`pyaccad.frontend.literals`, and every name is re-exported here.

>>> import numpy as np
>>> from pyaccad.frontend.tracing import trace
>>> traced = trace(lambda x: x + x, np.ones(2, np.float32))
>>> [s.prim.name for s in traced.program.stmts]
['add']
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from pyaccad.errors import ArgumentError, DTypeError, Error, ShapeError
from pyaccad.frontend.literals import (
    as_numpy_input,
    default_dtype,
    dtype_named,
    embed_constant,
    is_scalar_literal,
    literal,
    to_value,
    value_of,
)
from pyaccad.frontend.pytree import TreeDef, flatten, unflatten
from pyaccad.frontend.values import (
    Array,
    Builder,
    Exp,
    Value,
    array_scope,
    building,
    check_live,
    current_builder,
    emit,
    fail,
    in_scalar_scope,
    is_weak,
    wrap,
)
from pyaccad.ir import ArrayType, Atom, Program, Var, dtype_of
from pyaccad.ir.rewrite import inline
from pyaccad.ir.sink import sink_into_branches

__all__ = [
    "Array",
    "Builder",
    "Exp",
    "Traced",
    "Value",
    "array_scope",
    "as_numpy_input",
    "call_program",
    "check_arguments",
    "check_live",
    "current_builder",
    "default_dtype",
    "dtype_named",
    "embed_constant",
    "emit",
    "fail",
    "function_name",
    "in_scalar_scope",
    "is_scalar_literal",
    "literal",
    "to_value",
    "trace",
    "trace_program",
    "value_of",
    "wrap",
]


@dataclass
class Traced:
    """A traced function: its program and the pytree structures of its inputs and outputs."""

    program: Program
    in_tree: TreeDef
    out_tree: TreeDef


def _arg_hints(fn: Callable, n: int) -> list[str]:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return [""] * n
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return (names + [""] * n)[:n] if len(names) >= 1 else [""] * n


def trace_program(
    fn: Callable[..., Any],
    in_types: Sequence[ArrayType],
    kind: str = "array",
    in_tree: TreeDef | None = None,
    hints: Sequence[str] | None = None,
    what: str = "function",
    weak: Sequence[bool] = (),
) -> tuple[Program, TreeDef]:
    """Trace ``fn`` on fresh inputs of ``in_types`` (passed as the leaves of ``in_tree``).

    Returns the program and the pytree structure of ``fn``'s result. The
    builder is nested in the current one, so ``fn`` may use tracers of
    enclosing traces as free variables. The finished program has its values
    used by only one ``cond`` branch sunk into that branch
    (:func:`~pyaccad.ir.sink.sink_into_branches`): Python evaluates a value
    branch before ``cond`` is called, and this makes it lazy, as in accelerate.
    """
    builder = Builder(kind, current_builder())
    hints = list(hints) if hints is not None else [""] * len(in_types)
    inputs = tuple(Var(t, h) for t, h in zip(in_types, hints, strict=False))
    builder.weak.update(v for v, w in zip(inputs, weak, strict=False) if w)
    try:
        with building(builder):
            tracers = [wrap(v, builder) for v in inputs]
            args = unflatten(in_tree, tracers) if in_tree is not None else tracers
            result = fn(*args) if in_tree is None or in_tree.kind == "tuple" else fn(args)
            leaves, out_tree = flatten(result)
            outputs = tuple(_output_atom(leaf, kind, what) for leaf in leaves)
    finally:
        builder.open = False
    return sink_into_branches(Program(inputs, tuple(builder.stmts), outputs)), out_tree


def _output_atom(leaf: Any, kind: str, what: str) -> Atom:
    if kind == "scalar":
        if isinstance(leaf, Value):
            if leaf.shape != ():
                fail(ShapeError, f"{what}: must return scalars (Exp), but returned an array of shape {leaf.shape}")
            return check_live(leaf)
        if is_scalar_literal(leaf):
            return literal(leaf, default_dtype(leaf), what)
        fail(DTypeError, f"{what}: must return scalars (Exp), but returned {type(leaf).__name__}")
    value = leaf if isinstance(leaf, Value) else None
    if value is None:
        if leaf is None:
            fail(DTypeError, f"{what}: returned None where an array was expected")
        value = to_value(leaf if is_scalar_literal(leaf) else as_numpy_input(leaf, f"{what}: result"), what)
    return check_live(value)


def trace(fn: Callable[..., Any], *example_args: Any) -> Traced:
    """Trace ``fn`` at the types of NumPy ``example_args`` (a pytree per argument) into a top-level program."""
    check_arguments(fn, example_args)
    leaves, in_tree = flatten(tuple(example_args))
    hints = _leaf_hints(fn, in_tree)
    name = function_name(fn)
    arrays = [
        as_numpy_input(x, f"{name}: argument {h or i}") for i, (x, h) in enumerate(zip(leaves, hints, strict=False))
    ]
    types = [ArrayType(dtype_of(a.dtype), tuple(a.shape)) for a in arrays]
    weak = [is_weak(x) for x in leaves]  # Python numbers: inputs that take the dtype of the arrays they meet
    program, out_tree = trace_program(fn, types, "array", in_tree, hints, weak=weak)
    return Traced(program, in_tree, out_tree)


def function_name(fn: Callable[..., Any]) -> str:
    """The name a message gives ``fn``.

    >>> function_name(len), function_name(lambda x: x)
    ('len', '<lambda>')
    """
    return getattr(fn, "__name__", None) or type(fn).__name__


def check_arguments(fn: Callable[..., Any], args: Sequence[Any], kwargs: dict[str, Any] | None = None) -> None:
    """Raise :class:`ArgumentError` when ``fn`` cannot be called with ``args`` and ``kwargs``.

    Checked before tracing, so a wrong call names ``fn``'s signature instead of
    failing as a Python TypeError inside the tracer.

    >>> check_arguments(lambda x, y: x, (1,))
    Traceback (most recent call last):
      ...
    pyaccad.errors.ArgumentError: <lambda>(x, y): called with 1 positional argument(s): missing a required argument: 'y'
    ...
    """
    kwargs = kwargs or {}
    try:
        signature = inspect.signature(fn, follow_wrapped=False)  # a wrapper may take other arguments
    except (TypeError, ValueError):  # builtins without a signature: let the call itself decide
        return
    try:
        signature.bind(*args, **kwargs)
        return
    except TypeError as exc:
        problem = str(exc)
    # Raised outside the except block, so the user sees one error, not a chain ending in inspect's.
    keywords = f" and keyword(s) {', '.join(kwargs)}" if kwargs else ""
    call = f"called with {len(args)} positional argument(s){keywords}"
    fail(ArgumentError, f"{function_name(fn)}{signature}: {call}: {problem}")


def _leaf_hints(fn: Callable, in_tree: TreeDef) -> list[str]:
    """A name hint per input leaf, for printed programs and exports: the parameter's name for an array
    argument; inside a pytree argument, a dict's key or a namedtuple's field where it is a name (``W``, ``b``),
    else the parameter's name numbered (``params0``, ``params1``)."""
    names = _arg_hints(fn, len(in_tree.children))
    return [hint for name, child in zip(names, in_tree.children, strict=False) for hint in _subtree_hints(name, child)]


def _subtree_hints(name: str, tree: TreeDef) -> list[str]:
    if tree.kind == "leaf":
        return [name]
    if tree.kind == "dict":
        keys = [str(k) if str(k).isidentifier() else "" for k in tree.keys]
    elif tree.kind == "namedtuple":
        keys = list(tree.keys[0]._fields)
    else:
        keys = [""] * len(tree.children)
    numbered = [f"{name}{i}" if name else "" for i in range(len(tree.children))]
    pairs = zip(keys, numbered, tree.children, strict=True)
    return [hint for key, number, child in pairs for hint in _subtree_hints(key or number, child)]


def call_program(program: Program, args: Sequence[Any]) -> list[Value]:
    """Inline ``program`` into the current trace at ``args`` (tracers or literals); return its outputs."""
    builder = current_builder()
    if builder is None:
        fail(Error, "call_program: called outside a traced function")
    atoms = [check_live(to_value(a, "call")) for a in args]
    outputs = inline(program, atoms, builder.stmts)
    return [value_of(o) for o in outputs]
