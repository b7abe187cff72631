-- | logsumexpRowsGrad, exported by pyaccad from a trace at the example arguments a :: f32[4,5].
-- Written for every size: n = a's axis 0; m = a's axis 1.
module Workloads.LogsumexpRowsGrad (logsumexpRowsGrad) where

import Data.Array.Accelerate
import Prelude ()

logsumexpRowsGrad :: Acc (Matrix Float) -> Acc (Matrix Float)
logsumexpRowsGrad a =
  let I2 n m = shape a
      c = fold1 (\a1 b -> isNaN a1 || isNaN b ? (a1 + b, max a1 b)) a
      d = replicate (lift (Z :. All :. m)) c
      e = zipWith (==) a d
      f = map (\v -> v ? (1.0, 0.0)) e
      g = fold1 (+) f
      h = reshape (I2 n 1) c
      o = backpermute (I2 n m) (\(I2 i _) -> I2 i 0) h
      p = zipWith (-) a o
      q = map exp p
      r = sum q
      s = compute (map (1.0 /) r)
      t = replicate (lift (Z :. All :. m)) s
      u = zipWith (*) t q
      v = map negate u
      w = fold1 (+) v
      x = reshape (I2 n 1) w
      y = map (1.0 +) x
      z = reshape (I1 n) y
      aa = compute (zipWith (/) z g)
      ab = replicate (lift (Z :. All :. m)) aa
      ac = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) e ab
  in
  zipWith (+) u ac
