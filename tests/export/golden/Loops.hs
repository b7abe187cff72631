-- | loops, exported by pyaccad from a trace at the example arguments x :: f32[3].
-- Written for every size: n = x's axis 0.
module Loops (loops) where

import Data.Array.Accelerate
import Prelude ()

loops :: Acc (Vector Float) -> Acc (Vector Float, Vector Float, Vector Int)
loops x =
  let d = awhile (\a ->
             let b = sum a
             in
             map (< 100.0) b)
            (\c -> map (* 2.0) c)
            x
      e = sum x
      f = compute (map (> 0.0) e)
      g = acond (the f) (map (* 2.0) x) (map negate x)
      t = compute (map (\e1 ->
                     let T2 r s = while (\(T2 h o) -> h < 10.0)
                               (\(T2 p q) -> T2 (p * 2.0 + 1.0) (q + 1))
                               (T2 (abs e1) (0 :: Exp Int))
                     in  s) x)
  in
  T3 d g t
