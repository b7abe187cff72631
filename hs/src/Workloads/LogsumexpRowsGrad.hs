-- | logsumexpRowsGrad, exported by pyaccad from a trace at the example arguments a :: f32[4,5].
module Workloads.LogsumexpRowsGrad (logsumexpRowsGrad) where

import Data.Array.Accelerate
import Prelude ()

logsumexpRowsGrad :: Acc (Matrix Float) -> Acc (Matrix Float)
logsumexpRowsGrad a =
  let b = maximum a
      c = replicate (constant (Z :. All :. (5 :: Int))) b
      d = zipWith (==) a c
      e = map (\v -> v ? (1.0, 0.0)) d
      f = fold1 (+) e
      g = reshape (I2 4 1) b
      h = backpermute (I2 4 5) (\(I2 i _) -> I2 i 0) g
      o = zipWith (-) a h
      p = map exp o
      q = sum p
      r = compute (map (1.0 /) q)
      s = replicate (constant (Z :. All :. (5 :: Int))) r
      t = zipWith (*) s p
      u = map negate t
      v = fold1 (+) u
      w = reshape (I2 4 1) v
      x = map (1.0 +) w
      y = reshape (I1 4) x
      z = compute (zipWith (/) y f)
      aa = replicate (constant (Z :. All :. (5 :: Int))) z
      ab = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) d aa
  in
  zipWith (+) t ab
