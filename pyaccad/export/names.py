"""Haskell names for IR variables: which names are taken, and how hints become identifiers.

>>> sanitize("Weights.1"), sanitize("1st"), letters(27), "scatter" in RESERVED
('weights_1', 'v1st', 'ab', True)
"""

from __future__ import annotations

import re

# Names a binding must never take: Haskell keywords and every lower-case name Data.Array.Accelerate
# exports (accelerate 1.4; a binding named `scatter` would make every use of it ambiguous).
RESERVED = set(
    """case class data default deriving do else foreign if import in infix infixl infixr instance let module
    newtype of then type where forall mdo rec proc qualified as hiding
    null length shape size shapeSize use unit generate fill enumFromN enumFromStepN concatOn expand acond awhile
    compute indexed map imap zipWith zipWith3 zipWith4 zipWith5 zipWith6 zipWith7 zipWith8 zipWith9 izipWith
    izipWith3 izipWith4 izipWith5 izipWith6 izipWith7 izipWith8 izipWith9 zip zip3 zip4 zip5 zip6 zip7 zip8 zip9
    unzip unzip3 unzip4 unzip5 unzip6 unzip7 unzip8 unzip9 reshape flatten replicate slice init tail take drop
    slit initOn tailOn takeOn dropOn slitOn permute scatter backpermute gather reverse transpose reverseOn
    transposeOn filter compact fold fold1 foldAll fold1All foldSeg fold1Seg all any and or sum product maximum
    minimum scanl scanl1 scanr scanr1 prescanl postscanl prescanr postscanr scanlSeg scanl1Seg prescanlSeg
    postscanlSeg scanrSeg scanr1Seg prescanrSeg postscanrSeg stencil stencil2 clamp mirror wrap function succ
    pred minBound maxBound negate abs signum fromInteger quot rem div mod quotRem divMod recip fromRational pi
    sin cos tan asin acos atan sinh cosh tanh asinh acosh atanh exp sqrt log logBase div' mod' divMod'
    properFraction truncate round ceiling floor isNaN isInfinite isDenormalized isNegativeZero isIEEE atan2
    fromIntegral toFloating lift unlift lift1 lift2 lift3 ilift1 ilift2 ilift3 mkPattern mkPatterns constant fst
    afst snd asnd curry uncurry match cond while iterate sfoldl not subtract even odd gcd lcm index0 index1
    unindex1 index2 unindex2 index3 unindex3 indexHead indexTail toIndex fromIndex intersect ord chr boolToInt
    bitcast foreignAcc foreignExp arrayRank arrayShape arraySize arrayReshape indexArray linearIndexArray
    fromFunction fromFunctionM fromList toList flip error undefined const otherwise fromString fromListN the
    max min compare erf expm1 log1p floorFloat ceilingFloat truncateFloat rint sumOver sumLong modFloat""".split()
)
INDEX_NAMES = "ijklmn"  # unnamed index variables take these first; no unnamed value takes a run of them (jk)


def sanitize(hint: str) -> str:
    """A Haskell variable-like spelling of ``hint`` ("" for none); clashes with RESERVED are resolved by the caller.

    >>> sanitize("W1"), sanitize("")
    ('w1', '')
    """
    name = re.sub(r"\W", "_", hint)
    if not name or name == "_":
        return ""
    if name[0].isdigit():
        name = "v" + name
    name = name[0].lower() + name[1:]
    return name


def letters(n: int) -> str:
    """``a``, ``b``, ..., ``z``, ``aa``, ...: names for values the user did not name.

    >>> [letters(n) for n in (0, 25, 26)]
    ['a', 'z', 'aa']
    """
    s, n = "", n + 1
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(ord("a") + r) + s
    return s
