"""NumPy's protocols on traced values: ``np.sin(x)``, ``np.sum(x)``, ``ndarray + x`` call ``pyaccad.numpy``.

NumPy hands a ufunc call with a traced operand to ``__array_ufunc__`` and a
call of its other functions to ``__array_function__``; both look the
function up by name in :data:`pyaccad.numpy.FUNCTIONS` (NumPy arrays among
the operands are embedded as constants first), a layer above the front end
that :mod:`pyaccad.wiring` reaches. ``reduce`` and
``accumulate`` of the ufuncs that have a reduction map to it (``np.add.reduce``
is ``sum``, ``np.multiply.accumulate`` is ``cumprod``). A function pyaccad
does not have, an ``out=`` argument (traced arrays are immutable) or an
argument ours does not take is an error naming what to use instead.

>>> import numpy as np, pyaccad as acc
>>> acc.run(lambda a: np.sum(np.exp(a) * np.arange(2.0)), np.zeros(2))
array(1.)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np

from pyaccad.errors import ArgumentError, Error
from pyaccad.frontend.tracing import fail, to_value
from pyaccad.wiring import numpy_function

_REDUCE = {
    ("add", "reduce"): "sum",
    ("multiply", "reduce"): "prod",
    ("maximum", "reduce"): "max",
    ("minimum", "reduce"): "min",
    ("logical_and", "reduce"): "all",
    ("logical_or", "reduce"): "any",
    ("add", "accumulate"): "cumsum",
    ("multiply", "accumulate"): "cumprod",
}


def _embedded(args: Any) -> Any:
    """NumPy arrays among the arguments as traced constants, NumPy scalars (and the rank-0 arrays NumPy makes
    of them, ``np.int64(1) < x``) as Python numbers, literals taking the dtype they meet: so our operators,
    not NumPy's, combine them, and NumPy does not call us back."""
    if isinstance(args, np.generic) or (isinstance(args, np.ndarray) and args.ndim == 0):
        return args.item()
    if isinstance(args, np.ndarray):
        return to_value(args, "numpy")
    if isinstance(args, (list, tuple)):
        return type(args)(_embedded(a) for a in args)
    return args


def _call(name: str, what: str, args: tuple[Any, ...], kwargs: dict[str, Any], module: str = "numpy") -> Any:
    fn = numpy_function(name) if module == "numpy" else None
    if fn is None:
        fail(
            Error,
            f"{what} on a traced array: pyaccad.numpy has no {what!r}; write it with pyaccad.numpy's functions "
            "or acc's combinators (acc.map, acc.fold, ...), or compute it outside the traced function",
        )
    if kwargs.get("out", None) is not None:
        fail(ArgumentError, f"{what}: out= is not supported on traced arrays (they are immutable); use the result")
    kwargs = {k: v for k, v in kwargs.items() if k != "out"}
    try:
        inspect.signature(fn).bind(*args, **kwargs)
    except TypeError as exc:
        fail(ArgumentError, f"{what} on a traced array: pyaccad.numpy.{name}{inspect.signature(fn)} {exc}")
    return fn(*args, **kwargs)


def array_ufunc(ufunc: np.ufunc, method: str, inputs: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``__array_ufunc__``: the ufunc (or its ``reduce``/``accumulate``) from ``pyaccad.numpy``."""
    if method == "__call__":
        return _call(ufunc.__name__, f"numpy.{ufunc.__name__}", _embedded(inputs), kwargs)
    name = _REDUCE.get((ufunc.__name__, method))
    if name is None:
        fail(
            Error,
            f"numpy.{ufunc.__name__}.{method} on a traced array is not supported; "
            "use pyaccad.numpy (outer, sum, cumsum, ...) or acc.fold / acc.scanl",
        )
    return _call(name, f"numpy.{ufunc.__name__}.{method}", _embedded(inputs), kwargs)


def array_function(func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``__array_function__``: the function of the same name from ``pyaccad.numpy``."""
    name, module = func.__name__, getattr(func, "__module__", "numpy")
    return _call(name, f"{module}.{name}", _embedded(args), kwargs, module)
