-- | gmmGrad, exported by pyaccad from a trace at the example arguments alphas :: f32[4], means :: f32[4,3], icf :: f32[4,6], x :: f32[6,3].
module Workloads.GmmGrad (gmmGrad) where

import Data.Array.Accelerate
import Prelude ()

gmmGrad :: Acc (Vector Float, Matrix Float, Matrix Float, Matrix Float) -> Acc (Vector Float, Matrix Float, Matrix Float)
gmmGrad (T4 alphas means icf x) =
  let a = backpermute (I2 4 3) (\(I2 i j) -> I2 i j) icf
      T7 c r ab ac ad ae af = unzip7 (generate (I3 4 3 3) (\(I3 k r c) ->
            let b = icf ! I2 k (3 + r * (r - 1) `div` 2 + min c (max (r - 1) 0))
                d = exp (icf ! I2 k r)
                e = cond (r > c) b (0.0 :: Exp Float)
                f = cond (r == c) d e
                g = 3 + r * (r - 1) `div` 2 + min c (max (r - 1) 0)
                h = icf ! I2 k g
                o = exp (icf ! I2 k r)
                T2 p q = cond (r > c) (T2 h (1.0 :: Exp Float)) (T2 (0.0 :: Exp Float) (0.0 :: Exp Float))
                T2 s t = cond (r == c) (T2 o (0.0 :: Exp Float)) (T2 p q)
                u = icf ! I2 k (3 + r * (r - 1) `div` 2 + min c (max (r - 1) 0))
                v = exp (icf ! I2 k r)
                w = 1.0 * v
                y = cond (r > c) u (0.0 :: Exp Float)
                T2 z aa = cond (r == c) (T2 v w) (T2 y (0.0 :: Exp Float))
            in  T7 f t k g aa k r))
      ag = reshape (I3 6 1 3) x
      ah = reshape (I3 1 4 3) means
      ai = backpermute (I3 6 4 3) (\(I3 i _ k) -> I3 i 0 k) ag
      aj = backpermute (I3 6 4 3) (\(I3 _ j k) -> I3 0 j k) ah
      ak = zipWith (-) ai aj
      al = reshape (I4 1 4 3 3) c
      am = reshape (I4 6 4 1 3) ak
      an = backpermute (I4 6 4 3 3) (\(I4 _ j k l) -> I4 0 j k l) al
      ao = backpermute (I4 6 4 3 3) (\(I4 i j _ l) -> I4 i j 0 l) am
      ap = zipWith (*) an ao
      aq = sum ap
      ar = reshape (I2 1 4) alphas
      at = sum a
      au = reshape (I2 1 4) at
      av = zipWith (+) ar au
      aw = zipWith (*) aq aq
      ax = sum aw
      ay = map (0.5 *) ax
      az = backpermute (I2 6 4) (\(I2 _ j) -> I2 0 j) av
      ba = zipWith (-) az ay
      bb = map exp a
      bc = fill (I2 4 3) (2.0 :: Exp Float)
      bd = fill (I2 4 3) (1.0 :: Exp Float)
      be = zipWith (-) bc bd
      bf = zipWith (**) bb be
      bg = map (2.0 *) bf
      bh = fill (I2 4 3) (0.0 :: Exp Float)
      bi = zipWith (==) bc bh
      bj = zipWith (\v1 w1 -> v1 ? (0.0, w1)) bi bg
      bk = backpermute (I2 4 3) (\(I2 i j) -> I2 i (j + 3)) icf
      bl = fill (I2 4 3) (2.0 :: Exp Float)
      bm = fill (I2 4 3) (1.0 :: Exp Float)
      bn = zipWith (-) bl bm
      bo = zipWith (**) bk bn
      bp = map (2.0 *) bo
      bq = fill (I2 4 3) (0.0 :: Exp Float)
      br = zipWith (==) bl bq
      bs = zipWith (\v1 w1 -> v1 ? (0.0, w1)) br bp
      bt = fill Z_ (0.5 :: Exp Float)
      bu = maximum ba
      bv = replicate (constant (Z :. All :. (4 :: Int))) bu
      bw = zipWith (==) ba bv
      bx = map (\v1 -> v1 ? (1.0, 0.0)) bw
      by = fold1 (+) bx
      bz = reshape (I2 6 1) bu
      ca = backpermute (I2 6 4) (\(I2 i _) -> I2 i 0) bz
      cb = zipWith (-) ba ca
      cc = map exp cb
      cd = sum cc
      ce = map (1.0 /) cd
      cf = maximum alphas
      cg = fill (I1 4) (the cf)
      ch = zipWith (==) alphas cg
      ci = map (\v1 -> v1 ? (1.0, 0.0)) ch
      cj = fold1 (+) ci
      ck = reshape (I1 1) cf
      cl = backpermute (I1 4) (\(I1 _) -> I1 0) ck
      cm = zipWith (-) alphas cl
      cn = map exp cm
      co = sum cn
      cp = map (1.0 /) co
      cq = fill Z_ (1.0 :: Exp Float)
      cr = map negate cq
      cs = fill (I1 12) (the cr)
      ct = reshape (I2 4 3) cs
      cu = map negate cq
      cv = map (* 6.0) cu
      cw = fill (I1 1) (the cv)
      cx = zipWith (*) cv cp
      cy = fill (I1 4) (the cx)
      cz = zipWith (*) cy cn
      da = map negate cz
      db = fold1 (+) da
      dc = reshape (I1 1) db
      dd = zipWith (+) cw dc
      de = reshape Z_ dd
      df = zipWith (/) de cj
      dg = fill (I1 4) (the df)
      dh = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) ch dg
      di = zipWith (+) cz dh
      dj = map (1.0 *) ce
      dk = replicate (constant (Z :. All :. (4 :: Int))) dj
      dl = zipWith (*) dk cc
      dm = map negate dl
      dn = fold1 (+) dm
      dp = reshape (I2 6 1) dn
      dq = map (1.0 +) dp
      dr = reshape (I1 6) dq
      ds = zipWith (/) dr by
      dt = replicate (constant (Z :. All :. (4 :: Int))) ds
      du = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) bw dt
      dv = zipWith (+) dl du
      dw = zipWith (*) cq bt
      dx = fill (I1 12) (the dw)
      dy = reshape (I2 4 3) dx
      dz = zipWith (*) dy bs
      ea = fill Z_ (0.0 :: Exp Float)
      eb = generate (I2 4 6) (\(I2 i j) -> i < 4 && j - 3 >= 0 && j - 3 < 3 ? (dz ! I2 i (j - 3), the ea))
      ec = fill (I1 12) (the dw)
      ed = reshape (I2 4 3) ec
      ee = zipWith (*) ed bj
      ef = zipWith (*) ee bb
      eg = zipWith (+) ct ef
      eh = map negate dv
      ei = fold1 (+) (transpose dv)
      ej = reshape (I2 1 4) ei
      ek = map (* 0.5) eh
      el = replicate (constant (Z :. All :. All :. (3 :: Int))) ek
      em = zipWith (*) el aq
      en = zipWith (*) el aq
      eo = zipWith (+) em en
      ep = reshape (I1 4) ej
      eq = replicate (constant (Z :. All :. (3 :: Int))) ep
      er = zipWith (+) eg eq
      es = reshape (I1 4) ej
      et = zipWith (+) di es
      eu = replicate (constant (Z :. All :. All :. All :. (3 :: Int))) eo
      ev = zipWith (*) eu an
      ew = zipWith (*) eu ao
      ex = fold1 (+) (backpermute (I4 6 4 3 3) (\(I4 i j k l) -> I4 i j l k) ev)
      ey = reshape (I4 6 4 1 3) ex
      ez = fold1 (+) (backpermute (I4 4 3 3 6) (\(I4 i j k l) -> I4 l i j k) ew)
      fa = reshape (I4 1 4 3 3) ez
      fb = reshape (I3 6 4 3) ey
      fc = reshape (I3 4 3 3) fa
      fd = map negate fb
      fe = fold1 (+) (backpermute (I3 4 3 6) (\(I3 i j k) -> I3 k i j) fd)
      ff = reshape (I3 1 4 3) fe
      fg = reshape (I2 4 3) ff
      fh = zipWith (*) fc ad
      fi = fill (I2 4 6) (0.0 :: Exp Float)
      fj = permute (+) fi (\(I3 i j k) -> Just_ (I2 (ae ! I3 i j k) (af ! I3 i j k))) fh
      fk = zipWith (+) eb fj
      fl = zipWith (*) fc r
      fm = fill (I2 4 6) (0.0 :: Exp Float)
      fn = permute (+) fm (\(I3 i j k) -> Just_ (I2 (ab ! I3 i j k) (ac ! I3 i j k))) fl
      fo = zipWith (+) fk fn
      fp = fill Z_ (0.0 :: Exp Float)
      fq = generate (I2 4 6) (\(I2 i j) -> i < 4 && j < 3 ? (er ! I2 i j, the fp))
      fr = zipWith (+) fo fq
  in
  T3 et fg fr
