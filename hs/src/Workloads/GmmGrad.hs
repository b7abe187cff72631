-- | gmmGrad, exported by pyaccad from a trace at the example arguments alphas :: f32[3], means :: f32[3,4], icf :: f32[3,10], x :: f32[5,4].
-- Written for every size: n = alphas's axis 0, means's axis 0, icf's axis 0; m = icf's axis 1; p = x's axis 0. Fixed: 4 (means's axis 1, x's axis 1): the program traced is different when it alone changes (a Python loop over it, a size written in f, or an extent that must change with it).
{-# LANGUAGE ConstraintKinds, FlexibleContexts, TypeOperators #-}
module Workloads.GmmGrad (gmmGrad) where

import Data.Array.Accelerate
import qualified Data.Array.Accelerate.Data.Bits as Bits
import Prelude ()

gmmGrad :: Acc (Vector Float, Matrix Float, Matrix Float, Matrix Float) -> Acc (Vector Float, Matrix Float, Matrix Float)
gmmGrad (T4 alphas means icf x) =
  let I1 n = shape alphas
      I2 _ m = shape icf
      I2 p _ = shape x
      a = backpermute (I2 n 4) (\(I2 i j) -> I2 i j) icf
      (v, w, y, z, aa, ab, ac) = unzip7 (generate (I3 n 4 4) (\(I3 j r c) ->
            let b = r == c
                d = cond b (exp (icf ! I2 j r)) (cond (r > c) (icf ! I2 j (4 + r * (r - 1) `div` 2 + c)) (0.0 :: Exp Float))
                T3 e f g = cond b (T3 (exp (icf ! I2 j r)) j r) (T3 (0.0 :: Exp Float) (0 :: Exp Int) (0 :: Exp Int))
                T3 s t u = cond b
                      (T3 (0.0 :: Exp Float) (0 :: Exp Int) (0 :: Exp Int))
                      (let T3 h o q = cond (r > c) (T3 (1.0 :: Exp Float) j (4 + r * (r - 1) `div` 2 + c)) (T3 (0.0 :: Exp Float) (0 :: Exp Int) (0 :: Exp Int))
                       in  T3 h o q)
            in  T7 d e f g s t u))
      ad = reshape (I3 p 1 4) x
      ae = reshape (I3 1 n 4) means
      af = backpermute (I3 p n 4) (\(I3 i _ k) -> I3 i 0 k) ad
      ag = backpermute (I3 p n 4) (\(I3 _ j1 k) -> I3 0 j1 k) ae
      ah = zipWith (-) af ag
      ai = reshape (I4 1 n 4 4) v
      aj = reshape (I4 p n 1 4) ah
      ak = backpermute (I4 p n 4 4) (\(I4 _ j1 k l) -> I4 0 j1 k l) ai
      al = backpermute (I4 p n 4 4) (\(I4 i j1 _ l) -> I4 i j1 0 l) aj
      am = zipWith (*) ak al
      an = sum am
      ao = reshape (I2 1 n) alphas
      ap = sum a
      aq = reshape (I2 1 n) ap
      ar = zipWith (+) ao aq
      at = zipWith (*) an an
      au = sum at
      av = map (0.5 *) au
      aw = backpermute (I2 p n) (\(I2 _ j1) -> I2 0 j1) ar
      ax = zipWith (-) aw av
      ay = map exp a
      az = map (2.0 *) ay
      ba = backpermute (I2 n (m - 4)) (\(I2 i j1) -> I2 i (j1 + 4)) icf
      bb = map (2.0 *) ba
      bc = map fromOrderedBits32 (maximum (map (\v1 -> orderedBits32 (isNaN v1 ? (abs v1, v1))) ax))
      bd = replicate (lift (Z :. All :. n)) bc
      be = zipWith (==) ax bd
      bf = map (\v1 -> v1 ? (1.0, 0.0)) be
      bg = fold1 (+) bf
      bh = reshape (I2 p 1) bc
      bi = backpermute (I2 p n) (\(I2 i _) -> I2 i 0) bh
      bj = zipWith (-) ax bi
      bk = compute (map exp bj)
      bl = sum bk
      bm = compute (map (1.0 /) bl)
      bn = map fromOrderedBits32 (maximum (map (\v1 -> orderedBits32 (isNaN v1 ? (abs v1, v1))) alphas))
      bo = fill (I1 n) (the bn)
      bp = zipWith (==) alphas bo
      bq = map (\v1 -> v1 ? (1.0, 0.0)) bp
      br = fold1 (+) bq
      bs = reshape (I1 1) bn
      bt = backpermute (I1 n) (\(I1 _) -> I1 0) bs
      bu = zipWith (-) alphas bt
      bv = map exp bu
      bw = sum bv
      bx = map (1.0 /) bw
      by = map ((fromIntegral (negate (p))) *) bx
      bz = fill (I1 n) (the by)
      ca = zipWith (*) bz bv
      cb = map negate ca
      cc = fold1 (+) cb
      cd = reshape (I1 1) cc
      ce = map ((fromIntegral (negate (p))) +) cd
      cf = reshape Z_ ce
      cg = compute (zipWith (/) cf br)
      ch = fill (I1 n) (the cg)
      ci = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) bp ch
      cj = zipWith (+) ca ci
      ck = replicate (lift (Z :. All :. n)) bm
      cl = zipWith (*) ck bk
      cm = map negate cl
      cn = fold1 (+) cm
      co = reshape (I2 p 1) cn
      cp = map (1.0 +) co
      cq = reshape (I1 p) cp
      cr = compute (zipWith (/) cq bg)
      cs = replicate (lift (Z :. All :. n)) cr
      ct = zipWith (\v1 w1 -> v1 ? (w1, 0.0)) be cs
      cu = zipWith (+) cl ct
      cv = map (0.5 *) bb
      cw = fill Z_ (0.0 :: Exp Float)
      cx = generate (I2 n m) (\(I2 i j1) -> i < n && j1 - 4 >= 0 && j1 - 4 < (m - 4) ? (cv ! I2 i (j1 - 4), the cw))
      cy = map (0.5 *) az
      cz = zipWith (*) cy ay
      da = map ((-1.0) +) cz
      db = map negate cu
      dc = fold1 (+) (transpose cu)
      dd = map (* 0.5) db
      de = replicate (constant (Z :. All :. All :. (4 :: Int))) dd
      df = zipWith (*) de an
      dg = zipWith (+) df df
      dh = replicate (constant (Z :. All :. (4 :: Int))) dc
      di = zipWith (+) da dh
      dj = compute (zipWith (+) cj dc)
      dk = replicate (constant (Z :. All :. All :. All :. (4 :: Int))) dg
      dl = zipWith (*) dk ak
      dm = zipWith (*) dk al
      dn = fold1 (+) (backpermute (I4 p n 4 4) (\(I4 i j1 k l) -> I4 i j1 l k) dl)
      dp = fold1 (+) (backpermute (I4 n 4 4 p) (\(I4 i j1 k l) -> I4 l i j1 k) dm)
      dq = map negate dn
      dr = fold1 (+) (backpermute (I3 n 4 p) (\(I3 i j1 k) -> I3 k i j1) dq)
      ds = zipWith (*) dp aa
      dt = fill (I2 n m) (0.0 :: Exp Float)
      du = permute (+) dt (\(I3 i k l) -> Just_ (I2 (ab ! I3 i k l) (ac ! I3 i k l))) ds
      dv = zipWith (+) cx du
      dw = zipWith (*) dp w
      dx = permute (+) dt (\(I3 i k l) -> Just_ (I2 (y ! I3 i k l) (z ! I3 i k l))) dw
      dy = zipWith (+) dv dx
      dz = generate (I2 n m) (\(I2 i j1) -> i < n && j1 < 4 ? (di ! I2 i j1, the cw))
      ea = compute (zipWith (+) dy dz)
  in
  T3 dj dr ea

-- | The Float whose orderedBits32 is b.
fromOrderedBits32 :: Exp Int32 -> Exp Float
fromOrderedBits32 b = bitcast (b < 0 ? (b `Bits.xor` 2147483647, b)) :: Exp Float

-- | A Float's bits as an Int32 ordered as the Floats are (-inf < ... < +inf;
-- a NaN with its sign bit clear above all, set below all): an integer maximum or minimum of these
-- vectorises, where accelerate-llvm's max and min of floats call libm's fmax and fmin one element at
-- a time.
orderedBits32 :: Exp Float -> Exp Int32
orderedBits32 x = let b = bitcast x :: Exp Int32 in b < 0 ? (b `Bits.xor` 2147483647, b)
