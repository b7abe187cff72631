"""The generic target's linear algebra: ``cholesky``, ``triangular_solve`` and ``solve`` in plain Haskell.

accelerate has no LAPACK, but ``Numeric.AD`` differentiates any Haskell: each matrix of a batch is cut from
its flat vector as a row-major list and handed to a small helper printed into the module (:data:`HELPERS`),
written as the textbook algorithms, lazily self-referential: the Cholesky–Banachiewicz recurrence, forward
or backward substitution, and Gaussian elimination with partial pivoting (the largest magnitude in the
column, the first of equals, as LAPACK's ``idamax``). Their results agree with LAPACK's to rounding (other
orders of the same sums); a matrix that is not positive definite, or is singular, gives NaNs or infinities
rather than an error, as pyaccad's backends give NaNs.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad.export import export_generic
>>> src = export_generic(lambda a: acc.linalg.cholesky(a).sum(), np.eye(3) * 4.0, name="c")
>>> print(next(line for line in src.splitlines() if "[choleskyRows" in line).strip())
f = V.fromList (concat [choleskyRows 3 (V.toList (V.slice (q * 9) 9 e)) | q <- [0 .. 0]])
>>> "choleskyRows :: RealFloat a => Int -> [a] -> [a]" in src
True
"""

from __future__ import annotations

from math import prod

from pyaccad.export.generic_printer import GenericPrinter
from pyaccad.ir import Atom, Stmt

HELPERS = {
    "cholesky": [
        "-- | The lower Cholesky factor of the n x n row-major matrix m (its lower triangle read), row-major.",
        "choleskyRows :: RealFloat a => Int -> [a] -> [a]",
        "choleskyRows n m = concat rows",
        "  where",
        "    rows = [[entry i j | j <- [0 .. n - 1]] | i <- [0 .. n - 1]]",
        "    l i j = rows !! i !! j",
        "    entry i j",
        "      | j > i = 0",
        "      | i == j = sqrt (m !! (i * n + i) - sum [l i k * l i k | k <- [0 .. j - 1]])",
        "      | otherwise = (m !! (i * n + j) - sum [l i k * l j k | k <- [0 .. j - 1]]) / l j j",
    ],
    "triangular_solve": [
        "-- | x with op(t) x = b, t the lower (or upper) triangle of the n x n matrix a, transposed when asked;",
        "-- b and x n x k; row-major lists. The other triangle is never read.",
        "triangularSolveRows :: RealFloat a => Bool -> Bool -> Int -> Int -> [a] -> [a] -> [a]",
        "triangularSolveRows lower transposed n k a b = concat xs",
        "  where",
        "    t i j = if transposed then a !! (j * n + i) else a !! (i * n + j)",
        "    others i = if lower /= transposed then [0 .. i - 1] else [i + 1 .. n - 1]",
        "    xs = [[(b !! (i * k + c) - sum [t i j * xs !! j !! c | j <- others i]) / t i i | c <- [0 .. k - 1]]",
        "         | i <- [0 .. n - 1]]",
    ],
    "solve": [
        "-- | x with a x = b (a n x n, b and x n x k; row-major lists): Gaussian elimination with partial pivoting.",
        "solveRows :: RealFloat a => Int -> Int -> [a] -> [a] -> [a]",
        "solveRows n k a b = concat xs",
        "  where",
        "    augmented = [[a !! (i * n + j) | j <- [0 .. n - 1]] ++ [b !! (i * k + c) | c <- [0 .. k - 1]]",
        "                | i <- [0 .. n - 1]]",
        "    eliminate col rows",
        "      | col == n = rows",
        "      | otherwise = eliminate (col + 1) (done ++ pivot : map reduce others)",
        "      where",
        "        (done, rest) = splitAt col rows",
        "        p = foldl (\\best q -> if abs (rest !! q !! col) > abs (rest !! best !! col) then q else best) 0",
        "              [0 .. length rest - 1]",
        "        pivot = rest !! p",
        "        others = [r | (r, q) <- zip rest [0 ..], q /= p]",
        "        reduce r = zipWith (\\u v -> u - (r !! col / pivot !! col) * v) r pivot",
        "    u = eliminate 0 augmented",
        "    xs = [[(u !! i !! (n + c) - sum [u !! i !! j * xs !! j !! c | j <- [i + 1 .. n - 1]]) / u !! i !! i",
        "          | c <- [0 .. k - 1]]",
        "         | i <- [0 .. n - 1]]",
    ],
}
"""Each primitive's helper, printed once into a module that uses it."""


def linalg(p: GenericPrinter, stmt: Stmt, array_level: bool) -> str:
    """Each matrix of the batch through the primitive's helper, the results concatenated in batch order."""
    name = stmt.prim.name
    p.helpers.add(name)
    a = stmt.args[0]
    q = p.fresh("q")

    def matrix(x: Atom) -> str:
        size = prod(x.shape[-2:])
        return f"(V.toList (V.slice ({q} * {size}) {size} {p.exp(x)}))"

    n = a.shape[-1]
    if name == "cholesky":
        call = f"choleskyRows {n} {matrix(a)}"
    else:
        b = stmt.args[1]
        k = b.shape[-1]
        if name == "solve":
            call = f"solveRows {n} {k} {matrix(a)} {matrix(b)}"
        else:
            flags = " ".join(str(bool(stmt.params[f])) for f in ("lower", "transpose_a"))
            call = f"triangularSolveRows {flags} {n} {k} {matrix(a)} {matrix(b)}"
    return f"V.fromList (concat [{call} | {q} <- [0 .. {prod(a.shape[:-2]) - 1}]])"
