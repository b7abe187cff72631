-- | mlp, exported by pyaccad from a trace at the example arguments params0 :: f32[6,5], params1 :: f32[5], params2 :: f32[5,5], params3 :: f32[5], params4 :: f32[5,3], params5 :: f32[3], x :: f32[4,6], labels :: i64[4].
module Workloads.Mlp (mlp) where

import Data.Array.Accelerate
import Prelude ()

mlp :: Acc (Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Int) -> Acc (Scalar Float)
mlp (T8 params0 params1 params2 params3 params4 params5 x labels) =
  let a = fold (+) 0 (zipWith (*) (replicate (constant (Z :. All :. (5 :: Int) :. All)) x)
                                (replicate (constant (Z :. (4 :: Int) :. All :. All)) (transpose params0)))
      b = replicate (constant (Z :. (4 :: Int) :. All)) params1
      c = zipWith (+) a b
      d = map tanh c
      e = fold (+) 0 (zipWith (*) (replicate (constant (Z :. All :. (5 :: Int) :. All)) d)
                                (replicate (constant (Z :. (4 :: Int) :. All :. All)) (transpose params2)))
      f = replicate (constant (Z :. (4 :: Int) :. All)) params3
      g = zipWith (+) e f
      h = map tanh g
      o = fold (+) 0 (zipWith (*) (replicate (constant (Z :. All :. (3 :: Int) :. All)) h)
                                (replicate (constant (Z :. (4 :: Int) :. All :. All)) (transpose params4)))
      p = replicate (constant (Z :. (4 :: Int) :. All)) params5
      q = zipWith (+) o p
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
