"""Plumbing shared by ``pyaccad.numpy``: arguments as traced values, NumPy's int-to-float rule, documented aliases.

>>> import numpy as np, pyaccad as acc
>>> acc.run(lambda a: as_float(a, "sin"), np.arange(2), backend="interp")
array([0., 1.])
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from pyaccad.frontend.operators import cast
from pyaccad.frontend.tracing import Value, to_value
from pyaccad.ir import FLOAT64
from pyaccad.ir.types import is_float


def as_value(x: Any, op: str) -> Value:
    """``x`` as a traced value: tracers pass through, NumPy arrays, Python lists and numbers are embedded."""
    if isinstance(x, (list, tuple)):
        x = np.asarray(x)
    return to_value(x, op)


def as_float(x: Any, op: str) -> Value:
    """``x`` as a float value: integers and booleans become float64, as NumPy's float functions make them."""
    value = as_value(x, op)
    return value if is_float(value.dtype) else cast(value, FLOAT64)


def documented(fn: Callable[..., Any], name: str, summary: str, example: str, output: str) -> Callable[..., Any]:
    """``fn`` under the public ``name``, with a docstring of ``summary`` and one runnable example."""
    fn.__name__ = fn.__qualname__ = name
    fn.__module__ = "pyaccad.numpy"
    fn.__doc__ = (
        f"{summary}\n\n"
        f"    >>> import numpy as np, pyaccad as acc\n"
        f"    >>> import pyaccad.numpy as jnp\n"
        f"    >>> {example}\n"
        f"    {output}\n"
    )
    return fn
