-- | mlp, exported by pyaccad from a trace at the example arguments params00 :: f32[6,5], params01 :: f32[5], params10 :: f32[5,5], params11 :: f32[5], params20 :: f32[5,3], params21 :: f32[3], x :: f32[4,6], labels :: i64[4].
module Workloads.Mlp (mlp) where

import Data.Array.Accelerate
import Prelude ()

mlp :: Acc (Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Int) -> Acc (Scalar Float)
mlp (T8 params00 params01 params10 params11 params20 params21 x labels) =
  let a = fold (+) 0 (zipWith (*) (replicate (constant (Z :. All :. (5 :: Int) :. All)) x)
                                (replicate (constant (Z :. (4 :: Int) :. All :. All)) (transpose params00)))
      b = replicate (constant (Z :. (4 :: Int) :. All)) params01
      c = zipWith (+) a b
      d = compute (map tanh c)
      e = fold (+) 0 (zipWith (*) (replicate (constant (Z :. All :. (5 :: Int) :. All)) d)
                                (replicate (constant (Z :. (4 :: Int) :. All :. All)) (transpose params10)))
      f = replicate (constant (Z :. (4 :: Int) :. All)) params11
      g = zipWith (+) e f
      h = compute (map tanh g)
      o = fold (+) 0 (zipWith (*) (replicate (constant (Z :. All :. (3 :: Int) :. All)) h)
                                (replicate (constant (Z :. (4 :: Int) :. All :. All)) (transpose params20)))
      p = replicate (constant (Z :. (4 :: Int) :. All)) params21
      q = compute (zipWith (+) o p)
      r = generate (I1 4) (\(I1 i) -> q ! I2 i (labels ! I1 i))
      s = maximum q
      t = reshape (I2 4 1) s
      u = backpermute (I2 4 3) (\(I2 i1 _) -> I2 i1 0) t
      v = zipWith (-) q u
      w = map exp v
      y = sum w
      z = map log y
      aa = sum t
      ab = zipWith (+) z aa
      ac = zipWith (-) ab r
      ad = sum ac
  in
  map (/ 4.0) ad
