-- | gmm, exported by pyaccad from a trace at the example arguments alphas :: f32[3], means :: f32[3,4], icf :: f32[3,10], x :: f32[5,4].
-- Written for every size: n = alphas's axis 0, means's axis 0, icf's axis 0; m = icf's axis 1; p = x's axis 0. Fixed: 4 (means's axis 1, x's axis 1): the program traced is different when it alone changes (a Python loop over it, a size written in f, or an extent that must change with it).
{-# LANGUAGE ConstraintKinds, FlexibleContexts, TypeOperators #-}
module Workloads.Gmm (gmm) where

import Data.Array.Accelerate
import qualified Data.Array.Accelerate.Data.Bits as Bits
import Prelude ()

gmm :: Acc (Vector Float, Matrix Float, Matrix Float, Matrix Float) -> Acc (Scalar Float)
gmm (T4 alphas means icf x) =
  let I1 n = shape alphas
      I2 _ m = shape icf
      I2 p _ = shape x
      a = backpermute (I2 n 4) (\(I2 i j) -> I2 i j) icf
      b = generate (I3 n 4 4) (\(I3 j r c) -> cond (r == c) (exp (icf ! I2 j r)) (cond (r > c) (icf ! I2 j (4 + r * (r - 1) `div` 2 + c)) (0.0 :: Exp Float)))
      d = reshape (I3 p 1 4) x
      e = reshape (I3 1 n 4) means
      f = backpermute (I3 p n 4) (\(I3 i _ k) -> I3 i 0 k) d
      g = backpermute (I3 p n 4) (\(I3 _ j1 k) -> I3 0 j1 k) e
      h = zipWith (-) f g
      o = reshape (I4 1 n 4 4) b
      q = reshape (I4 p n 1 4) h
      s = backpermute (I4 p n 4 4) (\(I4 _ j1 k l) -> I4 0 j1 k l) o
      t = backpermute (I4 p n 4 4) (\(I4 i j1 _ l) -> I4 i j1 0 l) q
      u = zipWith (*) s t
      v = sum u
      w = reshape (I2 1 n) alphas
      y = sum a
      z = reshape (I2 1 n) y
      aa = zipWith (+) w z
      ab = zipWith (*) v v
      ac = sum ab
      ad = map (0.5 *) ac
      ae = backpermute (I2 p n) (\(I2 _ j1) -> I2 0 j1) aa
      af = zipWith (-) ae ad
      ag = map exp a
      ah = zipWith (*) ag ag
      ai = reshape (I1 (4 * n)) ah
      aj = sum ai
      ak = backpermute (I2 n (m - 4)) (\(I2 i j1) -> I2 i (j1 + 4)) icf
      al = zipWith (*) ak ak
      am = reshape (I1 (n * m - 4 * n)) al
      an = sum am
      ao = zipWith (+) aj an
      ap = map (0.5 *) ao
      aq = map fromOrderedBits32 (maximum (map (\v1 -> orderedBits32 (isNaN v1 ? (abs v1, v1))) af))
      ar = reshape (I2 p 1) aq
      at = backpermute (I2 p n) (\(I2 i _) -> I2 i 0) ar
      au = zipWith (-) af at
      av = map exp au
      aw = sum av
      ax = map log aw
      ay = sum ar
      az = zipWith (+) ax ay
      ba = sum az
      bb = map fromOrderedBits32 (maximum (map (\v1 -> orderedBits32 (isNaN v1 ? (abs v1, v1))) alphas))
      bc = reshape (I1 1) bb
      bd = backpermute (I1 n) (\(I1 _) -> I1 0) bc
      be = zipWith (-) alphas bd
      bf = map exp be
      bg = sum bf
      bh = map log bg
      bi = sum bc
      bj = zipWith (+) bh bi
      bk = map ((fromIntegral p) *) bj
      bl = zipWith (-) ba bk
      bm = zipWith (+) bl ap
      bn = reshape (I1 (4 * n)) a
      bo = sum bn
  in
  zipWith (-) bm bo

-- | The Float whose orderedBits32 is b.
fromOrderedBits32 :: Exp Int32 -> Exp Float
fromOrderedBits32 b = bitcast (b < 0 ? (b `Bits.xor` 2147483647, b)) :: Exp Float

-- | A Float's bits as an Int32 ordered as the Floats are (-inf < ... < +inf;
-- a NaN with its sign bit clear above all, set below all): an integer maximum or minimum of these
-- vectorises, where accelerate-llvm's max and min of floats call libm's fmax and fmin one element at
-- a time.
orderedBits32 :: Exp Float -> Exp Int32
orderedBits32 x = let b = bitcast x :: Exp Int32 in b < 0 ? (b `Bits.xor` 2147483647, b)
