-- | mlpGrad, exported by pyaccad from a trace at the example arguments params00 :: f32[6,5], params01 :: f32[5], params10 :: f32[5,5], params11 :: f32[5], params20 :: f32[5,3], params21 :: f32[3], x :: f32[4,6], labels :: i64[4].
-- Written for every size: n = params00's axis 0, x's axis 1; m = params00's axis 1, params01's axis 0, params10's axis 0, params10's axis 1, params11's axis 0, params20's axis 0. Fixed: 3 (params20's axis 1, params21's axis 0): the program traced is different when it alone changes (a Python loop over it, a size written in f, or an extent that must change with it); 4 (x's axis 0, labels's axis 0): a number that depends on it is no polynomial in the extents.
module Workloads.MlpGrad (mlpGrad) where

import Data.Array.Accelerate
import Prelude ()

mlpGrad :: Acc (Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Int) -> Acc (Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Float)
mlpGrad (T8 params00 params01 params10 params11 params20 params21 x labels) =
  let I2 n m = shape params00
      a = fold (+) 0 (zipWith (*) (replicate (lift (Z :. All :. m :. All)) x)
                                (replicate (constant (Z :. (4 :: Int) :. All :. All)) (transpose params00)))
      b = replicate (constant (Z :. (4 :: Int) :. All)) params01
      c = zipWith (+) a b
      d = compute (map tanh c)
      e = zipWith (*) d d
      f = map (1.0 -) e
      g = fold (+) 0 (zipWith (*) (replicate (lift (Z :. All :. m :. All)) d)
                                (replicate (constant (Z :. (4 :: Int) :. All :. All)) (transpose params10)))
      h = replicate (constant (Z :. (4 :: Int) :. All)) params11
      o = zipWith (+) g h
      p = compute (map tanh o)
      q = zipWith (*) p p
      r = map (1.0 -) q
      s = fold (+) 0 (zipWith (*) (replicate (constant (Z :. All :. (3 :: Int) :. All)) p)
                                (replicate (constant (Z :. (4 :: Int) :. All :. All)) (transpose params20)))
      t = replicate (constant (Z :. (4 :: Int) :. All)) params21
      u = zipWith (+) s t
      (v, w) = unzip (generate (I1 4) (\(I1 i) -> T2 i (labels ! I1 i)))
      y = maximum u
      z = replicate (constant (Z :. All :. (3 :: Int))) y
      aa = zipWith (==) u z
      ab = fill (I2 4 3) (0.0 :: Exp Float)
      ac = map (\v1 -> v1 ? (1.0, 0.0)) aa
      ad = fold1 (+) ac
      ae = reshape (I2 4 1) y
      af = backpermute (I2 4 3) (\(I2 i1 _) -> I2 i1 0) ae
      ag = zipWith (-) u af
      ah = map exp ag
      ai = sum ah
      aj = map (1.0 /) ai
      ak = fill (I1 4) (-0.25 :: Exp Float)
      al = map (0.25 *) aj
      am = replicate (constant (Z :. All :. (3 :: Int))) al
      an = zipWith (*) am ah
      ao = map negate an
      ap = fold1 (+) ao
      aq = reshape (I2 4 1) ap
      ar = map (0.25 +) aq
      at = reshape (I1 4) ar
      au = compute (zipWith (/) at ad)
      av = replicate (constant (Z :. All :. (3 :: Int))) au
      aw = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) aa av
      ax = zipWith (+) an aw
      ay = permute (+) ab (\(I1 j) -> Just_ (I2 (v ! I1 j) (w ! I1 j))) ak
      az = compute (zipWith (+) ax ay)
      ba = fold1 (+) (transpose az)
      bb = transpose p
      bc = fold (+) 0 (zipWith (*) (replicate (constant (Z :. All :. (3 :: Int) :. All)) bb)
                                (replicate (lift (Z :. m :. All :. All)) (transpose az)))
      bd = transpose params20
      be = fold (+) 0 (zipWith (*) (replicate (lift (Z :. All :. m :. All)) az)
                                (replicate (constant (Z :. (4 :: Int) :. All :. All)) (transpose bd)))
      bf = compute (zipWith (*) be r)
      bg = fold1 (+) (transpose bf)
      bh = transpose d
      bi = fold (+) 0 (zipWith (*) (replicate (lift (Z :. All :. m :. All)) bh)
                                (replicate (lift (Z :. m :. All :. All)) (transpose bf)))
      bj = transpose params10
      bk = fold (+) 0 (zipWith (*) (replicate (lift (Z :. All :. m :. All)) bf)
                                (replicate (constant (Z :. (4 :: Int) :. All :. All)) (transpose bj)))
      bl = compute (zipWith (*) bk f)
      bm = fold1 (+) (transpose bl)
      bn = transpose x
      bo = fold (+) 0 (zipWith (*) (replicate (lift (Z :. All :. m :. All)) bn)
                                (replicate (lift (Z :. n :. All :. All)) (transpose bl)))
  in
  T6 bo bm bi bg bc ba
