-- | logsumexpRows, exported by pyaccad from a trace at the example arguments a :: f32[4,6].
-- Written for every size: n = a's axis 0; m = a's axis 1.
module LogsumexpRows (logsumexpRows) where

import Data.Array.Accelerate
import Prelude ()

logsumexpRows :: Acc (Matrix Float) -> Acc (Scalar Float)
logsumexpRows a =
  let I2 n m = shape a
      b = maximum a
      c = reshape (I2 n 1) b
      d = backpermute (I2 n m) (\(I2 i _) -> I2 i 0) c
      e = zipWith (-) a d
      f = map exp e
      g = sum f
      h = map log g
      o = zipWith (+) h b
  in
  sum o
