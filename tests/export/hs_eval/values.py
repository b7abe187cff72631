"""Run-time values of the evaluator, and how Haskell's literal typing is followed without type inference.

Scalars (``Exp`` values) are :class:`Num` (numbers), ``np.bool_`` (``Exp Bool``),
:class:`Tup` (accelerate's ``T2 a b``...), :class:`Index` (shapes and indices:
``Z :. 3``, ``I2 i j``) and :class:`Maybe` (``Just_``/``Nothing_``); Python
``bool`` is the Prelude's ``Bool`` (``True``), which is *not* an ``Exp Bool``.
Arrays (``Acc`` values) are :class:`Arr`: a shape and its elements in row-major
order, as accelerate's reference interpreter holds them.

Literal typing. A Haskell literal takes whatever type its context demands
(``map (* 2.0) x`` multiplies Floats). A :class:`Num` whose ``t`` is None is such
a literal (or the result of ``fromIntegral``/``toFloating``/``floor``, whose
result type is also the context's): it takes the type of the typed value it
meets, or of an annotation (``2 :: Exp Int``), or the function's signature at
the end. Two typed values of different types meeting is an error GHC would
report, and raises :class:`~.errors.HsTypeError`.

Rounding bounds. Each float :class:`Num` also carries ``m >= |v|`` and ``k``
such that ``|v - exact| <= k * u * m`` to first order, ``u`` the unit roundoff
of its type and ``exact`` the value in real arithmetic on the same inputs (see
:mod:`.scalar` for the rules). For sums and products this is the classical
bound ``gamma_k`` times the sum of the magnitudes of the terms (Higham,
*Accuracy and Stability of Numerical Algorithms*, 2nd ed., §3.1 and §4.2), which
holds for every order of evaluation whose longest chain of roundings is at most
``k`` — so it bounds pyaccad's interpreter as well as this evaluator.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import HsRuntimeError, HsTypeError

FLOAT32, FLOAT64, INT32, INT64, BOOL = (np.dtype(n) for n in ("float32", "float64", "int32", "int64", "bool"))
HS_TYPES = {"Float": FLOAT32, "Double": FLOAT64, "Int": INT64, "Int64": INT64, "Int32": INT32, "Bool": BOOL}
UNIT_ROUNDOFF = {FLOAT32: 2.0**-24, FLOAT64: 2.0**-53, None: 2.0**-53}  # an untyped float is held as a double
UNDERFLOW = {t: float(np.finfo(t or FLOAT64).smallest_subnormal) / 2 for t in UNIT_ROUNDOFF}  # absolute, per rounding


@dataclass(frozen=True, slots=True)
class Num:
    """A number: ``v`` a NumPy scalar of dtype ``t``, or (``t`` None) a Python int/float not yet typed."""

    v: object
    t: np.dtype | None = None
    m: float = 0.0  # magnitude: m >= |v| (floats only)
    k: float = 0.0  # rounding count: |v - exact| <= k * u(t) * m (floats only)

    @property
    def is_float(self) -> bool:
        return self.t.kind == "f" if self.t is not None else isinstance(self.v, float)

    def bound(self) -> float:
        """The first-order bound on this value's rounding error (0 for integers); gradual underflow included."""
        return self.k * (UNIT_ROUNDOFF[self.t] * self.m + UNDERFLOW[self.t]) if self.is_float else 0.0


def exact(value: object, t: np.dtype | None = None) -> Num:
    """A number with no rounding error yet (an input, a literal, an index)."""
    if t is not None:
        value = t.type(value)
    return Num(value, t, abs(float(value)), 0.0)


def typed(num: Num, t: np.dtype, what: str) -> Num:
    """``num`` as type ``t``: an untyped number converts (``fromInteger``/``fromRational``); a typed one must match."""
    if num.t is not None:
        if num.t != t:
            raise HsTypeError(f"{what}: a {hs_name(num.t)} where a {hs_name(t)} is due")
        return num
    if t == BOOL:
        raise HsTypeError(f"{what}: the number {num.v!r} where a Bool is due")
    if isinstance(num.v, float) and t.kind != "f":
        raise HsTypeError(f"{what}: the fractional literal {num.v!r} where an {hs_name(t)} is due")
    if t.kind != "f":
        bits = 8 * t.itemsize  # fromInteger wraps, as Haskell's Int types do (Python's ints are unbounded)
        wrapped = int(num.v) % (1 << bits)
        return Num(t.type(wrapped - (1 << bits) if t.kind == "i" and wrapped >> (bits - 1) else wrapped), t)
    value = t.type(num.v)
    rounded = float(value) != num.v
    k = num.k * UNIT_ROUNDOFF[None] / UNIT_ROUNDOFF[t] + (1.0 if rounded else 0.0)
    return Num(value, t, max(num.m, abs(float(value))), k)


def unify(a: Num, b: Num, what: str) -> tuple[Num, Num]:
    """Two operands of one type, as a Haskell operator of type ``a -> a -> a`` demands."""
    if a.t is None and b.t is not None:
        return typed(a, b.t, what), b
    if b.t is None and a.t is not None:
        return a, typed(b, a.t, what)
    if a.t != b.t:
        raise HsTypeError(f"{what}: a {hs_name(a.t)} meets a {hs_name(b.t)}")
    return a, b


def hs_name(t: np.dtype | None) -> str:
    names = {v: k for k, v in HS_TYPES.items() if k != "Int64"}
    return names.get(t, "number literal")


@dataclass(frozen=True, slots=True)
class Tup:
    """accelerate's tuples ``T2 a b`` ... ``T16``, of ``Exp`` or of ``Acc`` values."""

    items: tuple


class _Marker:
    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


ALL, ANY = _Marker("All"), _Marker("Any")  # slice specifiers of replicate/slice


@dataclass(frozen=True, slots=True)
class Index:
    """A shape or index, outermost component first: ``Z :. 3 :. 4`` and ``I2 3 4`` are both ``Index((3, 4))``."""

    items: tuple  # Num (Int) components, or ALL/ANY in a slice specifier

    def ints(self, what: str) -> tuple[int, ...]:
        """The components as Python ints; each must be an ``Int`` (Haskell's ``Int``: 64-bit)."""
        out = []
        for item in self.items:
            if not isinstance(item, Num) or item.is_float or item.t not in (None, INT64):
                raise HsTypeError(f"{what}: index component {item!r} is not an Int")
            out.append(int(item.v))
        return tuple(out)


@dataclass(frozen=True, slots=True)
class Maybe:
    """``Just_ x`` (``value`` set) or ``Nothing_`` (``value`` None): a permutation's target."""

    value: object | None


@dataclass(frozen=True, slots=True)
class Arr:
    """An ``Acc`` array: ``shape`` (outermost first) and its elements in row-major order."""

    shape: tuple[int, ...]
    elems: list

    def __post_init__(self) -> None:
        if len(self.elems) != int(np.prod(self.shape, dtype=np.int64)):
            raise HsRuntimeError(f"array of shape {self.shape} built with {len(self.elems)} elements")

    def offset(self, index: tuple[int, ...], what: str) -> int:
        """The row-major position of ``index``; reading outside the array is an error (undefined in accelerate)."""
        if len(index) != len(self.shape) or any(not 0 <= i < n for i, n in zip(index, self.shape, strict=False)):
            raise HsRuntimeError(f"{what}: index {index} outside an array of shape {self.shape}")
        offset = 0
        for i, n in zip(index, self.shape, strict=True):
            offset = offset * n + i
        return offset

    def at(self, index: tuple[int, ...], what: str) -> object:
        return self.elems[self.offset(index, what)]


def indices(shape: tuple[int, ...]):
    """Every index of ``shape`` in row-major order (accelerate's ``iter``)."""
    return np.ndindex(*shape)


def from_numpy(a: np.ndarray) -> Arr:
    """An input array: its elements are exact (they are the inputs both sides start from)."""
    a = np.asarray(a)
    if a.dtype == BOOL:
        return Arr(a.shape, [np.bool_(v) for v in a.reshape(-1)])
    return Arr(a.shape, [exact(v, a.dtype) for v in a.reshape(-1)])


def to_numpy(arr: Arr, t: np.dtype, what: str) -> tuple[np.ndarray, np.ndarray]:
    """The array as NumPy values of dtype ``t``, and the rounding bound of each element."""
    values, bounds = [], []
    for elem in arr.elems:
        if t == BOOL:
            if not isinstance(elem, np.bool_):
                raise HsTypeError(f"{what}: element {elem!r} where an Exp Bool is due")
            values.append(elem)
            bounds.append(0.0)
            continue
        if not isinstance(elem, Num):
            raise HsTypeError(f"{what}: element {elem!r} where a {hs_name(t)} is due")
        num = typed(elem, t, what)
        values.append(num.v)
        bounds.append(num.bound())
    shape = arr.shape
    return np.array(values, dtype=t).reshape(shape), np.array(bounds, dtype=np.float64).reshape(shape)


def with_extra_error(num: object, extra: float) -> object:
    """``num`` with ``extra`` more absolute error allowed (a helper's documented approximation error)."""
    if not isinstance(num, Num) or not num.is_float:
        return num
    k = num.k + 1
    return Num(num.v, num.t, num.m + extra / (k * UNIT_ROUNDOFF[num.t]), k)
