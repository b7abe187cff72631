"""Export rules of the structural primitives: data movement printed as accelerate's own words.

Where accelerate has the operation on the innermost axis or on matrices
(``reshape``, ``transpose``, ``reverse``, ``replicate``, ``(++)``, ``fill``)
it is used directly; otherwise the move is a ``backpermute`` whose index
lambda is written out (``\\(I2 i j) -> I2 j i``), and ``pad`` is a
``generate`` that reads the source where an index lands on it (``matmul``
is in :mod:`pyaccad.export.products`).

>>> from pyaccad.export.printer import Printer
>>> gather(Printer(), (3, 2), "x", lambda i, j: [j, i])
'backpermute (I2 3 2) (\\\\(I2 i j) -> I2 j i) x'
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from math import prod

import numpy as np

from pyaccad.export.printer import Printer, live_stmts, use_counts
from pyaccad.export.symbolic import SymInt
from pyaccad.export.syntax import hs_array_type, index_pattern, lambda_text, let_block, literal_text, paren, shape_exp
from pyaccad.ir import Lit, Stmt

IndexMap = Callable[..., Sequence[str]]


def gather(p: Printer, out_shape: Sequence[int], source: str, index_map: IndexMap) -> str:
    """``backpermute`` to ``out_shape`` reading ``source`` at ``index_map(*index names)``.

    >>> gather(Printer(), (2,), "x", lambda i: [f"{i} + 1"])
    'backpermute (I1 2) (\\\\(I1 i) -> I1 (i + 1)) x'
    """
    names = [p.fresh(n) for n in "ijklmnopq"[: len(out_shape)]]
    result = list(index_map(*names))
    used = set(" ".join(result).replace("(", " ").replace(")", " ").split())
    pattern = index_pattern([n if n in used else "_" for n in names])
    target = "Z_" if not result else f"I{len(result)} " + " ".join(paren(r) for r in result)
    return f"backpermute {paren(shape_exp(out_shape))} (\\{pattern} -> {target}) {paren(source)}"


def permute_axes(p: Printer, source: str, shape: Sequence[int], perm: Sequence[int]) -> str:
    """``source`` (of ``shape``) with axes permuted: output axis ``d`` is input axis ``perm[d]``.

    >>> permute_axes(Printer(), "x", (2, 3, 4), (2, 0, 1))
    'backpermute (I3 4 2 3) (\\\\(I3 i j k) -> I3 j k i) x'
    """
    if list(perm) == [1, 0]:
        return f"transpose {paren(source)}"
    out_shape = [shape[d] for d in perm]

    def index_map(*out: str) -> list[str]:
        inverse = [list(perm).index(a) for a in range(len(perm))]
        return [out[inverse[a]] for a in range(len(perm))]

    return gather(p, out_shape, source, index_map)


def affine(name: str, scale: int, offset: int) -> str:
    """``scale * name + offset`` written without noise (``i``, ``i + 2``, ``2 * i - 1``).

    >>> affine("i", 1, 0), affine("i", 2, -1)
    ('i', '2 * i - 1')
    """
    text = name if scale == 1 else f"{scale} * {name}"
    if isinstance(offset, SymInt):  # an expression of the extents: its sign is the example's, not always
        return f"{text} + {offset}"
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
        spec = ["All" if d in dims else n for d, n in enumerate(shape)]
        return f"replicate {replicate_spec(spec)} {paren(source)}"

    def index_map(*out: str) -> list[str]:
        return ["0" if x.shape[a] == 1 else out[d] for a, d in enumerate(dims)]

    return gather(p, shape, source, index_map)


def replicate_spec(spec: Sequence[int | str]) -> str:
    """A ``replicate`` specifier: ``All`` keeps an axis, an extent adds one; an ``Exp`` once extents are symbols.

    >>> replicate_spec(["All", 3])
    '(constant (Z :. All :. (3 :: Int)))'
    """
    if not any(isinstance(n, SymInt) for n in spec):
        return f"(constant ({' :. '.join(['Z', *(n if n == 'All' else f'({n} :: Int)' for n in spec)])}))"
    items = [n if n == "All" or isinstance(n, SymInt) else f"({n} :: Int)" for n in spec]
    return f"(lift ({' :. '.join(['Z', *map(str, items)])}))"


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
    offsets = list(itertools.accumulate((a.shape[axis] for a in arrays), initial=0))

    def read(k: int) -> str:
        index = [affine(o, 1, -offsets[k]) if d == axis else o for d, o in enumerate(names)]
        return f"{p.array(arrays[k])} ! I{len(index)} " + " ".join(paren(i) for i in index)

    body = read(len(arrays) - 1)
    for k in range(len(arrays) - 2, -1, -1):
        body = f"{names[axis]} < {offsets[k + 1]} ? ({read(k)}, {body})"
    return f"generate {paren(shape_exp(out_shape))} (\\{index_pattern(names)} -> {body})"


def _boundary_index(index: str, n: int, boundary: str) -> str:
    """``index`` (an offset position, possibly outside ``[0, n)``) brought inside as ``boundary`` says."""
    if n == 0:
        return "0"  # an empty axis: no element is computed, the read is never made (and 2n - 2 would be negative)
    if boundary == "wrap":
        return f"{paren(index)} `mod` {n}"
    if boundary == "mirror":  # reflect without repeating the edge (period 2n - 2), as accelerate and interp do
        if n == 1:
            return "0"
        period = f"(max 1 {2 * n - 2})" if isinstance(n, SymInt) else 2 * n - 2  # an n of 1 reads index 0
        folded = f"{paren(index)} `mod` {period}"
        return f"{folded} >= {n} ? ({period} - {folded}, {folded})"
    return f"max 0 (min {n - 1} {paren(index)})"  # clamp, and constant (its reads outside are not used)


def stencil_by_generate(p: Printer, stmt: Stmt) -> str:
    """A stencil as ``generate``: each neighbour read at its boundary-mapped index, then the lambda's body.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> prog = trace(lambda v: acc.stencil(lambda n: n[0], v, 1), np.ones(4)).program
    >>> p = Printer()
    >>> _ = p.bind(prog.inputs[0], array_level=True)
    >>> print(stencil_by_generate(p, prog.stmts[0]))
    generate (I1 4) (\\(I1 i) ->
      let a = v ! I1 i
      in  a)
    """
    (x,) = stmt.args
    size, boundary, lam = tuple(stmt.params["size"]), stmt.params["boundary"], stmt.params["lam"]
    names = [p.fresh(n) for n in "ijklmnopq"[: len(size)]]
    neighbours = p.bind_inputs(lam)
    offsets = itertools.product(*(range(-(s // 2), s // 2 + 1) for s in size))
    bindings = []
    used = use_counts(lam, live_stmts(lam.stmts, lam.outputs))
    for var, neighbour, offset in zip(lam.inputs, neighbours, offsets, strict=True):
        if not used[var]:
            continue
        shifted = [affine(i, 1, d) for i, d in zip(names, offset, strict=True)]
        at = [
            i if d == 0 else _boundary_index(s, n, boundary)
            for i, s, d, n in zip(names, shifted, offset, x.shape, strict=True)
        ]
        read = f"{p.array(x)} ! I{len(at)} " + " ".join(paren(a) for a in at) if at else f"the {p.array(x)}"
        outside = [f"{s} < 0 || {s} >= {n}" for s, d, n in zip(shifted, offset, x.shape, strict=True) if d]
        if boundary == "constant" and outside:
            value = p.exp(Lit(stmt.params["value"], x.dtype), operand_with_var=True)
            read = f"{' || '.join(outside)} ? ({value}, {read})"
        bindings.append(f"{neighbour} = {read}")
    body = let_block(bindings, p.body(lam, array_level=False))
    return f"generate {paren(shape_exp(x.shape))} ({lambda_text([index_pattern(names)], body)})"


RULES: dict[str, Callable[[Printer, Stmt, bool], str]] = {
    "const": _const,
    "broadcast_in_dim": _broadcast,
    "reshape": _reshape,
    "transpose": _transpose,
    "reverse": _reverse,
    "slice": _slice,
    "pad": _pad,
    "concatenate": _concatenate,
}
