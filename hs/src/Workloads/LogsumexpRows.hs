-- | logsumexpRows, exported by pyaccad from a trace at the example arguments a :: f32[4,5].
-- Written for every size: n = a's axis 0; m = a's axis 1.
module Workloads.LogsumexpRows (logsumexpRows) where

import Data.Array.Accelerate
import Prelude ()

logsumexpRows :: Acc (Matrix Float) -> Acc (Scalar Float)
logsumexpRows a =
  let I2 n m = shape a
      c = fold1 (\a1 b -> isNaN a1 || isNaN b ? (a1 + b, max a1 b)) a
      d = reshape (I2 n 1) c
      e = backpermute (I2 n m) (\(I2 i _) -> I2 i 0) d
      f = zipWith (-) a e
      g = map exp f
      h = sum g
      o = map log h
      p = sum d
      q = zipWith (+) o p
  in
  sum q
