"""The evaluator's errors: each names the construct and where it was met, so a failing test says what to add."""

from __future__ import annotations


class HsEvalError(Exception):
    """Something in the exported module the evaluator cannot give a meaning to."""


class HsSyntaxError(HsEvalError):
    """Text outside the Haskell subset the evaluator parses (names the token and its line)."""


class Unsupported(HsEvalError):
    """A name, pattern or construct the evaluator does not implement (names it)."""


class HsTypeError(HsEvalError):
    """Values that GHC would reject together: ``Float`` meeting ``Double``, ``Bool`` where ``Exp Bool`` is due."""


class HsRuntimeError(HsEvalError):
    """What accelerate would fail on, or leave undefined: a read out of bounds, integer division by zero."""
