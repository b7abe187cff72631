-- | gmmGrad, exported by pyaccad from a trace at the example arguments alphas :: f32[4], means :: f32[4,3], icf :: f32[4,6], x :: f32[6,3].
module Workloads.GmmGrad (gmmGrad) where

import Data.Array.Accelerate
import Prelude ()

gmmGrad :: Acc (Vector Float, Matrix Float, Matrix Float, Matrix Float) -> Acc (Vector Float, Matrix Float, Matrix Float)
gmmGrad (T4 alphas means icf x) =
  let a = backpermute (I2 4 3) (\(I2 i j) -> I2 i j) icf
      (u, v, w, y, z, aa, ab) = unzip7 (generate (I3 4 3 3) (\(I3 k r c) ->
            let b = r == c
                d = cond b (exp (icf ! I2 k r)) (cond (r > c) (icf ! I2 k (3 + r * (r - 1) `div` 2 + c)) (0.0 :: Exp Float))
                T3 e f g = cond b (T3 (exp (icf ! I2 k r)) k r) (T3 (0.0 :: Exp Float) (0 :: Exp Int) (0 :: Exp Int))
                T3 q s t = cond b
                      (T3 (0.0 :: Exp Float) (0 :: Exp Int) (0 :: Exp Int))
                      (let T3 h o p = cond (r > c) (T3 (1.0 :: Exp Float) k (3 + r * (r - 1) `div` 2 + c)) (T3 (0.0 :: Exp Float) (0 :: Exp Int) (0 :: Exp Int))
                       in  T3 h o p)
            in  T7 d e f g q s t))
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
      an = reshape (I2 1 4) alphas
      ao = sum a
      ap = reshape (I2 1 4) ao
      aq = zipWith (+) an ap
      ar = zipWith (*) am am
      at = sum ar
      au = map (0.5 *) at
      av = backpermute (I2 6 4) (\(I2 _ j) -> I2 0 j) aq
      aw = zipWith (-) av au
      ax = map exp a
      ay = map (2.0 *) ax
      az = backpermute (I2 4 3) (\(I2 i j) -> I2 i (j + 3)) icf
      ba = map (2.0 *) az
      bb = maximum aw
      bc = replicate (constant (Z :. All :. (4 :: Int))) bb
      bd = zipWith (==) aw bc
      be = map (\v1 -> v1 ? (1.0, 0.0)) bd
      bf = fold1 (+) be
      bg = reshape (I2 6 1) bb
      bh = backpermute (I2 6 4) (\(I2 i _) -> I2 i 0) bg
      bi = zipWith (-) aw bh
      bj = compute (map exp bi)
      bk = sum bj
      bl = compute (map (1.0 /) bk)
      bm = maximum alphas
      bn = fill (I1 4) (the bm)
      bo = zipWith (==) alphas bn
      bp = map (\v1 -> v1 ? (1.0, 0.0)) bo
      bq = fold1 (+) bp
      br = reshape (I1 1) bm
      bs = backpermute (I1 4) (\(I1 _) -> I1 0) br
      bt = zipWith (-) alphas bs
      bu = map exp bt
      bv = sum bu
      bw = map (1.0 /) bv
      bx = map ((-6.0) *) bw
      by = fill (I1 4) (the bx)
      bz = zipWith (*) by bu
      ca = map negate bz
      cb = fold1 (+) ca
      cc = reshape (I1 1) cb
      cd = map ((-6.0) +) cc
      ce = reshape Z_ cd
      cf = compute (zipWith (/) ce bq)
      cg = fill (I1 4) (the cf)
      ch = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) bo cg
      ci = zipWith (+) bz ch
      cj = replicate (constant (Z :. All :. (4 :: Int))) bl
      ck = zipWith (*) cj bj
      cl = map negate ck
      cm = fold1 (+) cl
      cn = reshape (I2 6 1) cm
      co = map (1.0 +) cn
      cp = reshape (I1 6) co
      cq = compute (zipWith (/) cp bf)
      cr = replicate (constant (Z :. All :. (4 :: Int))) cq
      cs = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) bd cr
      ct = zipWith (+) ck cs
      cu = map (0.5 *) ba
      cv = fill Z_ (0.0 :: Exp Float)
      cw = generate (I2 4 6) (\(I2 i j) -> i < 4 && j - 3 >= 0 && j - 3 < 3 ? (cu ! I2 i (j - 3), the cv))
      cx = map (0.5 *) ay
      cy = zipWith (*) cx ax
      cz = map ((-1.0) +) cy
      da = map negate ct
      db = fold1 (+) (transpose ct)
      dc = map (* 0.5) da
      dd = replicate (constant (Z :. All :. All :. (3 :: Int))) dc
      de = zipWith (*) dd am
      df = zipWith (+) de de
      dg = replicate (constant (Z :. All :. (3 :: Int))) db
      dh = zipWith (+) cz dg
      di = compute (zipWith (+) ci db)
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
      dy = generate (I2 4 6) (\(I2 i j) -> i < 4 && j < 3 ? (dh ! I2 i j, the cv))
      dz = compute (zipWith (+) dx dy)
  in
  T3 di dq dz
