"""Laziness and application: thunks, closures, curried built-in functions.

Haskell evaluates on demand, and the exported code relies on it where
accelerate does: ``c ? (a ! i, 0)`` must not read ``a ! i`` when ``c`` is false
(the export of ``pad`` reads only where the index lands on the source), and
``cond``, ``acond``, ``&&`` and ``||`` evaluate one branch. So arguments are
passed as :class:`Thunk` s, ``let`` bindings are thunks, and a built-in function
forces its arguments unless it is declared ``lazy``.
"""

from __future__ import annotations

from collections.abc import Callable

from .errors import HsTypeError


class Thunk:
    """A delayed value: ``compute()`` runs at most once, on the first :func:`force`."""

    __slots__ = ("compute", "value", "busy")

    def __init__(self, compute: Callable[[], object]) -> None:
        self.compute = compute
        self.value: object = None
        self.busy = False

    def force(self) -> object:
        if self.compute is not None:
            if self.busy:
                raise HsTypeError("a value defined in terms of itself (an infinite loop in Haskell)")
            self.busy = True
            try:
                self.value, self.compute = force(self.compute()), None
            finally:  # a failure is raised again by the next force, not mistaken for a cycle
                self.busy = False
        return self.value


def force(x: object) -> object:
    """``x``'s value (thunks evaluated, repeatedly if a thunk yields a thunk)."""
    while isinstance(x, Thunk):
        x = x.force()
    return x


class Builtin:
    """A curried primitive: collects ``arity`` arguments, then calls ``fn`` (on values, or thunks if ``lazy``)."""

    __slots__ = ("name", "arity", "fn", "lazy", "args")

    def __init__(self, name: str, arity: int, fn: Callable[..., object], lazy: bool = False, args: tuple = ()):
        self.name, self.arity, self.fn, self.lazy, self.args = name, arity, fn, lazy, args

    def apply(self, arg: object) -> object:
        args = (*self.args, arg)
        if len(args) < self.arity:
            return Builtin(self.name, self.arity, self.fn, self.lazy, args)
        return self.fn(*(args if self.lazy else map(force, args)))

    def __repr__(self) -> str:
        return f"<{self.name}/{self.arity}>"


def apply(fn: object, arg: object) -> object:
    """``fn arg``: ``fn`` a :class:`Builtin` or a closure (anything with ``apply``)."""
    fn = force(fn)
    if not hasattr(fn, "apply"):
        raise HsTypeError(f"applying {fn!r}, which is not a function, to an argument")
    return fn.apply(arg)


def call(fn: object, *args: object) -> object:
    """``fn a b ...`` forced: how the array operations run the scalar functions they are given."""
    for arg in args:
        fn = apply(fn, arg)
    return force(fn)
