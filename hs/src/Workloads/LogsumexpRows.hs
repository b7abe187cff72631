-- | logsumexpRows, exported by pyaccad from a trace at the example arguments a :: f32[4,5].
-- Written for every size: n = a's axis 0; m = a's axis 1.
{-# LANGUAGE ConstraintKinds, FlexibleContexts, TypeOperators #-}
module Workloads.LogsumexpRows (logsumexpRows) where

import Data.Array.Accelerate
import qualified Data.Array.Accelerate.Data.Bits as Bits
import Prelude ()

logsumexpRows :: Acc (Matrix Float) -> Acc (Scalar Float)
logsumexpRows a =
  let I2 n m = shape a
      c = map fromOrderedBits32 (maximum (map (\v -> orderedBits32 (isNaN v ? (abs v, v))) a))
      d = reshape (I2 n 1) c
      e = backpermute (I2 n m) (\(I2 i _) -> I2 i 0) d
      f = zipWith (-) a e
      g = map exp f
      h = sum g
      o = map log h
      p = sum d
      q = zipWith (+) o p
  in
  sum q

-- | The Float whose orderedBits32 is b.
fromOrderedBits32 :: Exp Int32 -> Exp Float
fromOrderedBits32 b = bitcast (b < 0 ? (b `Bits.xor` 2147483647, b)) :: Exp Float

-- | A Float's bits as an Int32 ordered as the Floats are (-inf < ... < +inf;
-- a NaN with its sign bit clear above all, set below all): an integer maximum or minimum of these
-- vectorises, where accelerate-llvm's max and min of floats call libm's fmax and fmin one element at
-- a time.
orderedBits32 :: Exp Float -> Exp Int32
orderedBits32 x = let b = bitcast x :: Exp Int32 in b < 0 ? (b `Bits.xor` 2147483647, b)
