"""Builders and tracers: where traced statements go, and the values that stand for IR atoms.

A stack of :class:`Builder` records statements; :func:`emit` type-checks one
primitive application and appends it to the innermost builder. Tracers
(:class:`Array` at array level, :class:`Exp` inside lambdas) hold an atom and
the builder that made it, so :func:`check_live` can reject a value used
outside its (lexical) scope. :mod:`pyaccad.frontend.tracing` re-exports all of it.
The tracers' operators and NumPy methods are the front end's operations, built on
this module: :mod:`pyaccad.frontend.methods` attaches them to :class:`Value`.

>>> import numpy as np
>>> from pyaccad.frontend.tracing import trace
>>> type(trace(lambda x: x, np.zeros(1)).program.inputs[0]).__name__
'Var'
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, NoReturn

import numpy as np

from pyaccad.errors import DTypeError, Error, ShapeError, user_frame_summary, with_location
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
        # values made from Python numbers alone (jitted arguments, fills, arithmetic on them): weakly typed,
        # they take the dtype of the arrays they meet (pyaccad.frontend.promotion)
        self.weak: set[Var] = set()

    def nearest_array_builder(self) -> Builder:
        builder: Builder | None = self
        while builder is not None and builder.kind != "array":
            builder = builder.parent
        if builder is None:
            fail(Error, "this operation needs an enclosing traced function (call it inside acc.jit or acc.run)")
        return builder


class _Tracing(threading.local):
    """The open builders, innermost last: one stack per thread, so threads trace independently."""

    def __init__(self) -> None:
        self.stack: list[Builder] = []


_TRACING = _Tracing()


def current_builder() -> Builder | None:
    """The innermost open builder, or None outside any trace."""
    stack = _TRACING.stack
    return stack[-1] if stack else None


def in_scalar_scope() -> bool:
    """True while tracing a lambda (where values are :class:`Exp`)."""
    builder = current_builder()
    return builder is not None and builder.kind == "scalar"


@contextmanager
def building(builder: Builder) -> Iterator[Builder]:
    """Make ``builder`` the innermost one (of this thread) while the block runs.

    >>> with building(Builder("array", None)) as b:
    ...     current_builder() is b
    True
    >>> current_builder() is None
    True
    """
    _TRACING.stack.append(builder)
    try:
        yield builder
    finally:
        _TRACING.stack.pop()


class array_scope:  # noqa: N801  (used like a function: `with array_scope(op, operands):`)
    """Run an array-level operation; inside a lambda, hoist it to the nearest array-level trace.

    Hoisting is sound when the operation reads only arrays of enclosing array scopes: its
    statements then come before the statement that holds the lambda, and the lambda sees the
    result as a free variable (``acc.map(lambda x: x / a.sum(), a)``). Lambda-local scalars
    cannot leave the lambda, so they are rejected with a clear error. (A class rather than a
    ``contextmanager`` so that no frame outside pyaccad sits between the user's line and ``fail``.)

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.map(lambda x: x / a.sum(), a), np.array([1.0, 3.0]))
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
        _TRACING.stack.append(builder.nearest_array_builder())
        self.pushed = True

    def __exit__(self, *exc_info: object) -> None:
        if self.pushed:
            _TRACING.stack.pop()


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
    """Common behaviour of traced values: an atom (a variable, or a literal inside lambdas) and its builder.

    Its operators and NumPy methods (``x + y``, ``x[i]``, ``x.sum()``) are operations that build on this
    module, so :mod:`pyaccad.frontend.methods`, above them all, attaches them.
    """

    __slots__ = ("var", "builder")
    __array_priority__ = 1000  # make `ndarray op Array` defer to us

    def __init__(self, var: Atom, builder: Builder) -> None:
        self.var = var
        self.builder = builder

    @property
    def dtype(self) -> np.dtype:
        """The element type (a NumPy dtype, one of :data:`pyaccad.ir.types.DTYPES`)."""
        return self.var.dtype

    @property
    def shape(self) -> tuple[int, ...]:
        """The extents, known when the function is traced (``()`` for a scalar)."""
        return self.var.shape

    @property
    def ndim(self) -> int:
        """The rank: ``len(self.shape)``."""
        return len(self.var.shape)

    @property
    def size(self) -> int:
        """The number of elements: the product of the extents."""
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

    def __array__(self, *args: Any, **kwargs: Any) -> None:
        # NumPy calls this when a tracer meets a NumPy operation it cannot defer, e.g. `np_array[i]` in a lambda.
        fail(
            DTypeError,
            f"a traced {type(self).__name__} ({self.var.type}) cannot become a NumPy array; "
            "to index a NumPy array with traced indices embed it first: acc.use(c)[i]",
        )


class Array(Value):
    """A traced array (``.dtype``, ``.shape``, ``.ndim``), with NumPy-style operators.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: (a * 2.0).sum(), np.arange(4.0))
    array(12.)
    """

    __slots__ = ()


class Exp(Value):
    """A traced scalar, the argument and result type of the functions given to ``map``, ``fold``, ...

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.map(lambda x: x * x + 1.0, a), np.arange(3.0))
    array([1., 2., 5.])
    """

    __slots__ = ()


def is_weak(x: Any) -> bool:
    """Whether ``x`` is weakly typed: a Python number, or a traced value made from Python numbers alone."""
    if isinstance(x, Value):
        return isinstance(x.var, Var) and x.var in x.builder.weak
    return isinstance(x, (bool, int, float)) and not isinstance(x, np.generic)  # np.float64 subclasses float


def mark_weak(value: Value) -> Value:
    """``value``, now weakly typed (see :func:`is_weak`)."""
    if isinstance(value.var, Var):
        value.builder.weak.add(value.var)
    return value


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
