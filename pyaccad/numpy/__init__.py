"""``pyaccad.numpy``: NumPy's functions on traced arrays, as ``jax.numpy`` is to JAX.

``import pyaccad.numpy as jnp`` and write NumPy inside a traced function
(``acc.jit``, ``acc.run``, a transform of ``pyaccad.ad``). Every function is
a composition of pyaccad's primitives, so it differentiates, batches
(``vmap``), fuses and exports as they do; each is tested against NumPy, and
its derivatives against JAX or finite differences (``tests/numpy``). The
names, their arguments and defaults are NumPy's; what differs is said below
and in each docstring.

=====================  ==========================================================================
module                 names
=====================  ==========================================================================
element-wise           the ufuncs (``sin`` ... ``arctanh``, ``exp``, ``log``, ``sqrt``, ``add`` ...
(:mod:`.elementwise`)  ``greater_equal``, ``logical_and`` ...), ``square``, ``log2``, ``log10``,
                       ``exp2``, ``mod``, ``clip``, ``where``, ``sigmoid``, ``isfinite``, ``astype``
creation               ``zeros``, ``ones``, ``full``, ``*_like``, ``empty``, ``eye``, ``identity``,
(:mod:`.creation`)     ``arange``, ``linspace``, ``tril``, ``triu``, ``asarray``/``array``
shapes                 ``reshape``, ``ravel``, ``transpose``, ``swapaxes``, ``moveaxis``,
(:mod:`.manipulation`) ``expand_dims``, ``squeeze``, ``stack``, ``concatenate``, ``hstack``,
                       ``vstack``, ``atleast_1d``/``2d``, ``broadcast_to``, ``flip``,
                       ``shape``/``ndim``/``size``
reductions, scans      ``sum``, ``prod``, ``mean``, ``var``, ``std``, ``max``/``amax``,
(:mod:`.reductions`)   ``min``/``amin``, ``argmax``, ``argmin``, ``any``, ``all``, ``cumsum``,
                       ``cumprod``
contractions           ``dot``, ``vdot``, ``inner``, ``outer``, ``tensordot``, ``matmul``,
(:mod:`.contractions`) ``einsum`` (one batched ``matmul`` per pair of operands)
selection              ``take``, ``take_along_axis``, ``sort``, ``argsort`` (O(n²) per row:
(:mod:`.selection`)    pairwise ranks; stable, NaNs last)
dtypes, constants      ``float16`` ... ``uint64``, ``bool_`` (every dtype), ``ndarray``
                       (the traced array type), ``pi``, ``e``, ``inf``, ``nan``, ``newaxis``
=====================  ==========================================================================

Called outside any traced function (with NumPy arrays, lists or numbers,
say to initialise parameters), a function runs at once on the interpreter and
returns NumPy arrays, as ``jax.numpy`` runs eagerly. Differences from NumPy:
shapes, axes and ranges are Python
values; dtypes default as in NumPy (float64), and mixed operands promote as
in ``jax.numpy`` (Python numbers weak); ``where`` takes three arguments
(the one-argument form has a data-dependent shape). Indexing with integer
arrays and JAX's ``x.at[idx].set/add/min/max/multiply`` work on traced
arrays; NumPy's own functions called on traced arrays (``np.sin(x)``,
``np.sum(x)``) dispatch here.

>>> import numpy as np, pyaccad as acc
>>> import pyaccad.numpy as jnp
>>> def f(x):
...     return jnp.sum(jnp.square(jnp.clip(x, 0.0, 2.0)) * jnp.arange(3.0))
>>> acc.run(f, np.array([1.0, -1.0, 3.0]))
array(8.)
>>> jnp.linspace(0.0, 1.0, 3)  # outside a traced function: at once, on the interpreter
array([0. , 0.5, 1. ])
"""

from __future__ import annotations

import builtins as _builtins
import functools as _functools
from collections.abc import Callable as _Callable

import numpy as _np

from pyaccad import linalg as linalg  # pyaccad.numpy.linalg, as jax.numpy.linalg
from pyaccad.frontend import values as _values
from pyaccad.frontend.pytree import flatten as _flatten
from pyaccad.frontend.values import current_builder as _current_builder
from pyaccad.ir import types as _types
from pyaccad.numpy import contractions as _contractions
from pyaccad.numpy import creation as _creation
from pyaccad.numpy import elementwise as _elementwise
from pyaccad.numpy import manipulation as _manipulation
from pyaccad.numpy import reductions as _reductions
from pyaccad.numpy import selection as _selection

ndarray = _values.Array
globals().update(_types.PUBLIC_NAMES)  # float32, uint8, bool_, ...
pi, e, inf, nan, newaxis = _np.pi, _np.e, _np.inf, _np.nan, None

_MODULES = (_elementwise, _creation, _manipulation, _reductions, _contractions, _selection)
_STATIC = {"shape", "ndim", "size"}  # answer from Python values: nothing to run


def _eager(fn: _Callable[..., object]) -> _Callable[..., object]:
    """``fn``, run at once on the interpreter when called outside a traced function with no traced argument."""

    @_functools.wraps(fn)
    def call(*args: object, **kwargs: object) -> object:
        leaves, _ = _flatten((args, kwargs))
        # (builtins.any: this module's globals hold pyaccad.numpy.any)
        if _current_builder() is not None or _builtins.any(isinstance(x, _values.Value) for x in leaves):
            return fn(*args, **kwargs)
        from pyaccad.api import run  # the run-time stages sit above this layer

        return run(lambda: fn(*args, **kwargs), backend="interp")

    return call


FUNCTIONS: dict[str, _Callable[..., object]] = {
    name: getattr(m, name) if name in _STATIC else _eager(getattr(m, name)) for m in _MODULES for name in m.__all__
}
"""Every function of ``pyaccad.numpy`` by name (what NumPy's ``__array_function__`` dispatch looks up)."""
globals().update(FUNCTIONS)

__all__ = sorted(
    [
        *FUNCTIONS,
        "FUNCTIONS",
        *_types.PUBLIC_NAMES,
        "linalg",  # jax.numpy.linalg's solve and cholesky (and triangular_solve): pyaccad.linalg
        "ndarray",
        "pi",
        "e",
        "inf",
        "nan",
        "newaxis",
    ]
)


def __dir__() -> list[str]:
    return list(__all__)
