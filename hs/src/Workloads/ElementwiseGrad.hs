-- | elementwiseGrad, exported by pyaccad from a trace at the example arguments x :: f32[8].
-- Written for every size: n = x's axis 0.
module Workloads.ElementwiseGrad (elementwiseGrad) where

import Data.Array.Accelerate
import Prelude ()

elementwiseGrad :: Acc (Vector Float) -> Acc (Vector Float)
elementwiseGrad x =
  let a = map sin x
      b = map cos x
      c = zipWith (*) x b
  in
  zipWith (+) a c
