-- | logsumexpRowsGrad, exported by pyaccad from a trace at the example arguments a :: f32[4,5].
-- Written for every size: n = a's axis 0; m = a's axis 1.
{-# LANGUAGE ConstraintKinds, FlexibleContexts, TypeOperators #-}
module Workloads.LogsumexpRowsGrad (logsumexpRowsGrad) where

import Data.Array.Accelerate
import qualified Data.Array.Accelerate.Data.Bits as Bits
import Prelude ()

logsumexpRowsGrad :: Acc (Matrix Float) -> Acc (Matrix Float)
logsumexpRowsGrad a =
  let I2 n m = shape a
      c = map fromOrderedBits32 (maximum (map (\v -> orderedBits32 (isNaN v ? (abs v, v))) a))
      d = replicate (lift (Z :. All :. m)) c
      e = zipWith (==) a d
      f = map (\v -> v ? (1.0, 0.0)) e
      g = fold1 (+) f
      h = reshape (I2 n 1) c
      o = backpermute (I2 n m) (\(I2 i _) -> I2 i 0) h
      p = zipWith (-) a o
      q = map exp p
      r = sum q
      s = compute (map (1.0 /) r)
      t = replicate (lift (Z :. All :. m)) s
      u = zipWith (*) t q
      v = map negate u
      w = fold1 (+) v
      x = reshape (I2 n 1) w
      y = map (1.0 +) x
      z = reshape (I1 n) y
      aa = compute (zipWith (/) z g)
      ab = replicate (lift (Z :. All :. m)) aa
      ac = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) e ab
  in
  zipWith (+) u ac

-- | The Float whose orderedBits32 is b.
fromOrderedBits32 :: Exp Int32 -> Exp Float
fromOrderedBits32 b = bitcast (b < 0 ? (b `Bits.xor` 2147483647, b)) :: Exp Float

-- | A Float's bits as an Int32 ordered as the Floats are (-inf < ... < +inf;
-- a NaN with its sign bit clear above all, set below all): an integer maximum or minimum of these
-- vectorises, where accelerate-llvm's max and min of floats call libm's fmax and fmin one element at
-- a time.
orderedBits32 :: Exp Float -> Exp Int32
orderedBits32 x = let b = bitcast x :: Exp Int32 in b < 0 ? (b `Bits.xor` 2147483647, b)
