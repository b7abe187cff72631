-- | gmm, exported by pyaccad from a trace at the example arguments alphas :: f32[4], means :: f32[4,3], icf :: f32[4,6], x :: f32[6,3].
module Workloads.Gmm (gmm) where

import Data.Array.Accelerate
import Prelude ()

gmm :: Acc (Vector Float, Matrix Float, Matrix Float, Matrix Float) -> Acc (Scalar Float)
gmm (T4 alphas means icf x) =
  let a = backpermute (I2 4 3) (\(I2 i j) -> I2 i j) icf
      d = generate (I3 4 3 3) (\(I3 k r c) ->
            cond (r == c) (exp (icf ! I2 k r))
              (cond (r > c) (let b = r - 1
                  in  icf ! I2 k (3 + r * b `div` 2 + min c (max b 0)))
                 (0.0 :: Exp Float)))
      e = reshape (I3 6 1 3) x
      f = reshape (I3 1 4 3) means
      g = backpermute (I3 6 4 3) (\(I3 i _ k1) -> I3 i 0 k1) e
      h = backpermute (I3 6 4 3) (\(I3 _ j k1) -> I3 0 j k1) f
      o = zipWith (-) g h
      p = reshape (I4 1 4 3 3) d
      q = reshape (I4 6 4 1 3) o
      s = backpermute (I4 6 4 3 3) (\(I4 _ j k1 l) -> I4 0 j k1 l) p
      t = backpermute (I4 6 4 3 3) (\(I4 i j _ l) -> I4 i j 0 l) q
      u = zipWith (*) s t
      v = sum u
      w = reshape (I2 1 4) alphas
      y = sum a
      z = reshape (I2 1 4) y
      aa = zipWith (+) w z
      ab = zipWith (*) v v
      ac = sum ab
      ad = map (0.5 *) ac
      ae = backpermute (I2 6 4) (\(I2 _ j) -> I2 0 j) aa
      af = zipWith (-) ae ad
      ag = map exp a
      ah = zipWith (*) ag ag
      ai = reshape (I1 12) ah
      aj = sum ai
      ak = backpermute (I2 4 3) (\(I2 i j) -> I2 i (j + 3)) icf
      al = zipWith (*) ak ak
      am = reshape (I1 12) al
      an = sum am
      ao = zipWith (+) aj an
      ap = map (0.5 *) ao
      aq = maximum af
      ar = reshape (I2 6 1) aq
      at = backpermute (I2 6 4) (\(I2 i _) -> I2 i 0) ar
      au = zipWith (-) af at
      av = map exp au
      aw = sum av
      ax = map log aw
      ay = sum ar
      az = zipWith (+) ax ay
      ba = sum az
      bb = maximum alphas
      bc = reshape (I1 1) bb
      bd = backpermute (I1 4) (\(I1 _) -> I1 0) bc
      be = zipWith (-) alphas bd
      bf = map exp be
      bg = sum bf
      bh = map log bg
      bi = sum bc
      bj = zipWith (+) bh bi
      bk = map (6.0 *) bj
      bl = zipWith (-) ba bk
      bm = zipWith (+) bl ap
      bn = reshape (I1 12) a
      bo = sum bn
  in
  zipWith (-) bm bo
