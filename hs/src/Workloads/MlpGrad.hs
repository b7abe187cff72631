-- | mlpGrad, exported by pyaccad from a trace at the example arguments params0 :: f32[6,5], params1 :: f32[5], params2 :: f32[5,5], params3 :: f32[5], params4 :: f32[5,3], params5 :: f32[3], x :: f32[4,6], labels :: i64[4].
module Workloads.MlpGrad (mlpGrad) where

import Data.Array.Accelerate
import Prelude ()

mlpGrad :: Acc (Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Int) -> Acc (Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Float)
mlpGrad (T8 params0 params1 params2 params3 params4 params5 x labels) =
  let a = fold (+) 0 (zipWith (*) (replicate (constant (Z :. All :. (5 :: Int) :. All)) x)
                                (replicate (constant (Z :. (4 :: Int) :. All :. All)) (transpose params0)))
      b = replicate (constant (Z :. (4 :: Int) :. All)) params1
      c = zipWith (+) a b
      d = map tanh c
      e = zipWith (*) d d
      f = map (1.0 -) e
      g = fold (+) 0 (zipWith (*) (replicate (constant (Z :. All :. (5 :: Int) :. All)) d)
                                (replicate (constant (Z :. (4 :: Int) :. All :. All)) (transpose params2)))
      h = replicate (constant (Z :. (4 :: Int) :. All)) params3
      o = zipWith (+) g h
      p = map tanh o
      q = zipWith (*) p p
      r = map (1.0 -) q
      s = fold (+) 0 (zipWith (*) (replicate (constant (Z :. All :. (3 :: Int) :. All)) p)
                                (replicate (constant (Z :. (4 :: Int) :. All :. All)) (transpose params4)))
      t = replicate (constant (Z :. (4 :: Int) :. All)) params5
      u = zipWith (+) s t
      T3 v w y = unzip3 (generate (I1 4) (\(I1 i) -> T3 (u ! I2 i (labels ! I1 i)) i (labels ! I1 i)))
      z = maximum u
      aa = replicate (constant (Z :. All :. (3 :: Int))) z
      ab = zipWith (==) u aa
      ac = map (\v1 -> v1 ? (1.0, 0.0)) ab
      ad = fold1 (+) ac
      ae = reshape (I2 4 1) z
      af = backpermute (I2 4 3) (\(I2 i _) -> I2 i 0) ae
      ag = zipWith (-) u af
      ah = map exp ag
      ai = sum ah
      aj = map (1.0 /) ai
      ak = fill Z_ (4.0 :: Exp Float)
      al = fill Z_ (1.0 :: Exp Float)
      am = zipWith (/) al ak
      an = map (1.0 *) am
      ao = fill (I1 4) (the an)
      ap = map negate ao
      aq = reshape (I2 4 1) ao
      ar = zipWith (*) ao aj
      at = replicate (constant (Z :. All :. (3 :: Int))) ar
      au = zipWith (*) at ah
      av = map negate au
      aw = fold1 (+) av
      ax = reshape (I2 4 1) aw
      ay = zipWith (+) aq ax
      az = reshape (I1 4) ay
      ba = zipWith (/) az ad
      bb = replicate (constant (Z :. All :. (3 :: Int))) ba
      bc = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) ab bb
      bd = zipWith (+) au bc
      be = fill (I2 4 3) (0.0 :: Exp Float)
      bf = permute (+) be (\(I1 i) -> Just_ (I2 (w ! I1 i) (y ! I1 i))) ap
      bg = zipWith (+) bd bf
      bh = fold1 (+) (transpose bg)
      bi = transpose p
      bj = fold (+) 0 (zipWith (*) (replicate (constant (Z :. All :. (3 :: Int) :. All)) bi)
                                (replicate (constant (Z :. (5 :: Int) :. All :. All)) (transpose bg)))
      bk = transpose params4
      bl = fold (+) 0 (zipWith (*) (replicate (constant (Z :. All :. (5 :: Int) :. All)) bg)
                                (replicate (constant (Z :. (4 :: Int) :. All :. All)) (transpose bk)))
      bm = zipWith (*) bl r
      bn = fold1 (+) (transpose bm)
      bo = transpose d
      bp = fold (+) 0 (zipWith (*) (replicate (constant (Z :. All :. (5 :: Int) :. All)) bo)
                                (replicate (constant (Z :. (5 :: Int) :. All :. All)) (transpose bm)))
      bq = transpose params2
      br = fold (+) 0 (zipWith (*) (replicate (constant (Z :. All :. (5 :: Int) :. All)) bm)
                                (replicate (constant (Z :. (4 :: Int) :. All :. All)) (transpose bq)))
      bs = zipWith (*) br f
      bt = fold1 (+) (transpose bs)
      bu = transpose x
      bv = fold (+) 0 (zipWith (*) (replicate (constant (Z :. All :. (5 :: Int) :. All)) bu)
                                (replicate (constant (Z :. (6 :: Int) :. All :. All)) (transpose bs)))
  in
  T6 bv bt bp bn bj bh
