-- | logsumexpRowsGrad, exported by pyaccad from a trace at the example arguments a :: f32[4,5].
-- Written for every size: n = a's axis 0; m = a's axis 1.
module Workloads.LogsumexpRowsGrad (logsumexpRowsGrad) where

import Data.Array.Accelerate
import Prelude ()

logsumexpRowsGrad :: Acc (Matrix Float) -> Acc (Matrix Float)
logsumexpRowsGrad a =
  let I2 n m = shape a
      b = maximum a
      c = replicate (lift (Z :. All :. m)) b
      d = zipWith (==) a c
      e = map (\v -> v ? (1.0, 0.0)) d
      f = fold1 (+) e
      g = reshape (I2 n 1) b
      h = backpermute (I2 n m) (\(I2 i _) -> I2 i 0) g
      o = zipWith (-) a h
      p = map exp o
      q = sum p
      r = compute (map (1.0 /) q)
      s = replicate (lift (Z :. All :. m)) r
      t = zipWith (*) s p
      u = map negate t
      v = fold1 (+) u
      w = reshape (I2 n 1) v
      x = map (1.0 +) w
      y = reshape (I1 n) x
      z = compute (zipWith (/) y f)
      aa = replicate (lift (Z :. All :. m)) z
      ab = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) d aa
  in
  zipWith (+) t ab
