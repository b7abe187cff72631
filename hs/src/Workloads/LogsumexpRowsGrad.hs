-- | logsumexpRowsGrad, exported by pyaccad from a trace at the example arguments a :: f32[4,5].
-- Written for every size: n = a's axis 0; m = a's axis 1.
{-# LANGUAGE ConstraintKinds, FlexibleContexts #-}
module Workloads.LogsumexpRowsGrad (logsumexpRowsGrad) where

import Data.Array.Accelerate
import qualified Data.Array.Accelerate.Data.Bits as Bits
import Prelude ()

logsumexpRowsGrad :: Acc (Matrix Float) -> Acc (Matrix Float)
logsumexpRowsGrad a =
  let I2 n m = shape a
      b = map fromOrderedBits32 (maximum (map (\v -> orderedBits32 (isNaN v ? (abs v, v))) a))
      c = replicate (lift (Z :. All :. m)) b
      d = zipWith (==) a c
      e = map (\v -> v ? (1.0, 0.0)) d
      f = fold1 (+) e
      g = reshape (I2 n 1) b
      h = backpermute (I2 n m) (\(I2 i _) -> I2 i 0) g
      o = zipWith (-) a h
      p = map exp o
      q = sum p
      r = compute (map (1.0 /) q)
      s = replicate (lift (Z :. All :. m)) r
      t = zipWith (*) s p
      u = map negate t
      v = fold1 (+) u
      w = reshape (I2 n 1) v
      x = map (1.0 +) w
      y = reshape (I1 n) x
      z = compute (zipWith (/) y f)
      aa = replicate (lift (Z :. All :. m)) z
      ab = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) d aa
  in
  zipWith (+) t ab

-- | The Float whose orderedBits32 is b.
fromOrderedBits32 :: Exp Int32 -> Exp Float
fromOrderedBits32 b = bitcast (b < 0 ? (b `Bits.xor` 2147483647, b)) :: Exp Float

-- | A Float's bits as an Int32 ordered as the Floats are (-inf < ... < +inf;
-- a NaN with its sign bit clear above all, set below all): an integer maximum or minimum of these
-- vectorises, where accelerate-llvm's max and min of floats call libm's fmax and fmin one element at
-- a time.
orderedBits32 :: Exp Float -> Exp Int32
orderedBits32 x = let b = bitcast x :: Exp Int32 in b < 0 ? (b `Bits.xor` 2147483647, b)
