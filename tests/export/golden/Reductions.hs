-- | reductions, exported by pyaccad from a trace at the example arguments a :: f32[3,4].
-- Written for every size: n = a's axis 0; m = a's axis 1.
module Reductions (reductions) where

import Data.Array.Accelerate
import Prelude ()

reductions :: Acc (Matrix Float) -> Acc (Vector Float, Vector Float, Vector Float, Vector Float, Scalar Float)
reductions a =
  let I2 n m = shape a
      b = sum a
      c = transpose a
      d = fold1 (\a1 b1 -> isNaN a1 || isNaN b1 ? (a1 + b1, max a1 b1)) c
      e = product (transpose a)
      f = fold1 (\p q -> isNaN p || isNaN q ? (p + q, min p q)) a
      g = reshape (I1 (n * m)) a
      h = sum g
  in
  T5 b d e f h
