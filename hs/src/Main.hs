-- | Runs the exported workloads on their example inputs. Written by hs/regenerate.py.
{-# LANGUAGE CPP #-}
module Main (main) where

import Data.Array.Accelerate (Z (..), (:.) (..), fromList, use)
#if defined(ACCELERATE_LLVM_PTX)
import Data.Array.Accelerate.LLVM.PTX (run)
#elif defined(ACCELERATE_LLVM_NATIVE)
import Data.Array.Accelerate.LLVM.Native (run)
#else
import Data.Array.Accelerate.Interpreter (run)
#endif
import Workloads.Elementwise
import Workloads.ElementwiseGrad
import Workloads.LogsumexpRows
import Workloads.LogsumexpRowsGrad
import Workloads.Mlp
import Workloads.MlpGrad
import Workloads.Gmm
import Workloads.GmmGrad

main :: IO ()
main = do
  let elementwise0 = fromList (Z :. 8)
        [ 0.82177013, (-1.3812797), (-2.754159), (-2.900834), 1.8796214, 2.4765334, 0.6398147, 1.3769794
        ]
  putStrLn "elementwise:"
  print (run (elementwise (use elementwise0)))
  putStrLn "elementwiseGrad:"
  print (run (elementwiseGrad (use elementwise0)))
  let logsumexpRows0 = fromList (Z :. 4 :. 5)
        [ (-0.70373523), (-1.2654215), (-0.62327445), 0.04132598, (-2.3250308), (-0.21879166), (-1.245911), (-0.7322674)
        , (-0.544259), (-0.31630015), 0.41163054, 1.0425134, (-0.12853466), 1.3664634, (-0.6651947), 0.35151008
        , 0.90347016, 0.0940123, (-0.7434993), (-0.9217254)
        ]
  putStrLn "logsumexpRows:"
  print (run (logsumexpRows (use logsumexpRows0)))
  putStrLn "logsumexpRowsGrad:"
  print (run (logsumexpRowsGrad (use logsumexpRows0)))
  let mlp0 = fromList (Z :. 6 :. 5)
        [ (-0.18686578), 0.08989428, (-0.41217488), (-0.08539557), (-0.065003335), 0.22079927, 0.08763422, 0.1450803
        , (-0.2669244), (-0.052914545), 0.32005665, 0.60969067, (-0.5140113), 0.6180568, 0.5494513, 0.31896904
        , 0.10796355, (-0.12815845), 0.59523445, 0.8002721, 0.73551434, 0.53688884, 0.14589994, (-0.49329397)
        , (-0.0018183922), 0.26800478, (-0.52597135), 0.1613079, 0.17549111, 0.28415823
        ]
  let mlp1 = fromList (Z :. 5)
        [ 0.0, 0.0, 0.0, 0.0, 0.0
        ]
  let mlp2 = fromList (Z :. 5 :. 5)
        [ (-0.5295536), (-0.29592237), (-0.19517978), (-0.52315134), 0.7778689, (-0.22177802), 0.14711969, (-0.11563716)
        , 0.70815057, 0.59048337, 0.2832439, (-0.98543954), 0.023268064, 0.30575377, 0.44898525, (-0.27633643)
        , 0.8148282, (-0.59051466), (-0.29584435), 0.41816708, 0.02193789, 0.89549714, 0.08430835, (-0.283173)
        , (-0.16885152)
        ]
  let mlp3 = fromList (Z :. 5)
        [ 0.0, 0.0, 0.0, 0.0, 0.0
        ]
  let mlp4 = fromList (Z :. 5 :. 3)
        [ (-0.48797536), (-0.57139593), 0.2819286, 0.25990525, 0.57894427, (-0.33746997), 0.7553918, (-0.12852368)
        , 0.7040968, (-0.19354771), (-0.32891813), 0.11170742, 0.46127987, 0.072005674, (-0.26185647)
        ]
  let mlp5 = fromList (Z :. 3)
        [ 0.0, 0.0, 0.0
        ]
  let mlp6 = fromList (Z :. 4 :. 6)
        [ (-1.3412197), (-1.4015203), 0.50268286, 0.989713, (-0.16429459), (-1.0743649), 0.87304217, (-1.280394)
        , (-0.71306807), 0.6210179, (-2.2501411), 0.3863696, (-0.58164084), 0.1092797, (-0.07570153), 0.20211439
        , 0.69417197, (-0.75836974), 1.420982, 0.72609377, 0.84373266, 1.164864, 0.78758824, 0.84407866
        ]
  let mlp7 = fromList (Z :. 4)
        [ 2, 0, 0, 0
        ]
  putStrLn "mlp:"
  print (run (mlp (use (mlp0, mlp1, mlp2, mlp3, mlp4, mlp5, mlp6, mlp7))))
  putStrLn "mlpGrad:"
  print (run (mlpGrad (use (mlp0, mlp1, mlp2, mlp3, mlp4, mlp5, mlp6, mlp7))))
  let gmm0 = fromList (Z :. 3)
        [ (-0.1350451), (-0.7695146), (-1.4227418)
        ]
  let gmm1 = fromList (Z :. 3 :. 4)
        [ 0.2584528, (-0.56854945), (-1.0298045), (-1.043001), 0.2684171, 0.35867196, 1.3224574, (-0.013914669)
        , 1.0418397, 1.4022648, 1.1501657, (-2.365304)
        ]
  let gmm2 = fromList (Z :. 3 :. 10)
        [ 0.122868374, 0.033962, 0.042377137, 0.03712274, 0.038275715, 0.031941425, (-0.03589133), (-0.19016354)
        , (-0.010891473), (-0.08037319), 0.108016334, (-0.028876651), 0.008347536, (-0.0849606), (-0.051062245), (-0.0011533062)
        , (-0.14853752), 0.030068511, (-0.010607226), (-0.11857199), (-0.2398233), 0.051305212, (-0.029758403), (-0.053000845)
        , (-0.023615463), 0.1816476, (-0.004980097), 0.008661927, (-0.14870729), 0.16473392
        ]
  let gmm3 = fromList (Z :. 5 :. 4)
        [ 0.917488, 1.0669348, 0.04767273, 0.91665477, 0.37094682, 0.6131891, (-0.15219297), (-1.4738879)
        , 1.0288544, (-1.9349597), (-0.23993666), (-0.20452249), (-1.0428602), 0.6131231, (-0.2003297), (-0.43686834)
        , 0.51984173, (-0.47657904), 1.38898, 0.35145506
        ]
  putStrLn "gmm:"
  print (run (gmm (use (gmm0, gmm1, gmm2, gmm3))))
  putStrLn "gmmGrad:"
  print (run (gmmGrad (use (gmm0, gmm1, gmm2, gmm3))))
