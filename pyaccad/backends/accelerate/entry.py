"""The Haskell side of a bridge library: the program's export, and a C entry point that runs it.

A library holds two generated modules. ``PyaccadProgramKEY`` is the program as the
export prints it (function ``f``; see :func:`pyaccad.backends.accelerate.program_module`). ``PyaccadEntryKEY``
compiles ``f`` once (kept in a ``NOINLINE`` top-level value) and exports::

    int pyaccad_call(void **inputs, const int64_t *input_extents,
                     void **outputs, const int64_t *output_extents, char *message, int capacity);

The extents are the caller's, every input's then every output's, outermost axis first:
the module holds none, so one library serves every size that ``f`` is written for (a
shape-generic export; a fixed one simply meets the same extents on every call). Each
input buffer becomes an accelerate array of its extent without an element-by-element
copy (the pointer is wrapped as the array's storage, as ``accelerate-io`` does); each
result is checked against the extent the caller expects (its buffer's size) and copied
once into that buffer (from 1 MiB on, in one piece per capability, at once). A Haskell
exception (such a mismatch too) is caught and its text written to ``message``, and the
call returns 1 instead of aborting the process.
``Bool`` arrays cross as bytes (NumPy's layout), converted inside the accelerate
program. Module names carry the library's key: the libraries of one process share
one GHC runtime, and their symbols must not meet.

On accelerate-llvm-native, ``f`` is compiled ahead of time: ``$(Target.runQ ...)``, a Template Haskell
splice, runs accelerate's whole pipeline (its conversion, fusion and each kernel's LLVM compile) while GHC
compiles the library, and links the kernels' object code into it (accelerate's ``Plugin``), so a new process
runs the program at once. With ``runN`` (kept for accelerate-blas's foreign calls, which ``runQ`` cannot embed,
for a program whose splice GHC refuses, :func:`.build.declined_ahead_of_time`, and for the other targets)
accelerate converts the program on each process's first call: with every cache warm, a new process's first call
of the ``lstm`` primal took 4.0-4.2 s and of its gradient 22 s, ahead of time 0.4 and 1.7 s (1.3 s of it the
call; BENCHMARKS.md, "Programs compiled ahead of time"). The splice is
accelerate's executor written out for the program, so the entry module is compiled with GHC's optimiser (without
full laziness, whose time grows fastest with a program's length): at ``-O0`` the ``lstm`` gradient's calls took
20 % longer.

Each library also exports ``void pyaccad_keep_arrays(int64_t count, int64_t bytes)``, which the
runtime calls once, from the first library: it makes accelerate allocate its arrays through an
allocator that keeps the most recent of them alive, at most ``count`` arrays and ``bytes`` bytes.
accelerate-llvm-native (1.4) hands its kernels raw pointers and keeps nothing alive for
them: an array the executor no longer refers to (an ``awhile`` state of a past trip, a
``permute``'s lock array) can be freed by a garbage collection while a worker thread
still reads or writes it, which crashes or corrupts results at random when there are
several workers.

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> program = trace(lambda x, m: (x * 2.0, m.sum()), np.ones(3, np.float32), np.ones((2, 2))).program
>>> source = entry_source(program, "K1", "native", ahead_of_time=True)
>>> print(source[source.index("compiled ::"):source.index("{-# NOINLINE")].strip())
compiled :: (A.Vector Float, A.Matrix Double) -> (A.Vector Float, A.Scalar Double)
compiled = $(Target.runQ P.f)
>>> print(source[source.index("run inputs inputExtents outputs outputExtents = do"):].strip())
run inputs inputExtents outputs outputExtents = do
  i <- extents inputExtents 3
  a0 <- fromBuffer ((), i !! 0) =<< peekElemOff inputs 0 :: IO (A.Vector Float)
  a1 <- fromBuffer (((), i !! 1), i !! 2) =<< peekElemOff inputs 1 :: IO (A.Matrix Double)
  let (r0, r1) = compiled (a0, a1)
  o <- extents outputExtents 1
  toBuffer ((), o !! 0) r0 =<< peekElemOff outputs 0
  toBuffer () r1 =<< peekElemOff outputs 1
"""

from __future__ import annotations

from collections.abc import Sequence

from pyaccad.export.syntax import HS_SCALAR, accelerate_tuple, haskell_tuple, hs_array_type, tuple_tree
from pyaccad.ir import BOOL, ArrayType, Program

# Where each accelerate target's `run`/`runN` lives.
TARGET_MODULES = {
    "native": "Data.Array.Accelerate.LLVM.Native",
    "ptx": "Data.Array.Accelerate.LLVM.PTX",  # an NVIDIA GPU; its runN moves the host arrays to the device and back
    "interpreter": "Data.Array.Accelerate.Interpreter",
}

# Starts the shared GHC runtime with the options a host process needs: no signal handlers, so that Python
# keeps its own Ctrl-C. `hs_init` alone cannot pass them: a library's default configuration accepts only
# "safe" RTS options, and `--install-signal-handlers` is not one. And CAFs are kept: the runtime registers the
# foreign exports (which keep a library's top-level values alive) only of the libraries loaded before it
# started, so in a library loaded later the garbage collector would free `compiled` while it is still used.
# And an allocation area of ALLOCATION_AREA_MB per capability where GHC 9.0 gives 1 MB: accelerate's executor
# allocates as it runs a program, and each minor collection stops the whole runtime, worker threads too; with
# 32 MB the bench's gradients took 25-70 % less time (logsumexp_rows' 5.1-5.5 -> 1.5-1.6 ms; BENCHMARKS.md, "The
# GHC runtime's allocation area"). $GHCRTS, which the runtime reads after these options, overrides them.
# `pyaccad_hs_allocation_area` reports the area the runtime took, in bytes.
ALLOCATION_AREA_MB = 32
START_C = """\
#include <Rts.h>

void pyaccad_hs_start(void)
{
    static char *args[] = {"pyaccad", 0};
    int argc = 1;
    char **argv = args;
    setKeepCAFs();
    RtsConfig config = defaultRtsConfig;
    config.rts_opts_enabled = RtsOptsAll;
    config.rts_opts = "--install-signal-handlers=no -A@ALLOCATION_AREA_MB@m";
    hs_init_ghc(&argc, &argv, config);
}

long long pyaccad_hs_allocation_area(void)
{
    return (long long)RtsFlags.GcFlags.minAllocAreaSize * BLOCK_SIZE;
}
""".replace("@ALLOCATION_AREA_MB@", str(ALLOCATION_AREA_MB))

_AHEAD_OF_TIME_HEADER = "{-# OPTIONS_GHC -O1 -fno-full-laziness #-}\n{-# LANGUAGE TemplateHaskell #-}\n"
_HEADER = """\
{-# LANGUAGE FlexibleContexts, ForeignFunctionInterface, PatternSynonyms, ScopedTypeVariables, TypeFamilies #-}
-- | The C entry point of a pyaccad program run through accelerate (generated by pyaccad.backends.accelerate).
module PyaccadEntry{key} () where

import Control.Concurrent (forkIO, getNumCapabilities, newEmptyMVar, putMVar, takeMVar)
import Control.Exception (SomeException, displayException, try)
import qualified Data.Array.Accelerate as A
import Data.Array.Accelerate.Array.Data (ArrayData, registerForeignPtrAllocator)
import Data.Array.Accelerate.Array.Unique (UniqueArray, newUniqueArray, withUniqueArrayPtr)
import qualified Data.Array.Accelerate.Representation.Array as R
import qualified Data.Array.Accelerate.Sugar.Array as Sugar
import Data.Array.Accelerate.Sugar.Elt (EltR)
import Data.Char (isAscii)
import Data.IORef (IORef, atomicModifyIORef', newIORef)
import Data.Array.Accelerate (Half)
import Data.Int (Int8, Int16, Int32, Int64)
import Data.Word (Word8, Word16, Word32, Word64)
import Foreign.C.String (CString, castCharToCChar)
import Foreign.C.Types (CInt (..), CSize (..))
import Foreign.ForeignPtr (ForeignPtr, newForeignPtr_)
import Foreign.Marshal.Array (peekArray, pokeArray0)
import Foreign.Marshal.Utils (copyBytes)
import Foreign.Ptr (castPtr, plusPtr)
import Foreign.Storable (Storable, peekElemOff, sizeOf)
import GHC.ForeignPtr (mallocPlainForeignPtrAlignedBytes)
import GHC.Ptr (Ptr (..))  -- the constructor: runQ's splice embeds constant arrays as `Ptr "..."#`
import System.IO.Unsafe (unsafePerformIO)
import qualified {target} as Target
import qualified PyaccadProgram{key} as P
"""

_HELPERS = """\
-- | The caller's buffer as an accelerate array: the pointer becomes the array's storage, nothing is copied.
fromBuffer :: forall sh e. ArrayData (EltR e) ~ UniqueArray (EltR e) => EltR sh -> Ptr () -> IO (A.Array sh e)
fromBuffer extent buffer = do
  storage <- newUniqueArray =<< newForeignPtr_ (castPtr buffer)
  return (Sugar.Array (R.Array extent storage))

-- | A result copied into the caller's buffer, whose extent is @expected@ (this forces its computation).
toBuffer :: forall sh e. (A.Shape sh, Eq (EltR sh), Show (EltR sh), ArrayData (EltR e) ~ UniqueArray (EltR e),
                          Storable (EltR e))
         => EltR sh -> A.Array sh e -> Ptr () -> IO ()
toBuffer expected array@(Sugar.Array (R.Array extent storage)) buffer
  | extent /= expected =
      ioError (userError ("a result has extent " ++ show extent ++ " where the caller expects " ++ show expected))
  | otherwise =
      withUniqueArrayPtr storage $ \\values ->
        parallelCopy (castPtr buffer) (castPtr values) (A.arraySize array * sizeOf (undefined :: EltR e))

foreign import ccall safe "string.h memcpy" memcpySafe :: Ptr Word8 -> Ptr Word8 -> CSize -> IO (Ptr Word8)

-- | @copyBytes@, in one piece per capability (accelerate sets one per worker) where it is 1 MiB or more: one
-- thread's copy of a 4 MiB result took as long as the program's kernels on two cores (BENCHMARKS.md). Each piece
-- is a safe foreign call, which leaves its capability to the next piece's thread, so the pieces run at once.
parallelCopy :: Ptr Word8 -> Ptr Word8 -> Int -> IO ()
parallelCopy target source bytes = do
  pieces <- min (bytes `div` (512 * 1024)) <$> getNumCapabilities
  if pieces < 2
    then copyBytes target source bytes
    else do
      let step = (bytes `div` pieces + 4095) `div` 4096 * 4096  -- whole pages, so no two pieces share one
          copy offset =
            memcpySafe (target `plusPtr` offset) (source `plusPtr` offset) (fromIntegral (min step (bytes - offset)))
          offsets = takeWhile (< bytes) [0, step ..]
      done <- mapM (\\offset -> do
                     finished <- newEmptyMVar
                     _ <- forkIO (copy offset >> putMVar finished ())
                     return finished) (drop 1 offsets)
      _ <- copy 0
      mapM_ takeMVar done

-- | The first @count@ extents the caller passed.
extents :: Ptr Int64 -> Int -> IO [Int]
extents pointer count = map fromIntegral <$> peekArray count pointer

-- | The arrays accelerate allocated most recently, up to a number of them and of bytes:
-- @Kept count bytes oldest newest@, the oldest first in one list and the newest first in the other (a queue).
data Kept = Kept !Int !Int [(Int, ForeignPtr Word8)] [(Int, ForeignPtr Word8)]

{-# NOINLINE kept #-}
kept :: IORef Kept
kept = unsafePerformIO (newIORef (Kept 0 0 [] []))

-- | accelerate-llvm-native passes its kernels raw pointers and keeps nothing alive for them, so an array that its
-- executor drops while a worker still runs a kernel on it (an awhile state of a past trip, a permute's locks) would
-- be freed by the next garbage collection. Arrays allocated here stay alive until @most@ newer arrays or @budget@
-- newer bytes are.
keepingAllocator :: Int -> Int -> Int -> IO (ForeignPtr Word8)
keepingAllocator most budget bytes = do
  array <- mallocPlainForeignPtrAlignedBytes bytes 64  -- accelerate's own alignment (a cache line)
  atomicModifyIORef' kept $ \\(Kept count total oldest newest) ->
    (evictPast most budget (Kept (count + 1) (total + bytes) oldest ((bytes, array) : newest)), ())
  return array

-- | The newest kept arrays, up to @most@ of them and @budget@ bytes, and the newest one whatever its size.
evictPast :: Int -> Int -> Kept -> Kept
evictPast most budget = evict
  where
    over count total = count > most || total > budget
    evict (Kept count total ((size, _) : oldest) newest)
      | over count total = evict (Kept (count - 1) (total - size) oldest newest)
    evict (Kept count total [] newest@(_ : _ : _)) | over count total = evict (Kept count total (reverse newest) [])
    evict k = k

foreign export ccall pyaccad_trim_arrays :: Int64 -> Int64 -> IO ()

-- | Lets go of the kept arrays past the newest @most@ and @budget@ bytes now (once no call is running, every
-- kernel has finished: the arrays only wait for the next garbage collection, which gives their memory to the next
-- call's arrays, where memory the allocator has not used yet costs a page fault every 4 KiB).
pyaccad_trim_arrays :: Int64 -> Int64 -> IO ()
pyaccad_trim_arrays most budget =
  atomicModifyIORef' kept $ \\k -> (evictPast (fromIntegral most) (fromIntegral budget) k, ())

foreign export ccall pyaccad_keep_arrays :: Int64 -> Int64 -> IO ()

-- | From now on accelerate's arrays come from 'keepingAllocator' (called once, before any program runs).
pyaccad_keep_arrays :: Int64 -> Int64 -> IO ()
pyaccad_keep_arrays most budget =
  registerForeignPtrAllocator (keepingAllocator (fromIntegral most) (fromIntegral budget))

foreign export ccall pyaccad_call :: Ptr (Ptr ()) -> Ptr Int64 -> Ptr (Ptr ()) -> Ptr Int64 -> CString -> CInt
                                   -> IO CInt

-- | Runs the program on the buffers; 0, or 1 with the Haskell exception's text in @message@.
pyaccad_call :: Ptr (Ptr ()) -> Ptr Int64 -> Ptr (Ptr ()) -> Ptr Int64 -> CString -> CInt -> IO CInt
pyaccad_call inputs inputExtents outputs outputExtents message capacity = do
  outcome <- try (run inputs inputExtents outputs outputExtents)
  case outcome of
    Right () -> return 0
    Left (failure :: SomeException) -> do
      let text = [if isAscii c then c else '?' | c <- take (fromIntegral capacity - 1) (displayException failure)]
      pokeArray0 0 message (map castCharToCChar text)
      return 1
"""


def _crossing_type(t: ArrayType) -> str:
    """The Haskell type of a buffer at the boundary: the program's own, with ``Bool`` as bytes."""
    qualified = "A." + hs_array_type(t).replace("DIM", "A.DIM")
    return qualified.replace(HS_SCALAR[BOOL], "Word8") if t.dtype == BOOL else qualified


def _extents(types: Sequence[ArrayType], pointer: str, read: str, lines: list[str]) -> list[str]:
    """accelerate's representation of each array's extent (``()``, ``((), n)``, ``(((), m), n)``...), made of
    the caller's extents at ``pointer``, read into the list ``read`` by a line appended to ``lines`` (where any)."""
    count = sum(t.ndim for t in types)
    if count:
        lines.append(f"  {read} <- extents {pointer} {count}")
    texts, k = [], 0
    for t in types:
        text = "()"
        for _ in range(t.ndim):
            text, k = f"({text}, {read} !! {k})", k + 1
        texts.append(text)
    return texts


def _tuple(names: Sequence[str]) -> str:
    """One name as itself; several as a Haskell tuple ``(a, b)``, nested past 16 as the program's signature."""
    return tuple_tree(names, haskell_tuple)


def _acc_tuple(names: Sequence[str]) -> str:
    """One name as itself; several as accelerate's tuple ``A.T2 a b``, unparenthesised, nested past 16 as the
    program's patterns."""
    return tuple_tree(names, lambda group: accelerate_tuple(group, "A."))


# Bool arrays cross as bytes. Written out in the call, not as functions of this module: a runQ splice can only
# use what is imported (Template Haskell's stage restriction).
_FROM_BYTES = "A.map (A./= (0 :: A.Exp Word8))"
_TO_BYTES = "A.map (\\b -> b A.? (1 :: A.Exp Word8, 0))"


def _compiled(program: Program, ahead_of_time: bool) -> list[str]:
    """The ``compiled`` value: ``P.f`` with Bool crossings converted, compiled by the target's ``runQ`` (ahead of
    time) or ``runN`` (on the first call; ``run`` for a program of no inputs, an ``Acc`` value)."""
    ins = [f"a{i}" for i in range(len(program.inputs))]
    outs = [f"r{i}" for i in range(len(program.output_types))]
    types_in = [_crossing_type(t) for t in program.input_types]
    types_out = _tuple([_crossing_type(t) for t in program.output_types])
    args = [f"({_FROM_BYTES} {a})" if t.dtype == BOOL else a for a, t in zip(ins, program.input_types, strict=True)]
    results = [f"({_TO_BYTES} {r})" if t.dtype == BOOL else r for r, t in zip(outs, program.output_types, strict=True)]
    call = f"P.f ({_acc_tuple(args)})" if ins else "P.f"
    if results != outs:
        call = f"case {call} of {_acc_tuple(outs)} -> {_acc_tuple(results)}"
    if ins:
        function = f"(\\({_acc_tuple(ins)}) -> {call})" if (args, results) != (ins, outs) else "P.f"
        signature = f"compiled :: {_tuple(types_in)} -> {types_out}"
    else:
        function = call if call == "P.f" else f"({call})"
        signature = f"compiled :: {types_out}"
    if ahead_of_time:
        return [signature, f"compiled = $(Target.runQ {function})"]
    return [signature, f"compiled = Target.{'runN' if ins else 'run'} {function}"]


def entry_source(program: Program, key: str, target: str, ahead_of_time: bool = False) -> str:
    """The entry module of the library for ``program`` (see the module doc); ``ahead_of_time``: compiled by
    ``runQ`` (the native target only), else by ``runN``."""
    header = _HEADER.replace("{key}", key).replace("{target}", TARGET_MODULES[target])
    lines = [_AHEAD_OF_TIME_HEADER + header if ahead_of_time else header]
    lines += [*_compiled(program, ahead_of_time), "{-# NOINLINE compiled #-}", "", _HELPERS]
    lines.append("run :: Ptr (Ptr ()) -> Ptr Int64 -> Ptr (Ptr ()) -> Ptr Int64 -> IO ()")
    lines.append("run inputs inputExtents outputs outputExtents = do")
    ins = [f"a{i}" for i in range(len(program.input_types))]
    extents = _extents(program.input_types, "inputExtents", "i", lines)
    for i, (t, extent) in enumerate(zip(program.input_types, extents, strict=True)):
        lines.append(f"  a{i} <- fromBuffer {extent} =<< peekElemOff inputs {i} :: IO ({_crossing_type(t)})")
    outs = [f"r{i}" for i in range(len(program.output_types))]
    applied = f"compiled {_tuple(ins)}" if ins else "compiled"
    lines.append(f"  let {_tuple(outs)} = {applied}")
    extents = _extents(program.output_types, "outputExtents", "o", lines)
    for i, (r, extent) in enumerate(zip(outs, extents, strict=True)):
        lines.append(f"  toBuffer {extent} {r} =<< peekElemOff outputs {i}")
    return "\n".join(lines) + "\n"
