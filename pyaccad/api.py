"""Running programs: ``jit``, ``run``, ``lower``, ``backends``.

This module joins the stages: trace (front end) → optimise → compile and run
(backend). ``jit`` caches one trace per input signature (pytree structure,
dtypes, shapes) and one executable per traced program and backend.

>>> import numpy as np, pyaccad as acc
>>> @acc.jit
... def f(x):
...     return acc.fold(lambda a, b: a + b, 0.0, x)
>>> f(np.ones((2, 3)))
array([3., 3.])
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from pyaccad import backends as _backends
from pyaccad.frontend.pytree import flatten, unflatten
from pyaccad.frontend.tracing import (
    Traced,
    Value,
    as_numpy_input,
    check_arguments,
    current_builder,
    function_name,
    trace,
)
from pyaccad.ir import pprint
from pyaccad.opt import optimize


class Jitted:
    """A compiled function: call it with NumPy arrays/pytrees, get NumPy arrays/pytrees back."""

    def __init__(self, fn: Callable[..., Any], backend: str | None = None) -> None:
        self.fn = fn
        self.backend = backend
        self._cache: dict[tuple, tuple[Traced, Any]] = {}
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        leaves, in_tree = flatten((args, kwargs))
        if current_builder() is not None or any(isinstance(x, Value) for x in leaves):
            # Called while tracing (jit inside jit, or inside a derivative): just trace through.
            return self.fn(*args, **kwargs)
        name = function_name(self.fn)
        arrays = [x if _on_device(x) else as_numpy_input(x, f"{name}: argument {i}") for i, x in enumerate(leaves)]
        backend_name = _backends.resolve_name(self.backend)
        key = (backend_name, in_tree, tuple((a.dtype, a.shape) for a in arrays))
        entry = self._cache.get(key)
        if entry is None:
            backend = _backends.get_backend(backend_name)
            check_arguments(self.fn, args, kwargs)
            # Tracing needs only types: a device array is stood for by an empty host array of its type.
            args, kwargs = unflatten(in_tree, [np.empty(a.shape, a.dtype) if _on_device(a) else a for a in arrays])
            # Keyword arguments are traced like positional ones: they are part of the input pytree.
            traced = trace(self.fn, *args) if not kwargs else trace(_with_keywords(self.fn), args, kwargs)
            executable = backend.compile(optimize(traced.program, backend_name))
            entry = self._cache[key] = (traced, executable)
        traced, executable = entry
        if any(_on_device(a) for a in arrays) and hasattr(executable, "device_call"):
            outputs = executable.device_call(arrays)  # device arrays in, device arrays out: nothing copied back
        else:
            outputs = executable([np.ascontiguousarray(a).reshape(a.shape) for a in arrays])  # keeps rank 0
        return unflatten(traced.out_tree, list(outputs))

    @property
    def trace_count(self) -> int:
        """How many input signatures have been traced (and compiled) so far.

        >>> import numpy as np, pyaccad as acc
        >>> f = acc.jit(lambda x: x * 2)
        >>> _ = f(np.ones(2)), f(np.zeros(2)), f(np.ones(3))
        >>> f.trace_count
        2
        """
        return len(self._cache)


def _on_device(x: Any) -> bool:
    from pyaccad.backends.cuda.arrays import DeviceArray

    return isinstance(x, DeviceArray)


def device_put(x: Any, backend: str = "cuda") -> Any:
    """``x`` (a NumPy array) copied to ``backend``'s memory: a device array for ``"cuda"``, which functions
    jitted for it take without copying and answer with device arrays; backends that run on the host keep
    host arrays, so this is ``np.asarray(x)`` for them.

    >>> import numpy as np, pyaccad as acc
    >>> acc.device_put(np.arange(3), backend="native")
    array([0, 1, 2])
    """
    name = _backends.resolve_name(backend)
    put = getattr(_backends.get_backend(name), "device_put", None)
    array = as_numpy_input(x, "device_put")
    return put(array) if put is not None else array


def _with_keywords(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` taking its positional and keyword arguments as two pytrees."""

    def call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return fn(*args, **kwargs)

    call.__name__ = function_name(fn)  # not functools.wraps: the signature must stay (args, kwargs)
    return call


def jit(fn: Callable[..., Any] | None = None, backend: str | None = None) -> Any:
    """Compiled version of ``fn``; usable as ``@acc.jit`` or ``acc.jit(backend="native")(fn)``.

    >>> import numpy as np, pyaccad as acc
    >>> acc.jit(lambda x: x + 1.0)(np.zeros(2))
    array([1., 1.])
    """
    if fn is None:
        return lambda f: Jitted(f, backend)
    return Jitted(fn, backend)


def run(fn: Callable[..., Any], *args: Any, backend: str | None = None) -> Any:
    """``acc.jit(fn, backend)(*args)``.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda x: x * x, np.arange(3.0))
    array([0., 1., 4.])
    """
    return jit(fn, backend)(*args)


def lower(fn: Callable[..., Any], *args: Any, backend: str | None = None) -> str:
    """The optimised IR of ``fn`` at the types of ``args``, as text (for inspection and bug reports).

    Compiling backends add what they make of it (the native backend its fused kernels, the cuda backend
    its kernels' CUDA C++, compiled by NVRTC), also where they cannot run (no GPU).

    >>> import numpy as np, pyaccad as acc
    >>> print(acc.lower(lambda x: -x, np.zeros(2)))
    program (x: f64[2]) {
      a: f64[2] = neg x
    } -> (a)
    kernels:
      1. map neg -> f64[2]
    """
    name = _backends.resolve_name(backend)
    program = optimize(trace(fn, *args).program, name)
    describe = getattr(_backends.describer(name), "describe", None)
    return describe(program) if describe is not None else pprint(program)


def backends() -> dict[str, str | None]:
    """``{name: None or "why it is unavailable"}`` for ``"native"``, ``"cuda"``, ``"accelerate"``, ``"interp"``.

    >>> import pyaccad as acc
    >>> acc.backends()["interp"] is None
    True
    """
    return _backends.availability()
