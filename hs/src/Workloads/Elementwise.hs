-- | elementwise, exported by pyaccad from a trace at the example arguments x :: f32[8].
-- Written for every size: n = x's axis 0.
module Workloads.Elementwise (elementwise) where

import Data.Array.Accelerate
import Prelude ()

elementwise :: Acc (Vector Float) -> Acc (Scalar Float)
elementwise x =
  let a = map sin x
      b = zipWith (*) a x
  in
  sum b
