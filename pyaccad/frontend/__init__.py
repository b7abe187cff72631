"""The front end: tracers, the public combinators, NumPy-style sugar, pytrees.

>>> from pyaccad.frontend import trace
>>> import numpy as np
>>> trace(lambda x: (x, x), np.zeros(1)).out_tree.kind
'tuple'
"""

from pyaccad.frontend.tracing import Array, Exp, Traced, Value, trace

__all__ = ["Array", "Exp", "Traced", "Value", "trace"]
