-- | elementwise, exported by pyaccad from a trace at the example arguments x :: f32[5], y :: f32[5].
-- Written for every size: n = x's axis 0, y's axis 0.
module Elementwise (elementwise) where

import Data.Array.Accelerate
import Prelude ()

elementwise :: Acc (Vector Float, Vector Float) -> Acc (Vector Float)
elementwise (T2 x y) =
  let a = map sin x
      b = zipWith (*) a y
      c = map negate x
      d = map exp c
      e = zipWith (*) y y
      f = map (1.0 +) e
      g = zipWith (/) d f
      h = zipWith (+) b g
      o = map (\v -> isNaN v ? (v + 0.0, max v 0.0)) x
      p = map (** (2.0 :: Exp Float)) o
  in
  zipWith (-) h p
