-- | gmm, exported by pyaccad from a trace at the example arguments alphas :: f32[4], means :: f32[4,3], icf :: f32[4,6], x :: f32[6,3].
module Workloads.Gmm (gmm) where

import Data.Array.Accelerate
import Prelude ()

gmm :: Acc (Vector Float, Matrix Float, Matrix Float, Matrix Float) -> Acc (Scalar Float)
gmm (T4 alphas means icf x) =
  let a = backpermute (I2 4 3) (\(I2 i j) -> I2 i j) icf
      g = generate (I3 4 3 3) (\(I3 k r c) ->
            let b = r - 1
                d = icf ! I2 k (3 + r * b `div` 2 + min c (max b 0))
                e = exp (icf ! I2 k r)
                f = cond (r > c) d (0.0 :: Exp Float)
            in  cond (r == c) e f)
      h = reshape (I3 6 1 3) x
      o = reshape (I3 1 4 3) means
      p = backpermute (I3 6 4 3) (\(I3 i _ k1) -> I3 i 0 k1) h
      q = backpermute (I3 6 4 3) (\(I3 _ j k1) -> I3 0 j k1) o
      s = zipWith (-) p q
      t = reshape (I4 1 4 3 3) g
      u = reshape (I4 6 4 1 3) s
      v = backpermute (I4 6 4 3 3) (\(I4 _ j k1 l) -> I4 0 j k1 l) t
      w = backpermute (I4 6 4 3 3) (\(I4 i j _ l) -> I4 i j 0 l) u
      y = zipWith (*) v w
      z = sum y
      aa = reshape (I2 1 4) alphas
      ab = sum a
      ac = reshape (I2 1 4) ab
      ad = zipWith (+) aa ac
      ae = zipWith (*) z z
      af = sum ae
      ag = map (0.5 *) af
      ah = backpermute (I2 6 4) (\(I2 _ j) -> I2 0 j) ad
      ai = zipWith (-) ah ag
      aj = map exp a
      ak = zipWith (*) aj aj
      al = reshape (I1 12) ak
      am = sum al
      an = backpermute (I2 4 3) (\(I2 i j) -> I2 i (j + 3)) icf
      ao = zipWith (*) an an
      ap = reshape (I1 12) ao
      aq = sum ap
      ar = zipWith (+) am aq
      at = map (0.5 *) ar
      au = maximum ai
      av = reshape (I2 6 1) au
      aw = backpermute (I2 6 4) (\(I2 i _) -> I2 i 0) av
      ax = zipWith (-) ai aw
      ay = map exp ax
      az = sum ay
      ba = map log az
      bb = sum av
      bc = zipWith (+) ba bb
      bd = sum bc
      be = maximum alphas
      bf = reshape (I1 1) be
      bg = backpermute (I1 4) (\(I1 _) -> I1 0) bf
      bh = zipWith (-) alphas bg
      bi = map exp bh
      bj = sum bi
      bk = map log bj
      bl = sum bf
      bm = zipWith (+) bk bl
      bn = map (6.0 *) bm
      bo = zipWith (-) bd bn
      bp = zipWith (+) bo at
      bq = reshape (I1 12) a
      br = sum bq
  in
  zipWith (-) bp br
