"""The evaluator of exported Haskell (``hs_eval``) against accelerate's own documentation.

Where accelerate's Haddock documentation shows a result (``Data.Array.Accelerate.Language``,
``.Prelude``, accelerate-blas), the evaluator must give it; where it defines an
operation by its reference interpreter (stencil boundaries, fold order), the
expectations are worked out by hand from that definition. Then the Haskell the
evaluator must read as GHC does (fixities, layout), the errors that make an
unknown construct fail loudly, and the rounding bound that the meaning tests'
tolerances rest on.
"""

from __future__ import annotations

import numpy as np
import pytest
from hs_eval import HsRuntimeError, HsSyntaxError, HsTypeError, Unsupported, evaluate_module


def run(result_type: str, body: str, *inputs: np.ndarray, arg_types: str = "", helpers: str = "") -> list:
    """Evaluate ``f args = body`` in a module of its own; the values of its results."""
    signature = f"f :: {arg_types + ' -> ' if arg_types else ''}Acc {result_type}"
    head = (
        "f"
        if not inputs
        else "f x"
        if len(inputs) == 1
        else "f (" + ", ".join(f"x{k}" for k in range(len(inputs))) + ")"
    )
    head = head.replace("(x0, x1)", "(T2 x0 x1)")
    source = "\n".join(
        [
            "module M (f) where",
            "import Data.Array.Accelerate",
            "import Prelude ()",
            signature,
            f"{head} =",
            *("  " + line for line in body.splitlines()),
            helpers,
        ]
    )
    return [out.values for out in evaluate_module(source + "\n", *inputs)]


VEC = "use (fromList (Z :. 10) [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] :: Vector Int)"
MAT = "use (fromList (Z :. 5 :. 10) [" + ", ".join(map(str, range(50))) + "] :: Matrix Int)"


# --- examples from accelerate's documentation ---------------------------------------------------------------
def test_replicate_as_documented():
    rows, columns, both = run(
        "(Matrix Int, Matrix Int, Array DIM3 Int)",
        f"let vec = {VEC}\nin  T3 (replicate (constant (Z :. (4 :: Int) :. All)) vec)\n"
        "       (replicate (lift (Z :. All :. (4 :: Int))) vec)\n"
        "       (replicate (constant (Z :. (2 :: Int) :. All :. (3 :: Int))) vec)",
    )
    np.testing.assert_array_equal(rows, np.tile(np.arange(10), (4, 1)))
    np.testing.assert_array_equal(columns, np.repeat(np.arange(10)[:, None], 4, axis=1))
    assert both.shape == (2, 10, 3) and both.reshape(-1)[:7].tolist() == [0, 0, 0, 1, 1, 1, 2]


def test_replicate_with_any_as_documented():
    (out,) = run("(Vector Int)", "replicate (lift (Any :. (10 :: Int))) (unit (42 :: Exp Int))")
    np.testing.assert_array_equal(out, [42] * 10)


def test_slice_as_documented():
    cube = "use (fromList (Z :. 3 :. 4 :. 5) [" + ", ".join(map(str, range(60))) + "] :: Array DIM3 Int)"
    row, element, column, row4, plane, at4 = run(
        "(Vector Int, Scalar Int, Vector Int, Vector Int, Matrix Int, Scalar Int)",
        f"T6 (slice ({MAT}) (constant (Z :. (2 :: Int) :. All)))\n"
        f"   (slice ({MAT}) (constant (Z :. (4 :: Int) :. (2 :: Int))))\n"
        f"   (slice ({MAT}) (lift (Any :. (4 :: Int))))\n"
        f"   (slice ({MAT}) (lift (Any :. (4 :: Int) :. All)))\n"
        f"   (slice ({cube}) (lift (Any :. (2 :: Int) :. All)))\n"
        f"   (slice ({VEC}) (lift (Any :. (4 :: Int))))",
    )
    np.testing.assert_array_equal(row, range(20, 30))
    assert element == 42 and at4 == 4
    np.testing.assert_array_equal(column, [4, 14, 24, 34, 44])
    np.testing.assert_array_equal(row4, range(40, 50))
    np.testing.assert_array_equal(plane, [range(10, 15), range(30, 35), range(50, 55)])


def test_fold_all_as_documented_and_its_neighbours():
    vec, mat, largest, flat = run(
        "(Scalar Float, Scalar Float, Scalar Int, Vector Int)",
        f"T4 (foldAll (+) 42 (map fromIntegral ({VEC}))) (foldAll (+) 0 (map fromIntegral ({MAT})))\n"
        f"   (fold1All max ({MAT})) (flatten ({MAT}))",
    )
    assert (vec, mat, largest) == (87, 1225, 49)
    np.testing.assert_array_equal(flat, range(50))


def test_shapes_indices_and_tuples():
    (out,) = run(
        "(Vector Int)",
        f"let m = {MAT}\n"
        "    T2 i j = unindex2 (constant (Z :. (3 :: Int) :. (4 :: Int)))\n"
        "    (a, b) = unlift (lift (i, j))\n"
        "in  use (fromList (Z :. 0) []) ++ generate (I1 3) (\\(I1 k) ->\n"
        "      k == 0 ? (indexHead (shape m), k == 1 ? (size m, a * 10 + b)))",
    )
    np.testing.assert_array_equal(out, [10, 50, 34])


def test_fold_as_documented():
    (out,) = run("(Vector Int)", f"fold (+) 42 ({MAT})")
    np.testing.assert_array_equal(out, [87, 187, 287, 387, 487])


MAXIMUM_SEGMENT_SUM = """
mss :: Exp (Int, Int, Int, Int) -> Exp (Int, Int, Int, Int) -> Exp (Int, Int, Int, Int)
mss x y =
  let T4 mssx misx mcsx tsx = x
      T4 mssy misy mcsy tsy = y
  in
  T4 (mssx `max` (mssy `max` (mcsx+misy)))
     (misx `max` (tsx+misy))
     (mcsy `max` (mcsx+tsy))
     (tsx+tsy)
seg :: Exp Int -> Exp (Int, Int, Int, Int)
seg x = let y = max x 0
         in T4 y y y x
"""


def test_a_non_commutative_fold1_as_documented():
    # Data.Array.Accelerate.Language's maximum segment sum: fold1 of an associative, non-commutative function.
    (out,) = run(
        "(Scalar Int)",
        "map (\\(T4 x _ _ _) -> x) (fold1 mss (map seg (use (fromList (Z :. 10) "
        "[-2, 1, -3, 4, -1, 2, 1, -5, 4, 0] :: Vector Int))))",
        helpers=MAXIMUM_SEGMENT_SUM,
    )
    assert out == 6


def test_scans_as_documented():
    left, matrix, exclusive, sums, inclusive = run(
        "(Vector Int, Matrix Int, Vector Int, Scalar Int, Matrix Int)",
        f"let T2 res total = scanl' (+) 0 ({VEC})\n"
        f"in  T5 (scanl (+) 10 ({VEC})) (scanl (+) 0 ({MAT})) res total (scanl1 (+) ({MAT}))",
    )
    np.testing.assert_array_equal(left, [10, 10, 11, 13, 16, 20, 25, 31, 38, 46, 55])
    np.testing.assert_array_equal(matrix[1], [0, 10, 21, 33, 46, 60, 75, 91, 108, 126, 145])
    np.testing.assert_array_equal(exclusive, [0, 0, 1, 3, 6, 10, 15, 21, 28, 36])
    assert sums == 45
    np.testing.assert_array_equal(inclusive[3], [30, 61, 93, 126, 160, 195, 231, 268, 306, 345])


def test_right_scans_run_from_the_right():
    # The interpreter's scanrOp: out[n] = z, out[i] = x[i] `f` out[i + 1]; scanr' splits off out[0] as the total.
    right, right1, exclusive, total = run(
        "(Vector Int, Vector Int, Vector Int, Scalar Int)",
        f"let T2 a b = scanr' (-) 100 ({VEC})\nin  T4 (scanr (-) 100 ({VEC})) (scanr1 (-) ({VEC})) a b",
    )
    expected, expected1 = [100], [9]
    for x in reversed(range(10)):
        expected.insert(0, x - expected[0])
    for x in reversed(range(9)):
        expected1.insert(0, x - expected1[0])
    np.testing.assert_array_equal(right, expected)
    np.testing.assert_array_equal(right1, expected1)
    np.testing.assert_array_equal(exclusive, expected[1:])
    assert total == expected[0]


def test_permute_histogram_and_identity_as_documented():
    histogram, identity = run(
        "(Vector Int, Matrix Int)",
        "let xs = use (fromList (Z :. 20) [0,0,1,2,1,1,2,4,8,3,4,9,8,3,2,5,5,3,1,2] :: Vector Int)\n"
        "    zeros = fill (constant (Z :. 10)) (0 :: Exp Int)\n"
        "    ones = fill (shape xs) (1 :: Exp Int)\n"
        "    n = 5 :: Exp Int\n"
        "in  T2 (permute (+) zeros (\\ix -> Just_ (I1 (xs ! ix))) ones)\n"
        "       (permute const (fill (I2 n n) 0) (\\(I1 i) -> Just_ (I2 i i)) (fill (I1 n) (1 :: Exp Int)))",
    )
    np.testing.assert_array_equal(histogram, [2, 4, 4, 3, 2, 2, 0, 0, 2, 1])
    np.testing.assert_array_equal(identity, np.eye(5, dtype=np.int64))


def test_concatenation_index_and_transpose_as_documented():
    joined, element, flipped = run(
        "(Matrix Int, Scalar Int, Matrix Int)",
        f"let m2 = use (fromList (Z :. 10 :. 3) [{', '.join(map(str, range(30)))}] :: Matrix Int)\n"
        f"in  T3 (({MAT}) ++ m2) (unit (({MAT}) ! constant (Z :. 1 :. 2))) (transpose ({MAT}))",
    )
    assert joined.shape == (5, 13) and joined[1].tolist() == [10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 3, 4, 5]
    assert element == 12
    np.testing.assert_array_equal(flipped, np.arange(50).reshape(5, 10).T)


def test_blas_matrix_product_as_documented():
    source = (
        "module M (f) where\nimport Data.Array.Accelerate\n"
        "import qualified Data.Array.Accelerate.Numeric.LinearAlgebra as BLAS\nimport Prelude ()\n"
        "f :: Acc (Matrix Double, Matrix Double) -> Acc (Matrix Double)\nf (T2 a b) = a BLAS.<> b\n"
    )
    a = np.arange(1.0, 16.0).reshape(3, 5)
    b = np.array([1, 3, 0, 2, -1, 5, 7, 7, 6, 0], dtype=np.float64).reshape(5, 2)
    (out,) = evaluate_module(source, a, b)
    np.testing.assert_array_equal(out.values, [[56, 50], [121, 135], [186, 220]])


# --- stencil boundaries, from the reference interpreter's `bound` ------------------------------------------
@pytest.mark.parametrize(
    ("boundary", "left", "right", "two_left"),
    [
        ("clamp", [10, 10, 20, 30], [20, 30, 40, 40], [10, 10, 10, 20]),
        ("mirror", [20, 10, 20, 30], [20, 30, 40, 30], [30, 20, 10, 20]),  # -i, and n - (i - n + 2)
        ("wrap", [40, 10, 20, 30], [20, 30, 40, 10], [30, 40, 10, 20]),
        ("function (const 0)", [0, 10, 20, 30], [20, 30, 40, 0], [0, 0, 10, 20]),
    ],
)
def test_stencil_boundaries(boundary, left, right, two_left):
    outs = run(
        "(Vector Int, Vector Int, Vector Int)",
        f"let v = use (fromList (Z :. 4) [10, 20, 30, 40] :: Vector Int)\n"
        f"in  T3 (stencil (\\(a, _, _) -> a) ({boundary}) v) (stencil (\\(_, _, c) -> c) ({boundary}) v)\n"
        f"       (stencil (\\(a, _, _, _, _) -> a) ({boundary}) v)",
    )
    assert [o.tolist() for o in outs] == [left, right, two_left]


def test_stencil_patterns_are_row_major():
    # The outer tuple runs over the outer axis: ((a, b, c), ...) holds (i-1, j-1), (i-1, j), (i-1, j+1).
    (out,) = run(
        "(Matrix Int)",
        "stencil (\\((a, b, _), _, (_, _, c)) -> 100 * a + 10 * b + c) clamp "
        "(use (fromList (Z :. 2 :. 3) [1, 2, 3, 4, 5, 6] :: Matrix Int))",
    )
    np.testing.assert_array_equal(out, [[115, 126, 236], [115, 126, 236]])


# --- Haskell as GHC reads it ---------------------------------------------------------------------------------
def test_fixities_and_numeric_semantics():
    cases = {
        "2 * 5 `mod'` 3": 4,  # mod' has no fixity declaration: infixl 9, tighter than (*)
        "(-7) `mod'` 3": 2,  # n - floor (n / d) * d
        "2 ^ 3 ^ 2 / 64": 8,  # ^ is infixr 8
        "1 - 2 - 3": -4,  # - is infixl 6
        "-2 ^ 2": -4,  # negation binds looser than ^
        "toFloating (round (2.5 :: Exp Double) :: Exp Int)": 2,  # round half to even
        "toFloating (round (3.5 :: Exp Double) :: Exp Int)": 4,
        "toFloating (truncate (-2.7 :: Exp Double) :: Exp Int)": -2,  # toward zero
    }
    (out,) = run("(Vector Double)", f"use (fromList (Z :. {len(cases)}) [{', '.join(cases)}] :: Vector Double)")
    np.testing.assert_array_equal(out, list(cases.values()))


def test_integer_division_and_powers_follow_haskell_and_accelerate():
    (out,) = run(
        "(Vector Int)",
        "map (\\v -> v `div` 2 * 100 + v `mod` 2 * 10 + v ^ (0 :: Exp Int) + 3 ^ negate (boolToInt (v < 0)))"
        " (use (fromList (Z :. 2) [-7, 7] :: Vector Int))",
    )
    # div/mod floor; accelerate's x ^ n is 1 for n <= 0 (Data.Array.Accelerate.Language).
    np.testing.assert_array_equal(out, [-400 + 10 + 1 + 1, 300 + 10 + 1 + 1])


def test_quot_and_rem_truncate_and_from_integer_wraps():
    (out,) = run(
        "(Vector Int)",
        "map (\\v -> v `quot` 2 * 100 + v `rem` 2 * 10"
        " + fromIntegral (fromIntegral (v * 4611686018427387905) :: Exp Int32))"
        " (use (fromList (Z :. 2) [-7, 7] :: Vector Int))",
    )
    # quot/rem toward zero (Haskell's, and LLVM's sdiv/srem that accelerate-llvm prints them as); fromIntegral of an
    # Int to Int32 keeps the low 32 bits: v (2^62 + 1) overflows Int, and its low 32 bits are v's
    np.testing.assert_array_equal(out, [-300 - 10 - 7, 300 + 10 + 7])


def test_float_digits_is_the_types_significand():
    (out,) = run(
        "(Vector Int)",
        "use (fromList (Z :. 2) [floatDigits (1 :: Exp Float), floatDigits (1 :: Exp Double)] :: Vector Int)",
    )
    np.testing.assert_array_equal(out, [24, 53])


def test_layout_and_laziness():
    (out,) = run(
        "(Vector Float)",
        "let v = use (fromList (Z :. 3) [1, 2, 3] :: Vector Float)\n"
        "    w = generate (I1 3) (\\(I1 i) ->\n"
        "          let j = i + 1\n"
        "              k = j * 2\n"
        "          in  j < 3 ? (v ! I1 j * toFloating k, 0))\n"
        "in\n"
        "zipWith (+) v w",
        # reads v ! I1 3 only where j < 3 fails: ? evaluates one branch, as cond does
    )
    np.testing.assert_array_equal(out, [1 + 2 * 2, 2 + 3 * 4, 3])


# --- what must fail, and how -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        ("lift1 negate (use (fromList (Z :. 1) [1] :: Vector Float))", Unsupported, "unknown name 'lift1'"),
        ("if True then unit (1 :: Exp Float) else unit 2", Unsupported, "'if' expressions"),
        ("map (\\v -> v > 0 && True) (fill (I1 1) (1 :: Exp Float))", HsTypeError, "Prelude Bool"),
        ("zipWith (+) (fill (I1 1) (1 :: Exp Float)) (fill (I1 1) (1 :: Exp Double))", HsTypeError, "Double"),
        ("generate (I1 2) (\\(I1 i) -> fill (I1 1) (1 :: Exp Float) ! I1 i)", HsRuntimeError, "outside an array"),
        ("map (\\v -> toFloating (3 `div` v)) (fill (I1 1) (0 :: Exp Int))", HsRuntimeError, "division by zero"),
        ("map (\\v -> v +) (fill (I1 1) (1 :: Exp Float)", HsSyntaxError, "expected"),
    ],
)
def test_what_the_evaluator_does_not_know_or_accelerate_rejects_fails_naming_it(body, error, message):
    with pytest.raises(error, match=message):
        run("(Vector Float)", body)


# --- the rounding bound ------------------------------------------------------------------------------------
def test_the_bound_covers_a_cancelling_float32_sum():
    source = (
        "module M (f) where\nimport Data.Array.Accelerate\nimport Prelude ()\n"
        "f :: Acc (Vector Float) -> Acc (Scalar Float)\nf x = sum x\n"
    )
    x = np.float32([1e8, 1, -1e8, 3])
    (out,) = evaluate_module(source, x)
    exact = float(np.sum(x.astype(np.float64)))
    assert abs(float(out.values) - exact) <= out.bounds  # float32 loses the 1 (and the 3, summed in that order)
    assert out.bounds < 1e-6 * 2 * 1e8 * 4  # ... and stays in proportion to the magnitudes summed
