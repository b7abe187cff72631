-- | products, exported by pyaccad from a trace at the example arguments a :: f32[3,17], b :: f32[17,2], n :: i32[3,4], c :: f32[2,19,3], d :: f32[2,4,19].
-- Written for every size: m = a's axis 0, n's axis 0, c's axis 2; p = a's axis 1, b's axis 0; q = b's axis 1, c's axis 0, d's axis 0. Fixed: 4 (n's axis 1, d's axis 1): ShapeError: matmul: shapes (3, 29) and (4, 2) do not fit (inner extents differ); 19 (c's axis 1, d's axis 2): only 4 extents are fitted.
{-# LANGUAGE ConstraintKinds, FlexibleContexts, TypeOperators #-}
module Products (products) where

import Data.Array.Accelerate
import Prelude ()

products :: Acc (Matrix Float, Matrix Float, Matrix Int32, Array DIM3 Float, Array DIM3 Float) -> Acc (Matrix Float, Matrix Int32, Array DIM3 Float, Array DIM3 Float)
products (T5 a b n c d) =
  let I2 m p = shape a
      I2 _ q = shape b
      e = use (fromList (Z :. 4 :. 2) [1, (-2), 3, 0, (-1), 5, 2, 2] :: Matrix Int32)
      f = backpermute (I3 q m 19) (\(I3 i j k) -> I3 i k j) c
      g = generate (I2 m q) (\(I2 i j) -> sumOver p (\k -> a ! I2 i k * b ! I2 k j))
      h = generate (I2 m 2) (\(I2 i j) ->
            let dot k = n ! I2 i k * e ! I2 k j
            in  dot 0 + dot 1 + dot 2 + dot 3)
      o = compute (map (* 2.0) f)
      r = generate (I3 q 4 m) (\(I3 i j k) -> sumOver 19 (\l -> d ! I3 i j l * f ! I3 i k l))
  in
  T4 g h o r

-- | The sum of term l for l from 0 to n - 1, kept in eight partial sums: each addition waits only on
-- the one eight terms back, where one running sum would wait on every addition before it.
sumOver :: Num a => Exp Int -> (Exp Int -> Exp a) -> Exp a
sumOver n term =
  let eights = n - n `mod` 8
      eight (T9 l a b c d e f g h) =
        T9 (l + 8) (a + term l) (b + term (l + 1)) (c + term (l + 2)) (d + term (l + 3))
                   (e + term (l + 4)) (f + term (l + 5)) (g + term (l + 6)) (h + term (l + 7))
      T9 _ a b c d e f g h = while (\(T9 l _ _ _ _ _ _ _ _) -> l < eights) eight (T9 0 0 0 0 0 0 0 0 0)
      one (T2 l s) = T2 (l + 1) (s + term l)
      T2 _ s = while (\(T2 l _) -> l < n) one (T2 eights 0)
  in  ((a + b) + (c + d)) + ((e + f) + (g + h)) + s
