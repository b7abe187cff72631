"""Builders and tracers: where traced statements go, and the values that stand for IR atoms.

A stack of :class:`Builder` records statements; :func:`emit` type-checks one
primitive application and appends it to the innermost builder. Tracers
(:class:`Array` at array level, :class:`Exp` inside lambdas) hold an atom and
the builder that made it, so :func:`check_live` can reject a value used
outside its (lexical) scope. :mod:`pyaccad.frontend.tracing` re-exports all of it.

>>> import numpy as np
>>> from pyaccad.frontend.tracing import trace
>>> type(trace(lambda x: x, np.zeros(1)).program.inputs[0]).__name__
'Var'
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

import numpy as np

from pyaccad.errors import Error, ShapeError, user_frame_summary, with_location
from pyaccad.frontend.pytree import flatten
from pyaccad.ir import PRIMITIVES, Atom, Primitive, Stmt, Var


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


class _Builders(threading.local):
    """The stack of open builders, one per thread: a trace in one thread never sees another's."""

    def __init__(self) -> None:
        self.stack: list[Builder] = []


_BUILDERS = _Builders()


def builder_stack() -> list[Builder]:
    """This thread's stack of open builders (innermost last).

    >>> builder_stack()
    []
    """
    return _BUILDERS.stack


def current_builder() -> Builder | None:
    """The innermost open builder, or None outside any trace."""
    stack = _BUILDERS.stack
    return stack[-1] if stack else None


def in_scalar_scope() -> bool:
    """True while tracing a lambda (where values are :class:`Exp`)."""
    stack = _BUILDERS.stack
    return bool(stack) and stack[-1].kind == "scalar"


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
        _BUILDERS.stack.append(builder.nearest_array_builder())
        self.pushed = True

    def __exit__(self, *exc_info: object) -> None:
        if self.pushed:
            _BUILDERS.stack.pop()


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
