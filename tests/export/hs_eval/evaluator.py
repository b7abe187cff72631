"""Evaluating the syntax tree: scopes, closures, patterns, ``let``, sections and type annotations.

The tree is compiled once into Python closures (every lambda of a ``map`` runs
once per element), resolving each name lexically at compile time: bound by an
enclosing lambda or ``let``, or by the module's top level (the exported function,
helpers such as ``erf``), or else one of accelerate's names
(:func:`.prelude.builtins`); a name found nowhere raises
:class:`~.errors.Unsupported` naming it and its line. Pattern synonyms and
constructors match as accelerate defines them: ``T2 a b`` a tuple, ``I2 i j`` a
two-dimensional index, ``Z_`` the empty index.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .errors import HsEvalError, HsTypeError, Unsupported
from .prelude import builtins
from .runtime import Builtin, Thunk, apply, force
from .scalar import Bitcast
from .syntax import (
    App,
    Con,
    Lam,
    Let,
    List,
    Lit,
    PCon,
    PTuple,
    PVar,
    PWild,
    Section,
    TCon,
    Tuple,
    TVar,
    Typed,
    Var,
)
from .values import BOOL, HS_TYPES, Arr, Index, Num, Tup, exact, typed


class Scope:
    """Values of the names bound by a lambda or a ``let`` (thunks until used); ``parent`` the enclosing scope."""

    __slots__ = ("names", "parent")

    def __init__(self, names: dict[str, object], parent: Scope | None) -> None:
        self.names, self.parent = names, parent


class Static:
    """At compile time: the names each enclosing scope binds, to resolve every name once, lexically."""

    def __init__(self, names: set[str], parent: Static | None) -> None:
        self.names, self.parent = names, parent

    def depth(self, name: str) -> int | None:
        """How many scopes out ``name`` is bound (None: not bound by the program, so accelerate's)."""
        static, depth = self, 0
        while static is not None:
            if name in static.names:
                return depth
            static, depth = static.parent, depth + 1
        return None


Code = Callable[[Scope], object]


class Closure:
    """``\\p1 p2 -> body`` in its scope; applied to as many arguments as it has patterns, it runs ``body``."""

    __slots__ = ("pats", "body", "scope", "args")

    def __init__(self, pats: tuple, body: Code, scope: Scope, args: tuple = ()) -> None:
        self.pats, self.body, self.scope, self.args = pats, body, scope, args

    def apply(self, arg: object) -> object:
        args = (*self.args, arg)
        if len(args) < len(self.pats):
            return Closure(self.pats, self.body, self.scope, args)
        names: dict[str, object] = {}
        for pat, value in zip(self.pats, args, strict=True):
            match(pat, value, names)
        return self.body(Scope(names, self.scope))


def compile_expr(expr: object, static: Static) -> Code:
    """``expr`` as a Python function of the run-time scope, returning its value (forced)."""
    kind = type(expr)
    if kind is App:
        return _compile_application(expr, static)
    if kind is Var or kind is Con:
        get = _resolve(expr.name, expr.line, static)
        return lambda scope: force(get(scope))
    if kind is Lit:
        value = exact(expr.value)  # a literal, exact until its type is known
        return lambda scope: value
    if kind is Lam:
        inner = Static({n for p in expr.pats for n in pattern_names(p)}, static)
        body, pats = compile_expr(expr.body, inner), expr.pats
        return lambda scope: Closure(pats, body, scope)
    if kind is Let:
        return _compile_let(expr, static)
    if kind is Tuple:
        items = [compile_delay(item, static) for item in expr.items]
        return lambda scope: tuple(item(scope) for item in items)
    if kind is List:
        items = [compile_expr(item, static) for item in expr.items]
        return lambda scope: [item(scope) for item in items]
    if kind is Typed:
        inner, ty = compile_expr(expr.expr, static), expr.type
        return lambda scope: annotate(inner(scope), ty)
    if kind is Section:
        return _compile_section(expr, static)
    raise Unsupported(f"expression {expr!r}")


def _compile_application(expr: App, static: Static) -> Code:
    """``f a b ...``: a call of one of accelerate's functions with all its arguments is direct (no thunks
    for the arguments of a strict one, no partial applications); anything else applies one argument at a time."""
    args = []
    while type(expr) is App:
        args.append(expr.arg)
        expr = expr.fn
    args.reverse()
    head = expr
    if type(head) in (Var, Con) and static.depth(head.name) is None:
        fn = builtins().get(head.name)
        if isinstance(fn, Builtin) and fn.arity == len(args):
            call_direct = fn.fn
            if fn.lazy:
                delayed = [compile_delay(a, static) for a in args]
                return lambda scope: force(call_direct(*[a(scope) for a in delayed]))
            strict = [compile_expr(a, static) for a in args]
            return lambda scope: call_direct(*[a(scope) for a in strict])
    fn_code, arg_codes = compile_expr(head, static), [compile_delay(a, static) for a in args]

    def run(scope: Scope) -> object:
        value = fn_code(scope)
        for arg in arg_codes:
            value = apply(value, arg(scope))
        return force(value)

    return run


def compile_delay(expr: object, static: Static) -> Code:
    """``expr`` as a function of the scope returning it unevaluated (names and literals need no thunk)."""
    if type(expr) in (Var, Con):
        return _resolve(expr.name, expr.line, static)
    if type(expr) is Lit:
        value = exact(expr.value)  # a literal, exact until its type is known
        return lambda scope: value
    code = compile_expr(expr, static)
    return lambda scope: Thunk(lambda: code(scope))


def _resolve(name: str, line: int, static: Static) -> Code:
    """A function of the scope giving ``name``'s binding, found at compile time (error if unknown)."""
    depth = static.depth(name)
    if depth is None:
        known = builtins()
        if name not in known:
            raise Unsupported(f"unknown name {name!r} (line {line}): the evaluator does not implement it")
        value = known[name]
        return lambda scope: value
    if depth == 0:
        return lambda scope: scope.names[name]

    def lookup(scope: Scope) -> object:
        for _ in range(depth):
            scope = scope.parent
        return scope.names[name]

    return lookup


def _compile_section(expr: Section, static: Static) -> Code:
    op = _resolve(expr.op, expr.line, static)
    if expr.right is None:  # (e op) = \x -> e op x
        left = compile_delay(expr.left, static)
        return lambda scope: apply(op(scope), left(scope))
    right = compile_delay(expr.right, static)  # (op e) = \x -> x op e

    def section(scope: Scope) -> Builtin:
        fn, operand = op(scope), right(scope)
        return Builtin(f"({expr.op} _)", 1, lambda x: force(apply(apply(fn, x), operand)), lazy=True)

    return section


def _compile_let(expr: Let, static: Static) -> Code:
    inner = Static({n for bind in expr.binds for n in pattern_names(bind.pat)}, static)
    binds = [(bind.pat, compile_expr(bind.expr, inner)) for bind in expr.binds]
    body = compile_expr(expr.body, inner)

    def run(scope: Scope) -> object:
        local = bind_all(binds, scope)
        prepare(local)
        return body(local)

    return run


def bind_all(binds: list[tuple[object, Code]], parent: Scope | None) -> Scope:
    """A scope where every binding is a thunk (they may refer to each other, in any order)."""
    names: dict[str, object] = {}
    scope = Scope(names, parent)
    for pat, code in binds:
        value = Thunk(lambda code=code: code(scope))
        if isinstance(pat, PVar):
            names[pat.name] = value
            continue
        for name in pattern_names(pat):  # a lazy pattern binding: matched when one of its names is used
            names[name] = Thunk(lambda pat=pat, value=value, name=name: _matched(pat, value)[name])
    return scope


def prepare(scope: Scope) -> None:
    """Evaluate a ``let``'s bindings in order, ahead of need, leaving any failure for a use to raise.

    Only an optimisation of depth: forcing the result of a long chain of bindings would
    otherwise recurse through every link. A binding that fails (it may be meant only for
    a branch not taken) fails again, with its own message, where it is used.
    """
    for value in scope.names.values():
        try:
            force(value)
        except HsEvalError:
            pass


def _matched(pat: object, value: object) -> dict[str, object]:
    names: dict[str, object] = {}
    match(pat, value, names)
    return names


def pattern_names(pat: object) -> list[str]:
    if isinstance(pat, PVar):
        return [pat.name]
    if isinstance(pat, PCon | PTuple):
        return [n for p in (pat.args if isinstance(pat, PCon) else pat.items) for n in pattern_names(p)]
    return []


def match(pat: object, value: object, names: dict[str, object]) -> None:
    """Bind the variables of ``pat`` to the parts of ``value`` (forcing only what the pattern inspects)."""
    if isinstance(pat, PVar):
        names[pat.name] = value
        return
    if isinstance(pat, PWild):
        return
    value = force(value)
    if isinstance(pat, PTuple):
        if not isinstance(value, tuple) or len(value) != len(pat.items):
            raise HsTypeError(f"pattern of a {len(pat.items)}-tuple does not match {value!r}")
        parts = value
    elif isinstance(pat, PCon):
        parts = _constructor_parts(pat, value)
    else:
        raise Unsupported(f"pattern {pat!r}")
    for sub, part in zip(pat.items if isinstance(pat, PTuple) else pat.args, parts, strict=True):
        match(sub, part, names)


def _constructor_parts(pat: PCon, value: object) -> tuple:
    name, n = pat.name, len(pat.args)
    if name in ("Z_", "Z", "I0") or name[:1] == "I" and name[1:].isdigit():
        if not isinstance(value, Index) or len(value.items) != n:
            raise HsTypeError(f"pattern {name} (line {pat.line}) does not match {value!r}")
        return value.items
    if name[:1] == "T" and name[1:].isdigit():
        if not isinstance(value, Tup) or len(value.items) != n or n != int(name[1:]):
            raise HsTypeError(f"pattern {name} (line {pat.line}) does not match {value!r}")
        return value.items
    raise Unsupported(f"pattern with constructor {name!r} (line {pat.line})")


# --- types -------------------------------------------------------------------------------------------------
ARRAY_RANKS = {"Scalar": 0, "Vector": 1, "Matrix": 2}


def array_type(ty: object) -> tuple[int, np.dtype] | None:
    """``(rank, dtype)`` of ``Vector Float``, ``Array DIM3 Int``...; None if ``ty`` is not an array type."""
    if not isinstance(ty, TCon):
        return None
    if ty.name in ARRAY_RANKS and len(ty.args) == 1:
        return ARRAY_RANKS[ty.name], element_type(ty.args[0])
    if ty.name == "Array" and len(ty.args) == 2 and isinstance(ty.args[0], TCon) and ty.args[0].name[:3] == "DIM":
        return int(ty.args[0].name[3:]), element_type(ty.args[1])
    return None


def element_type(ty: object) -> np.dtype:
    if isinstance(ty, TCon) and not ty.args and ty.name in HS_TYPES:
        return HS_TYPES[ty.name]
    raise Unsupported(f"element type {ty!r}")


def annotate(value: object, ty: object) -> object:
    """``value :: ty``: numbers take the type; a typed value of another type is a type error."""
    if isinstance(ty, TCon) and ty.name == "Exp" and len(ty.args) == 1 and not isinstance(ty.args[0], TVar):
        return _scalar_annotation(value, element_type(ty.args[0]), exp=True)
    if isinstance(ty, TCon) and not ty.args and ty.name in HS_TYPES:
        return _scalar_annotation(value, HS_TYPES[ty.name], exp=False)
    shape_type = array_type(ty)
    if shape_type is not None and isinstance(value, Arr):
        rank, dtype = shape_type
        if len(value.shape) != rank:
            raise HsTypeError(f"an array of shape {value.shape} annotated as {ty}")
        return Arr(value.shape, [_scalar_annotation(e, dtype, exp=True) for e in value.elems])
    raise Unsupported(f"type annotation {ty!r} on {value!r}")


def _scalar_annotation(value: object, dtype: np.dtype, exp: bool) -> object:
    if dtype == BOOL:
        if isinstance(value, np.bool_) or (not exp and isinstance(value, bool)):
            return value
        raise HsTypeError(f"{value!r} annotated as {'Exp ' if exp else ''}Bool")
    if isinstance(value, Bitcast):
        return value.to(dtype)
    if not isinstance(value, Num):
        raise HsTypeError(f"{value!r} annotated as a number")
    return typed(value, dtype, "annotation")
