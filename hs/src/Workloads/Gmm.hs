-- | gmm, exported by pyaccad from a trace at the example arguments alphas :: f32[4], means :: f32[4,3], icf :: f32[4,6], x :: f32[6,3].
module Workloads.Gmm (gmm) where

import Data.Array.Accelerate
import Prelude ()

gmm :: Acc (Vector Float, Matrix Float, Matrix Float, Matrix Float) -> Acc (Scalar Float)
gmm (T4 alphas means icf x) =
  let a = backpermute (I2 4 3) (\(I2 i j) -> I2 i j) icf
      b = generate (I3 4 3 3) (\(I3 k r c) -> cond (r == c) (exp (icf ! I2 k r)) (cond (r > c) (icf ! I2 k (3 + r * (r - 1) `div` 2 + c)) (0.0 :: Exp Float)))
      d = reshape (I3 6 1 3) x
      e = reshape (I3 1 4 3) means
      f = backpermute (I3 6 4 3) (\(I3 i _ k1) -> I3 i 0 k1) d
      g = backpermute (I3 6 4 3) (\(I3 _ j k1) -> I3 0 j k1) e
      h = zipWith (-) f g
      o = reshape (I4 1 4 3 3) b
      p = reshape (I4 6 4 1 3) h
      q = backpermute (I4 6 4 3 3) (\(I4 _ j k1 l) -> I4 0 j k1 l) o
      s = backpermute (I4 6 4 3 3) (\(I4 i j _ l) -> I4 i j 0 l) p
      t = zipWith (*) q s
      u = sum t
      v = reshape (I2 1 4) alphas
      w = sum a
      y = reshape (I2 1 4) w
      z = zipWith (+) v y
      aa = zipWith (*) u u
      ab = sum aa
      ac = map (0.5 *) ab
      ad = backpermute (I2 6 4) (\(I2 _ j) -> I2 0 j) z
      ae = zipWith (-) ad ac
      af = map exp a
      ag = zipWith (*) af af
      ah = reshape (I1 12) ag
      ai = sum ah
      aj = backpermute (I2 4 3) (\(I2 i j) -> I2 i (j + 3)) icf
      ak = zipWith (*) aj aj
      al = reshape (I1 12) ak
      am = sum al
      an = zipWith (+) ai am
      ao = map (0.5 *) an
      ap = maximum ae
      aq = reshape (I2 6 1) ap
      ar = backpermute (I2 6 4) (\(I2 i _) -> I2 i 0) aq
      at = zipWith (-) ae ar
      au = map exp at
      av = sum au
      aw = map log av
      ax = sum aq
      ay = zipWith (+) aw ax
      az = sum ay
      ba = maximum alphas
      bb = reshape (I1 1) ba
      bc = backpermute (I1 4) (\(I1 _) -> I1 0) bb
      bd = zipWith (-) alphas bc
      be = map exp bd
      bf = sum be
      bg = map log bf
      bh = sum bb
      bi = zipWith (+) bg bh
      bj = map (6.0 *) bi
      bk = zipWith (-) az bj
      bl = zipWith (+) bk ao
      bm = reshape (I1 12) a
      bn = sum bm
  in
  zipWith (-) bl bn
