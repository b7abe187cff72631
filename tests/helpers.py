"""Helpers shared by the test modules: comparing arrays with dtype-aware tolerances, building and running IR.

The builders construct IR directly through :mod:`pyaccad.frontend.tracing`
(``emit``), so a test can hold exactly the primitives it is about, whatever
the public front end lowers to.

>>> import numpy as np
>>> assert_close(np.float32([1.0, np.nan]), np.float32([1.0 + 1e-7, np.nan]))
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
from hypothesis import Phase, settings

from pyaccad.backends import BACKEND_NAMES, get_backend
from pyaccad.errors import BackendUnavailable
from pyaccad.frontend.tracing import Exp, Value, current_builder, emit, trace_program, wrap
from pyaccad.ir import ArrayType, Lit, Program, dtype_of, scalar_type, verify

# (rtol, atol) by dtype: room for reassociated sums (tree folds, parallel scans) over ~1e5 elements.
TOLERANCES: dict[np.dtype, tuple[float, float]] = {
    # float16 is computed in float32 and rounded once per operation: a libm result 1 half ulp (2u) off, and room
    # for a rounding or two more (u = 2**-11); the absolute part is a few of half's subnormal steps (2**-24)
    np.dtype("float16"): (4 * 2.0**-11, 4 * 2.0**-24),
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


LIBM_ULPS = 4
"""Units in the last place a libm function (``exp``, ``tanh``, ...) may be off, in any implementation the tests
meet: glibc's vector variants (libmvec, called by the native backend's vectorised loops) are tested to 4 ulp
(https://sourceware.org/glibc/wiki/libmvec); its scalar functions (the loops' remainders) and NumPy's SIMD loops
(the interpreter) document less. One ulp of ``y`` is at most ``2u|y|``."""


def unit_roundoff(dtype: np.dtype | str) -> float:
    """``u``, the largest relative error of one rounding to nearest: ``2**-24`` for float32, ``2**-53`` for float64.

    >>> unit_roundoff("float32") == 2.0**-24
    True
    """
    return float(np.finfo(dtype).eps) / 2


def gamma(n: int | np.ndarray, dtype: np.dtype | str) -> float | np.ndarray:
    """``γ_n = n·u / (1 - n·u)``: n roundings in a chain of sums and products err by at most a factor ``1 ± γ_n``.

    Higham, *Accuracy and Stability of Numerical Algorithms*, lemma 3.1; so a sum of ``n`` terms, in any order
    and with or without fused multiply-adds, is within ``γ_{n-1}·Σ|xᵢ|`` of the exact sum, and a dot product of
    length ``n`` within ``γ_n·Σ|xᵢ·yᵢ|`` (§3.1, §3.5). Infinite once ``n·u ≥ 1`` (no bound).

    >>> float(gamma(2, "float64")) == 2 * 2.0**-53 / (1 - 2 * 2.0**-53)
    True
    """
    nu = np.asarray(n, dtype=np.float64) * unit_roundoff(dtype)
    with np.errstate(divide="ignore"):
        return np.where(nu < 1, nu / np.maximum(1 - nu, 0), np.inf)[()]


def sum_bound(abs_sum: np.ndarray | float, n: int | np.ndarray, dtype: np.dtype | str) -> np.ndarray | float:
    """How far a sum of ``n`` terms computed in ``dtype`` (any order) may be from the same sum computed in float64.

    ``abs_sum`` is ``Σ|xᵢ|`` computed in float64 (itself within a factor ``1 ± γ_{n-1}`` of float64's, hence the
    division). The computed sum is within ``γ_{n-1}(dtype)·Σ|xᵢ|`` of the exact one, and so is the float64
    reference, with float64's ``γ``. (A dot product of length ``k`` is a sum whose terms were rounded once more:
    ``γ_k`` in place of ``γ_{k-1}``, :func:`dot_bound`.)

    >>> float(sum_bound(10.0, 1, "float32"))  # one term: nothing is rounded
    0.0
    """
    roundings = np.maximum(np.asarray(n) - 1, 0)
    g64 = gamma(roundings, "float64")
    return (gamma(roundings, dtype) + g64) * np.asarray(abs_sum) / (1 - g64)


def dot_bound(a: np.ndarray, b: np.ndarray, product: Callable[..., Any] = np.matmul) -> np.ndarray:
    """How far ``product(a, b)`` (``matmul`` by default) computed in ``a``'s dtype may be from it in float64.

    Each element is a dot product of length ``k`` (``a``'s last axis), within ``γ_k·(|A|·|B|)`` of the exact
    one whatever the order of its sum (Higham §3.5: so any BLAS kernel, blocked, vectorised or fused), and
    so is the float64 reference, with float64's ``γ_k``; ``|A|·|B|``, computed in float64, is itself that
    close to exact (hence the division). ``product`` must be bilinear in the magnitudes (``matmul``, a
    transpose or scaling of it).

    >>> import numpy as np
    >>> a, b = np.float32([[1.0, -2.0]]), np.float32([[3.0], [4.0]])
    >>> bool(dot_bound(a, b)[0, 0] == (gamma(2, "float32") + gamma(2, "float64")) * 11 / (1 - gamma(2, "float64")))
    True
    """
    k = a.shape[-1]
    g64 = gamma(k, "float64")
    magnitudes = product(np.abs(a.astype(np.float64)), np.abs(b.astype(np.float64)))
    return (gamma(k, a.dtype) + g64) * magnitudes / (1 - g64)


def _exp_sums(x: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``d = x - max``, ``exp(d)`` in float64, and the relative errors of ``exp(d)`` and of ``s = Σ exp(d)``
    computed in ``x``'s dtype (see :func:`softmax_bound`)."""
    d = x.astype(np.float64) - x.max(axis=axis, keepdims=True)
    u = unit_roundoff(x.dtype)
    eps = np.exp(u * np.abs(d)) * (1 + 2 * LIBM_ULPS * u) - 1
    sigma = (1 + eps.max(axis=axis, keepdims=True)) * (1 + gamma(x.shape[axis] - 1, x.dtype)) - 1
    return d, np.exp(d), eps, sigma


def softmax_bound(x: np.ndarray, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    """The softmax of ``x`` along ``axis`` in float64, and how far it may be when computed in ``x``'s dtype.

    ``g = exp(d) / s`` with ``d = x - max``, ``s = Σ exp(d)``; relative errors: ``d`` is rounded once (``u``),
    which moves ``exp(d)`` by a factor within ``e^{±u|d|}``, and ``exp`` errs by ``LIBM_ULPS`` ulp more (``ε``,
    per element); the sum of those positive terms adds ``γ_{n-1}`` (``σ ≤ (1 + max ε)(1 + γ_{n-1}) - 1``); the
    division (or ``1 / s`` and a product) rounds at most twice. So ``|ĝ/g - 1| ≤ (1 + ε)(1 + u)² / (1 - σ) - 1``.
    The float64 reference errs the same way with float64's ``u`` (doubled: a first-order bound, its
    second-order terms being far smaller).

    >>> import numpy as np
    >>> exact, bound = softmax_bound(np.float32([[0.0, 0.0]]))
    >>> exact.tolist(), bool(0 < bound.max() < 1e-6)
    ([[0.5, 0.5]], True)
    """
    d, e, eps, sigma = _exp_sums(x, axis)
    exact = e / e.sum(axis=axis, keepdims=True)
    u, n = unit_roundoff(x.dtype), x.shape[axis]
    relative = (1 + eps) * (1 + u) ** 2 / (1 - sigma) - 1
    return exact, (relative + _float64_exp_sums(d, n)) * exact


def _float64_exp_sums(d: np.ndarray, n: int) -> np.ndarray:
    """The relative error of the float64 reference's ``exp(d)`` and its sums (first order, doubled)."""
    return 2 * (gamma(n - 1, np.float64) + (2 * LIBM_ULPS + 2 + np.abs(d)) * unit_roundoff(np.float64))


def logsumexp_bound(x: np.ndarray) -> tuple[float, float]:
    """``Σᵢ logsumexp(x[i, :])`` in float64, and how far it may be when computed in ``x``'s dtype.

    Row ``i``: ``m + log ŝ`` with ``ŝ = s·(1 + σ)`` (:func:`softmax_bound`), so ``log ŝ`` is off by at most
    ``-log(1 - σ)``, ``log`` by ``LIBM_ULPS`` more, ``m +`` by one rounding; then the rows' sum (and its 0.0):
    :func:`sum_bound`.

    >>> import numpy as np
    >>> value, bound = logsumexp_bound(np.float32([[0.0, 0.0]]))
    >>> round(value, 12) == round(float(np.log(2)), 12), bool(0 < bound < 1e-6)
    (True, True)
    """
    rows, err = _logsumexp_rows(x)
    return float(rows.sum()), float(err.sum() + sum_bound((np.abs(rows) + err).sum(), x.shape[0] + 1, x.dtype))


def _logsumexp_rows(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``logsumexp`` in float64, and how far it may be when computed in ``x``'s dtype
    (:func:`logsumexp_bound`)."""
    d, e, _, sigma = _exp_sums(x, 1)
    u, n = unit_roundoff(x.dtype), x.shape[1]
    s = e.sum(axis=1, keepdims=True)
    rows = (x.max(axis=1, keepdims=True) + np.log(s))[:, 0]
    shift = -np.log1p(-(sigma + _float64_exp_sums(d, n).max(axis=1, keepdims=True)))[:, 0]
    err = shift + 2 * LIBM_ULPS * (u + unit_roundoff(np.float64)) * (np.abs(np.log(s[:, 0])) + shift)
    return rows, err + (u + unit_roundoff(np.float64)) * (np.abs(rows) + err)


def log_softmax_bound(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``log_softmax`` of the rows of ``x`` in float64, and how far it may be when computed in ``x``'s dtype:
    ``x - logsumexp(x)``, the row's ``logsumexp`` within its bound (:func:`logsumexp_bound`), then one rounding.

    >>> import numpy as np
    >>> exact, bound = log_softmax_bound(np.float32([[0.0, 0.0]]))
    >>> bool(np.allclose(exact, -np.log(2))), bool(0 < bound.max() < 1e-6)
    (True, True)
    """
    rows, err = _logsumexp_rows(x)
    exact = x.astype(np.float64) - rows[:, None]
    return exact, err[:, None] + (unit_roundoff(x.dtype) + unit_roundoff(np.float64)) * (np.abs(exact) + err[:, None])


def assert_within(actual: np.ndarray, reference: np.ndarray, bound: np.ndarray | float, dtype: Any = None) -> None:
    """``actual`` has ``reference``'s shape (and ``dtype``, default ``actual``'s) and ``|actual - reference| ≤ bound``.

    For an error bound computed from the data (:func:`sum_bound`, :func:`gamma`); NaNs and infinities must match.

    >>> import numpy as np
    >>> assert_within(np.float32([1.0, 2.0]), np.array([1.0, 2.0 + 1e-7]), 2e-7)
    >>> assert_within(np.float32([1.0]), np.array([1.001]), 1e-4)
    Traceback (most recent call last):
      ...
    AssertionError: ...
    """
    actual, reference = np.asarray(actual), np.asarray(reference)
    assert actual.shape == reference.shape, f"shape {actual.shape}, expected {reference.shape}"
    if dtype is not None:
        assert actual.dtype == np.dtype(dtype), f"dtype {actual.dtype}, expected {np.dtype(dtype)}"
    got, want = actual.astype(np.float64), reference.astype(np.float64)
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite], want[~finite])
    error = np.abs(got - want)
    bound = np.broadcast_to(np.asarray(bound, dtype=np.float64), error.shape)
    worst = np.unravel_index(np.argmax(np.where(finite, error - bound, -np.inf)), error.shape) if error.size else ()
    assert np.all(error[finite] <= bound[finite]), (
        f"{int(np.sum(error[finite] > bound[finite]))} of {error.size} elements beyond the bound; at {worst}: "
        f"{got[worst]!r} vs {want[worst]!r}, error {error[worst]:.3g} > bound {bound[worst]:.3g}"
    )


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


def available_backends() -> list[str]:
    """The backends tests run on: every available one, narrowed by ``$PYACCAD_TEST_BACKENDS``."""
    wanted = os.environ.get("PYACCAD_TEST_BACKENDS")
    names = []
    for name in BACKEND_NAMES:
        try:
            get_backend(name)
        except BackendUnavailable:
            continue
        except Exception as exc:  # a backend module that fails to load must not stop the other backends' tests
            warnings.warn(f"backend {name!r} is broken and not tested: {exc!r}", stacklevel=1)
            continue
        names.append(name)
    if wanted:
        names = [name for name in names if name in wanted.split(",")]
    return names


# Examples of one hypothesis test on the accelerate bridge: each draws a new program (shape, dtype, parameters), and
# a new program is a GHC build of 5-30 s, so the profile's 25 would take an hour for tests/primitives alone.
BRIDGE_MAX_EXAMPLES = 3


@contextlib.contextmanager
def examples_on(function: Any, backend: str | None) -> Iterator[None]:
    """While inside, the hypothesis test ``function`` run on ``backend`` draws at most :data:`BRIDGE_MAX_EXAMPLES`
    examples and reports a failure as drawn where ``backend`` is ``accelerate`` (each shrinking step would be
    another GHC build); on every other backend, and for a function that is no hypothesis test, nothing changes.
    The settings live on the test function, which every parametrisation shares, so they are swapped for the
    call only (as hypothesis's pytest plugin swaps its database key); ``tests/conftest.py`` wraps every test
    call in this."""
    own = getattr(function, "_hypothesis_internal_use_settings", None)
    if own is None or backend != "accelerate":
        yield
        return
    phases = tuple(phase for phase in own.phases if phase is not Phase.shrink)
    function._hypothesis_internal_use_settings = settings(
        own, max_examples=min(own.max_examples, BRIDGE_MAX_EXAMPLES), phases=phases
    )
    try:
        yield
    finally:
        function._hypothesis_internal_use_settings = own


def require_haskell_modules(*modules: str, why: str) -> None:
    """Skip the test, saying ``why`` and what GHC said, unless GHC (with ``$PYACCAD_GHC_ENV``) imports every module."""
    import pytest

    from pyaccad.export.ghc import missing_module

    for module in modules:
        missing = missing_module(module)
        if missing is not None:
            pytest.skip(f"{why}: {missing}")


def skip_without_bridge() -> None:
    """Skip the calling test, saying why, where the accelerate backend cannot run here."""
    import pytest

    import pyaccad as acc

    reason = acc.backends()["accelerate"]
    if reason is not None:
        pytest.skip(f"the accelerate backend is unavailable here: {reason}")
