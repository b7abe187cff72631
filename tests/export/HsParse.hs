-- | Parse Haskell files with GHC's own parser (the @ghc@ library that ships with GHC), without
-- resolving imports: this checks the syntax of exported modules on machines that have GHC but not
-- the accelerate or ad packages. LANGUAGE pragmas in each file are honoured.
--
-- Usage: hsparse LIBDIR FILE...   (LIBDIR is @ghc --print-libdir@); exit status 1 on any parse error.
-- Built by tests/export/conftest.py: ghc -package ghc HsParse.hs
module Main (main) where

import Control.Monad (forM, unless)
import GHC (getSessionDynFlags, parser, runGhc)
import GHC.Data.StringBuffer (stringToStringBuffer)
import GHC.Driver.Monad (liftIO)
import GHC.Driver.Session (parseDynamicFilePragma)
import GHC.Parser.Header (getOptions)
import GHC.Utils.Error (pprErrMsgBagWithLoc)
import GHC.Utils.Outputable (showSDocUnsafe)
import System.Environment (getArgs)
import System.Exit (exitFailure)

main :: IO ()
main = do
  libdir : files <- getArgs
  oks <- runGhc (Just libdir) $ do
    dflags0 <- getSessionDynFlags
    forM files $ \file -> do
      src <- liftIO (readFile file)
      let pragmas = getOptions dflags0 (stringToStringBuffer src) file
      (dflags, _, _) <- parseDynamicFilePragma dflags0 pragmas
      case parser src dflags file of
        (_, Left errs) -> do
          liftIO (mapM_ (putStrLn . showSDocUnsafe) (pprErrMsgBagWithLoc errs))
          return False
        (_, Right _) -> return True
  unless (and oks) exitFailure
