"""A short tour of pyaccad: accelerate-style combinators, NumPy-style sugar, loops, and a gradient.

Run from the repository root:  python examples/quickstart.py
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout, uninstalled
import pyaccad as acc  # noqa: E402
from pyaccad import nn  # noqa: E402

# The default backend (native: C + OpenMP, or $PYACCAD_BACKEND); where it cannot run here, the NumPy
# interpreter, the reference backend, runs the same programs.
_native_problem = acc.backends()["native"]
BACKEND = None if _native_problem is None or os.environ.get("PYACCAD_BACKEND") else "interp"
if BACKEND is None:
    chosen = os.environ.get("PYACCAD_BACKEND")
    print(f"backend: {chosen} (from $PYACCAD_BACKEND)\n" if chosen else "backend: native (the default)\n")
else:
    print(f"backend: interp (the native backend is unavailable here: {_native_problem})\n")


def show(title, fn, *args):
    print(f"== {title}")
    print(acc.lower(fn, *args, backend=BACKEND))
    print("->", acc.run(fn, *args, backend=BACKEND), "\n")


# map and fold: a dot product, as in accelerate's tutorial.
def dot(x, y):
    return acc.fold(lambda a, b: a + b, 0.0, acc.zip_with(lambda a, b: a * b, x, y))


show("map/fold: dot product", dot, np.arange(4.0), np.ones(4))


# generate + backpermute: an index table, then a gather that transposes it.
def table_transposed(n):
    t = acc.generate((2, 3), lambda i, j: 10 * i + j + acc.the(n))
    return acc.backpermute((3, 2), lambda i, j: (j, i), t)


show("generate + backpermute", table_transposed, np.array(100))

# stencil: a 1-D three-point blur with clamped borders.
show("stencil", lambda a: acc.stencil(lambda n: (n[0] + n[1] + n[2]) / 3.0, a, 3, "clamp"), np.array([0.0, 3, 6, 9]))

# awhile: double an array until its sum passes 100.
show("awhile", lambda x: acc.awhile(lambda s: s.sum() < 100.0, lambda s: s * 2.0, x), np.array([1.0, 2.0]))


# NumPy-style sugar: broadcasting, slicing, reductions, matmul, softmax.
def sugar(w, x):
    h = nn.relu(x @ w.T + 1.0)
    return nn.softmax(h[:, ::2], axis=-1).max(axis=1)


w = np.arange(12.0).reshape(4, 3) / 10
show("NumPy-style sugar", sugar, w, np.ones((2, 3)))

# A gradient, when the differentiation stage is present.
try:
    from pyaccad.ad import grad
except ImportError:
    grad = None
if grad is not None:
    loss = lambda w: nn.sigmoid(w @ np.array([1.0, -1.0, 0.5])).sum()
    print("== grad of sum(sigmoid(w @ v))\n->", acc.run(grad(loss), w, backend=BACKEND))
