-- | mlp, exported by pyaccad from a trace at the example arguments params00 :: f32[6,5], params01 :: f32[5], params10 :: f32[5,5], params11 :: f32[5], params20 :: f32[5,3], params21 :: f32[3], x :: f32[4,6], labels :: i64[4].
-- Written for every size: n = params00's axis 0, x's axis 1; m = params00's axis 1, params01's axis 0, params10's axis 0, params10's axis 1, params11's axis 0, params20's axis 0; p = params20's axis 1, params21's axis 0; q = x's axis 0, labels's axis 0.
{-# LANGUAGE ConstraintKinds, FlexibleContexts, TypeOperators #-}
module Workloads.Mlp (mlp) where

import Data.Array.Accelerate
import qualified Data.Array.Accelerate.Data.Bits as Bits
import Prelude ()

mlp :: Acc (Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Float, Matrix Float, Vector Int) -> Acc (Scalar Float)
mlp (T8 params00 params01 params10 params11 params20 params21 x labels) =
  let I2 n m = shape params00
      I2 _ p = shape params20
      I2 q _ = shape x
      a = generate (I2 q m) (\(I2 i j) -> sumOver n (\k -> x ! I2 i k * params00 ! I2 k j))
      b = replicate (lift (Z :. q :. All)) params01
      c = zipWith (+) a b
      d = compute (map tanh' c)
      e = generate (I2 q m) (\(I2 i j) -> sumOver m (\k -> d ! I2 i k * params10 ! I2 k j))
      f = replicate (lift (Z :. q :. All)) params11
      g = zipWith (+) e f
      h = compute (map tanh' g)
      o = generate (I2 q p) (\(I2 i j) -> sumOver m (\k -> h ! I2 i k * params20 ! I2 k j))
      r = replicate (lift (Z :. q :. All)) params21
      s = compute (zipWith (+) o r)
      t = generate (I1 q) (\(I1 i) -> s ! I2 i (labels ! I1 i))
      u = map fromOrderedBits32 (maximum (map (\v -> orderedBits32 (isNaN v ? (abs v, v))) s))
      v = reshape (I2 q 1) u
      w = backpermute (I2 q p) (\(I2 i1 _) -> I2 i1 0) v
      y = zipWith (-) s w
      z = map exp y
      aa = sum z
      ab = map log aa
      ac = sum v
      ad = zipWith (+) ab ac
      ae = zipWith (-) ad t
      af = sum ae
  in
  map (/ (fromIntegral q)) af

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
