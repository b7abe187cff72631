-- | mlpGrad, exported by pyaccad from a trace at the example arguments params00 :: f32[6,5], params01 :: f32[5], params10 :: f32[5,5], params11 :: f32[5], params20 :: f32[5,3], params21 :: f32[3], x :: f32[4,6], labels :: i64[4].
-- Written for every size: n = params00's axis 0, x's axis 1; m = params00's axis 1, params01's axis 0, params10's axis 0, params10's axis 1, params11's axis 0, params20's axis 0; p = params20's axis 1, params21's axis 0; q = x's axis 0, labels's axis 0.
{-# LANGUAGE ConstraintKinds, FlexibleContexts #-}
module Workloads.MlpGrad (mlpGrad) where

import Data.Array.Accelerate
import qualified Data.Array.Accelerate.Data.Bits as Bits
import Prelude ()

mlpGrad :: Acc (Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Int) -> Acc (Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Float)
mlpGrad (T8 params00 params01 params10 params11 params20 params21 x labels) =
  let I2 n m = shape params00
      I2 _ p = shape params20
      I2 q _ = shape x
      a = fold (+) 0 (zipWith (*) (replicate (lift (Z :. All :. m :. All)) x)
                                (replicate (lift (Z :. q :. All :. All)) (transpose params00)))
      b = replicate (lift (Z :. q :. All)) params01
      c = zipWith (+) a b
      d = compute (map tanh' c)
      e = zipWith (*) d d
      f = map (1.0 -) e
      g = fold (+) 0 (zipWith (*) (replicate (lift (Z :. All :. m :. All)) d)
                                (replicate (lift (Z :. q :. All :. All)) (transpose params10)))
      h = replicate (lift (Z :. q :. All)) params11
      o = zipWith (+) g h
      r = compute (map tanh' o)
      s = zipWith (*) r r
      t = map (1.0 -) s
      u = fold (+) 0 (zipWith (*) (replicate (lift (Z :. All :. p :. All)) r)
                                (replicate (lift (Z :. q :. All :. All)) (transpose params20)))
      v = replicate (lift (Z :. q :. All)) params21
      w = zipWith (+) u v
      (y, z) = unzip (generate (I1 q) (\(I1 i) -> T2 i (labels ! I1 i)))
      aa = map fromOrderedBits32 (maximum (map (\v1 -> orderedBits32 (isNaN v1 ? (abs v1, v1))) w))
      ab = replicate (lift (Z :. All :. p)) aa
      ac = zipWith (==) w ab
      ad = fill (I2 q p) (0.0 :: Exp Float)
      ae = map (\v1 -> v1 ? (1.0, 0.0)) ac
      af = fold1 (+) ae
      ag = reshape (I2 q 1) aa
      ah = backpermute (I2 q p) (\(I2 i1 _) -> I2 i1 0) ag
      ai = zipWith (-) w ah
      aj = map exp ai
      ak = sum aj
      al = map (1.0 /) ak
      am = fill (I1 q) ((1 / fromIntegral (negate (q))) :: Exp Float)
      an = map ((1 / fromIntegral q) *) al
      ao = replicate (lift (Z :. All :. p)) an
      ap = zipWith (*) ao aj
      aq = map negate ap
      ar = fold1 (+) aq
      at = reshape (I2 q 1) ar
      au = map ((1 / fromIntegral q) +) at
      av = reshape (I1 q) au
      aw = compute (zipWith (/) av af)
      ax = replicate (lift (Z :. All :. p)) aw
      ay = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) ac ax
      az = zipWith (+) ap ay
      ba = permute (+) ad (\(I1 j) -> Just_ (I2 (y ! I1 j) (z ! I1 j))) am
      bb = compute (zipWith (+) az ba)
      bc = fold1 (+) (transpose bb)
      bd = transpose r
      be = fold (+) 0 (zipWith (*) (replicate (lift (Z :. All :. p :. All)) bd)
                                (replicate (lift (Z :. m :. All :. All)) (transpose bb)))
      bf = transpose params20
      bg = fold (+) 0 (zipWith (*) (replicate (lift (Z :. All :. m :. All)) bb)
                                (replicate (lift (Z :. q :. All :. All)) (transpose bf)))
      bh = compute (zipWith (*) bg t)
      bi = fold1 (+) (transpose bh)
      bj = transpose d
      bk = fold (+) 0 (zipWith (*) (replicate (lift (Z :. All :. m :. All)) bj)
                                (replicate (lift (Z :. m :. All :. All)) (transpose bh)))
      bl = transpose params10
      bm = fold (+) 0 (zipWith (*) (replicate (lift (Z :. All :. m :. All)) bh)
                                (replicate (lift (Z :. q :. All :. All)) (transpose bl)))
      bn = compute (zipWith (*) bm f)
      bo = fold1 (+) (transpose bn)
      bp = transpose x
      bq = fold (+) 0 (zipWith (*) (replicate (lift (Z :. All :. m :. All)) bp)
                                (replicate (lift (Z :. n :. All :. All)) (transpose bn)))
  in
  T6 bq bo bk bi be bc

-- | The Float whose orderedBits32 is b.
fromOrderedBits32 :: Exp Int32 -> Exp Float
fromOrderedBits32 b = bitcast (b < 0 ? (b `Bits.xor` 2147483647, b)) :: Exp Float

-- | A Float's bits as an Int32 ordered as the Floats are (-inf < ... < +inf;
-- a NaN with its sign bit clear above all, set below all): an integer maximum or minimum of these
-- vectorises, where accelerate-llvm's max and min of floats call libm's fmax and fmin one element at
-- a time.
orderedBits32 :: Exp Float -> Exp Int32
orderedBits32 x = let b = bitcast x :: Exp Int32 in b < 0 ? (b `Bits.xor` 2147483647, b)

-- | tanh from exp, which vectorises (accelerate's tanh calls libm one element at a time): Cephes' rational
-- x + x^3 P(x^2)/Q(x^2) for |x| < 0.625, else 1 - 2/(exp (2|x|) + 1) (a few ulps in Float and Double).
tanh' :: (Floating a, Ord a) => Exp a -> Exp a
tanh' x =
  let y = abs x
      z = x * x
      near = x + x * z * (((-0.964399179425052238628) * z - 99.2877231001918586564) * z
                          - 1614.68768441708447952)
               / (((z + 112.811678491632931402) * z + 2235.48839060100448583) * z + 4844.06305325125486048)
      t = 1 - 2 / (exp (y + y) + 1)
  in  y < 0.625 ? (near, x < 0 ? (negate t, t))
