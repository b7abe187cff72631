"""The names an export may use, bound to their meanings: constructors, scalar functions, control flow.

Everything ``Data.Array.Accelerate`` (and the accelerate-blas ``BLAS.<>``, the ``Bits.`` operations) provides
that the exporter prints, plus the few neighbours the accelerate documentation's
examples use (``lift``, ``unlift``, ``shape``, ``size``, ``indexHead``, ``indexTail``,
``unindex2``); a name not here makes evaluation fail naming it.
"""

from __future__ import annotations

import functools

import numpy as np

from . import arrays, scalar
from .errors import HsTypeError
from .runtime import Builtin, call, force
from .values import ALL, ANY, INT64, Arr, Index, Maybe, Num, Tup, exact


def _the(a: object) -> object:
    return arrays.expect_arr(a, "the").at((), "the")


def _index(a: object, ix: object) -> object:
    return arrays.expect_arr(a, "(!)").at(arrays.expect_index(ix, "(!)"), "(!)")


def _snoc(sh: object, n: object) -> Index:
    """``sh :. n``: an index one component longer (``n`` may be ``All``/``Any`` in a slice specifier)."""
    if not isinstance(sh, Index):
        raise HsTypeError(f"(:.): {sh!r} is not a shape")
    return Index((*sh.items, n))


def _index_of(*items: object) -> Index:
    for item in items:
        if not isinstance(item, Num):
            raise HsTypeError(f"index component {item!r} is not an Exp Int")
    return Index(items)


def _cond(c: object, then: object, otherwise: object) -> object:
    """accelerate's ``cond``: only the chosen branch is evaluated; both are ``Exp`` values."""
    for branch in (then, otherwise):
        _not_prelude_bool(branch, "cond")
    chosen = force(then) if scalar.as_bool(force(c), "cond") else force(otherwise)
    return _not_prelude_bool(chosen, "cond")


def _not_prelude_bool(x: object, what: str) -> object:
    """``x`` unless it is (already known to be) the Prelude's ``True``/``False``, which no ``Exp`` is."""
    if isinstance(x, bool):
        raise HsTypeError(f"{what}: the Prelude Bool {x} where an Exp value is due (write True_/False_)")
    return x


def _choose(c: object, branches: object) -> object:
    """``c ? (t, e) = cond c t e``."""
    branches = force(branches)
    if not isinstance(branches, tuple) or len(branches) != 2:
        raise HsTypeError(f"(?): {branches!r} is not a pair of branches")
    return _cond(c, *branches)


def _and(a: object, b: object) -> np.bool_:
    _not_prelude_bool(b, "(&&)")
    return scalar.as_bool(force(b), "(&&)") if scalar.as_bool(force(a), "(&&)") else np.False_


def _or(a: object, b: object) -> np.bool_:
    _not_prelude_bool(b, "(||)")
    return np.True_ if scalar.as_bool(force(a), "(||)") else scalar.as_bool(force(b), "(||)")


def _while(keep_going: object, step: object, x: object) -> object:
    while scalar.as_bool(call(keep_going, x), "while"):
        x = call(step, x)
    return x


def _acond(c: object, then: object, otherwise: object) -> object:
    return force(then) if scalar.as_bool(force(c), "acond") else force(otherwise)


def _awhile(keep_going: object, step: object, x: object) -> object:
    while scalar.as_bool(_the(call(keep_going, x)), "awhile"):
        x = call(step, x)
    return x


def _lift(x: object) -> object:
    """``lift``: a Haskell tuple of ``Exp`` values becomes an ``Exp`` tuple; anything else stays."""
    return Tup(tuple(force(i) for i in x)) if isinstance(x, tuple) else x


def _unlift(x: object) -> object:
    return x.items if isinstance(x, Tup) else x


def _index_head(ix: object) -> Num:
    if not isinstance(ix, Index) or not ix.items:
        raise HsTypeError(f"indexHead: {ix!r} is not a non-empty index")
    return ix.items[-1]


def _index_tail(ix: object) -> Index:
    if not isinstance(ix, Index) or not ix.items:
        raise HsTypeError(f"indexTail: {ix!r} is not a non-empty index")
    return Index(ix.items[:-1])


def _unindex2(ix: object) -> Tup:
    if not isinstance(ix, Index) or len(ix.items) != 2:
        raise HsTypeError(f"unindex2: {ix!r} is not a two-dimensional index")
    return Tup(ix.items)


def _shape(a: object) -> Index:
    return Index(tuple(exact(n, INT64) for n in arrays.expect_arr(a, "shape").shape))


def _binary(name: str, fn) -> Builtin:
    return Builtin(name, 2, fn)


def _smooth(name: str) -> Builtin:
    return Builtin(name, 1, lambda a: scalar.smooth(name, a))


@functools.cache
def builtins() -> dict[str, object]:
    """Every name the evaluator knows, by its Haskell spelling (built once)."""
    table: dict[str, object] = {
        # constructors and pattern synonyms
        "Z": Index(()),
        "Z_": Index(()),
        ":.": _binary(":.", _snoc),
        "::.": _binary("::.", _snoc),
        "All": ALL,
        "Any": Index((ANY,)),  # stands for the leading axes a slice specifier leaves alone
        "True_": np.True_,
        "False_": np.False_,
        "True": True,
        "False": False,
        "Just_": Builtin("Just_", 1, Maybe),
        "Nothing_": Maybe(None),
        # Num, Fractional, Floating, RealFrac, Integral
        "+": _binary("+", scalar.add),
        "-": _binary("-", scalar.sub),
        "*": _binary("*", scalar.mul),
        "/": _binary("/", scalar.fdiv),
        "negate": Builtin("negate", 1, scalar.negate),
        "subtract": _binary("subtract", lambda x, y: scalar.sub(y, x)),
        "abs": Builtin("abs", 1, scalar.absolute),
        "signum": Builtin("signum", 1, scalar.signum),
        "div": _binary("div", lambda a, b: scalar.integral(a, b, "div")),
        "mod": _binary("mod", lambda a, b: scalar.integral(a, b, "mod")),
        "quot": _binary("quot", lambda a, b: scalar.integral(a, b, "quot")),
        "rem": _binary("rem", lambda a, b: scalar.integral(a, b, "rem")),
        "mod'": _binary("mod'", scalar.mod_fractional),
        "^": _binary("^", scalar.power_int),
        "**": _binary("**", lambda a, b: scalar.float_binary("**", a, b)),
        "atan2": _binary("atan2", lambda a, b: scalar.float_binary("atan2", a, b)),
        "min": _binary("min", lambda a, b: scalar.minmax(a, b, False)),
        "max": _binary("max", lambda a, b: scalar.minmax(a, b, True)),
        "fromIntegral": Builtin("fromIntegral", 1, scalar.from_integral),
        "Bits..&.": Builtin("Bits..&.", 2, functools.partial(scalar.bitwise, ".&.")),
        "Bits..|.": Builtin("Bits..|.", 2, functools.partial(scalar.bitwise, ".|.")),
        "Bits.xor": Builtin("Bits.xor", 2, functools.partial(scalar.bitwise, "xor")),
        "Bits.complement": Builtin("Bits.complement", 1, scalar.complement),
        "Bits.shiftL": Builtin("Bits.shiftL", 2, functools.partial(scalar.shift, "shiftL")),
        "Bits.shiftR": Builtin("Bits.shiftR", 2, functools.partial(scalar.shift, "shiftR")),
        "Bits.finiteBitSize": Builtin("Bits.finiteBitSize", 1, scalar.finite_bit_size),
        "toFloating": Builtin("toFloating", 1, scalar.to_floating),
        "bitcast": Builtin("bitcast", 1, scalar.bitcast),
        "boolToInt": Builtin("boolToInt", 1, scalar.bool_to_int),
        "isNaN": Builtin("isNaN", 1, scalar.is_nan),
        "isInfinite": Builtin("isInfinite", 1, scalar.is_infinite),
        "floatDigits": Builtin("floatDigits", 1, scalar.float_digits),
        # Eq, Ord, Bool
        "not": Builtin("not", 1, scalar.logical_not),
        "&&": Builtin("&&", 2, _and, lazy=True),
        "||": Builtin("||", 2, _or, lazy=True),
        # control flow
        "cond": Builtin("cond", 3, _cond, lazy=True),
        "?": Builtin("?", 2, _choose, lazy=True),
        "while": Builtin("while", 3, _while),
        "acond": Builtin("acond", 3, _acond, lazy=True),
        "awhile": Builtin("awhile", 3, _awhile),
        "const": Builtin("const", 2, lambda x, _: force(x), lazy=True),
        "id": Builtin("id", 1, lambda x: x),
        # arrays and scalars
        "use": Builtin("use", 1, lambda a: arrays.expect_arr(a, "use")),
        # accelerate's `compute` only asks for the array to be materialised: the value is its argument's
        "compute": Builtin("compute", 1, lambda a: a),
        "unit": Builtin("unit", 1, lambda e: Arr((), [e])),
        "the": Builtin("the", 1, _the),
        "!": _binary("!", _index),
        "shape": Builtin("shape", 1, _shape),
        "size": Builtin("size", 1, lambda a: exact(len(arrays.expect_arr(a, "size").elems), INT64)),
        "constant": Builtin("constant", 1, lambda x: x),
        "lift": Builtin("lift", 1, _lift),
        "unlift": Builtin("unlift", 1, _unlift),
        "indexHead": Builtin("indexHead", 1, _index_head),
        "indexTail": Builtin("indexTail", 1, _index_tail),
        "unindex2": Builtin("unindex2", 1, _unindex2),
    }
    for op in ("==", "/=", "<", "<=", ">", ">="):
        table[op] = _binary(op, lambda a, b, op=op: scalar.compare(op, a, b))
    for name in ("floor", "ceiling", "round", "truncate"):
        table[name] = Builtin(name, 1, lambda a, name=name: scalar.round_to_integer(name, a))
    for name in scalar.SMOOTH:
        table[name] = _smooth(name)
    for n in range(2, 17):
        table[f"T{n}"] = Builtin(f"T{n}", n, lambda *items: Tup(items))
    for n in range(1, 10):
        table[f"I{n}"] = Builtin(f"I{n}", n, _index_of)
    table["I0"] = Index(())
    table.update(arrays.builtins())
    return table
