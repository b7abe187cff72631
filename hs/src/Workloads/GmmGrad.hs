-- | gmmGrad, exported by pyaccad from a trace at the example arguments alphas :: f32[4], means :: f32[4,3], icf :: f32[4,6], x :: f32[6,3].
module Workloads.GmmGrad (gmmGrad) where

import Data.Array.Accelerate
import Prelude ()

gmmGrad :: Acc (Vector Float, Matrix Float, Matrix Float, Matrix Float) -> Acc (Vector Float, Matrix Float, Matrix Float)
gmmGrad (T4 alphas means icf x) =
  let a = backpermute (I2 4 3) (\(I2 i j) -> I2 i j) icf
      (w, y, z, aa, ab, ac, ad) = unzip7 (generate (I3 4 3 3) (\(I3 k r c) ->
            let b = r == c
                e = cond b (exp (icf ! I2 k r))
                      (cond (r > c) (let d = r - 1
                          in  icf ! I2 k (3 + r * d `div` 2 + min c (max d 0)))
                         (0.0 :: Exp Float))
                T3 f g h = cond b (T3 (exp (icf ! I2 k r)) k r) (T3 (0.0 :: Exp Float) (0 :: Exp Int) (0 :: Exp Int))
                T3 t u v = cond b (T3 (0.0 :: Exp Float) (0 :: Exp Int) (0 :: Exp Int))
                      (let T3 p q s = cond (r > c) (let o = r - 1
                                  in  T3 (1.0 :: Exp Float) k (3 + r * o `div` 2 + min c (max o 0)))
                                 (T3 (0.0 :: Exp Float) (0 :: Exp Int) (0 :: Exp Int))
                       in  T3 p q s)
            in  T7 e f g h t u v))
      ae = reshape (I3 6 1 3) x
      af = reshape (I3 1 4 3) means
      ag = backpermute (I3 6 4 3) (\(I3 i _ k1) -> I3 i 0 k1) ae
      ah = backpermute (I3 6 4 3) (\(I3 _ j k1) -> I3 0 j k1) af
      ai = zipWith (-) ag ah
      aj = reshape (I4 1 4 3 3) w
      ak = reshape (I4 6 4 1 3) ai
      al = backpermute (I4 6 4 3 3) (\(I4 _ j k1 l) -> I4 0 j k1 l) aj
      am = backpermute (I4 6 4 3 3) (\(I4 i j _ l) -> I4 i j 0 l) ak
      an = zipWith (*) al am
      ao = sum an
      ap = reshape (I2 1 4) alphas
      aq = sum a
      ar = reshape (I2 1 4) aq
      at = zipWith (+) ap ar
      au = zipWith (*) ao ao
      av = sum au
      aw = map (0.5 *) av
      ax = backpermute (I2 6 4) (\(I2 _ j) -> I2 0 j) at
      ay = zipWith (-) ax aw
      az = map exp a
      ba = map (2.0 *) az
      bb = backpermute (I2 4 3) (\(I2 i j) -> I2 i (j + 3)) icf
      bc = map (2.0 *) bb
      bd = maximum ay
      be = replicate (constant (Z :. All :. (4 :: Int))) bd
      bf = zipWith (==) ay be
      bg = map (\v1 -> v1 ? (1.0, 0.0)) bf
      bh = fold1 (+) bg
      bi = reshape (I2 6 1) bd
      bj = backpermute (I2 6 4) (\(I2 i _) -> I2 i 0) bi
      bk = zipWith (-) ay bj
      bl = map exp bk
      bm = sum bl
      bn = map (1.0 /) bm
      bo = maximum alphas
      bp = fill (I1 4) (the bo)
      bq = zipWith (==) alphas bp
      br = map (\v1 -> v1 ? (1.0, 0.0)) bq
      bs = fold1 (+) br
      bt = reshape (I1 1) bo
      bu = backpermute (I1 4) (\(I1 _) -> I1 0) bt
      bv = zipWith (-) alphas bu
      bw = map exp bv
      bx = sum bw
      by = map (1.0 /) bx
      bz = map ((-6.0) *) by
      ca = fill (I1 4) (the bz)
      cb = zipWith (*) ca bw
      cc = map negate cb
      cd = fold1 (+) cc
      ce = reshape (I1 1) cd
      cf = map ((-6.0) +) ce
      cg = reshape Z_ cf
      ch = zipWith (/) cg bs
      ci = fill (I1 4) (the ch)
      cj = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) bq ci
      ck = zipWith (+) cb cj
      cl = replicate (constant (Z :. All :. (4 :: Int))) bn
      cm = zipWith (*) cl bl
      cn = map negate cm
      co = fold1 (+) cn
      cp = reshape (I2 6 1) co
      cq = map (1.0 +) cp
      cr = reshape (I1 6) cq
      cs = zipWith (/) cr bh
      ct = replicate (constant (Z :. All :. (4 :: Int))) cs
      cu = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) bf ct
      cv = zipWith (+) cm cu
      cw = map (0.5 *) bc
      cx = fill Z_ (0.0 :: Exp Float)
      cy = generate (I2 4 6) (\(I2 i j) -> i < 4 && j - 3 >= 0 && j - 3 < 3 ? (cw ! I2 i (j - 3), the cx))
      cz = map (0.5 *) ba
      da = zipWith (*) cz az
      db = map ((-1.0) +) da
      dc = map negate cv
      dd = fold1 (+) (transpose cv)
      de = map (* 0.5) dc
      df = replicate (constant (Z :. All :. All :. (3 :: Int))) de
      dg = zipWith (*) df ao
      dh = zipWith (+) dg dg
      di = replicate (constant (Z :. All :. (3 :: Int))) dd
      dj = zipWith (+) db di
      dk = zipWith (+) ck dd
      dl = replicate (constant (Z :. All :. All :. All :. (3 :: Int))) dh
      dm = zipWith (*) dl al
      dn = zipWith (*) dl am
      dp = fold1 (+) (backpermute (I4 6 4 3 3) (\(I4 i j k1 l) -> I4 i j l k1) dm)
      dq = fold1 (+) (backpermute (I4 4 3 3 6) (\(I4 i j k1 l) -> I4 l i j k1) dn)
      dr = map negate dp
      ds = fold1 (+) (backpermute (I3 4 3 6) (\(I3 i j k1) -> I3 k1 i j) dr)
      dt = zipWith (*) dq ab
      du = fill (I2 4 6) (0.0 :: Exp Float)
      dv = permute (+) du (\(I3 i j l) -> Just_ (I2 (ac ! I3 i j l) (ad ! I3 i j l))) dt
      dw = zipWith (+) cy dv
      dx = zipWith (*) dq y
      dy = permute (+) du (\(I3 i j l) -> Just_ (I2 (z ! I3 i j l) (aa ! I3 i j l))) dx
      dz = zipWith (+) dw dy
      ea = generate (I2 4 6) (\(I2 i j) -> i < 4 && j < 3 ? (dj ! I2 i j, the cx))
      eb = zipWith (+) dz ea
  in
  T3 dk ds eb
