"""An independent evaluator of the Haskell that ``acc.export_haskell`` prints, for tests of its meaning.

The export tests parse every exported module with GHC, but GHC's parser says
nothing about what a module computes, and accelerate itself is not available
where the tests run. This package gives the exported text a meaning of its own:
it parses the subset of Haskell the exporter prints (:mod:`.lexer`,
:mod:`.parser`: layout, lambdas with patterns, ``let``, sections, infix
operators with accelerate's fixities, annotations) and evaluates it with NumPy
scalars following accelerate's documented semantics (:mod:`.arrays`,
:mod:`.scalar`, :mod:`.prelude`) — written from accelerate's documentation and
the source of its reference interpreter, never from pyaccad's IR or backends,
so that comparing it with pyaccad's ``interp`` backend is a real check.

Every float result comes with a first-order bound on its rounding error (see
:mod:`.values`), from which the tests derive their tolerances. Anything outside
the subset raises an :class:`~.errors.HsEvalError` naming the construct, so an
exporter change that prints something new fails a test with a useful message.

>>> import numpy as np
>>> src = '''module M (f) where
... import Data.Array.Accelerate
... import Prelude ()
... f :: Acc (Vector Float) -> Acc (Scalar Float)
... f x = fold (+) 0 (map (\\\\v -> v * 2.0) x)
... '''
>>> [(out.values.item(), out.bounds.item() > 0) for out in evaluate_module(src, np.float32([1, 2, 3]))]
[(12.0, True)]
"""

from __future__ import annotations

from .errors import HsEvalError, HsRuntimeError, HsSyntaxError, HsTypeError, Unsupported
from .module import Output, evaluate_module

__all__ = [
    "HsEvalError",
    "HsRuntimeError",
    "HsSyntaxError",
    "HsTypeError",
    "Output",
    "Unsupported",
    "evaluate_module",
]
