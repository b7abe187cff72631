-- | gmmGrad, exported by pyaccad from a trace at the example arguments alphas :: f32[4], means :: f32[4,3], icf :: f32[4,6], x :: f32[5,3].
-- Written for every size: n = alphas's axis 0, means's axis 0, icf's axis 0; m = x's axis 0. Fixed: 3 (means's axis 1, x's axis 1): the program traced is different when it alone changes (a Python loop over it, a size written in f, or an extent that must change with it); 6 (icf's axis 1): the program traced is different when it alone changes (a Python loop over it, a size written in f, or an extent that must change with it).
module Workloads.GmmGrad (gmmGrad) where

import Data.Array.Accelerate
import Prelude ()

gmmGrad :: Acc (Vector Float, Matrix Float, Matrix Float, Matrix Float) -> Acc (Vector Float, Matrix Float, Matrix Float)
gmmGrad (T4 alphas means icf x) =
  let I1 n = shape alphas
      I2 m _ = shape x
      a = backpermute (I2 n 3) (\(I2 i j) -> I2 i j) icf
      (u, v, w, y, z, aa, ab) = unzip7 (generate (I3 n 3 3) (\(I3 j r c) ->
            let b = r == c
                d = cond b (exp (icf ! I2 j r)) (cond (r > c) (icf ! I2 j (3 + r * (r - 1) `div` 2 + c)) (0.0 :: Exp Float))
                T3 e f g = cond b (T3 (exp (icf ! I2 j r)) j r) (T3 (0.0 :: Exp Float) (0 :: Exp Int) (0 :: Exp Int))
                T3 q s t = cond b
                      (T3 (0.0 :: Exp Float) (0 :: Exp Int) (0 :: Exp Int))
                      (let T3 h o p = cond (r > c) (T3 (1.0 :: Exp Float) j (3 + r * (r - 1) `div` 2 + c)) (T3 (0.0 :: Exp Float) (0 :: Exp Int) (0 :: Exp Int))
                       in  T3 h o p)
            in  T7 d e f g q s t))
      ac = reshape (I3 m 1 3) x
      ad = reshape (I3 1 n 3) means
      ae = backpermute (I3 m n 3) (\(I3 i _ k) -> I3 i 0 k) ac
      af = backpermute (I3 m n 3) (\(I3 _ j1 k) -> I3 0 j1 k) ad
      ag = zipWith (-) ae af
      ah = reshape (I4 1 n 3 3) u
      ai = reshape (I4 m n 1 3) ag
      aj = backpermute (I4 m n 3 3) (\(I4 _ j1 k l) -> I4 0 j1 k l) ah
      ak = backpermute (I4 m n 3 3) (\(I4 i j1 _ l) -> I4 i j1 0 l) ai
      al = zipWith (*) aj ak
      am = sum al
      an = reshape (I2 1 n) alphas
      ao = sum a
      ap = reshape (I2 1 n) ao
      aq = zipWith (+) an ap
      ar = zipWith (*) am am
      at = sum ar
      au = map (0.5 *) at
      av = backpermute (I2 m n) (\(I2 _ j1) -> I2 0 j1) aq
      aw = zipWith (-) av au
      ax = map exp a
      ay = map (2.0 *) ax
      az = backpermute (I2 n 3) (\(I2 i j1) -> I2 i (j1 + 3)) icf
      ba = map (2.0 *) az
      bb = maximum aw
      bc = replicate (lift (Z :. All :. n)) bb
      bd = zipWith (==) aw bc
      be = map (\v1 -> v1 ? (1.0, 0.0)) bd
      bf = fold1 (+) be
      bg = reshape (I2 m 1) bb
      bh = backpermute (I2 m n) (\(I2 i _) -> I2 i 0) bg
      bi = zipWith (-) aw bh
      bj = compute (map exp bi)
      bk = sum bj
      bl = compute (map (1.0 /) bk)
      bm = maximum alphas
      bn = fill (I1 n) (the bm)
      bo = zipWith (==) alphas bn
      bp = map (\v1 -> v1 ? (1.0, 0.0)) bo
      bq = fold1 (+) bp
      br = reshape (I1 1) bm
      bs = backpermute (I1 n) (\(I1 _) -> I1 0) br
      bt = zipWith (-) alphas bs
      bu = map exp bt
      bv = sum bu
      bw = map (1.0 /) bv
      bx = map ((fromIntegral (negate (m))) *) bw
      by = fill (I1 n) (the bx)
      bz = zipWith (*) by bu
      ca = map negate bz
      cb = fold1 (+) ca
      cc = reshape (I1 1) cb
      cd = map ((fromIntegral (negate (m))) +) cc
      ce = reshape Z_ cd
      cf = compute (zipWith (/) ce bq)
      cg = fill (I1 n) (the cf)
      ch = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) bo cg
      ci = zipWith (+) bz ch
      cj = replicate (lift (Z :. All :. n)) bl
      ck = zipWith (*) cj bj
      cl = map negate ck
      cm = fold1 (+) cl
      cn = reshape (I2 m 1) cm
      co = map (1.0 +) cn
      cp = reshape (I1 m) co
      cq = compute (zipWith (/) cp bf)
      cr = replicate (lift (Z :. All :. n)) cq
      cs = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) bd cr
      ct = zipWith (+) ck cs
      cu = map (0.5 *) ba
      cv = fill Z_ (0.0 :: Exp Float)
      cw = generate (I2 n 6) (\(I2 i j1) -> i < n && j1 - 3 >= 0 && j1 - 3 < 3 ? (cu ! I2 i (j1 - 3), the cv))
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
      dm = fold1 (+) (backpermute (I4 m n 3 3) (\(I4 i j1 k l) -> I4 i j1 l k) dk)
      dn = fold1 (+) (backpermute (I4 n 3 3 m) (\(I4 i j1 k l) -> I4 l i j1 k) dl)
      dp = map negate dm
      dq = fold1 (+) (backpermute (I3 n 3 m) (\(I3 i j1 k) -> I3 k i j1) dp)
      dr = zipWith (*) dn z
      ds = fill (I2 n 6) (0.0 :: Exp Float)
      dt = permute (+) ds (\(I3 i k l) -> Just_ (I2 (aa ! I3 i k l) (ab ! I3 i k l))) dr
      du = zipWith (+) cw dt
      dv = zipWith (*) dn v
      dw = permute (+) ds (\(I3 i k l) -> Just_ (I2 (w ! I3 i k l) (y ! I3 i k l))) dv
      dx = zipWith (+) du dw
      dy = generate (I2 n 6) (\(I2 i j1) -> i < n && j1 < 3 ? (dh ! I2 i j1, the cv))
      dz = compute (zipWith (+) dx dy)
  in
  T3 di dq dz
