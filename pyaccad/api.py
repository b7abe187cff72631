"""Running programs: ``jit``, ``run``, ``lower``, ``backends``.

This module joins the stages: trace (front end) → optimise → compile and run
(backend). ``jit`` caches one trace per input signature (pytree structure,
dtypes, shapes) and one executable per traced program and backend; a call
whose arguments it has met in this form before finds its executable in one walk
and one lookup (:mod:`pyaccad.frontend.signature`).

>>> import numpy as np, pyaccad as acc
>>> @acc.jit
... def f(x):
...     return acc.fold(lambda a, b: a + b, 0.0, x)
>>> f(np.ones((2, 3)))
array([3., 3.])
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pyaccad.backends import Retrace, availability, describer, get_backend, resolve_name
from pyaccad.backends.environment import Variable
from pyaccad.errors import ArgumentError, ResourceError
from pyaccad.frontend.pytree import flatten, rebuilder, unflatten
from pyaccad.frontend.signature import describe
from pyaccad.frontend.tracing import (
    Traced,
    Value,
    as_numpy_input,
    check_arguments,
    current_builder,
    fail,
    function_name,
    trace,
)
from pyaccad.frontend.values import is_weak
from pyaccad.ir import pprint
from pyaccad.opt import optimize
from pyaccad.resources import out_of_memory

_BACKEND = Variable("PYACCAD_BACKEND")
"""``$PYACCAD_BACKEND``, read at every call (a change takes effect at the next one), cheaply."""


class Jitted:
    """A compiled function: call it with NumPy arrays/pytrees, get NumPy arrays/pytrees back.

    The arguments named by ``static_argnums`` (positions) and ``static_argnames`` (keywords) are not
    traced: they are passed to ``fn`` as the Python values they are, and each new (hashable) value
    traces and compiles ``fn`` again, as with ``jax.jit``.
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        backend: str | None = None,
        static_argnums: int | Sequence[int] = (),
        static_argnames: str | Sequence[str] = (),
    ) -> None:
        self.fn = fn
        self.backend = backend
        self.static_argnums = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
        self.static_argnames = (static_argnames,) if isinstance(static_argnames, str) else tuple(static_argnames)
        self._any_static = bool(self.static_argnums or self.static_argnames)
        self._cache: dict[tuple, _Compiled] = {}
        self._fast: dict[tuple, _Compiled] = {}  # (backend chosen, _describe's key) -> an entry of _cache
        self._positions: dict[int, tuple[tuple[int, ...], tuple[int, ...]] | None] = {}  # see _static_positions
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        chosen = self.backend or _BACKEND()  # what resolve_name resolves
        # The fast path: arguments, positional and keyword, described cheaply (plain pytrees of NumPy arrays and
        # Python numbers, see pyaccad.frontend.signature) whose description a full call has met, outside any trace.
        described = self._describe(args, kwargs)
        if described is not None:
            try:
                compiled = self._fast.get((chosen, described[1]))
            except TypeError:  # a static argument that does not hash: the full path reports it
                compiled = described = None
            if compiled is not None and current_builder() is None:
                return compiled.run(described[0])
        return self._full_call(chosen, args, kwargs, described)

    def _describe(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[list[np.ndarray], tuple] | None:
        """:func:`describe`'s arrays and key for ``args`` and ``kwargs``, the static ones' values in the key;
        None where the full path must look (a value describe leaves to it, a static_argnums out of range). The
        arrays come in the full path's order: the leaves of ``(args, kwargs)``, keywords sorted by name.

        The static values are not checked here: a key holding them is found only where a full call, which
        checks them, has put it, and one that does not hash fails the lookup (:meth:`__call__`)."""
        if not self._any_static:
            return describe((args, kwargs)) if kwargs else describe(args)
        if current_builder() is not None:
            return None  # traced through by the full path, the static arguments unchecked
        positions = self._static_positions(len(args))
        if positions is None:
            return None  # the full path reports it, after the checks it makes first
        static_at, traced_at = positions
        statics = tuple(args[k] for k in static_at)
        traced_args = tuple(args[k] for k in traced_at)
        named: tuple = ()  # apart from ``statics``: a tuple ("k", 1) passed by position is not k=1
        if kwargs and self.static_argnames:
            named = tuple((key, kwargs[key]) for key in self.static_argnames if key in kwargs)
            kwargs = {key: x for key, x in kwargs.items() if key not in self.static_argnames}
        described = describe((traced_args, kwargs)) if kwargs else describe(traced_args)
        return None if described is None else (described[0], (statics, named, described[1]))

    def _static_positions(self, count: int) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
        """``(the positions of the static arguments, those of the traced ones)`` among ``count`` positional
        arguments, each sorted; None where a ``static_argnums`` is out of range. Worked out once per count."""
        if count not in self._positions:
            if all(-count <= k < count for k in self.static_argnums):
                static_at = sorted({k % count for k in self.static_argnums})
                traced_at = [k for k in range(count) if k not in static_at]
                self._positions[count] = (tuple(static_at), tuple(traced_at))
            else:
                self._positions[count] = None
        return self._positions[count]

    def _full_call(self, chosen: str | None, args: tuple, kwargs: dict[str, Any], described: Any) -> Any:
        """A call through the full path: its arguments checked, traced and compiled where their signature is new;
        what :meth:`__call__` found of them (``described``) remembered for the fast path."""
        if current_builder() is not None or any(isinstance(x, Value) for x in flatten((args, kwargs))[0]):
            # Called while tracing (jit inside jit, or inside a derivative): just trace through.
            return self.fn(*args, **kwargs)
        statics, args, kwargs = self._split_static(args, kwargs)
        leaves, in_tree = flatten((args, kwargs))
        name = function_name(self.fn)
        arrays = [x if _on_device(x) else as_numpy_input(x, f"{name}: argument {i}") for i, x in enumerate(leaves)]
        backend_name = resolve_name(chosen)
        # a Python number is weakly typed (it takes the dtype of the arrays it meets): another program than for
        # a NumPy array of the same dtype
        weak = tuple(is_weak(x) for x in leaves)
        key = (backend_name, in_tree, tuple((a.dtype, a.shape) for a in arrays), weak, statics)
        compiled = self._cache.get(key)
        if compiled is None:
            backend = get_backend(backend_name)
            fn = _with_statics(self.fn, statics)
            check_arguments(self.fn, *_merge_statics(statics, args, kwargs))
            # Tracing needs only types: a device array is stood for by an empty host array of its type.
            stand_ins = [np.empty(a.shape, a.dtype) if _on_device(a) else a for a in arrays]
            args, kwargs = unflatten(in_tree, [x if w else a for x, a, w in zip(leaves, stand_ins, weak, strict=True)])
            # Keyword arguments are traced like positional ones: they are part of the input pytree.
            fn, args = (fn, args) if not kwargs else (_with_keywords(fn), (args, kwargs))
            traced = trace(fn, *args)
            executable = _compile(backend, backend_name, traced, fn, args)
            compiled = self._cache[key] = _Compiled(traced, executable, rebuilder(traced.out_tree), name, backend_name)
        # The description fixes the key (structure, weak types, dtypes, shapes; the backend by ``chosen``) where
        # its arrays are those the full path runs: where as_numpy_input changed no array (its byte order).
        if described is not None and all(
            d.dtype == a.dtype and d.shape == a.shape for d, a in zip(described[0], arrays, strict=True)
        ):
            self._fast[(chosen, described[1])] = compiled
        if any(_on_device(a) for a in arrays) and hasattr(compiled.executable, "device_call"):
            return compiled.run(arrays, device=True)  # device arrays in, device arrays out: nothing copied back
        return compiled.run([_contiguous(a) for a in arrays])

    def _split_static(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple, tuple, dict[str, Any]]:
        """``(statics, traced positional arguments, traced keyword arguments)``; ``statics`` is hashable:
        ``((position or name, value), ...)``, positions first."""
        if not self.static_argnums and not self.static_argnames:
            return (), args, kwargs
        name = function_name(self.fn)
        positions = self._static_positions(len(args))
        if positions is None:
            k = next(k for k in self.static_argnums if not -len(args) <= k < len(args))
            fail(ArgumentError, f"{name}: static_argnums {k} is out of range for {len(args)} positional arguments")
        static_at, traced_at = positions
        statics = [(k, args[k]) for k in static_at]
        statics += [(key, kwargs[key]) for key in self.static_argnames if key in kwargs]
        for where, value in statics:
            try:
                hash(value)
            except TypeError:
                label = f"argument {where}" if isinstance(where, int) else f"keyword argument {where!r}"
                fail(
                    ArgumentError,
                    f"{name}: static {label} must be hashable (it selects a compiled program), "
                    f"got {type(value).__name__} {value!r}; pass a tuple instead of a list",
                )
        traced_args = tuple(args[k] for k in traced_at)
        traced_kwargs = {key: x for key, x in kwargs.items() if key not in self.static_argnames}
        return tuple(statics), traced_args, traced_kwargs

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


class _Compiled:
    """A traced program compiled for one signature: run it on host arrays (or device arrays)."""

    __slots__ = ("traced", "executable", "rebuild", "name", "backend")

    def __init__(self, traced: Traced, executable: Any, rebuild: Callable, name: str, backend: str) -> None:
        self.traced, self.executable, self.rebuild, self.name, self.backend = traced, executable, rebuild, name, backend

    def run(self, arrays: list[Any], device: bool = False) -> Any:
        """The results of the program on ``arrays`` (C-contiguous host arrays, else device arrays where
        ``device``), as the pytree the traced function returned."""
        try:
            outputs = self.executable.device_call(arrays) if device else self.executable(arrays)
        except ResourceError:
            raise  # a backend's own report (device memory): it names what it asked for
        except MemoryError as exc:
            raise out_of_memory(exc, self.traced.program, self.name, self.backend) from None
        return self.rebuild(outputs)


def _contiguous(a: Any) -> np.ndarray:
    """``a`` as a C-contiguous host array of its shape (``np.ascontiguousarray`` makes rank 0 rank 1)."""
    if type(a) is np.ndarray and a.flags.c_contiguous:
        return a
    return np.ascontiguousarray(a).reshape(a.shape)


def _compile(backend: Any, name: str, traced: Traced, fn: Callable[..., Any], args: tuple) -> Any:
    """``traced``'s optimised program compiled by ``backend``; told how to trace ``fn`` again where it is
    ``shape_generic`` (see :class:`pyaccad.backends.Retrace`)."""
    program = optimize(traced.program, name)
    if getattr(backend, "shape_generic", False):
        return backend.compile(program, retrace=Retrace(fn, args, functools.partial(_optimized_trace, name)))
    return backend.compile(program)


def _optimized_trace(name: str, fn: Callable[..., Any], args: tuple) -> Any:
    return optimize(trace(fn, *args).program, name)


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
    name = resolve_name(backend)
    put = getattr(get_backend(name), "device_put", None)
    array = as_numpy_input(x, "device_put")
    return put(array) if put is not None else array


def _merge_statics(statics: tuple, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[tuple, dict]:
    """The full argument list: the static values put back at their positions and names."""
    merged = list(args)
    for where, value in statics:
        if isinstance(where, int):
            merged.insert(where, value)
    return tuple(merged), {**kwargs, **{k: v for k, v in statics if isinstance(k, str)}}


def _with_statics(fn: Callable[..., Any], statics: tuple) -> Callable[..., Any]:
    """``fn`` taking only its traced arguments, the static ones bound to their values."""
    if not statics:
        return fn

    def call(*args: Any, **kwargs: Any) -> Any:
        full_args, full_kwargs = _merge_statics(statics, args, kwargs)
        return fn(*full_args, **full_kwargs)

    call.__name__ = function_name(fn)
    return call


def _with_keywords(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` taking its positional and keyword arguments as two pytrees."""

    def call(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        return fn(*args, **kwargs)

    call.__name__ = function_name(fn)  # not functools.wraps: the signature must stay (args, kwargs)
    return call


def jit(
    fn: Callable[..., Any] | None = None,
    backend: str | None = None,
    static_argnums: int | Sequence[int] = (),
    static_argnames: str | Sequence[str] = (),
) -> Any:
    """Compiled version of ``fn``; usable as ``@acc.jit`` or ``acc.jit(backend="native")(fn)``.

    Arguments named by ``static_argnums``/``static_argnames`` stay Python values (a shape, a step
    count, a flag): each new value traces ``fn`` again instead of becoming a traced array.

    >>> import numpy as np, pyaccad as acc
    >>> acc.jit(lambda x: x + 1.0)(np.zeros(2))
    array([1., 1.])
    >>> ones = acc.jit(lambda n, x: acc.fill((n,), 1.0) * x, static_argnums=0)
    >>> ones(3, np.array(2.0))
    array([2., 2., 2.])
    """
    if fn is None:
        return lambda f: Jitted(f, backend, static_argnums, static_argnames)
    return Jitted(fn, backend, static_argnums, static_argnames)


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
    name = resolve_name(backend)
    chosen = describer(name)
    program = _optimized_trace(name, fn, args)
    describe = getattr(chosen, "describe", None)
    if describe is not None and getattr(chosen, "shape_generic", False):
        return describe(program, retrace=Retrace(fn, args, functools.partial(_optimized_trace, name)))
    return describe(program) if describe is not None else pprint(program)


def backends() -> dict[str, str | None]:
    """``{name: None or "why it is unavailable"}`` for ``"native"``, ``"cuda"``, ``"accelerate"``, ``"interp"``.

    >>> import pyaccad as acc
    >>> acc.backends()["interp"] is None
    True
    """
    return availability()
