"""Scalar functions: tracing the lambdas of the combinators, and lazy control flow inside them.

A lambda given to ``map``, ``fold``, ``generate``, ... is traced once on
fresh rank-0 tracers (:class:`~pyaccad.frontend.tracing.Exp`) into a small
Program. Python number literals a lambda returns take the dtype the
combinator expects (``acc.fold(lambda a, b: 0, ...)`` on int32 gives int32
zeros). ``cond`` traces each branch as a zero-input Program, so only the
chosen one runs — a value branch too: Python computes ``a[i]`` in
``acc.cond(p, a[i], 0.0)`` before ``cond`` is called, and tracing then sinks
that computation into the branch (:mod:`pyaccad.ir.sink`). ``while_`` loops
on scalar state.

``IGNORE`` is what a ``permute`` index function returns to drop an element.
It may also be one branch of ``cond``: the two branches are then widened to
the IR's ``(keep, *index)`` form, and ``cond`` returns a :class:`Scatter`
target that ``permute`` understands.

>>> import numpy as np, pyaccad as acc
>>> acc.run(lambda a: acc.map(lambda x: acc.cond(x > 1.0, x, 0.0), a), np.arange(4.0))
array([0., 0., 2., 3.])
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from pyaccad.errors import ArgumentError, DTypeError, Error, ShapeError
from pyaccad.frontend.operators import cast
from pyaccad.frontend.pytree import TreeDef, flatten, unflatten
from pyaccad.frontend.tracing import (
    Value,
    _arg_hints,
    check_live,
    current_builder,
    emit,
    fail,
    function_name,
    in_scalar_scope,
    is_scalar_literal,
    literal,
    to_value,
    trace_program,
    value_of,
    wrap,
)
from pyaccad.ir import BOOL, INT64, ArrayType, Program, scalar_type


class _Ignore:
    """The type of :data:`IGNORE`: a ``permute`` index function returns it to drop an element.

    >>> import numpy as np, pyaccad as acc
    >>> f = lambda a: acc.permute(lambda x, y: x + y, acc.fill(1, 0), lambda i: acc.IGNORE, a)
    >>> acc.run(f, np.array([5, 6]))
    array([0])
    """

    def __repr__(self) -> str:
        return "acc.IGNORE"


IGNORE = _Ignore()
"""Returned by a ``permute`` index function (or a ``cond`` branch in it) to drop the element.

>>> import numpy as np, pyaccad as acc
>>> f = lambda a: acc.permute(lambda x, y: x + y, acc.fill(2, 0.0),
...                           lambda i: acc.cond(i < 2, (i,), acc.IGNORE), a)
>>> acc.run(f, np.array([1.0, 2.0, 3.0]))
array([1., 2.])
"""


class Scatter:
    """A permute target chosen at run time: ``keep`` (a bool Exp) and the destination ``indices``.

    ``cond`` returns one when a branch is :data:`IGNORE`; users never build it themselves.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> seen = []
    >>> f = lambda a: acc.generate((1,), lambda i: seen.append(acc.cond(i > 0, (i,), acc.IGNORE)) or 0)
    >>> _ = trace(f, np.zeros(1))
    >>> type(seen[0]).__name__, len(seen[0].indices)
    ('Scatter', 1)
    """

    def __init__(self, keep: Value, indices: tuple[Value, ...]) -> None:
        self.keep = keep
        self.indices = indices


def with_literals(
    fn: Callable[..., Any], types: Sequence[np.dtype | ArrayType] | None, what: str
) -> Callable[..., Any]:
    """``fn`` whose Python number results become values of ``types`` (what the caller expects).

    A type is a dtype, or an :class:`~pyaccad.ir.ArrayType` at array level: a literal
    returned where an array of a shape is expected fills that shape (``acond``/``awhile``).

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.fold(lambda x, y: 0, 5, a), np.arange(3, dtype=np.int32)).dtype
    dtype('int32')
    >>> acc.run(lambda a: acc.acond(a[0] > 0, lambda: a, lambda: 0), np.arange(2, dtype=np.int32))
    array([0, 0], dtype=int32)
    """
    if types is None:
        return fn

    def typed(*args: Any) -> Any:
        leaves, tree = flatten(fn(*args))
        if len(leaves) != len(types):
            return unflatten(tree, leaves)  # the type rule reports the mismatch with its own message
        leaves = [_typed_literal(x, t, what) if is_scalar_literal(x) else x for x, t in zip(leaves, types, strict=True)]
        return unflatten(tree, leaves)

    return typed


def _typed_literal(x: Any, spec: np.dtype | ArrayType, what: str) -> Value:
    if not isinstance(spec, ArrayType):
        return value_of(literal(x, spec, what))
    lit = literal(x, spec.dtype, what)
    if spec.shape == () or in_scalar_scope():
        return value_of(lit)
    (var,) = emit("broadcast_in_dim", (lit,), {"shape": spec.shape, "dims": ()})
    return wrap(var)


def check_arity(fn: Any, n: int, what: str) -> None:
    """Raise a clear error unless ``fn`` is a function that can take ``n`` positional arguments.

    >>> check_arity(lambda x: x, 2, "fold")
    Traceback (most recent call last):
      ...
    pyaccad.errors.ArgumentError: fold: the function <lambda>(x) must take 2 argument(s): too many positional arguments
    ...
    """
    if not callable(fn):
        fail(DTypeError, f"{what}: expected a function, got {type(fn).__name__}")
    try:
        signature = inspect.signature(fn, follow_wrapped=False)  # a wrapper may take other arguments
    except (TypeError, ValueError):  # builtins without a signature: the call itself decides
        return
    try:
        signature.bind(*range(n))
        return
    except TypeError as exc:
        problem = str(exc)
    # Raised outside the except block, so the user sees one error, not a chain ending in inspect's.
    fail(ArgumentError, f"{what}: the function {function_name(fn)}{signature} must take {n} argument(s): {problem}")


def trace_lambda(
    fn: Callable[..., Any], arg_spec: Sequence[Any], what: str, out_dtypes: Sequence[np.dtype] | None = None
) -> tuple[Program, TreeDef]:
    """Trace the scalar function ``fn``; ``arg_spec`` gives each argument's dtype (a nested tuple for tuples).

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.ir import INT64
    >>> progs = []
    >>> _ = trace(lambda a: progs.append(trace_lambda(lambda p, q: p[0] + q, [(INT64,), INT64], "demo")), np.zeros(1))
    >>> [str(t) for t in progs[0][0].input_types]
    ['i64[]', 'i64[]']
    """
    check_arity(fn, len(arg_spec), what)
    leaves, tree = flatten(tuple(arg_spec))
    hints = _arg_hints(fn, len(arg_spec)) if len(leaves) == len(arg_spec) else None
    return trace_program(
        with_literals(fn, out_dtypes, what),
        [scalar_type(d) for d in leaves],
        "scalar",
        in_tree=tree,
        hints=hints,
        what=what,
    )


def index_atoms(indices: Any, n: int, op: str, context: str = "") -> list[Value]:
    """``n`` int64 indices from an index function's result (an index, or a tuple of them), via :func:`as_index`.

    >>> import numpy as np, pyaccad as acc
    >>> f = lambda a: acc.backpermute((2,), lambda i: acc.cast(i, "int32"), a)  # int32 indices are widened
    >>> acc.run(f, np.array([5.0, 6.0]))
    array([5., 6.])
    """
    items = list(indices) if isinstance(indices, (tuple, list)) else [indices]
    if len(items) != n:
        fail(ShapeError, f"{op}: the index function returned {len(items)} indices, expected {n}{context}")
    return [as_index(item, op, "the index function returned") for item in items]


def as_index(item: Any, op: str, subject: str) -> Value:
    """``item``, an integer scalar of any dtype (or a Python/NumPy int), as an index: int64, the IR's index dtype.

    Narrower integers are widened with a ``cast``. Floats and bools are not indices (NumPy rejects
    them too): they raise a DTypeError saying ``"{op}: {subject} a float32 index; indices must be
    integers"``.

    >>> import numpy as np, pyaccad as acc
    >>> acc.run(lambda a: acc.backpermute((1,), lambda i: 1.0, a), np.zeros(2))
    Traceback (most recent call last):
      ...
    pyaccad.errors.DTypeError: backpermute: the index function returned a float64 index; indices must be integers
    ...
    """
    literal_item = is_scalar_literal(item)
    value = None if literal_item else to_value(item, op)
    if value is not None and value.shape != ():
        fail(ShapeError, f"{op}: {subject} an array of shape {value.shape}; indices must be scalars")
    if value is not None:
        dtype = value.dtype
    else:  # a Python int may not fit any NumPy type: `literal` below says so
        dtype = INT64 if isinstance(item, int) and not isinstance(item, bool) else np.result_type(item)
    if dtype.kind not in "iu":
        # a bool is not 0 or 1 here: NumPy reads a[True] as a mask, and rejects a bool scalar as an index
        hint = ", not bools (use acc.cast(..., 'int64') for 0 and 1)" if dtype == BOOL else ""
        fail(DTypeError, f"{op}: {subject} a {dtype} index; indices must be integers{hint}")
    if value is None:
        value = value_of(literal(item, INT64, op))
    return cast(value, INT64)


def cond(pred: Any, then_: Any, else_: Any) -> Any:
    """Lazy choice: ``then_`` if ``pred`` else ``else_``; branches are values or zero-argument functions.

    Only the chosen branch is evaluated. For a value branch that means the computation of the value, when
    nothing but this branch uses it (:mod:`pyaccad.ir.sink` moves it into the branch, as accelerate would
    evaluate it); a value also used elsewhere is evaluated in any case. Literals in one branch take the
    other's dtype; otherwise the branches must have one dtype (a ``cond``'s branches do not promote:
    ``cond(p, ix[i], i)`` with an int32 ``ix`` is a DTypeError, ``cond(p, acc.cast(ix[i], "int64"), i)`` is not).

    >>> import numpy as np, pyaccad as acc
    >>> f = lambda a: acc.generate((2, 2), lambda i, j: acc.cond(i >= j, lambda: a[i, j], 0.0))
    >>> acc.run(f, np.ones((2, 2), np.float32))
    array([[1., 0.],
           [1., 1.]], dtype=float32)
    >>> g = lambda a: acc.generate((3,), lambda i: acc.cond(i < 2, a[i + 1], -1.0))  # a[3] is never read
    >>> acc.run(g, np.arange(3.0))
    array([ 1.,  2., -1.])
    """
    if isinstance(pred, (bool, np.bool_)):
        chosen = then_ if pred else else_
        return chosen() if callable(chosen) else chosen
    p = to_value(pred, "cond")
    if p.var.type != scalar_type(BOOL):
        fail(DTypeError, f"cond: the predicate must be a scalar bool, got {p.var.type}")
    branches = [_Branch(then_), _Branch(else_)]
    for b in branches:
        b.trace(None)
    if any(b.ignore or b.scatter for b in branches):
        return _scatter_cond(p, branches)
    t, e = branches
    # Retrace a branch whose Python literals meet values of other types, at those types.
    if (t.literal or e.literal) and t.types() != e.types() and len(t.literals) == len(e.literals):
        joined = [
            _join(a, b, lit_a, lit_b)
            for a, b, lit_a, lit_b in zip(t.types(), e.types(), t.literals, e.literals, strict=True)
        ]
        for b in branches:
            if b.literal and b.types() != joined:
                b.trace(joined)
    if t.tree != e.tree:
        fail(ShapeError, f"cond: the branches return different structures: {t.tree} and {e.tree}")
    if [x.shape for x in t.types()] == [x.shape for x in e.types()] and t.types() != e.types():
        # no promotion, as for `+`: an int32 index next to an int64 one needs a cast in a value (in a permute
        # target with an IGNORE branch both are indices, widened to int64)
        fail(
            DTypeError,
            f"cond: the branches return different dtypes: {[str(x) for x in t.types()]} and "
            f"{[str(x) for x in e.types()]}; pyaccad does not promote: acc.cast one branch",
        )
    outs = emit("cond", (check_live(p),), {"then_": t.program, "else_": e.program})
    return unflatten(t.tree, [wrap(v) for v in outs])


class _Branch:
    """One traced ``cond`` branch, remembering whether it returned Python literals or ``IGNORE``."""

    def __init__(self, branch: Any) -> None:
        self.branch = branch
        self.ignore = self.scatter = self.literal = False
        self.literals: list[bool] = []

    def trace(self, types: Sequence[Any] | None, target: int | None = None) -> None:
        """Trace the branch; with ``target``, as a permute target of that many indices (:func:`as_target`)."""

        def run() -> Any:
            result = self.branch() if callable(self.branch) else self.branch
            if target is not None:
                return as_target(result, target)
            if result is IGNORE:
                self.ignore = True
                return ()
            if isinstance(result, Scatter):
                self.scatter = True
                return (result.keep, *result.indices)
            self.literals = [is_scalar_literal(x) for x in flatten(result)[0]]
            self.literal = any(self.literals)
            return result

        kind = current_builder().kind
        self.program, self.tree = trace_program(with_literals(run, types, "cond"), [], kind, what="cond")

    def types(self) -> list[ArrayType]:
        return list(self.program.output_types)


def _join(a: ArrayType, b: ArrayType, literal_a: bool, literal_b: bool) -> ArrayType:
    """The type both branches give one result: a literal's takes the other's; two literals promote, as NumPy."""
    if literal_a and literal_b:
        return scalar_type(np.promote_types(a.dtype, b.dtype))
    return b if literal_a else a


def _scatter_cond(p: Value, branches: list[_Branch]) -> Any:
    """``cond`` between permute targets: both branches traced again as ``(keep, *int64 indices)``."""
    if current_builder().kind != "scalar":
        fail(Error, "cond: acc.IGNORE is only meaningful inside a permute index function")
    sizes = {len(b.program.outputs) - (1 if b.scatter else 0) for b in branches if not b.ignore}
    if not sizes:
        return IGNORE
    if len(sizes) > 1:
        fail(ShapeError, f"cond: the branches return different numbers of indices: {sorted(sizes)}")
    (n,) = sizes
    for b in branches:
        b.trace([BOOL] + [INT64] * n, target=n)
    then_, else_ = (b.program for b in branches)
    outs = [wrap(v) for v in emit("cond", (check_live(p),), {"then_": then_, "else_": else_})]
    return Scatter(outs[0], tuple(outs[1:]))


def as_target(result: Any, n: int, op: str = "permute", context: str = "") -> tuple[Any, ...]:
    """A ``permute`` index function's result as the IR's target ``(keep, *n int64 indices)``.

    ``result`` is :data:`IGNORE`, a :class:`Scatter` (from a ``cond`` with an ``IGNORE`` branch), or an
    index or tuple of indices of any integer dtype (:func:`index_atoms`). Python literals are left to
    the caller's :func:`with_literals`.

    >>> as_target(IGNORE, 2)
    (False, 0, 0)
    """
    if result is IGNORE:
        return (False, *[0] * n)
    if isinstance(result, Scatter):
        return (result.keep, *index_atoms(result.indices, n, op, context))
    return (True, *index_atoms(result, n, op, context))


def while_(
    cond_fn: Callable[[Any], Any], body_fn: Callable[[Any], Any], init: Any, checkpoint: int | str | None = None
) -> Any:
    """Loop on scalar state inside a lambda: ``while cond_fn(s): s = body_fn(s)``; returns the final state.

    ``init`` is a scalar or a pytree of scalars; both functions take the state as one argument.
    ``checkpoint`` is reverse mode's policy for getting each lane's loop states back when the body reads a
    differentiated array, as in :func:`pyaccad.awhile`: ``None`` (the default) or ``1``, a tape of every
    lane's states (within ``PYACCAD_LOOP_TAPE_MB``, else bisection); an int ``k > 1``, every k-th state on
    the tape; ``"bisect"``, no tape. All give the same gradient (up to rounding).

    >>> import numpy as np, pyaccad as acc
    >>> collatz = lambda n: acc.while_(lambda s: s[0] != 1, lambda s: (acc.cond(s[0] % 2 == 0, s[0] // 2,
    ...                                3 * s[0] + 1), s[1] + 1), (n, 0))[1]
    >>> acc.run(lambda a: acc.map(collatz, a), np.array([1, 6, 7]))
    array([ 0,  8, 16])
    >>> from pyaccad import ad
    >>> def f(x, checkpoint=None):  # per lane v: s <- s * x[k] for k < 3, from s = v
    ...     body = lambda s: (s[0] * x[s[1]], s[1] + 1)
    ...     per = lambda v: acc.while_(lambda s: s[1] < 3, body, (v, np.int64(0)), checkpoint)[0]
    ...     return acc.map(per, x).sum()
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> acc.jit(ad.grad(f))(x), acc.jit(ad.grad(lambda x: f(x, "bisect")))(x)
    (array([42., 24., 18.]), array([42., 24., 18.]))
    """
    return loop("while_", cond_fn, body_fn, init, checkpoint_params("while_", checkpoint))


def checkpoint_params(what: str, checkpoint: int | str | None) -> dict[str, Any]:
    """The ``while`` statement's params for reverse mode's ``checkpoint`` policy (none for the default).

    >>> checkpoint_params("awhile", None), checkpoint_params("awhile", np.int64(4))
    ({}, {'checkpoint': 4})
    """
    integer = isinstance(checkpoint, (int, np.integer)) and not isinstance(checkpoint, (bool, np.bool_))
    if not (checkpoint is None or checkpoint == "bisect" or (integer and int(checkpoint) >= 1)):  # type: ignore
        fail(ArgumentError, f"{what}: checkpoint must be None, an int >= 1 or 'bisect', got {checkpoint!r}")
    return {} if checkpoint is None else {"checkpoint": checkpoint if checkpoint == "bisect" else int(checkpoint)}


def loop(
    what: str,
    cond_fn: Callable[[Any], Any],
    body_fn: Callable[[Any], Any],
    init: Any,
    params: Mapping[str, Any] | None = None,
) -> Any:
    """The IR ``while`` at the current level (``while_`` in lambdas, ``awhile`` on arrays), with extra ``params``.

    >>> import numpy as np, pyaccad as acc
    >>> f = lambda a: loop("awhile", lambda s: s.sum() < 10, lambda s: s + 1, a)
    >>> acc.run(f, np.zeros(2, int))
    array([5, 5])
    """
    check_arity(cond_fn, 1, f"{what} condition")
    check_arity(body_fn, 1, f"{what} body")
    leaves, tree = flatten(init)
    values = [to_value(x, what) for x in leaves]
    types = [v.var.type for v in values]
    kind = current_builder().kind
    in_tree = TreeDef("tuple", (tree,))  # the functions take the whole state as one argument
    cond_prog, cond_tree = trace_program(cond_fn, types, kind, in_tree=in_tree, what=f"{what} condition")
    if cond_tree.kind != "leaf" or cond_prog.output_types[0] != scalar_type(BOOL):
        got = [str(t) for t in cond_prog.output_types]
        fail(DTypeError, f"{what}: the condition must return one scalar bool, got {got}")
    body = with_literals(body_fn, types, what)
    body_prog, body_tree = trace_program(body, types, kind, in_tree=in_tree, what=f"{what} body")
    if body_tree != tree or list(body_prog.output_types) != types:
        fail(
            ShapeError,
            f"{what}: the body must return the loop state {[str(t) for t in types]} ({tree}), "
            f"got {[str(t) for t in body_prog.output_types]} ({body_tree})",
        )
    outs = emit("while", tuple(check_live(v) for v in values), {**(params or {}), "cond": cond_prog, "body": body_prog})
    return unflatten(tree, [wrap(v) for v in outs])
