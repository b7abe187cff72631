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
from collections.abc import Callable, Iterable, Iterator, Sequence
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


def _binary(op: str, swap: bool = False) -> Callable[[Value, Any], Value]:
    """The method of a binary operator of :class:`Value`: the element-wise ``op`` of the value and the other
    operand (in swapped order for a reflected operator)."""

    def method(self: Value, other: Any) -> Value:
        return _operator(op, self, other, swap=swap)

    method.__doc__ = f"``{'other ' + op + ' self' if swap else 'self ' + op + ' other'}``, element-wise."
    return method


class Value:
    """Common behaviour of traced values: an atom (a variable, or a literal inside lambdas) plus operators."""

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

    # NumPy's operators and methods. The operations they call build on this module (frontend.operators,
    # indexing, shapes, reductions), so they are imported on first use. Each binary operator is its element-wise
    # operation, the operands swapped for the reflected one (`2 - x` is x.__rsub__(2)); & | ^ ~ are bitwise on
    # integers and logical on bool, as in NumPy (see operators.elementwise).
    __add__, __radd__ = _binary("add"), _binary("add", swap=True)
    __sub__, __rsub__ = _binary("sub"), _binary("sub", swap=True)
    __mul__, __rmul__ = _binary("mul"), _binary("mul", swap=True)
    __truediv__, __rtruediv__ = _binary("div"), _binary("div", swap=True)
    __floordiv__, __rfloordiv__ = _binary("floordiv"), _binary("floordiv", swap=True)
    __mod__, __rmod__ = _binary("mod"), _binary("mod", swap=True)
    __pow__, __rpow__ = _binary("pow"), _binary("pow", swap=True)
    __and__, __rand__ = _binary("bitwise_and"), _binary("bitwise_and", swap=True)
    __or__, __ror__ = _binary("bitwise_or"), _binary("bitwise_or", swap=True)
    __xor__, __rxor__ = _binary("bitwise_xor"), _binary("bitwise_xor", swap=True)
    __lshift__, __rlshift__ = _binary("left_shift"), _binary("left_shift", swap=True)
    __rshift__, __rrshift__ = _binary("right_shift"), _binary("right_shift", swap=True)
    __lt__, __le__, __gt__, __ge__ = _binary("lt"), _binary("le"), _binary("gt"), _binary("ge")
    __eq__ = _binary("eq")  # type: ignore[assignment]  (element-wise, as in NumPy)
    __ne__ = _binary("ne")  # type: ignore[assignment]

    def __neg__(self) -> Value:
        return _operators().elementwise("neg", self)

    def __pos__(self) -> Value:
        return self

    def __abs__(self) -> Value:
        return _operators().elementwise("abs", self)

    def __invert__(self) -> Value:
        return _operators().elementwise("invert", self)

    def __matmul__(self, other: Any) -> Value:
        """The matrix product ``a @ b``, as ``acc.matmul`` (NumPy's ``matmul``).

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a, b: a @ b, np.eye(2), np.array([3.0, 4.0]))
        array([3., 4.])
        """
        from pyaccad.frontend.shapes import matmul

        return matmul(self, other)

    def __rmatmul__(self, other: Any) -> Value:
        from pyaccad.frontend.shapes import matmul

        return matmul(other, self)

    def __getitem__(self, key: Any) -> Value:
        """NumPy indexing (ints, slices, None, ``...``, integer arrays); inside lambdas ``a[i, j]`` reads an element.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a[1:, ::-1], np.arange(6).reshape(2, 3))
        array([[5, 4, 3]])
        >>> acc.run(lambda a, i: a[i, 0], np.arange(6).reshape(3, 2), np.array([2, 0]))
        array([4, 0])
        >>> acc.run(lambda a: acc.generate((2,), lambda i: a[i, 2 - i]), np.arange(6).reshape(2, 3))
        array([2, 4])
        """
        from pyaccad.frontend.indexing import getitem

        return getitem(self, key)

    def __array_ufunc__(self, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """NumPy's ufuncs on traced values call ``pyaccad.numpy``'s (``np.sin(x)``, ``ndarray + x``).

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: np.sin(a) + np.ones(2), np.zeros(2))
        array([1., 1.])
        """
        from pyaccad.frontend.interop import array_ufunc

        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """NumPy's functions on traced values call ``pyaccad.numpy``'s (``np.sum(x)``, ``np.stack([x, y])``).

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: np.sum(a, axis=0), np.ones((2, 3)))
        array([2., 2., 2.])
        """
        from pyaccad.frontend.interop import array_function

        return array_function(func, args, kwargs)

    def __array__(self, *args: Any, **kwargs: Any) -> None:
        # NumPy calls this when a tracer meets a NumPy operation it cannot defer, e.g. `np_array[i]` in a lambda.
        fail(
            DTypeError,
            f"a traced {type(self).__name__} ({self.var.type}) cannot become a NumPy array; "
            "to index a NumPy array with traced indices embed it first: acc.use(c)[i]",
        )

    @property
    def at(self) -> Any:
        """JAX's functional updates: ``a.at[idx].set(v)``, ``.add``, ``.multiply``, ``.min``, ``.max``, ``.get``.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.at[np.array([0, 0, 2])].add(1.0), np.zeros(3))
        array([2., 0., 1.])
        """
        from pyaccad.frontend.fancy import IndexUpdateHelper

        return IndexUpdateHelper(self)

    def astype(self, dtype: Any) -> Value:
        """The values converted to ``dtype``, as ``acc.cast``.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.astype("int32"), np.array([1.5, -2.5]))
        array([ 1, -2], dtype=int32)
        """
        return _operators().cast(self, dtype)

    @property
    def T(self) -> Value:  # noqa: N802  (NumPy's name)
        """The axes reversed, as in NumPy.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.T, np.zeros((2, 3))).shape
        (3, 2)
        """
        from pyaccad.frontend.shapes import transpose

        return transpose(self)

    def reshape(self, *shape: Any) -> Value:
        """``a.reshape(2, 3)`` or ``a.reshape((2, 3))``, one extent may be -1.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.reshape(2, -1), np.arange(4))
        array([[0, 1],
               [2, 3]])
        """
        from pyaccad.frontend.shapes import reshape

        return reshape(self, shape[0] if len(shape) == 1 else shape)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Value:
        """Sum over ``axis`` (default all), as ``numpy.sum``; booleans count as int64.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.sum(axis=-1), np.arange(6).reshape(2, 3))
        array([ 3, 12])
        """
        return _reductions().METHODS["sum"](self, axis, keepdims)

    def prod(self, axis: Any = None, keepdims: bool = False) -> Value:
        """Product over ``axis`` (default all), as ``numpy.prod``.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.prod(axis=0), np.arange(1, 7).reshape(2, 3))
        array([ 4, 10, 18])
        """
        return _reductions().METHODS["prod"](self, axis, keepdims)

    def max(self, axis: Any = None, keepdims: bool = False) -> Value:
        """Maximum over ``axis`` (default all), as ``numpy.max``; an empty axis is an error.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.max(axis=1), np.array([[1, 5], [7, 2]]))
        array([5, 7])
        """
        return _reductions().METHODS["max"](self, axis, keepdims)

    def min(self, axis: Any = None, keepdims: bool = False) -> Value:
        """Minimum over ``axis`` (default all), as ``numpy.min``; an empty axis is an error.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.min(), np.array([[1, 5], [7, 2]]))
        array(1)
        """
        return _reductions().METHODS["min"](self, axis, keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Value:
        """Arithmetic mean over ``axis`` (default all); integers give float64, as in NumPy.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.mean(axis=0), np.array([[1, 2], [4, 4]]))
        array([2.5, 3. ])
        """
        return _reductions().METHODS["mean"](self, axis, keepdims)


def _operators() -> Any:
    from pyaccad.frontend import operators

    return operators


def _reductions() -> Any:
    from pyaccad.frontend import reductions

    return reductions


def _operator(op: str, value: Value, other: Any, swap: bool = False) -> Value:
    """``value op other`` (``other op value`` when ``swap``); NotImplemented for operands we do not take."""
    if not (isinstance(other, (Value, np.ndarray)) or _operators().is_scalar_literal(other)):
        return NotImplemented
    return _operators().elementwise(op, other, value) if swap else _operators().elementwise(op, value, other)


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
