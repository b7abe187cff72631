"""Jacobians and Hessians built from ``vmap`` over ``jvp``/``vjp``: one batched program, no loop over bases.

- ``jacobian(f, mode="fwd")`` pushes every vector of the input's identity basis
  through ``jvp`` at once (``vmap`` over the basis): one column per basis vector.
- ``mode="rev"`` pulls every vector of the output's basis back through the
  ``vjp`` pullback at once: one row per output element.
- ``mode="auto"`` picks forward when the inputs are no larger than the
  outputs (a tall Jacobian), reverse otherwise, as JAX's advice goes; reverse
  too when ``f`` calls a ``custom_vjp``, which defines no forward mode.
- ``hessian(f)`` is forward-over-reverse, ``jacobian(grad(f), mode="fwd")``;
  ``hessian_product(f)(x, v)`` is ``jvp`` of ``grad(f)`` at ``x`` in direction
  ``v``: the product ``H(x) v`` without forming ``H``.

Shapes follow ``jax.jacobian``: an output leaf of shape ``o`` and an input of
shape ``i`` give a block of shape ``o + i``; an argument that is a pytree of
arrays gives that pytree of blocks, and a tuple ``argnums`` a tuple of them,
per output leaf.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> acc.jit(ad.jacobian(lambda x: x * x))(np.array([1.0, 2.0]))
array([[2., 0.],
       [0., 4.]])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod
from typing import Any

from pyaccad.ad.api import bind_keywords, grad, jvp, staged, vjp
from pyaccad.ad.custom_rules import has_forward_mode
from pyaccad.ad.vmap import vmap
from pyaccad.errors import Error, NotDifferentiable
from pyaccad.frontend import combinators, shapes
from pyaccad.frontend.operators import cast
from pyaccad.frontend.pytree import TreeDef, flatten, unflatten
from pyaccad.frontend.tracing import Value, fail, to_value, trace_program
from pyaccad.ir import Program
from pyaccad.ir.types import is_float

MODES = ("fwd", "rev", "auto")


def jacobian(f: Callable[..., Any], argnums: int | Sequence[int] = 0, mode: str = "auto") -> Callable[..., Any]:
    """The Jacobian of ``f`` with respect to the arguments ``argnums`` (arrays or pytrees), as in ``jax.jacobian``.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> f = lambda x, y: acc.sin(x) * y
    >>> jx, jy = acc.jit(ad.jacobian(f, argnums=(0, 1), mode="rev"))(np.zeros(2), np.ones(2))
    >>> jx
    array([[1., 0.],
           [0., 1.]])
    """
    if mode not in MODES:
        fail(Error, f"jacobian: mode must be one of {', '.join(MODES)}, got {mode!r}")
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums:
        fail(Error, "jacobian: argnums is empty; name at least one argument to differentiate")
    single = isinstance(argnums, int)
    return staged(f, lambda *args, **kwargs: _jacobian(bind_keywords(f, kwargs), nums, single, mode, args))


def hessian(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The Hessian of a scalar-valued ``f``: forward mode over reverse mode.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> f = lambda x: (x * x * x).sum()
    >>> acc.jit(ad.hessian(f))(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return jacobian(grad(f, argnums), argnums, mode="fwd")


def hessian_product(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """``(*args, v) -> H v`` for a scalar-valued ``f``, without forming ``H`` (``jvp`` of ``grad``).

    ``H`` is the Hessian with respect to the arguments ``argnums``, the others held fixed; for a tuple
    ``argnums``, ``v`` is a tuple of directions, one per argument, and so is the result.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> f = lambda x: (x * x * x).sum()
    >>> acc.jit(ad.hessian_product(f))(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    array([ 6., 12.])
    >>> g = lambda w, x: (w * w * x).sum()  # d2g/dw2 = 2x
    >>> acc.jit(ad.hessian_product(g, argnums=0), backend="interp")(np.ones(2), np.array([1.0, 3.0]), np.ones(2))
    array([2., 6.])
    """
    single = isinstance(argnums, int)
    nums = (argnums,) if single else tuple(argnums)

    def hvp(*args_and_v: Any, **kwargs: Any) -> Any:
        if not args_and_v:
            fail(Error, "hessian_product: call it with f's arguments and then the direction v")
        *args, v = args_and_v
        positions = [k % len(args) if -len(args) <= k < len(args) else None for k in nums]
        if None in positions or not args:
            fail(Error, f"hessian_product: argnums {argnums} out of range for {len(args)} arguments")
        g = grad(bind_keywords(f, kwargs), positions[0] if single else tuple(positions))

        def g_at(*xs: Any) -> Any:
            full = list(args)
            for k, x in zip(positions, xs, strict=True):
                full[k] = x
            return g(*full)

        directions = (v,) if single else tuple(v)
        return jvp(g_at, tuple(args[k] for k in positions), directions)[1]

    return staged(f, hvp)


def _jacobian(f: Callable[..., Any], nums: tuple[int, ...], single: bool, mode: str, args: tuple[Any, ...]) -> Any:
    args = list(args)
    inputs = {i: _inputs(args, i) for i in nums}  # argnum -> (its leaves as values, its pytree structure)
    if mode == "auto":
        size = sum(x.size for i in nums for x in inputs[i][0])
        program = _traced_aside(f, args)
        out_size = sum(prod(t.shape) for t in program.output_types)
        mode = "fwd" if size <= out_size and has_forward_mode(program) else "rev"
    block = _forward if mode == "fwd" else _reverse
    per_arg = []  # per argnum, per output leaf: the blocks, shaped like the argument
    for i in nums:
        leaves, tree = inputs[i]
        # one Jacobian per leaf of argument i (the others held fixed), each a pytree shaped like f's output
        per_leaf = [flatten(block(_with_leaf(f, args, i, j), x)) for j, x in enumerate(leaves)]
        out_tree = per_leaf[0][1]
        columns = zip(*(blocks for blocks, _ in per_leaf), strict=True)
        per_arg.append([unflatten(tree, list(column)) for column in columns])
    per_output = per_arg[0] if single else [tuple(blocks) for blocks in zip(*per_arg, strict=True)]
    return unflatten(out_tree, per_output)


def _inputs(args: list[Any], i: int) -> tuple[list[Value], TreeDef]:
    """The leaves of argument ``i`` (an array or a pytree of them) as traced float values, and its structure."""
    if not 0 <= i < len(args):
        fail(Error, f"jacobian: argnums {i} is out of range for {len(args)} arguments")
    leaves, tree = flatten(args[i])
    values = [to_value(x, "jacobian") for x in leaves]
    for x in values:
        if not is_float(x.dtype):
            fail(NotDifferentiable, f"jacobian: argument {i} has dtype {x.dtype}; only float inputs have a derivative")
    args[i] = unflatten(tree, values)
    return values, tree


def _traced_aside(f: Callable[..., Any], args: list[Any]) -> Program:
    """``f`` at ``args``, traced aside: nothing is added to the current program."""
    leaves, tree = flatten(tuple(args))
    types = [to_value(x, "jacobian").var.type for x in leaves]
    return trace_program(lambda *xs: f(*unflatten(tree, list(xs))), types)[0]


def _with_leaf(f: Callable[..., Any], args: list[Any], i: int, j: int) -> Callable[[Any], Any]:
    """``f`` as a function of leaf ``j`` of argument ``i`` alone."""
    leaves, tree = flatten(args[i])

    def g(x: Any) -> Any:
        arg = unflatten(tree, [x if k == j else leaf for k, leaf in enumerate(leaves)])
        return f(*args[:i], arg, *args[i + 1 :])

    return g


def _basis(shape: tuple[int, ...], dtype: Any) -> Value:
    """The identity basis of arrays of ``shape``: ``n = prod(shape)`` one-hot arrays stacked on axis 0."""
    n = prod(shape)
    eye = combinators.generate((n, n), lambda i, j: cast(i == j, dtype))
    return shapes.reshape(eye, (n, *shape))


def _forward(g: Callable[[Any], Any], x: Value) -> Any:
    """Columns ``J e_k`` of ``g`` at ``x`` for the whole basis at once, stacked last, as ``out.shape + x.shape``."""
    column = lambda t: jvp(g, (x,), (t,))[1]  # noqa: E731
    stacked, tree = flatten(vmap(column, out_axes=-1)(_basis(x.shape, x.dtype)))
    return unflatten(tree, [shapes.reshape(s, (*s.shape[:-1], *x.shape)) for s in stacked])


def _reverse(g: Callable[[Any], Any], x: Value) -> Any:
    """Rows ``e_k^T J`` of ``g`` at ``x`` for the basis of each output leaf at once, as ``out.shape + x.shape``."""
    out, pullback = vjp(g, x)
    outs, tree = flatten(out)
    zeros = [combinators.fill(o.shape, 0, dtype=o.dtype) for o in outs]
    blocks = []
    for k, o in enumerate(outs):
        # Cotangent k runs over its basis; the other outputs' cotangents are zero for every row.
        def row(ct: Value, k: int = k) -> Value:
            return pullback(unflatten(tree, [ct if j == k else z for j, z in enumerate(zeros)]))[0]

        blocks.append(shapes.reshape(vmap(row)(_basis(o.shape, o.dtype)), (*o.shape, *x.shape)))
    return unflatten(tree, blocks)
