-- | elementwiseGrad, exported by pyaccad from a trace at the example arguments x :: f32[8].
module Workloads.ElementwiseGrad (elementwiseGrad) where

import Data.Array.Accelerate
import Prelude ()

elementwiseGrad :: Acc (Vector Float) -> Acc (Vector Float)
elementwiseGrad x =
  let a = map sin x
      b = map cos x
      c = map (1.0 *) a
      d = map (1.0 *) x
      e = zipWith (*) d b
  in
  zipWith (+) c e
