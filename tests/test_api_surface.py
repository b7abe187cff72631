"""The public API (``docs/API.md``: Values, Running, Array operations, Errors, ``pyaccad.nn``).

Every name exists, has the documented signature (defaults included) and a
docstring with a ``>>>`` example, and is exercised here once against a NumPy
reference (:data:`USES`, on every available backend; deeper tests live in
``tests/frontend`` and ``tests/primitives``).
"""

from __future__ import annotations

import importlib
import inspect
import math
import subprocess
import sys
import types

import numpy as np
import pytest
from helpers import assert_close

import pyaccad as acc
import pyaccad.numpy as jnp
from pyaccad import linalg, nn

B = "interp"

COMBINATORS = (
    "use unit the generate fill map zip_with fold fold1 fold_all scanl scanl1 scanr scanr1 backpermute permute "
    "stencil awhile acond matmul reshape transpose reverse replicate broadcast_to concatenate"
).split()
LAMBDA_ONLY = ["cond", "while_", "where", "cast"]
SCALARS = (
    "sin cos tan asin acos atan atan2 sinh cosh tanh asinh acosh atanh exp expm1 log log1p sqrt abs sign "
    "floor ceil round trunc minimum maximum erf isnan isinf"
).split()
RUNNING = ["jit", "run", "backends", "lower"]
ERRORS = [
    "Error",
    "ShapeError",
    "DTypeError",
    "BackendUnavailable",
    "CompileError",
    "NotDifferentiable",
    "ResourceError",
    "RunError",
]
NN = ["relu", "sigmoid", "softmax", "log_softmax", "logsumexp", "cross_entropy", "adam", "adam_init"]
LINALG = ["cholesky", "solve", "triangular_solve"]
METHODS = ["sum", "prod", "max", "min", "mean", "reshape", "astype", "__getitem__", "__matmul__"]
PUBLIC = COMBINATORS + LAMBDA_ONLY + SCALARS + RUNNING + ERRORS + ["Array", "Exp", "IGNORE"]

# Parameters with defaults, as API.md writes them.
DEFAULTS = {
    "jit": {"backend": None, "static_argnums": (), "static_argnames": ()},
    "run": {"backend": None},
    "fill": {"dtype": None},
    "fold": {"axis": -1},
    "fold1": {"axis": -1},
    "scanl": {"axis": -1},
    "scanl1": {"axis": -1},
    "scanr": {"axis": -1},
    "scanr1": {"axis": -1},
    "transpose": {"axes": None},
    "reverse": {"axis": -1},
    "concatenate": {"axis": -1},
    "stencil": {"boundary": "clamp"},
}
PARAMETERS = {
    "use": ["x"],
    "unit": ["e"],
    "the": ["a"],
    "generate": ["shape", "f"],
    "fill": ["shape", "value", "dtype"],
    "fold": ["f", "init", "a", "axis"],
    "fold1": ["f", "a", "axis"],
    "fold_all": ["f", "init", "a"],
    "scanl": ["f", "init", "a", "axis"],
    "scanr": ["f", "init", "a", "axis"],
    "backpermute": ["shape", "index_fn", "a"],
    "permute": ["combine", "defaults", "index_fn", "a"],
    "reshape": ["a", "shape"],
    "transpose": ["a", "axes"],
    "reverse": ["a", "axis"],
    "replicate": ["a", "n", "axis"],
    "broadcast_to": ["a", "shape"],
    "concatenate": ["arrays", "axis"],
    "stencil": ["f", "a", "size", "boundary"],
    "matmul": ["a", "b"],
    "lower": ["fn", "args"],
}


def _doc(obj: object) -> str:
    return inspect.getdoc(obj) or ""


@pytest.mark.parametrize("name", PUBLIC)
def test_public_name_exists_with_a_doctest(name: str) -> None:
    obj = getattr(acc, name)
    assert name in dir(acc)
    assert ">>>" in _doc(obj if not name == "IGNORE" else type(obj)), f"acc.{name} has no >>> example"


@pytest.mark.parametrize("name", COMBINATORS + LAMBDA_ONLY + SCALARS + RUNNING)
def test_public_function_is_callable(name: str) -> None:
    assert callable(getattr(acc, name))


@pytest.mark.parametrize("name", sorted(set(DEFAULTS) | set(PARAMETERS)))
def test_documented_signature(name: str) -> None:
    params = inspect.signature(getattr(acc, name)).parameters
    names = [p for p in params if params[p].kind is not inspect.Parameter.VAR_KEYWORD]
    want = PARAMETERS.get(name)
    if want is not None:
        assert names[: len(want)] == want, names
    for param, default in DEFAULTS.get(name, {}).items():
        assert params[param].default == default, (name, param, params[param].default)


@pytest.mark.parametrize("name", NN)
def test_nn_names(name: str) -> None:
    fn = getattr(nn, name)
    assert callable(fn) and ">>>" in _doc(fn)


def test_nn_signatures() -> None:
    for name in ("softmax", "log_softmax"):
        assert inspect.signature(getattr(nn, name)).parameters["axis"].default == -1
    params = inspect.signature(nn.logsumexp).parameters
    assert params["axis"].default is None and params["keepdims"].default is False


@pytest.mark.parametrize("name", LINALG)
def test_linalg_names(name: str) -> None:
    fn = getattr(linalg, name)
    assert callable(fn) and ">>>" in _doc(fn) and getattr(acc.linalg, name) is fn


def test_linalg_signatures() -> None:
    assert inspect.signature(linalg.cholesky).parameters["symmetrize_input"].default is True
    params = inspect.signature(linalg.triangular_solve).parameters
    assert params["lower"].default is True and params["transpose_a"].default is False
    assert list(inspect.signature(linalg.solve).parameters) == ["a", "b"]
    assert sorted(linalg.__all__) == LINALG


@pytest.mark.parametrize("name", METHODS)
def test_array_methods_have_doctests(name: str) -> None:
    assert ">>>" in _doc(getattr(acc.Array, name)), name
    if name in ("sum", "prod", "max", "min", "mean"):
        params = inspect.signature(getattr(acc.Array, name)).parameters
        assert params["axis"].default is None and params["keepdims"].default is False


def test_array_attributes() -> None:
    assert ">>>" in _doc(acc.Array.T)
    seen = {}

    def f(a):
        seen.update(dtype=a.dtype, ndim=a.ndim, shape=a.shape, T=a.T.shape)
        return a

    acc.run(f, np.zeros((2, 3), np.float32), backend=B)
    assert seen == {"dtype": np.dtype("float32"), "ndim": 2, "shape": (2, 3), "T": (3, 2)}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_are_acc_errors_with_doctests(name: str) -> None:
    cls = getattr(acc, name)
    assert isinstance(cls, type) and issubclass(cls, acc.Error)
    assert ">>>" in _doc(cls), name


def test_dtypes() -> None:
    assert [acc.float32, acc.float64, acc.int32, acc.int64, acc.bool_] == [
        np.dtype(t) for t in ("float32", "float64", "int32", "int64", "bool")
    ]


X = np.array([[0.5, -1.25, 2.0], [3.0, 0.0, -0.75]])
V = np.array([1.0, 2.0, 3.0])
I3 = np.array([2, 0, 1])


def _scanl(f, z, xs):
    out = [z]
    for x in xs:
        out.append(f(out[-1], x))
    return out


def _scanr(f, z, xs):
    out = [z]
    for x in reversed(xs):
        out.insert(0, f(x, out[0]))
    return out


# name -> (traced function, inputs, NumPy/plain-Python reference)
USES = {
    "use": (lambda: acc.use(X) * 2.0, [], X * 2),
    "unit": (lambda a: acc.unit(acc.the(a.sum())), [X], X.sum()),
    "the": (lambda a: acc.map(lambda x: x - acc.the(a.max()), a), [X], X - X.max()),
    "generate": (lambda: acc.generate((2, 3), lambda i, j: i * 3 + j), [], np.arange(6).reshape(2, 3)),
    "fill": (lambda: acc.fill((2, 2), 1.5, dtype="float32"), [], np.full((2, 2), 1.5, np.float32)),
    "map": (lambda a: acc.map(lambda x: x * x - 1.0, a), [X], X * X - 1),
    "zip_with": (lambda a, b: acc.zip_with(lambda x, y: x - y, a, b), [X, X.T.T * 3], X - 3 * X),
    "fold": (lambda a: acc.fold(lambda x, y: x + y, 10.0, a), [X], X.sum(-1) + 10),
    "fold1": (lambda a: acc.fold1(acc.minimum, a, axis=0), [X], X.min(0)),
    "fold_all": (lambda a: acc.fold_all(lambda x, y: x * y, 2.0, a + 1.0), [X], 2 * np.prod(X + 1)),
    "scanl": (lambda a: acc.scanl(lambda x, y: x + y, 10.0, a), [V], _scanl(lambda x, y: x + y, 10.0, V)),
    "scanl1": (lambda a: acc.scanl1(lambda x, y: x + y, a), [X], np.cumsum(X, -1)),
    "scanr": (lambda a: acc.scanr(lambda x, y: x + y, 10.0, a), [V], _scanr(lambda x, y: x + y, 10.0, V)),
    "scanr1": (lambda a: acc.scanr1(lambda x, y: x + y, a), [V], np.cumsum(V[::-1])[::-1]),
    "backpermute": (lambda a: acc.backpermute((3, 2), lambda i, j: (j, i), a), [X], X.T),
    "permute": (
        lambda a, ix: acc.permute(lambda x, y: x + y, acc.fill(3, 0.0), lambda i: (ix[i],), a),
        [V, I3],
        np.bincount(I3, V, minlength=3),
    ),
    "IGNORE": (
        lambda a: acc.permute(lambda x, y: x + y, acc.fill(3, 0.0), lambda i: acc.cond(i > 0, i, acc.IGNORE), a),
        [V],
        np.array([0.0, 2.0, 3.0]),
    ),
    "stencil": (
        lambda a: acc.stencil(lambda n: n[0] - n[2], a, 3, boundary="clamp"),
        [V],
        np.pad(V, 1, mode="edge")[:-2] - np.pad(V, 1, mode="edge")[2:],
    ),
    "awhile": (lambda a: acc.awhile(lambda s: s.sum() < 50.0, lambda s: s * 2.0, a), [V], V * 16),
    "acond": (lambda a: acc.acond(a.sum() > 100.0, lambda v: v, lambda v: -v, a), [V], -V),
    "cond": (lambda a: acc.map(lambda x: acc.cond(x > 0.0, lambda: x, 7.0), a), [X], np.where(X > 0, X, 7.0)),
    "while_": (
        lambda a: acc.map(lambda x: acc.while_(lambda s: s < 10, lambda s: s * 3, x), a),
        [np.array([1, 4, 12])],
        np.array([27, 12, 12]),
    ),
    "where": (lambda a: acc.where(a > 0.0, a, 0.0), [X], np.where(X > 0, X, 0.0)),
    "cast": (lambda a: acc.cast(a, "int32"), [X], X.astype(np.int32)),
    "matmul": (lambda a, b: acc.matmul(a, b), [X, X.T], X @ X.T),
    "reshape": (lambda a: acc.reshape(a, (3, -1)), [X], X.reshape(3, -1)),
    "transpose": (lambda a: acc.transpose(a), [X], X.T),
    "reverse": (lambda a: acc.reverse(a), [X], X[:, ::-1]),
    "replicate": (lambda a: acc.replicate(a, 2, 1), [V], np.repeat(V[:, None], 2, 1)),
    "broadcast_to": (lambda a: acc.broadcast_to(a, (2, 3)), [V], np.broadcast_to(V, (2, 3))),
    "concatenate": (lambda a, b: acc.concatenate([a, b]), [X, X[:, :1]], np.concatenate([X, X[:, :1]], -1)),
}


@pytest.mark.parametrize("name", sorted(USES))
def test_use_against_numpy(name: str, backend: str) -> None:
    fn, inputs, expected = USES[name]
    got = acc.run(fn, *inputs, backend=backend)
    expected = np.asarray(expected)
    assert_close(got, expected.astype(got.dtype) if expected.dtype != got.dtype and got.dtype.kind == "i" else expected)


def test_every_array_operation_has_a_use() -> None:
    assert sorted(set(COMBINATORS + LAMBDA_ONLY + ["IGNORE"]) - set(USES)) == []


_erf = np.vectorize(math.erf)
# name -> (NumPy reference, input domain low, high); binary functions get a second operand.
SCALAR_REFERENCES = {
    "sin": (np.sin, -3, 3),
    "cos": (np.cos, -3, 3),
    "tan": (np.tan, -1.5, 1.5),
    "asin": (np.arcsin, -1, 1),
    "acos": (np.arccos, -1, 1),
    "atan": (np.arctan, -5, 5),
    "atan2": (np.arctan2, -5, 5),
    "sinh": (np.sinh, -3, 3),
    "cosh": (np.cosh, -3, 3),
    "tanh": (np.tanh, -3, 3),
    "asinh": (np.arcsinh, -5, 5),
    "acosh": (np.arccosh, 1, 5),
    "atanh": (np.arctanh, -0.99, 0.99),
    "exp": (np.exp, -3, 3),
    "expm1": (np.expm1, -3, 3),
    "log": (np.log, 0.01, 5),
    "log1p": (np.log1p, -0.99, 5),
    "sqrt": (np.sqrt, 0, 5),
    "abs": (np.abs, -5, 5),
    "sign": (np.sign, -5, 5),
    "floor": (np.floor, -5, 5),
    "ceil": (np.ceil, -5, 5),
    "round": (np.round, -5, 5),
    "trunc": (np.trunc, -5, 5),
    "minimum": (np.minimum, -5, 5),
    "maximum": (np.maximum, -5, 5),
    "erf": (_erf, -3, 3),
    "isnan": (np.isnan, -5, 5),
    "isinf": (np.isinf, -5, 5),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", SCALARS)
def test_scalar_function_against_numpy(name: str, dtype: str) -> None:
    ref, lo, hi = SCALAR_REFERENCES[name]
    rng = np.random.default_rng(len(name))
    x = rng.uniform(lo, hi, (2, 5)).astype(dtype)
    y = rng.uniform(lo, hi, (5,)).astype(dtype)
    if name in ("isnan", "isinf"):
        x[0, :3] = [np.nan, np.inf, -np.inf]
    fn = getattr(acc, name)
    binary = name in ("atan2", "minimum", "maximum")
    args = (x, y) if binary else (x,)
    expected = ref(*(a.astype(np.float64) for a in args))  # broadcasting (2, 5) with (5,), as NumPy
    expected = expected.astype(dtype) if expected.dtype.kind == "f" else expected
    assert_close(acc.run(fn, *args, backend=B), expected)
    # The same function inside a lambda, on scalars.
    lam = (lambda a, b: acc.zip_with(fn, a, acc.broadcast_to(b, a.shape))) if binary else (lambda a: acc.map(fn, a))
    assert_close(acc.run(lam, *args, backend=B), expected)


def test_operators_against_numpy() -> None:
    a = np.array([[7, -7, 3], [0, 5, -2]])
    b = np.array([2, 3, -4])
    got = acc.run(
        lambda x, y: (x + y, x - y, x * y, x // y, x % y, x**2, -x, x < y, x <= y, x > y, x >= y), a, b, backend=B
    )
    want = (a + b, a - b, a * b, a // b, a % b, a**2, -a, a < b, a <= b, a > b, a >= b)
    for g, w in zip(got, want, strict=True):
        assert_close(g, w)
    p, q = a > 0, b < 0
    for g, w in zip(
        acc.run(lambda x, y: (x & y, x | y, ~x, x == y, x != y), p, q, backend=B),
        (p & q, p | q, ~p, p == q, p != q),
        strict=True,
    ):
        assert_close(g, w)
    assert_close(acc.run(lambda x: x / 4.0, X, backend=B), X / 4.0)


# The namespaces users import from: their public names are exactly their __all__ (no stray imports such as
# acc.Any, acc.importlib, nn.fail or nn.to_value), submodules of the package aside.
NAMESPACES = ["pyaccad", "pyaccad.ad", "pyaccad.nn", "pyaccad.numpy", "pyaccad.linalg"]


@pytest.mark.parametrize("module_name", NAMESPACES)
def test_public_namespaces_are_clean(module_name: str) -> None:
    module = importlib.import_module(module_name)

    def is_submodule(name: str) -> bool:
        value = getattr(module, name)
        return isinstance(value, types.ModuleType) and value.__name__.startswith(f"{module_name}.")

    public = {n for n in dir(module) if not n.startswith("_") and not is_submodule(n)}
    assert public == set(module.__all__) - {n for n in module.__all__ if is_submodule(n)}
    for stray in ("Any", "annotations", "importlib", "fail", "to_value", "Value"):
        assert stray not in public, f"{module_name}.{stray}"


JNP_NOT_IN_NUMPY = {"sigmoid"}  # jax.nn's name, for the JAX user


@pytest.mark.parametrize("name", sorted(jnp.FUNCTIONS))
def test_numpy_module_names_are_numpy_names_with_doctests(name: str) -> None:
    fn = getattr(jnp, name)
    assert callable(fn) and ">>>" in _doc(fn), f"pyaccad.numpy.{name} has no >>> example"
    assert hasattr(np, name) or name in JNP_NOT_IN_NUMPY, name
    assert name in jnp.__all__ and name in dir(jnp)


def test_numpy_module_covers_the_names_of_issue_15() -> None:
    wanted = (
        "expand_dims squeeze stack clip argmax argmin any all cumsum cumprod arange linspace zeros ones full eye "
        "tril triu dot outer einsum take take_along_axis sort argsort square log2 exp2 mod sigmoid sin exp sum mean "
        "max min"
    ).split()
    assert sorted(set(wanted) - set(jnp.FUNCTIONS)) == []
    assert jnp.float32 == np.float32 and jnp.ndarray is acc.Array


@pytest.mark.parametrize(
    "imports",
    [
        "import pyaccad.backends.interp; import pyaccad.backends.native; import pyaccad as acc",
        "from pyaccad.backends import interp; import pyaccad as acc",
        "import pyaccad as acc; import pyaccad.backends; from pyaccad.backends import native",
    ],
)
def test_backends_stays_the_function_whatever_is_imported_first(imports: str) -> None:
    # A fresh interpreter: which module is imported first decides what Python binds to pyaccad.backends.
    check = f"{imports}; import pyaccad.backends.native; print(*sorted(acc.backends()))"
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["accelerate", "cuda", "interp", "native"]
