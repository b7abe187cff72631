-- | gmmGrad, exported by pyaccad from a trace at the example arguments alphas :: f32[4], means :: f32[4,3], icf :: f32[4,6], x :: f32[6,3].
module Workloads.GmmGrad (gmmGrad) where

import Data.Array.Accelerate
import Prelude ()

gmmGrad :: Acc (Vector Float, Matrix Float, Matrix Float, Matrix Float) -> Acc (Vector Float, Matrix Float, Matrix Float)
gmmGrad (T4 alphas means icf x) =
  let a = backpermute (I2 4 3) (\(I2 i j) -> I2 i j) icf
      (u, v, w, y, z, aa, ab) = unzip7 (generate (I3 4 3 3) (\(I3 k r c) ->
            let b = r - 1
                d = 3 + r * b `div` 2 + min c (max b 0)
                e = icf ! I2 k d
                f = r == c
                g = exp (icf ! I2 k r)
                h = r > c
                o = cond h e (0.0 :: Exp Float)
                p = cond f g o
                q = cond h (1.0 :: Exp Float) (0.0 :: Exp Float)
                s = cond f (0.0 :: Exp Float) q
                t = cond f g (0.0 :: Exp Float)
            in  T7 p s k d t k r))
      ac = reshape (I3 6 1 3) x
      ad = reshape (I3 1 4 3) means
      ae = backpermute (I3 6 4 3) (\(I3 i _ k1) -> I3 i 0 k1) ac
      af = backpermute (I3 6 4 3) (\(I3 _ j k1) -> I3 0 j k1) ad
      ag = zipWith (-) ae af
      ah = reshape (I4 1 4 3 3) u
      ai = reshape (I4 6 4 1 3) ag
      aj = backpermute (I4 6 4 3 3) (\(I4 _ j k1 l) -> I4 0 j k1 l) ah
      ak = backpermute (I4 6 4 3 3) (\(I4 i j _ l) -> I4 i j 0 l) ai
      al = zipWith (*) aj ak
      am = sum al
      an = fill Z_ (0.0 :: Exp Float)
      ao = reshape (I2 1 4) alphas
      ap = sum a
      aq = reshape (I2 1 4) ap
      ar = zipWith (+) ao aq
      at = zipWith (*) am am
      au = sum at
      av = map (0.5 *) au
      aw = backpermute (I2 6 4) (\(I2 _ j) -> I2 0 j) ar
      ax = zipWith (-) aw av
      ay = map exp a
      az = map (2.0 *) ay
      ba = backpermute (I2 4 3) (\(I2 i j) -> I2 i (j + 3)) icf
      bb = map (2.0 *) ba
      bc = maximum ax
      bd = replicate (constant (Z :. All :. (4 :: Int))) bc
      be = zipWith (==) ax bd
      bf = map (\v1 -> v1 ? (1.0, 0.0)) be
      bg = fold1 (+) bf
      bh = reshape (I2 6 1) bc
      bi = backpermute (I2 6 4) (\(I2 i _) -> I2 i 0) bh
      bj = zipWith (-) ax bi
      bk = map exp bj
      bl = sum bk
      bm = map (1.0 /) bl
      bn = maximum alphas
      bo = fill (I1 4) (the bn)
      bp = zipWith (==) alphas bo
      bq = map (\v1 -> v1 ? (1.0, 0.0)) bp
      br = fold1 (+) bq
      bs = reshape (I1 1) bn
      bt = backpermute (I1 4) (\(I1 _) -> I1 0) bs
      bu = zipWith (-) alphas bt
      bv = map exp bu
      bw = sum bv
      bx = map (1.0 /) bw
      by = map ((-6.0) *) bx
      bz = fill (I1 4) (the by)
      ca = zipWith (*) bz bv
      cb = map negate ca
      cc = fold1 (+) cb
      cd = reshape (I1 1) cc
      ce = map ((-6.0) +) cd
      cf = reshape Z_ ce
      cg = zipWith (/) cf br
      ch = fill (I1 4) (the cg)
      ci = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) bp ch
      cj = zipWith (+) ca ci
      ck = replicate (constant (Z :. All :. (4 :: Int))) bm
      cl = zipWith (*) ck bk
      cm = map negate cl
      cn = fold1 (+) cm
      co = reshape (I2 6 1) cn
      cp = map (1.0 +) co
      cq = reshape (I1 6) cp
      cr = zipWith (/) cq bg
      cs = replicate (constant (Z :. All :. (4 :: Int))) cr
      ct = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) be cs
      cu = zipWith (+) cl ct
      cv = map (0.5 *) bb
      cw = generate (I2 4 6) (\(I2 i j) -> i < 4 && j - 3 >= 0 && j - 3 < 3 ? (cv ! I2 i (j - 3), the an))
      cx = map (0.5 *) az
      cy = zipWith (*) cx ay
      cz = map ((-1.0) +) cy
      da = map negate cu
      db = fold1 (+) (transpose cu)
      dc = map (* 0.5) da
      dd = replicate (constant (Z :. All :. All :. (3 :: Int))) dc
      de = zipWith (*) dd am
      df = zipWith (+) de de
      dg = replicate (constant (Z :. All :. (3 :: Int))) db
      dh = zipWith (+) cz dg
      di = zipWith (+) cj db
      dj = replicate (constant (Z :. All :. All :. All :. (3 :: Int))) df
      dk = zipWith (*) dj aj
      dl = zipWith (*) dj ak
      dm = fold1 (+) (backpermute (I4 6 4 3 3) (\(I4 i j k1 l) -> I4 i j l k1) dk)
      dn = fold1 (+) (backpermute (I4 4 3 3 6) (\(I4 i j k1 l) -> I4 l i j k1) dl)
      dp = map negate dm
      dq = fold1 (+) (backpermute (I3 4 3 6) (\(I3 i j k1) -> I3 k1 i j) dp)
      dr = zipWith (*) dn z
      ds = fill (I2 4 6) (0.0 :: Exp Float)
      dt = permute (+) ds (\(I3 i j l) -> Just_ (I2 (aa ! I3 i j l) (ab ! I3 i j l))) dr
      du = zipWith (+) cw dt
      dv = zipWith (*) dn v
      dw = permute (+) ds (\(I3 i j l) -> Just_ (I2 (w ! I3 i j l) (y ! I3 i j l))) dv
      dx = zipWith (+) du dw
      dy = generate (I2 4 6) (\(I2 i j) -> i < 4 && j < 3 ? (dh ! I2 i j, the an))
      dz = zipWith (+) dx dy
  in
  T3 di dq dz
