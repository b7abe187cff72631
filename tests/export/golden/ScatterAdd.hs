-- | scatterAdd, exported by pyaccad from a trace at the example arguments v :: f32[6], idx :: i64[6].
-- Written for every size: n = v's axis 0, idx's axis 0.
module ScatterAdd (scatterAdd) where

import Data.Array.Accelerate
import Prelude ()

scatterAdd :: Acc (Vector Float, Vector Int) -> Acc (Vector Float, Vector Float)
scatterAdd (T2 v idx) =
  let a = fill (I1 5) (0.0 :: Exp Float)
      b = permute (+) a (\(I1 i) -> Just_ (I1 (idx ! I1 i))) v
      c = fill (I1 5) (-1.0 :: Exp Float)
      f = permute const c (\(I1 i) ->
            let T2 d e = cond (i `mod` 2 == 0) (T2 True_ (i `div` 2)) (T2 False_ (0 :: Exp Int))
            in  d ? (Just_ (I1 e), Nothing_)) v
  in
  T2 b f
