"""Tracing: turning Python functions over :class:`Array`/:class:`Exp` into IR programs.

A stack of :class:`Builder` records statements. Calling an operation on
tracers emits one statement into the innermost builder. Builders nest:
tracing a lambda opens a *scalar* builder inside the current one, tracing an
``awhile`` body or a function to differentiate opens an *array* builder.
Scoping is lexical, so a nested trace may use any tracer of an enclosing,
still-open builder (that is how lambdas read free arrays and how closures
over outer variables differentiate without perturbation confusion: the
inner program sees the outer value as a free variable, a constant to it).

>>> import numpy as np
>>> from pyaccad.frontend.tracing import trace
>>> traced = trace(lambda x: x + x, np.ones(2, np.float32))
>>> [s.prim.name for s in traced.program.stmts]
['add']
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import numpy as np

from pyaccad.errors import DTypeError, Error, ShapeError, user_frame_summary, with_location
from pyaccad.frontend.pytree import TreeDef, flatten, unflatten
from pyaccad.ir import (
    BOOL,
    DTYPES,
    FLOAT64,
    INT64,
    PRIMITIVES,
    ArrayType,
    Atom,
    Lit,
    Primitive,
    Program,
    Stmt,
    Var,
    dtype_of,
)
from pyaccad.ir.rewrite import inline
from pyaccad.ir.types import is_float


def fail(cls: type[Error], message: str) -> NoReturn:
    """Raise ``cls(message)`` with the user's source line appended."""
    raise cls(with_location(message))


class Builder:
    """Collects the statements of one program being traced."""

    def __init__(self, kind: str, parent: Builder | None) -> None:
        self.kind = kind  # "array" or "scalar"
        self.parent = parent
        self.stmts: list[Stmt] = []
        self.open = True

    def nearest_array_builder(self) -> Builder:
        builder: Builder | None = self
        while builder is not None and builder.kind != "array":
            builder = builder.parent
        if builder is None:
            fail(Error, "this operation needs an enclosing traced function (call it inside acc.jit or acc.run)")
        return builder


_STACK: list[Builder] = []


def current_builder() -> Builder | None:
    """The innermost open builder, or None outside any trace."""
    return _STACK[-1] if _STACK else None


def in_scalar_scope() -> bool:
    """True while tracing a lambda (where values are :class:`Exp`)."""
    return bool(_STACK) and _STACK[-1].kind == "scalar"


class array_scope:  # noqa: N801  (used like a function: `with array_scope(op, operands):`)
    """Run an array-level operation; inside a lambda, hoist it to the nearest array-level trace.

    Hoisting is sound when the operation reads only arrays of enclosing array scopes: its
    statements then come before the statement that holds the lambda, and the lambda sees the
    result as a free variable (``acc.map(lambda x: x / a.sum(), a)``). Lambda-local scalars
    cannot leave the lambda, so they are rejected with a clear error. (A class rather than a
    ``contextmanager`` so that no frame outside pyaccad sits between the user's line and ``fail``.)

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.map(lambda x: x / a.sum(), a), np.array([1.0, 3.0]), backend="interp")
    array([0.25, 0.75])
    """

    def __init__(self, op: str, operands: Iterable[Any]) -> None:
        self.op = op
        self.operands = operands
        self.pushed = False

    def __enter__(self) -> None:
        builder = current_builder()
        if builder is None or builder.kind == "array":
            return
        leaves, _ = flatten(tuple(self.operands))
        for leaf in leaves:
            if isinstance(leaf, Value) and leaf.builder.kind == "scalar":
                fail(
                    ShapeError,
                    f"{self.op}: inside a lambda, this array-level operation got a scalar of the lambda "
                    f"({leaf.var.type}); lambdas work on scalars: read array elements with a[i, j]",
                )
        _STACK.append(builder.nearest_array_builder())
        self.pushed = True

    def __exit__(self, *exc_info: object) -> None:
        if self.pushed:
            _STACK.pop()


def emit(
    prim: Primitive | str,
    args: Sequence[Atom],
    params: dict[str, Any] | None = None,
    builder: Builder | None = None,
    hint: str = "",
) -> tuple[Var, ...]:
    """Type-check and append ``prim(args; params)`` to the innermost builder; return the new variables."""
    prim = PRIMITIVES[prim] if isinstance(prim, str) else prim
    params = params or {}
    builder = builder or current_builder()
    if builder is None:
        fail(Error, f"{prim.name}: called outside a traced function (use acc.jit or acc.run)")
    source = user_frame_summary()
    try:
        out_types = prim.type_rule([a.type for a in args], params)
    except Error as exc:
        raise type(exc)(with_location(str(exc), source)) from None
    outs = tuple(Var(t, hint) for t in out_types)
    builder.stmts.append(Stmt(prim, tuple(args), params, outs, source))
    return outs


class Value:
    """Common behaviour of traced values: an atom (a variable, or a literal inside lambdas) plus operators."""

    __slots__ = ("var", "builder")
    __array_priority__ = 1000  # make `ndarray op Array` defer to us

    def __init__(self, var: Atom, builder: Builder) -> None:
        self.var = var
        self.builder = builder

    @property
    def dtype(self) -> np.dtype:
        return self.var.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        return self.var.shape

    @property
    def ndim(self) -> int:
        return len(self.var.shape)

    @property
    def size(self) -> int:
        return self.var.type.size

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.var.type})"

    def __bool__(self) -> bool:
        fail(
            Error,
            f"a traced {type(self).__name__} ({self.var.type}) has no Python truth value while tracing; "
            "use acc.cond, acc.where, acc.acond or acc.while_ for data-dependent choices",
        )

    def __len__(self) -> int:
        if not self.shape:
            fail(ShapeError, "len(): a rank-0 value has no length")
        return self.shape[0]

    def __iter__(self):
        fail(Error, f"iterating over a traced {type(self).__name__} is not supported; index it or use acc.map")

    def __hash__(self) -> int:
        return id(self)

    # Operators: defined in frontend.operators, attached there so this module stays about tracing.


class Array(Value):
    """A traced array (``.dtype``, ``.shape``, ``.ndim``), with NumPy-style operators.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: (a * 2.0).sum(), np.arange(4.0), backend="interp")
    array(12.)
    """

    __slots__ = ()


class Exp(Value):
    """A traced scalar, the argument and result type of the functions given to ``map``, ``fold``, ...

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.map(lambda x: x * x + 1.0, a), np.arange(3.0), backend="interp")
    array([1., 2., 5.])
    """

    __slots__ = ()


def wrap(var: Var, builder: Builder | None = None) -> Value:
    """The tracer for ``var``: an :class:`Exp` inside lambdas, an :class:`Array` elsewhere."""
    builder = builder or current_builder()
    assert builder is not None
    cls = Exp if builder.kind == "scalar" else Array
    return cls(var, builder)


def check_live(value: Value, op: str = "") -> Atom:
    """The atom of ``value``, if its trace is still open and encloses the current one (else a clear error)."""
    prefix = f"{op}: " if op else ""
    if not value.builder.open:
        fail(
            Error,
            f"{prefix}a traced value ({value.var.type}) escaped the function that created it and was used later; "
            "return it from that function instead",
        )
    builder = current_builder()
    while builder is not None and builder is not value.builder:
        builder = builder.parent
    if builder is None:
        fail(
            Error,
            f"{prefix}a traced value ({value.var.type}) of a lambda was used outside that lambda; "
            "lambdas can only return scalars",
        )
    return value.var


def literal(value: int | float | bool | np.generic, dtype: np.dtype, op: str) -> Lit:
    """A Python number as a literal of ``dtype`` (literals take the dtype they meet)."""
    if isinstance(value, (bool, np.bool_)):
        if dtype != BOOL:
            fail(DTypeError, f"{op}: a bool literal met a {dtype} value; use acc.cast")
        return Lit(bool(value), dtype)
    if dtype == BOOL:
        fail(DTypeError, f"{op}: the number {value!r} met a bool value; use acc.cast")
    if is_float(dtype):
        return Lit(float(value), dtype)
    if isinstance(value, (float, np.floating)) and not float(value).is_integer():
        fail(DTypeError, f"{op}: the float literal {value!r} met an integer ({dtype}) value; use acc.cast")
    return Lit(int(value), dtype)


def default_dtype(value: Any) -> np.dtype:
    """The dtype a Python/NumPy scalar has on its own: bool, int64 or float64 (NumPy scalars keep theirs)."""
    if isinstance(value, np.generic):
        return dtype_of(value.dtype)
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT64
    return FLOAT64


def is_scalar_literal(x: Any) -> bool:
    return isinstance(x, (bool, int, float, np.bool_, np.integer, np.floating)) and not isinstance(x, Value)


def as_numpy_input(x: Any, what: str) -> np.ndarray:
    """A user's NumPy/Python value as an array of a supported dtype (else a clear DTypeError)."""
    if isinstance(x, Value):
        fail(Error, f"{what}: a traced value was passed where a NumPy array was expected")
    arr = np.asarray(x)
    if arr.dtype not in DTYPES:
        if arr.dtype.kind == "f" and arr.dtype.itemsize < 4:
            fail(DTypeError, f"{what}: dtype {arr.dtype} is not supported; cast to float32")
        if arr.dtype.kind in "iu" and arr.dtype.itemsize <= 4 and arr.dtype.kind == "i":
            fail(DTypeError, f"{what}: dtype {arr.dtype} is not supported; cast to int32")
        fail(DTypeError, f"{what}: dtype {arr.dtype} is not supported; use float32, float64, int32, int64 or bool")
    return arr


def embed_constant(value: np.ndarray) -> Value:
    """Embed a NumPy array met while tracing (``acc.use``), at the nearest array-level scope."""
    arr = as_numpy_input(value, "use")
    builder = current_builder()
    if builder is None:
        fail(Error, "acc.use: called outside a traced function")
    target = builder.nearest_array_builder()
    (var,) = emit("const", (), {"value": np.array(arr)}, builder=target)
    return wrap(var, target)


def to_value(x: Any, op: str) -> Value:
    """A tracer for ``x``: tracers pass through, NumPy arrays are embedded, scalars become rank-0 literals."""
    if isinstance(x, Value):
        check_live(x, op)
        return x
    if isinstance(x, np.ndarray):
        return embed_constant(x)
    if is_scalar_literal(x):
        dtype = default_dtype(x)
        lit = literal(x, dtype, op)
        if in_scalar_scope():
            # Lambdas work on rank-0 values: a literal is an atom and needs no statement of its own.
            return Exp(lit, current_builder())
        (var,) = emit("broadcast_in_dim", (lit,), {"shape": (), "dims": ()})
        return wrap(var)
    fail(DTypeError, f"{op}: cannot use a value of type {type(x).__name__} ({x!r}) in a traced program")


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
) -> tuple[Program, TreeDef]:
    """Trace ``fn`` on fresh inputs of ``in_types`` (passed as the leaves of ``in_tree``).

    Returns the program and the pytree structure of ``fn``'s result. The
    builder is nested in the current one, so ``fn`` may use tracers of
    enclosing traces as free variables.
    """
    builder = Builder(kind, current_builder())
    hints = list(hints) if hints is not None else [""] * len(in_types)
    inputs = tuple(Var(t, h) for t, h in zip(in_types, hints, strict=False))
    _STACK.append(builder)
    try:
        tracers = [wrap(v, builder) for v in inputs]
        args = unflatten(in_tree, tracers) if in_tree is not None else tracers
        result = fn(*args) if in_tree is None or in_tree.kind == "tuple" else fn(args)
        leaves, out_tree = flatten(result)
        outputs = tuple(_output_atom(leaf, kind, what) for leaf in leaves)
    finally:
        _STACK.pop()
        builder.open = False
    return Program(inputs, tuple(builder.stmts), outputs), out_tree


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
        builder = current_builder()
        assert builder is not None
        value = to_value(np.asarray(leaf) if not is_scalar_literal(leaf) else leaf, what)
    return check_live(value)


def trace(fn: Callable[..., Any], *example_args: Any) -> Traced:
    """Trace ``fn`` at the types of NumPy ``example_args`` (a pytree per argument) into a top-level program."""
    leaves, in_tree = flatten(tuple(example_args))
    arrays = [as_numpy_input(x, "argument") for x in leaves]
    types = [ArrayType(dtype_of(a.dtype), tuple(a.shape)) for a in arrays]
    hints = _leaf_hints(fn, in_tree)
    program, out_tree = trace_program(fn, types, "array", in_tree, hints)
    return Traced(program, in_tree, out_tree)


def _leaf_hints(fn: Callable, in_tree: TreeDef) -> list[str]:
    names = _arg_hints(fn, len(in_tree.children))
    hints: list[str] = []
    for name, child in zip(names, in_tree.children, strict=False):
        n = child.num_leaves
        hints.extend([name] if n == 1 else [f"{name}{i}" if name else "" for i in range(n)])
    return hints


def value_of(atom: Atom) -> Value:
    """The tracer for an atom of the current scope (literals become rank-0 values)."""
    if isinstance(atom, Lit):
        if in_scalar_scope():
            return Exp(atom, current_builder())
        (var,) = emit("broadcast_in_dim", (atom,), {"shape": (), "dims": ()})
        return wrap(var)
    return wrap(atom)


def call_program(program: Program, args: Sequence[Any]) -> list[Value]:
    """Inline ``program`` into the current trace at ``args`` (tracers or literals); return its outputs."""
    builder = current_builder()
    if builder is None:
        fail(Error, "call_program: called outside a traced function")
    atoms = [check_live(to_value(a, "call")) for a in args]
    outputs = inline(program, atoms, builder.stmts)
    return [value_of(o) for o in outputs]
