"""Export of ``matmul``: each element of the product one scalar sum, in one ``generate``.

accelerate's textbook product (both operands replicated to ``m × n × k``,
multiplied, ``fold``-ed over ``k``) runs a three-dimensional ``fold`` whose rows
are ``k`` long: for the batched 10×10 products of the Gaussian mixture
(``gmm``) that fold, and its twin in the gradient, took most of the bridge's
time. Here each output element is its own sum, which accelerate fuses into
whatever reads the product (``generate`` is a delayed producer):

* an inner extent that is a number up to :data:`UNROLL_MAX` is summed written
  out, ``let dot l = a ! I2 i l * b ! I2 l j in dot 0 + dot 1 + dot 2``, with
  no loop at all;
* a longer or symbolic one calls the helper ``sumOver n (\\l -> ...)``
  (:data:`pyaccad.export.sums.SUM_OVER`), a scalar ``while`` that keeps eight partial sums, whose
  additions do not wait on one another (accelerate never lets LLVM reorder a
  float sum into vector lanes). Where the program also holds the right
  operand's transpose (the gmm gradient reads the centred data both ways), the
  sum reads that, so both operands are walked along ``k`` in memory order.

Float rank-2 products go to ``accelerate-blas``'s ``<>`` (a ``gemm``) when the
printer was asked for BLAS; a transpose only such products read is its ``T``
(:func:`pyaccad.export.printer.blas_operand_transposes`).

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> from pyaccad.export.printer import Printer
>>> prog = trace(lambda a, b: a @ b, np.ones((2, 3)), np.ones((3, 4))).program
>>> p = Printer()
>>> _ = [p.bind(v, array_level=True) for v in prog.inputs]
>>> print(matmul(p, prog.stmts[0], True))
generate (I2 2 4) (\\(I2 i j) ->
  let dot k = a ! I2 i k * b ! I2 k j
  in  dot 0 + dot 1 + dot 2)
"""

from __future__ import annotations

from pyaccad.export.printer import Printer
from pyaccad.export.symbolic import SymInt
from pyaccad.export.syntax import index_pattern, lambda_text, paren, shape_exp
from pyaccad.ir import FLOAT_DTYPES, Lit, Stmt

UNROLL_MAX = 16
"""Inner extents up to this (known at export) print their sum written out; longer ones loop (``sumOver``)."""


def is_gemm(stmt: Stmt, blas: bool) -> bool:
    """Whether the product ``stmt`` prints as accelerate-blas's ``gemm`` (else as sums) when ``blas`` is asked.

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> stmt = trace(lambda a, b: a @ b, np.ones((2, 3)), np.ones((3, 4))).program.stmts[0]
    >>> is_gemm(stmt, blas=True), is_gemm(stmt, blas=False)
    (True, False)
    """
    a = stmt.args[0]
    return blas and len(a.shape) == 2 and a.dtype in FLOAT_DTYPES


def matmul(p: Printer, stmt: Stmt, array_level: bool) -> str:
    """The export rule of ``matmul`` (see the module docstring)."""
    a, b = stmt.args
    if is_gemm(stmt, p.blas):
        if a not in p.blas_transposed and b not in p.blas_transposed:
            return f"{paren(p.array(a))} BLAS.<> {paren(p.array(b))}"
        # an operand that is a transpose only products read: gemm reads its source transposed in place
        transposed = p.blas_transposed
        operands = [
            f"BLAS.T {paren(p.array(transposed[x]))}" if x in transposed else f"BLAS.N {paren(p.array(x))}"
            for x in (a, b)
        ]
        return f"BLAS.gemm 1 {' '.join(operands)}"
    (out,) = stmt.outs
    inner = a.shape[-1]
    known = not isinstance(inner, SymInt)  # else an expression of the inputs' extents (shape-generic export)
    if known and inner == 0:
        return f"fill {paren(shape_exp(out.shape))} {p.annotated(Lit(0, out.dtype))}"
    names = [p.fresh(n) for n in "ijklmnopq"[: len(out.shape) + 1]]
    *batch, row, col, k = names

    def read(array: str, *ix: str) -> str:
        return f"{array} ! I{len(batch) + 2} {' '.join([*batch, *ix])}"

    left = read(p.array(a), row, k)
    right = read(p.array(b), k, col)
    if known and inner <= UNROLL_MAX:
        dot = p.fresh("dot")
        terms = [f"{dot} {n}" for n in range(inner)]
        lines = [" + ".join(terms[n : n + 8]) for n in range(0, inner, 8)]  # eight terms a line
        body = [f"let {dot} {k} = {left} * {right}", f"in  {lines[0]}", *(f"    + {line}" for line in lines[1:])]
    else:
        p.helpers.add("sumOver")
        if b in p.swapped:  # b's transpose is bound too: the long sum reads it along k, in memory order
            right = read(p.array(p.swapped[b]), col, k)
        body = [f"sumOver {paren(str(inner))} (\\{k} -> {left} * {right})"]
    return f"generate {paren(shape_exp(out.shape))} ({lambda_text([index_pattern(names[:-1])], body)})"
