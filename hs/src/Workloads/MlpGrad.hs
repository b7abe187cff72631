-- | mlpGrad, exported by pyaccad from a trace at the example arguments params00 :: f32[6,5], params01 :: f32[5], params10 :: f32[5,5], params11 :: f32[5], params20 :: f32[5,3], params21 :: f32[3], x :: f32[4,6], labels :: i64[4].
-- Written for every size: n = params00's axis 0, x's axis 1; m = params00's axis 1, params01's axis 0, params10's axis 0, params10's axis 1, params11's axis 0, params20's axis 0; p = params20's axis 1, params21's axis 0; q = x's axis 0, labels's axis 0.
{-# LANGUAGE ConstraintKinds, FlexibleContexts, TypeOperators #-}
module Workloads.MlpGrad (mlpGrad) where

import Data.Array.Accelerate
import qualified Data.Array.Accelerate.Data.Bits as Bits
import Prelude ()

mlpGrad :: Acc (Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Int) -> Acc (Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Float)
mlpGrad (T8 params00 params01 params10 params11 params20 params21 x labels) =
  let I2 n m = shape params00
      I2 _ p = shape params20
      I2 q _ = shape x
      a = generate (I2 q m) (\(I2 i j) -> sumOver n (\k -> x ! I2 i k * params00 ! I2 k j))
      b = replicate (lift (Z :. q :. All)) params01
      c = zipWith (+) a b
      d = compute (map tanh' c)
      e = zipWith (*) d d
      f = map (1.0 -) e
      g = generate (I2 q m) (\(I2 i j) -> sumOver m (\k -> d ! I2 i k * params10 ! I2 k j))
      h = replicate (lift (Z :. q :. All)) params11
      o = zipWith (+) g h
      r = compute (map tanh' o)
      s = zipWith (*) r r
      t = map (1.0 -) s
      u = generate (I2 q p) (\(I2 i j) -> sumOver m (\k -> r ! I2 i k * params20 ! I2 k j))
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
      be = generate (I2 m p) (\(I2 i1 j) -> sumOver q (\k -> bd ! I2 i1 k * bb ! I2 k j))
      bf = transpose params20
      bg = generate (I2 q m) (\(I2 i1 j) -> sumOver p (\k -> bb ! I2 i1 k * bf ! I2 k j))
      bh = compute (zipWith (*) bg t)
      bi = fold1 (+) (transpose bh)
      bj = transpose d
      bk = generate (I2 m m) (\(I2 i1 j) -> sumOver q (\k -> bj ! I2 i1 k * bh ! I2 k j))
      bl = transpose params10
      bm = generate (I2 q m) (\(I2 i1 j) -> sumOver m (\k -> bh ! I2 i1 k * bl ! I2 k j))
      bn = compute (zipWith (*) bm f)
      bo = fold1 (+) (transpose bn)
      bp = transpose x
      bq = generate (I2 n m) (\(I2 i1 j) -> sumOver q (\k -> bp ! I2 i1 k * bn ! I2 k j))
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

-- | The sum of term l for l from 0 to n - 1, kept in eight partial sums: each addition waits only on
-- the one eight terms back, where one running sum would wait on every addition before it.
sumOver :: Num a => Exp Int -> (Exp Int -> Exp a) -> Exp a
sumOver n term =
  let eights = n - n `mod` 8
      eight (T9 l a b c d e f g h) =
        T9 (l + 8) (a + term l) (b + term (l + 1)) (c + term (l + 2)) (d + term (l + 3))
                   (e + term (l + 4)) (f + term (l + 5)) (g + term (l + 6)) (h + term (l + 7))
      T9 _ a b c d e f g h = while (\(T9 l _ _ _ _ _ _ _ _) -> l < eights) eight (T9 0 0 0 0 0 0 0 0 0)
      one (T2 l s) = T2 (l + 1) (s + term l)
      T2 _ s = while (\(T2 l _) -> l < n) one (T2 eights 0)
  in  ((a + b) + (c + d)) + ((e + f) + (g + h)) + s

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
