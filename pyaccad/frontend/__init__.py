"""The front end: tracers, the public combinators, NumPy-style sugar, pytrees.

>>> from pyaccad.frontend import trace
>>> import numpy as np
>>> trace(lambda x: (x, x), np.zeros(1)).out_tree.kind
'tuple'
"""

# Importing these attaches operators, indexing, shape methods and reductions to traced values.
from pyaccad.frontend import combinators, indexing, operators, reductions, shapes  # noqa: F401
from pyaccad.frontend.tracing import Array, Exp, Traced, Value, trace

__all__ = ["Array", "Exp", "Traced", "Value", "trace"]
