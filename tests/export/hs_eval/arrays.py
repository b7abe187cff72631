"""Array (``Acc``) operations, each as accelerate documents it and its reference interpreter runs it.

Sources: ``Data.Array.Accelerate.Language`` and ``.Prelude`` (what each
operation means) and ``Data.Array.Accelerate.Interpreter`` (the order it runs
in): arrays are row-major; ``fold``/``scanl``... work on the innermost axis;
``fold f z`` combines left to right from ``z`` (``iter``), ``fold1 f`` as
``x0 `f` (x1 `f` (... `f` xn))`` (``iter1``); ``permute`` visits the source in
row-major order, combining ``f new old``; ``zipWith`` and ``(++)`` take the
intersection of their arguments' extents. Reads outside an array, which
accelerate leaves undefined, raise :class:`~.errors.HsRuntimeError`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from . import scalar
from .errors import HsRuntimeError, HsTypeError, Unsupported
from .runtime import Builtin, call, force
from .syntax import PTuple
from .values import ALL, ANY, INT64, Arr, Index, Maybe, Tup, exact, indices


def expect_arr(x: object, what: str) -> Arr:
    if not isinstance(x, Arr):
        raise HsTypeError(f"{what}: {x!r} where an Acc array is due")
    return x


def expect_index(x: object, what: str) -> tuple[int, ...]:
    if not isinstance(x, Index):
        raise HsTypeError(f"{what}: {x!r} where a shape or index is due")
    return x.ints(what)


def index_value(ix: tuple[int, ...]) -> Index:
    """An index handed to a function (``generate``'s, ``backpermute``'s...): ``Exp Int`` components."""
    return Index(tuple(exact(i, INT64) for i in ix))


# --- construction and element-wise -------------------------------------------------------------------------
def generate(sh: object, f: object) -> Arr:
    shape = expect_index(sh, "generate")
    return Arr(shape, [call(f, index_value(ix)) for ix in indices(shape)])


def fill(sh: object, value: object) -> Arr:
    shape = expect_index(sh, "fill")
    return Arr(shape, [value] * math.prod(shape))


def from_list(sh: object, items: object) -> Arr:
    """``fromList``: the first ``size`` elements of a Haskell list (too short is an error)."""
    shape = expect_index(sh, "fromList")
    size = math.prod(shape)
    if not isinstance(items, list) or len(items) < size:
        raise HsRuntimeError(f"fromList: {size} elements needed for shape {shape}")
    return Arr(shape, [np.bool_(v) if isinstance(v, bool) else v for v in items[:size]])


def map_(f: object, a: object) -> Arr:
    a = expect_arr(a, "map")
    return Arr(a.shape, [call(f, x) for x in a.elems])


def zip_with(f: object, *arrays: object) -> Arr:
    """``zipWith``..``zipWith9``: the extent is the intersection of the arguments' extents."""
    arrays = tuple(expect_arr(a, "zipWith") for a in arrays)
    if len({a.shape for a in arrays}) == 1:
        return Arr(arrays[0].shape, [call(f, *xs) for xs in zip(*(a.elems for a in arrays), strict=True)])
    if len({len(a.shape) for a in arrays}) != 1:
        raise HsTypeError(f"zipWith: arrays of different ranks {[a.shape for a in arrays]}")
    shape = tuple(min(ns) for ns in zip(*(a.shape for a in arrays), strict=True))
    return Arr(shape, [call(f, *(a.at(ix, "zipWith") for a in arrays)) for ix in indices(shape)])


def unzip(n: int, a: object) -> tuple:
    """``unzip``..``unzip9``: a Haskell tuple of arrays (``map fst``, ``map snd``...)."""
    a = expect_arr(a, "unzip")
    for x in a.elems:
        if not isinstance(x, Tup) or len(x.items) != n:
            raise HsTypeError(f"unzip{n if n > 2 else ''}: element {x!r} is not a {n}-tuple")
    return tuple(Arr(a.shape, [x.items[k] for x in a.elems]) for k in range(n))


# --- reductions and scans along the innermost axis ---------------------------------------------------------
def _rows(a: Arr, what: str) -> tuple[tuple[int, ...], list[list]]:
    """The array's innermost rows (accelerate reduces and scans those)."""
    if not a.shape:
        raise HsTypeError(f"{what}: needs an array of rank 1 or more")
    n, count = a.shape[-1], math.prod(a.shape[:-1])
    return a.shape[:-1], [a.elems[r * n : (r + 1) * n] for r in range(count)]


def fold(f: object, z: object, a: object) -> Arr:
    outer, rows = _rows(expect_arr(a, "fold"), "fold")
    out = []
    for row in rows:
        acc = z
        for x in row:
            acc = call(f, acc, x)
        out.append(acc)
    return Arr(outer, out)


def fold1(f: object, a: object) -> Arr:
    outer, rows = _rows(expect_arr(a, "fold1"), "fold1")
    out = []
    for row in rows:
        if not row:
            raise HsRuntimeError("fold1: empty innermost axis")
        acc = row[-1]
        for x in reversed(row[:-1]):
            acc = call(f, x, acc)
        out.append(acc)
    return Arr(outer, out)


def flatten(a: object) -> Arr:
    a = expect_arr(a, "flatten")
    return Arr((len(a.elems),), a.elems)


def scan(f: object, z: object | None, a: object, right: bool) -> Arr:
    """``scanl``/``scanl1`` (``right`` False) and ``scanr``/``scanr1``: ``z`` None for the inclusive ones."""
    a = expect_arr(a, "scan")
    _, rows = _rows(a, "scan")
    out = []
    for row in rows:
        row = row[::-1] if right else row
        acc, done = (z, [z]) if z is not None else (None, [])
        for x in row:
            acc = x if acc is None else call(f, x, acc) if right else call(f, acc, x)
            done.append(acc)
        out.extend(done[::-1] if right else done)
    return Arr(a.shape[:-1] + (a.shape[-1] + (z is not None),), out)


def scan_prime(f: object, z: object, a: object, right: bool) -> Tup:
    """``scanl'``/``scanr'``: the exclusive scan and the totals, as an ``Acc`` pair."""
    full = scan(f, z, a, right)
    n = full.shape[-1]
    rows = [full.elems[i : i + n] for i in range(0, len(full.elems), n)]
    body = [x for row in rows for x in (row[1:] if right else row[:-1])]
    totals = [row[0] if right else row[-1] for row in rows]
    return Tup((Arr(full.shape[:-1] + (n - 1,), body), Arr(full.shape[:-1], totals)))


# --- moving data -------------------------------------------------------------------------------------------
def backpermute(sh: object, f: object, a: object) -> Arr:
    shape, a = expect_index(sh, "backpermute"), expect_arr(a, "backpermute")
    return Arr(
        shape, [a.at(expect_index(call(f, index_value(ix)), "backpermute"), "backpermute") for ix in indices(shape)]
    )


def permute(combine: object, defaults: object, f: object, a: object) -> Arr:
    defaults, a = expect_arr(defaults, "permute"), expect_arr(a, "permute")
    out = list(defaults.elems)
    for ix, x in zip(indices(a.shape), a.elems, strict=True):
        target = call(f, index_value(ix))
        if not isinstance(target, Maybe):
            raise HsTypeError(f"permute: the index function returned {target!r}, not Just_/Nothing_")
        if target.value is not None:
            j = defaults.offset(expect_index(force(target.value), "permute"), "permute (target)")
            out[j] = call(combine, x, out[j])
    return Arr(defaults.shape, out)


def reshape(sh: object, a: object) -> Arr:
    shape, a = expect_index(sh, "reshape"), expect_arr(a, "reshape")
    if math.prod(shape) != len(a.elems):
        raise HsRuntimeError(f"reshape: shape mismatch ({a.shape} to {shape})")
    return Arr(shape, a.elems)


def _slice_spec(spec: object, rank: int, what: str) -> list:
    """The components of a slice specifier; a leading ``Any`` expanded into the ``All`` s it stands for.

    ``Any`` stands for the leading axes the rest of the specifier leaves: ``rank`` is how many axes
    the whole specifier must describe (with ``All`` for each axis ``Any`` covers).
    """
    if not isinstance(spec, Index):
        raise HsTypeError(f"{what}: {spec!r} is not a slice specifier")
    items = list(spec.items)
    if items and items[0] is ANY:
        items = [ALL] * (rank - len(items) + 1) + items[1:]
    return [i if i is ALL else Index((i,)).ints(what)[0] for i in items]


def replicate(spec: object, a: object) -> Arr:
    """Each integer of the specifier is a new axis of that extent; each ``All`` an axis of the source."""
    a = expect_arr(a, "replicate")
    rest = spec.items[1:] if isinstance(spec, Index) and spec.items[:1] == (ANY,) else ()
    items = _slice_spec(spec, len(a.shape) + sum(i is not ALL for i in rest), "replicate")
    if sum(i is ALL for i in items) != len(a.shape):
        raise HsTypeError(f"replicate: specifier {items} does not fit an array of shape {a.shape}")
    source_axes = iter(a.shape)
    shape = tuple(next(source_axes) if i is ALL else i for i in items)
    keep = [d for d, i in enumerate(items) if i is ALL]
    return Arr(shape, [a.at(tuple(ix[d] for d in keep), "replicate") for ix in indices(shape)])


def slice_(a: object, spec: object) -> Arr:
    """Each ``All`` keeps a source axis; each integer fixes it there."""
    a = expect_arr(a, "slice")
    items = _slice_spec(spec, len(a.shape), "slice")
    if len(items) != len(a.shape):
        raise HsTypeError(f"slice: specifier {items} does not fit an array of shape {a.shape}")
    shape = tuple(n for i, n in zip(items, a.shape, strict=True) if i is ALL)
    out = []
    for ix in indices(shape):
        free = iter(ix)
        out.append(a.at(tuple(next(free) if i is ALL else i for i in items), "slice"))
    return Arr(shape, out)


def transpose(a: object) -> Arr:
    a = expect_arr(a, "transpose")
    if len(a.shape) != 2:
        raise HsTypeError(f"transpose: needs a matrix, got shape {a.shape}")
    rows, cols = a.shape
    return Arr((cols, rows), [a.elems[i * cols + j] for j in range(cols) for i in range(rows)])


def reverse(a: object) -> Arr:
    a = expect_arr(a, "reverse")
    if len(a.shape) != 1:
        raise HsTypeError(f"reverse: needs a vector, got shape {a.shape}")
    return Arr(a.shape, a.elems[::-1])


def concat(xs: object, ys: object) -> Arr:
    """``xs ++ ys`` along the innermost axis; the other axes are the intersection of both extents."""
    xs, ys = expect_arr(xs, "(++)"), expect_arr(ys, "(++)")
    if len(xs.shape) != len(ys.shape) or not xs.shape:
        raise HsTypeError(f"(++): arrays of shapes {xs.shape} and {ys.shape}")
    m, n = xs.shape[-1], ys.shape[-1]
    shape = tuple(min(p, q) for p, q in zip(xs.shape[:-1], ys.shape[:-1], strict=True)) + (m + n,)
    return Arr(
        shape, [xs.at(ix, "(++)") if ix[-1] < m else ys.at(ix[:-1] + (ix[-1] - m,), "(++)") for ix in indices(shape)]
    )


def matmul(a: object, b: object) -> Arr:
    """accelerate-blas's ``(<>)``: the matrix product (BLAS sums in an order of its own; the bound covers any)."""
    a, b = expect_arr(a, "(<>)"), expect_arr(b, "(<>)")
    if len(a.shape) != 2 or len(b.shape) != 2 or a.shape[1] != b.shape[0]:
        raise HsTypeError(f"(<>): shapes {a.shape} and {b.shape} do not multiply")
    (m, k), n = a.shape, b.shape[1]
    out = []
    for i, j in indices((m, n)):
        total: object = exact(0)
        for p in range(k):
            total = scalar.add(total, scalar.mul(a.elems[i * k + p], b.elems[p * n + j]))
        out.append(total)
    return Arr((m, n), out)


# --- stencils ----------------------------------------------------------------------------------------------
def stencil(f: object, boundary: object, a: object) -> Arr:
    a = expect_arr(a, "stencil")
    sizes = stencil_extent(f, len(a.shape))
    if not isinstance(boundary, Boundary):
        raise HsTypeError(f"stencil: {boundary!r} is not a boundary condition")

    def read(ix: tuple[int, ...]) -> object:
        if all(0 <= i < n for i, n in zip(ix, a.shape, strict=True)):
            return a.at(ix, "stencil")
        if boundary.function is not None:  # `function g`: g of the index outside
            return call(boundary.function, index_value(ix))
        bounded = tuple(_bound(i, n, boundary.kind) for i, n in zip(ix, a.shape, strict=True))
        return a.at(bounded, f"stencil ({boundary.kind} of {ix})")

    def neighbourhood(ix: tuple[int, ...], axis: int, prefix: tuple[int, ...]) -> tuple:
        r = sizes[axis] // 2
        if axis == len(sizes) - 1:
            return tuple(read(prefix + (ix[axis] + d,)) for d in range(-r, r + 1))
        return tuple(neighbourhood(ix, axis + 1, prefix + (ix[axis] + d,)) for d in range(-r, r + 1))

    return Arr(a.shape, [call(f, neighbourhood(ix, 0, ())) for ix in indices(a.shape)])


def _bound(i: int, n: int, boundary: str) -> int:
    """The interpreter's ``bound``: clamp to the edge, mirror without repeating it, or wrap around — once."""
    if 0 <= i < n:
        return i
    if boundary == "clamp":
        return 0 if i < 0 else n - 1
    if boundary == "mirror":
        return -i if i < 0 else n - (i - n + 2)
    if boundary == "wrap":
        return n + i if i < 0 else i - n
    raise Unsupported(f"stencil boundary {boundary!r}")


def stencil_extent(f: object, rank: int) -> tuple[int, ...]:
    """The stencil's extent, read off the tuple pattern of its function (what fixes its type in Haskell)."""
    pattern = getattr(force(f), "pats", (None,))[0]
    sizes = []
    while isinstance(pattern, PTuple):
        sizes.append(len(pattern.items))
        pattern = pattern.items[0]
    if len(sizes) != rank or any(s not in (3, 5, 7, 9) for s in sizes):
        raise HsTypeError(f"stencil: pattern of extent {sizes} for an array of rank {rank} (accelerate has 3, 5, 7, 9)")
    return tuple(sizes)


@dataclass(frozen=True)
class Boundary:
    """``clamp``, ``mirror``, ``wrap`` (``kind``), or ``function g``."""

    kind: str
    function: object | None = None


def gemm(alpha: object, op_a: object, a: object, op_b: object, b: object) -> Arr:
    """accelerate-blas's ``gemm alpha opA a opB b``: ``alpha`` times the product of ``a`` and ``b``, each
    transposed where its ``Transpose`` is ``T``."""
    operands = []
    for op, x in ((op_a, a), (op_b, b)):
        if op not in ("N", "T"):
            raise HsTypeError(f"gemm: {op!r} where a Transpose (BLAS.N or BLAS.T) is due")
        operands.append(transpose(x) if op == "T" else expect_arr(x, "gemm"))
    product = matmul(*operands)
    return Arr(product.shape, [scalar.mul(alpha, e) for e in product.elems])


def builtins() -> dict[str, object]:
    """The array operations by their accelerate names."""
    table = {
        "generate": Builtin("generate", 2, generate),
        "fill": Builtin("fill", 2, fill),
        "fromList": Builtin("fromList", 2, from_list),
        "map": Builtin("map", 2, map_),
        "zipWith": Builtin("zipWith", 3, zip_with),
        "fold": Builtin("fold", 3, fold),
        "fold1": Builtin("fold1", 2, fold1),
        "foldAll": Builtin("foldAll", 3, lambda f, z, a: fold(f, z, flatten(a))),
        "fold1All": Builtin("fold1All", 2, lambda f, a: fold1(f, flatten(a))),
        "sum": Builtin("sum", 1, lambda a: fold(Builtin("+", 2, scalar.add), exact(0), a)),
        "product": Builtin("product", 1, lambda a: fold(Builtin("*", 2, scalar.mul), exact(1), a)),
        "maximum": Builtin("maximum", 1, lambda a: fold1(Builtin("max", 2, lambda x, y: scalar.minmax(x, y, True)), a)),
        "minimum": Builtin(
            "minimum", 1, lambda a: fold1(Builtin("min", 2, lambda x, y: scalar.minmax(x, y, False)), a)
        ),
        "scanl": Builtin("scanl", 3, lambda f, z, a: scan(f, z, a, False)),
        "scanl1": Builtin("scanl1", 2, lambda f, a: scan(f, None, a, False)),
        "scanr": Builtin("scanr", 3, lambda f, z, a: scan(f, z, a, True)),
        "scanr1": Builtin("scanr1", 2, lambda f, a: scan(f, None, a, True)),
        "scanl'": Builtin("scanl'", 3, lambda f, z, a: scan_prime(f, z, a, False)),
        "scanr'": Builtin("scanr'", 3, lambda f, z, a: scan_prime(f, z, a, True)),
        "backpermute": Builtin("backpermute", 3, backpermute),
        "permute": Builtin("permute", 4, permute),
        "reshape": Builtin("reshape", 2, reshape),
        "replicate": Builtin("replicate", 2, replicate),
        "slice": Builtin("slice", 2, slice_),
        "transpose": Builtin("transpose", 1, transpose),
        "reverse": Builtin("reverse", 1, reverse),
        "flatten": Builtin("flatten", 1, flatten),
        "++": Builtin("++", 2, concat),
        "BLAS.<>": Builtin("BLAS.<>", 2, matmul),
        "BLAS.gemm": Builtin("BLAS.gemm", 5, gemm),
        "BLAS.N": "N",  # accelerate-blas's Transpose: leave the matrix as is, or read it transposed
        "BLAS.T": "T",
        "stencil": Builtin("stencil", 3, stencil),
        "function": Builtin("function", 1, lambda g: Boundary("function", g)),
        "clamp": Boundary("clamp"),
        "mirror": Boundary("mirror"),
        "wrap": Boundary("wrap"),
        "zip": Builtin("zip", 2, lambda a, b: zip_with(Builtin("T2", 2, lambda *xs: Tup(xs)), a, b)),
        "unzip": Builtin("unzip", 1, lambda a: unzip(2, a)),
    }
    for n in range(3, 10):
        table[f"zipWith{n}"] = Builtin(f"zipWith{n}", n + 1, zip_with)
        table[f"zip{n}"] = Builtin(
            f"zip{n}", n, lambda *arrays, n=n: zip_with(Builtin(f"T{n}", n, lambda *xs: Tup(xs)), *arrays)
        )
        table[f"unzip{n}"] = Builtin(f"unzip{n}", 1, lambda a, n=n: unzip(n, a))
    return table
