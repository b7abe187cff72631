"""Helpers shared by the test modules: comparing arrays with dtype-aware tolerances, building and running IR.

The builders construct IR directly through :mod:`pyaccad.frontend.tracing`
(``emit``), so a test can hold exactly the primitives it is about, whatever
the public front end lowers to.

>>> import numpy as np
>>> assert_close(np.float32([1.0, np.nan]), np.float32([1.0 + 1e-7, np.nan]))
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from pyaccad.backends import get_backend
from pyaccad.frontend import operators  # noqa: F401  (attaches the operators to traced values)
from pyaccad.frontend.tracing import Exp, Value, current_builder, emit, trace_program, wrap
from pyaccad.ir import ArrayType, Lit, Program, dtype_of, scalar_type, verify

# (rtol, atol) by dtype: room for reassociated sums (tree folds, parallel scans) over ~1e5 elements.
TOLERANCES: dict[np.dtype, tuple[float, float]] = {
    np.dtype("float32"): (1e-4, 1e-5),
    np.dtype("float64"): (1e-9, 1e-11),
}


def assert_close(
    actual: np.ndarray,
    expected: np.ndarray,
    dtype: np.dtype | str | None = None,
    *,
    rtol: float | None = None,
    atol: float | None = None,
) -> None:
    """Assert equal dtype and shape, and equal values: exactly for int/bool, within tolerance for floats.

    ``dtype`` (default: ``expected``'s) is the dtype ``actual`` must have. Float tolerances default to
    :data:`TOLERANCES`; ``rtol``/``atol`` override them. NaNs compare equal to NaNs, and infinities must
    match in sign.

    >>> import numpy as np
    >>> assert_close(np.array([1, 2]), np.array([1, 3]))
    Traceback (most recent call last):
      ...
    AssertionError: ...
    """
    expected = np.asarray(expected)
    want = np.dtype(dtype) if dtype is not None else expected.dtype
    assert isinstance(actual, np.ndarray), f"expected a NumPy array, got {type(actual).__name__}"
    assert actual.dtype == want, f"dtype {actual.dtype}, expected {want}"
    assert actual.shape == expected.shape, f"shape {actual.shape}, expected {expected.shape}"
    if want in TOLERANCES:
        default_rtol, default_atol = TOLERANCES[want]
        rtol = default_rtol if rtol is None else rtol
        atol = default_atol if atol is None else atol
        np.testing.assert_allclose(actual, expected.astype(want), rtol=rtol, atol=atol, equal_nan=True)
    else:
        np.testing.assert_array_equal(actual, expected.astype(want))


def run_program(program: Program, inputs: Sequence[np.ndarray], backend: str = "interp") -> list[np.ndarray]:
    """Verify ``program``, compile it with ``backend`` and run it on ``inputs``.

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> run_program(trace(lambda x: -x, np.ones(2)).program, [np.array([1.0, 2.0])])
    [array([-1., -2.])]
    """
    verify(program)
    return get_backend(backend).compile(program)(list(inputs))


def program_of(fn: Callable[..., Any], inputs: Sequence[np.ndarray]) -> Program:
    """Trace ``fn`` (on :class:`Array` tracers for ``inputs``) into a verified program.

    >>> import numpy as np
    >>> [s.prim.name for s in program_of(lambda a: prim("sin", a), [np.zeros(2)]).stmts]
    ['sin']
    """
    types = [ArrayType(dtype_of(a.dtype), tuple(a.shape)) for a in inputs]
    program, _ = trace_program(fn, types, "array")
    verify(program)
    return program


def prim(name: str, *args: Value | Lit, **params: Any) -> list[Value]:
    """Emit ``name(args; params)`` into the current trace; the results as tracers.

    >>> import numpy as np
    >>> x = np.arange(6.0)
    >>> run_program(program_of(lambda a: prim("reshape", a, shape=(2, 3)), [x]), [x])[0].shape
    (2, 3)
    """
    atoms = [a if isinstance(a, Lit) else a.var for a in args]
    return [wrap(v) for v in emit(name, atoms, params)]


def lam(fn: Callable[..., Any], *dtypes: str | np.dtype) -> Program:
    """Trace the scalar function ``fn`` over arguments of ``dtypes`` (a lambda, nested in the current trace).

    >>> import numpy as np
    >>> x = np.arange(3)
    >>> run_program(program_of(lambda a: prim("map", a, lam=lam(lambda v: v * 2, "int64")), [x]), [x])
    [array([0, 2, 4])]
    """
    program, _ = trace_program(fn, [scalar_type(np.dtype(d)) for d in dtypes], "scalar")
    return program


def lit(value: Any, dtype: str | np.dtype) -> Exp:
    """A typed literal inside a lambda.

    >>> import numpy as np
    >>> body = lambda i: prim("cast", i, dtype=np.dtype("float32"))[0] * lit(0.5, "float32")
    >>> run_program(program_of(lambda: prim("generate", shape=(3,), lam=lam(body, "int64")), []), [])
    [array([0. , 0.5, 1. ], dtype=float32)]
    """
    dt = np.dtype(dtype)
    return Exp(Lit(dt.type(value).item(), dt), current_builder())


def cond(pred: Value, then_fn: Callable[[], Any], else_fn: Callable[[], Any]) -> list[Value]:
    """``cond`` inside a lambda (or ``acond`` at array level): branches are traced without inputs.

    >>> import numpy as np
    >>> p, x = np.asarray(False), np.ones(2)
    >>> run_program(program_of(lambda q, a: cond(q, lambda: a, lambda: -a), [p, x]), [p, x])
    [array([-1., -1.])]
    """
    kind = current_builder().kind
    then_, _ = trace_program(then_fn, [], kind)
    else_, _ = trace_program(else_fn, [], kind)
    return prim("cond", pred, then_=then_, else_=else_)


def while_(cond_fn: Callable[..., Any], body_fn: Callable[..., Any], *init: Value) -> list[Value]:
    """``while`` over the loop state ``init`` (array level: ``awhile``; in a lambda: ``while_``).

    >>> import numpy as np
    >>> x = np.array([1, 5, 9])
    >>> body = lambda v: while_(lambda w: w < 8, lambda w: w * 2, v)
    >>> run_program(program_of(lambda a: prim("map", a, lam=lam(body, "int64")), [x]), [x])
    [array([ 8, 10,  9])]
    """
    kind = current_builder().kind
    types = [v.var.type for v in init]
    cond_p, _ = trace_program(cond_fn, types, kind)
    body_p, _ = trace_program(body_fn, types, kind)
    return prim("while", *init, cond=cond_p, body=body_p)


def index(array: Value, *idx: Value) -> Exp:
    """``array[idx]`` read inside a lambda.

    >>> import numpy as np
    >>> t = np.array([10.0, 20.0, 30.0])
    >>> fn = lambda a: prim("generate", shape=(2,), lam=lam(lambda i: index(a, i + 1), "int64"))
    >>> run_program(program_of(fn, [t]), [t])
    [array([20., 30.])]
    """
    (value,) = prim("index", array, *idx)
    return value


def primitive_names(program: Program) -> set[str]:
    """The names of every primitive ``program`` uses, inside lambdas and branches too.

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> import pyaccad as acc
    >>> sorted(primitive_names(trace(lambda x: acc.map(lambda v: v * 2.0, x), np.ones(2)).program))
    ['map', 'mul']
    """
    return set(primitive_counts(program))


def primitive_counts(program: Program) -> Counter[str]:
    """How many statements of each primitive ``program`` holds, inside lambdas and branches too.

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> primitive_counts(trace(lambda x: (x * x) * x, np.ones(2)).program)["mul"]
    2
    """
    counts: Counter[str] = Counter()
    for stmt in program.stmts:
        counts[stmt.prim.name] += 1
        for sub in stmt.subprograms():
            counts += primitive_counts(sub)
    return counts
