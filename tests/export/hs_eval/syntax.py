"""The syntax tree of the Haskell subset: expressions, patterns, types and the module.

Operators are resolved into applications by the parser (``a + b`` is ``App(App(Var("+"), a), b)``),
so evaluation knows only names, literals, lambdas, ``let``, tuples, lists, sections and annotations.
"""

from __future__ import annotations

from dataclasses import dataclass, field


# --- expressions -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Var:
    name: str
    line: int = 0


@dataclass(frozen=True)
class Con:
    """A constructor or pattern synonym used as a value: ``Z``, ``T2``, ``I1``, ``Just_``, ``All``."""

    name: str
    line: int = 0


@dataclass(frozen=True)
class Lit:
    """A numeric literal: ``int`` for ``3`` (Haskell's ``fromInteger``), ``float`` for ``2.5`` (``fromRational``)."""

    value: int | float


@dataclass(frozen=True)
class App:
    fn: object
    arg: object


@dataclass(frozen=True)
class Lam:
    pats: tuple
    body: object


@dataclass(frozen=True)
class Let:
    binds: tuple[Bind, ...]
    body: object


@dataclass(frozen=True)
class Tuple:
    """A Haskell tuple ``(a, b)`` (not accelerate's ``T2 a b``, which is a constructor application)."""

    items: tuple


@dataclass(frozen=True)
class List:
    items: tuple


@dataclass(frozen=True)
class Typed:
    """``(e :: t)``."""

    expr: object
    type: object


@dataclass(frozen=True)
class Section:
    """``(op e)`` (``left`` None) or ``(e op)`` (``right`` None)."""

    op: str
    left: object | None
    right: object | None
    line: int = 0


@dataclass(frozen=True)
class Bind:
    """``pat = expr`` in a ``let`` or at top level (``f x = e`` is parsed as ``f = \\x -> e``)."""

    pat: object
    expr: object


# --- patterns ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PVar:
    name: str


@dataclass(frozen=True)
class PWild:
    pass


@dataclass(frozen=True)
class PCon:
    """``T2 a b``, ``I2 i j``, ``Z_``: a constructor or pattern synonym with argument patterns."""

    name: str
    args: tuple
    line: int = 0


@dataclass(frozen=True)
class PTuple:
    items: tuple


# --- types -------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TCon:
    """``Acc (...)``, ``Exp Float``, ``Array DIM3 Double``: a type constructor applied to arguments."""

    name: str
    args: tuple = ()


@dataclass(frozen=True)
class TTuple:
    items: tuple


@dataclass(frozen=True)
class TVar:
    name: str


@dataclass(frozen=True)
class TFun:
    arg: object
    result: object


# --- the module --------------------------------------------------------------------------------------------
@dataclass
class Module:
    name: str
    exports: list[str]
    imports: dict[str, str]  # module imported -> the qualifier it is imported under ("" when unqualified)
    binds: dict[str, object] = field(default_factory=dict)
    signatures: dict[str, object] = field(default_factory=dict)
