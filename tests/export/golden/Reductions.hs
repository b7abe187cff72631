-- | reductions, exported by pyaccad from a trace at the example arguments a :: f32[3,4].
-- Written for every size: n = a's axis 0; m = a's axis 1.
{-# LANGUAGE ConstraintKinds, FlexibleContexts, TypeOperators #-}
module Reductions (reductions) where

import Data.Array.Accelerate
import qualified Data.Array.Accelerate.Data.Bits as Bits
import Prelude ()

reductions :: Acc (Matrix Float) -> Acc (Vector Float, Vector Float, Vector Float, Vector Float, Scalar Float)
reductions a =
  let I2 n m = shape a
      b = sum a
      c = transpose a
      d = map fromOrderedBits32 (maximum (map (\v -> orderedBits32 (isNaN v ? (abs v, v))) c))
      e = product (transpose a)
      f = map fromOrderedBits32 (minimum (map (\v -> orderedBits32 (isNaN v ? (negate (abs v), v))) a))
      g = reshape (I1 (n * m)) a
      h = sum g
  in
  T5 b d e f h

-- | The Float whose orderedBits32 is b.
fromOrderedBits32 :: Exp Int32 -> Exp Float
fromOrderedBits32 b = bitcast (b < 0 ? (b `Bits.xor` 2147483647, b)) :: Exp Float

-- | A Float's bits as an Int32 ordered as the Floats are (-inf < ... < +inf;
-- a NaN with its sign bit clear above all, set below all): an integer maximum or minimum of these
-- vectorises, where accelerate-llvm's max and min of floats call libm's fmax and fmin one element at
-- a time.
orderedBits32 :: Exp Float -> Exp Int32
orderedBits32 x = let b = bitcast x :: Exp Int32 in b < 0 ? (b `Bits.xor` 2147483647, b)
