"""Shared helper of the front-end tests: trace, verify, then run on the interpreter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyaccad as acc
from pyaccad.frontend import trace
from pyaccad.ir import verify


def run_checked(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn`` traced at ``args`` (its program must verify) and evaluated by the interpreter."""
    verify(trace(fn, *args).program)
    return acc.run(fn, *args, backend="interp")
