"""pyaccad: differentiable parallel array programming, after Haskell's ``accelerate``.

Write array programs with accelerate's combinators or NumPy-style operators,
differentiate them (``pyaccad.ad``), and run them as fused C + OpenMP on the
CPU's cores (the ``native`` backend, the default), with NumPy statement by
statement (``interp``, the reference), as CUDA kernels (``cuda``: compiled by
NVRTC and tested on a CPU emulator of the GPU, not yet measured on one), or
with GHC-compiled ``accelerate`` (``accelerate``, where GHC and accelerate are
installed); or export them, derivatives included, as ``accelerate`` Haskell.

>>> import numpy as np
>>> import pyaccad as acc
>>> from pyaccad import ad
>>> f = lambda x: acc.fold_all(lambda a, b: a + b, 0.0, acc.map(lambda v: v * v, x))
>>> float(acc.run(f, np.arange(4.0)))
14.0
>>> ad.grad(f)(np.arange(4.0))
array([0., 2., 4., 6.])

Public names are resolved lazily (``import pyaccad`` stays cheap). Every public
name of ``pyaccad``, ``pyaccad.ad``, ``pyaccad.nn``, ``pyaccad.numpy`` and
``pyaccad.linalg`` is listed, with its signature and an example, in
``docs/API.md`` (``python -m pyaccad.docs`` prints it); ``docs/tutorial.md`` is
the guided tour.
"""

import importlib as _importlib
from typing import Any as _Any

from pyaccad import wiring as _wiring
from pyaccad.errors import (
    ArgumentError,
    BackendUnavailable,
    CompileError,
    DTypeError,
    Error,
    IndexOutOfBounds,
    NotDifferentiable,
    ResourceError,
    RunError,
    ShapeError,
)
from pyaccad.ir.types import PUBLIC_NAMES as _DTYPE_NAMES

globals().update(_DTYPE_NAMES)  # acc.float32, acc.uint8, acc.bool_, ...: NumPy's dtypes

__version__ = "0.1.0"

_COMBINATORS = (
    "use unit the generate fill map zip_with fold fold1 fold_all scanl scanl1 scanr scanr1 "
    "backpermute permute IGNORE stencil awhile acond cond while_"
).split()
_SHAPES = "reshape transpose reverse replicate broadcast_to concatenate matmul".split()
_SCALARS = (
    "sin cos tan asin acos atan atan2 sinh cosh tanh asinh acosh atanh exp expm1 log log1p sqrt abs sign "
    "floor ceil round trunc minimum maximum erf isnan isinf negative power logical_and logical_or "
    "bitwise_and bitwise_or bitwise_xor invert left_shift right_shift"
).split()

_LAZY: dict[str, str] = {
    **{name: "pyaccad.frontend.combinators" for name in _COMBINATORS},
    **{name: "pyaccad.frontend.shapes" for name in _SHAPES},
    "where": "pyaccad.frontend.operators",
    "cast": "pyaccad.frontend.operators",
    "Array": "pyaccad.frontend.tracing",
    "Exp": "pyaccad.frontend.tracing",
    "jit": "pyaccad.api",
    "run": "pyaccad.api",
    "lower": "pyaccad.api",
    "backends": "pyaccad.api",
    "device_put": "pyaccad.api",
    "export_haskell": "pyaccad.export",
}
_SUBMODULES = ("ad", "nn", "numpy", "linalg", "ir", "frontend", "opt", "backends", "export", "bench", "distributed")


def _jit(fn: _Any, **options: _Any) -> _Any:
    """``acc.jit``, loaded on first use: the compiler of the transforms called with NumPy arguments."""
    from pyaccad.api import jit

    return jit(fn, **options)


def _numpy_functions() -> _Any:
    """``pyaccad.numpy.FUNCTIONS``, loaded on first use: what NumPy's functions on traced values call."""
    from pyaccad.numpy import FUNCTIONS

    return FUNCTIONS


# Two calls go from a stage to a later one (see pyaccad.wiring); the package, above every stage, wires them.
_wiring.install(compiler=_jit, numpy_functions=_numpy_functions)

# ``pyaccad.backends`` is the package of backends, and ``acc.backends()`` the public function
# (pyaccad.api.backends). Python binds the package's name here when the package is first imported, so it
# is imported now and the binding dropped: the name resolves to the function (``__getattr__``), and later
# imports (``import pyaccad.backends.native``, ``from pyaccad.backends import interp``) find the package
# loaded and bind nothing here.
_importlib.import_module("pyaccad.backends")
del globals()["backends"]


def __getattr__(name: str) -> _Any:
    if name in _SCALARS:
        from pyaccad.frontend.operators import SCALAR_FUNCTIONS

        return SCALAR_FUNCTIONS[name]
    if name in _LAZY:
        return getattr(_importlib.import_module(_LAZY[name]), name)
    if name in _SUBMODULES:
        return _importlib.import_module(f"pyaccad.{name}")
    raise AttributeError(f"module 'pyaccad' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_SCALARS) | set(_SUBMODULES))


__all__ = [
    "ArgumentError",
    "BackendUnavailable",
    "CompileError",
    "DTypeError",
    "Error",
    "IndexOutOfBounds",
    "NotDifferentiable",
    "ResourceError",
    "RunError",
    "ShapeError",
    *_DTYPE_NAMES,
    *_LAZY,
    *_SCALARS,
]
