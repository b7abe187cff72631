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
      r = map (1.0 /) q
      s = map (1.0 *) r
      t = replicate (constant (Z :. All :. (5 :: Int))) s
      u = zipWith (*) t p
      v = map negate u
      w = fold1 (+) v
      x = reshape (I2 4 1) w
      y = map (1.0 +) x
      z = reshape (I1 4) y
      aa = zipWith (/) z f
      ab = replicate (constant (Z :. All :. (5 :: Int))) aa
      ac = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) d ab
  in
  zipWith (+) u ac
