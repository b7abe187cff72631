"""The front end: tracers, the public combinators, NumPy-style sugar, pytrees.

>>> from pyaccad.frontend import trace
>>> import numpy as np
>>> trace(lambda x: (x, x), np.zeros(1)).out_tree.kind
'tuple'
"""

# Imported for what it does: it gives the tracers their operators. Importing any module of the front end
# runs this file first, so a traced value always has them.
from pyaccad.frontend import methods  # noqa: F401
from pyaccad.frontend.tracing import Array, Exp, Traced, Value, trace

__all__ = ["Array", "Exp", "Traced", "Value", "trace"]
