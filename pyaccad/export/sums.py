"""Long float sums in partial sums: fast and accurate under IEEE arithmetic (``Printer(partial_sums=True)``).

accelerate prints a sum as ``fold (+) 0``; accelerate-llvm-native runs each
worker's share of a row in order, one running sum. With LLVM's fast-math flags
(accelerate's default) LLVM reassociates that loop into vector lanes; without
them (the bridge's default, :mod:`pyaccad.backends.accelerate.fastmath`) every
addition waits on the one before, the producer fused into the fold (``sin x *
x``) runs one element at a time too (no vector ``sin``), and a float32 sum of
2^22 terms rounds 2^22 times into one accumulator.

So, asked for (the bridge asks where its flags keep IEEE arithmetic), a float
sum along a row longer than :data:`LONG_SUM`, or of an extent that varies (a
shape-generic export's symbol: its module serves every length), prints as the
helper ``sumLong`` (:data:`SUM_LONG`): the row is cut into chunks of
:data:`CHUNK` terms, summed in parallel (one ``generate``, an element a chunk),
each chunk in eight partial sums (``sumOver``, :data:`SUM_OVER`), and the
chunks' sums are summed last. LLVM's SLP vectoriser packs the eight independent
additions of eight neighbouring terms into one vector addition, reassociating
nothing; the row's producer, read by index, is materialised by accelerate first
(a vectorised loop). Every term is rounded at most ``CHUNK/8 + 12 + n/CHUNK``
times instead of ``n - 1``. Measured through the bridge (2-core Xeon, quiet),
``Σ sin(x)·x`` of 2^22 float32: ``sum`` 18.8 ms, relative error 8.2e-4;
``sumLong`` 2.8 ms, 2.2e-7 (the native backend: 0.84 ms, 3.4e-7). With fast-math,
``sum`` (2.4 ms, 4.4e-6) beats ``sumLong`` (3.7 ms), which writes the
materialised producer out and reads it back: so the export prints ``sum``
unless asked. A short row of a varying extent (the ten classes of a softmax)
pays that too, for a row it would not need: the choice cannot follow the
example's length, since the module is checked at longer ones to serve them all.

>>> from pyaccad.export.printer import Printer
>>> p = Printer()
>>> long_sum(p, "(zipWith (*) x y)"), sorted(p.helpers)
('sumLong (zipWith (*) x y)', ['sumLong', 'sumOver'])
"""

from __future__ import annotations

from pyaccad.export.printer import Printer
from pyaccad.export.symbolic import SymInt

LONG_SUM = 16
"""Rows up to this long (at the export's example sizes) stay accelerate's own ``sum``."""

CHUNK = 4096
"""Terms a parallel chunk of ``sumLong`` sums (in eight partial sums of 512 terms)."""

SUM_OVER = [
    "-- | The sum of term l for l from 0 to n - 1, kept in eight partial sums: each addition waits only on",
    "-- the one eight terms back, where one running sum would wait on every addition before it.",
    "sumOver :: Num a => Exp Int -> (Exp Int -> Exp a) -> Exp a",
    "sumOver n term =",
    "  let eights = n - n `mod` 8",
    "      eight (T9 l a b c d e f g h) =",
    "        T9 (l + 8) (a + term l) (b + term (l + 1)) (c + term (l + 2)) (d + term (l + 3))",
    "                   (e + term (l + 4)) (f + term (l + 5)) (g + term (l + 6)) (h + term (l + 7))",
    "      T9 _ a b c d e f g h = while (\\(T9 l _ _ _ _ _ _ _ _) -> l < eights) eight (T9 0 0 0 0 0 0 0 0 0)",
    "      one (T2 l s) = T2 (l + 1) (s + term l)",
    "      T2 _ s = while (\\(T2 l _) -> l < n) one (T2 eights 0)",
    "  in  ((a + b) + (c + d)) + ((e + f) + (g + h)) + s",
]

SUM_LONG = [
    f"-- | The sum of each row of xs (its innermost axis), in chunks of {CHUNK} summed in parallel, each in",
    "-- eight partial sums (sumOver), then the chunks' sums: fast and accurate without reassociating a float sum.",
    "sumLong :: (Shape sh, Num a) => Acc (Array (sh :. Int) a) -> Acc (Array sh a)",
    "sumLong xs =",
    "  let n = indexHead (shape xs)",
    "      chunk ix =",
    f"        let from = indexHead ix * {CHUNK}",
    f"        in  sumOver (min {CHUNK} (n - from)) (\\l -> xs ! (indexTail ix ::. from + l))",
    f"  in  sum (generate (indexTail (shape xs) ::. (n + {CHUNK - 1}) `quot` {CHUNK}) chunk)",
]


def is_long(extent: int) -> bool:
    """Whether a float sum along a row of ``extent`` prints as ``sumLong`` (see the module docstring).

    >>> is_long(LONG_SUM), is_long(LONG_SUM + 1)
    (False, True)
    """
    return isinstance(extent, SymInt) or extent > LONG_SUM


def long_sum(p: Printer, source: str) -> str:
    """The sum along the innermost axis of ``source`` (an accelerate array expression, parenthesised) as
    ``sumLong``, whose helpers ``p`` prints (see the module docstring)."""
    p.helpers.update(("sumLong", "sumOver"))
    return f"sumLong {source}"
