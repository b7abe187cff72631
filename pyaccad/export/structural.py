"""Export rules of the structural primitives: data movement printed as accelerate's own words.

Where accelerate has the operation on the innermost axis or on matrices
(``reshape``, ``transpose``, ``reverse``, ``replicate``, ``(++)``, ``fill``)
it is used directly; otherwise the move is a ``backpermute`` whose index
lambda is written out (``\\(I2 i j) -> I2 j i``), and ``pad`` is a
``generate`` that reads the source where an index lands on it. ``matmul``
is the usual accelerate expression — both operands replicated to
``m × n × k``, multiplied, summed over the innermost axis — or
``accelerate-blas``'s ``<>`` when the printer was asked for BLAS.

>>> from pyaccad.export.haskell import Printer
>>> gather(Printer(), (3, 2), "x", lambda i, j: [j, i])
'backpermute (I2 3 2) (\\\\(I2 i j) -> I2 j i) x'
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod

import numpy as np

from pyaccad.export.haskell import (
    Printer,
    hs_array_type,
    index_pattern,
    literal_text,
    paren,
    shape_exp,
)
from pyaccad.ir import FLOAT_DTYPES, Lit, Stmt

IndexMap = Callable[..., Sequence[str]]


def gather(p: Printer, out_shape: Sequence[int], source: str, index_map: IndexMap) -> str:
    """``backpermute`` to ``out_shape`` reading ``source`` at ``index_map(*index names)``."""
    names = [p.fresh(n) for n in "ijklmnopq"[: len(out_shape)]]
    result = list(index_map(*names))
    used = set(" ".join(result).replace("(", " ").replace(")", " ").split())
    pattern = index_pattern([n if n in used else "_" for n in names])
    target = "Z_" if not result else f"I{len(result)} " + " ".join(paren(r) for r in result)
    return f"backpermute {paren(shape_exp(out_shape))} (\\{pattern} -> {target}) {paren(source)}"


def permute_axes(p: Printer, source: str, shape: Sequence[int], perm: Sequence[int]) -> str:
    """``source`` (of ``shape``) with axes permuted: output axis ``d`` is input axis ``perm[d]``."""
    if list(perm) == [1, 0]:
        return f"transpose {paren(source)}"
    out_shape = [shape[d] for d in perm]

    def index_map(*out: str) -> list[str]:
        inverse = [list(perm).index(a) for a in range(len(perm))]
        return [out[inverse[a]] for a in range(len(perm))]

    return gather(p, out_shape, source, index_map)


def affine(name: str, scale: int, offset: int) -> str:
    """``scale * name + offset`` written without noise (``i``, ``i + 2``, ``2 * i - 1``)."""
    text = name if scale == 1 else f"{scale} * {name}"
    if offset > 0:
        return f"{text} + {offset}"
    if offset < 0:
        return f"{text} - {-offset}"
    return text


def _const(p: Printer, stmt: Stmt, array_level: bool) -> str:
    value: np.ndarray = stmt.params["value"]
    (out,) = stmt.outs
    elements = [literal_text(v, out.dtype) for v in value.reshape(-1).tolist()]
    shape = " :. ".join(["Z", *map(str, value.shape)])
    lines, line = [], ""
    for element in elements:
        if line and len(line) + len(element) > 96:
            lines.append(line)
            line = ""
        line += ("" if not line else " ") + element + ","
    lines.append(line)
    listed = "\n   ".join(lines).rstrip(",")
    return f"use (fromList ({shape}) [{listed}] :: {hs_array_type(out.type)})"


def _broadcast(p: Printer, stmt: Stmt, array_level: bool) -> str:
    (x,) = stmt.args
    shape, dims = tuple(stmt.params["shape"]), tuple(stmt.params["dims"])
    if isinstance(x, Lit):
        return f"fill {paren(shape_exp(shape))} {p.annotated(x)}"
    source = p.array(x)
    if x.shape == ():
        return f"fill {paren(shape_exp(shape))} (the {source})"
    if prod(x.shape) == prod(shape):
        return f"reshape {paren(shape_exp(shape))} {paren(source)}"
    if all(x.shape[a] == shape[d] for a, d in enumerate(dims)):
        spec = ["All" if d in dims else f"({n} :: Int)" for d, n in enumerate(shape)]
        return f"replicate (constant ({' :. '.join(['Z', *spec])})) {paren(source)}"

    def index_map(*out: str) -> list[str]:
        return ["0" if x.shape[a] == 1 else out[d] for a, d in enumerate(dims)]

    return gather(p, shape, source, index_map)


def _reshape(p: Printer, stmt: Stmt, array_level: bool) -> str:
    return f"reshape {paren(shape_exp(stmt.params['shape']))} {paren(p.array(stmt.args[0]))}"


def _transpose(p: Printer, stmt: Stmt, array_level: bool) -> str:
    (x,) = stmt.args
    return permute_axes(p, p.array(x), x.shape, stmt.params["perm"])


def _reverse(p: Printer, stmt: Stmt, array_level: bool) -> str:
    (x,) = stmt.args
    axes = set(stmt.params["axes"])
    if len(x.shape) == 1 and axes == {0}:
        return f"reverse {paren(p.array(x))}"
    if not axes:
        return p.array(x)

    def index_map(*out: str) -> list[str]:
        return [f"{n - 1} - {o}" if a in axes else o for a, (o, n) in enumerate(zip(out, x.shape, strict=True))]

    return gather(p, x.shape, p.array(x), index_map)


def _slice(p: Printer, stmt: Stmt, array_level: bool) -> str:
    (x,) = stmt.args
    starts, steps = stmt.params["starts"], stmt.params["steps"]

    def index_map(*out: str) -> list[str]:
        return [affine(o, step, start) for o, start, step in zip(out, starts, steps, strict=True)]

    return gather(p, stmt.outs[0].shape, p.array(x), index_map)


def _pad(p: Printer, stmt: Stmt, array_level: bool) -> str:
    x, value = stmt.args
    lo, interior = stmt.params["lo"], stmt.params["interior"]
    out_shape = stmt.outs[0].shape
    names = [p.fresh(n) for n in "ijklmnopq"[: len(out_shape)]]
    tests, reads = [], []
    for o, n, low, mid in zip(names, x.shape, lo, interior, strict=True):
        shifted = affine(o, 1, -low)
        stride = mid + 1
        if stride == 1:
            tests.append(f"{shifted} >= 0 && {shifted} < {n}" if low else f"{o} < {n}")
            reads.append(shifted)
        else:
            tests.append(
                f"{shifted} >= 0 && {paren(shifted)} `mod` {stride} == 0 && {paren(shifted)} `div` {stride} < {n}"
            )
            reads.append(f"{paren(shifted)} `div` {stride}")
    inside = " && ".join(tests) if tests else "True_"
    read = f"{p.array(x)} ! I{len(reads)} " + " ".join(paren(r) for r in reads) if reads else f"the {p.array(x)}"
    fill_value = p.exp(value, operand_with_var=True)
    body = f"{inside} ? ({read}, {fill_value})"
    return f"generate {paren(shape_exp(out_shape))} (\\{index_pattern(names)} -> {body})"


def _concatenate(p: Printer, stmt: Stmt, array_level: bool) -> str:
    axis = stmt.params["axis"]
    arrays = stmt.args
    if axis == len(arrays[0].shape) - 1:
        return " ++ ".join(paren(p.array(a)) for a in arrays)
    out_shape = stmt.outs[0].shape
    names = [p.fresh(n) for n in "ijklmnopq"[: len(out_shape)]]
    offsets = np.cumsum([0] + [a.shape[axis] for a in arrays]).tolist()

    def read(k: int) -> str:
        index = [affine(o, 1, -offsets[k]) if d == axis else o for d, o in enumerate(names)]
        return f"{p.array(arrays[k])} ! I{len(index)} " + " ".join(paren(i) for i in index)

    body = read(len(arrays) - 1)
    for k in range(len(arrays) - 2, -1, -1):
        body = f"{names[axis]} < {offsets[k + 1]} ? ({read(k)}, {body})"
    return f"generate {paren(shape_exp(out_shape))} (\\{index_pattern(names)} -> {body})"


def _matmul(p: Printer, stmt: Stmt, array_level: bool) -> str:
    a, b = stmt.args
    (out,) = stmt.outs
    left, right = p.array(a), p.array(b)
    if len(a.shape) == 2 and p.blas and a.dtype in FLOAT_DTYPES:
        return f"{paren(left)} BLAS.<> {paren(right)}"
    m, k = a.shape[-2:]
    n = b.shape[-1]
    if len(a.shape) == 2:
        lhs = f"replicate (constant (Z :. All :. ({n} :: Int) :. All)) {paren(left)}"
        rhs = f"replicate (constant (Z :. ({m} :: Int) :. All :. All)) (transpose {paren(right)})"
    else:
        batch = list(a.shape[:-2])
        shape = [*batch, m, n, k]
        lhs = gather(p, shape, left, lambda *ix: [*ix[:-3], ix[-3], ix[-1]])
        rhs = gather(p, shape, right, lambda *ix: [*ix[:-3], ix[-1], ix[-2]])
    return f"fold (+) 0 (zipWith (*) ({lhs})\n                      ({rhs}))"


RULES: dict[str, Callable[[Printer, Stmt, bool], str]] = {
    "const": _const,
    "broadcast_in_dim": _broadcast,
    "reshape": _reshape,
    "transpose": _transpose,
    "reverse": _reverse,
    "slice": _slice,
    "pad": _pad,
    "concatenate": _concatenate,
    "matmul": _matmul,
}
