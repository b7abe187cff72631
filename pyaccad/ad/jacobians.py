"""Jacobians and Hessians built from ``vmap`` over ``jvp``/``vjp``: one batched program, no loop over bases.

- ``jacobian(f, mode="fwd")`` pushes every vector of the input's identity basis
  through ``jvp`` at once (``vmap`` over the basis): one column per basis vector.
- ``mode="rev"`` pulls every vector of the output's basis back through the
  ``vjp`` pullback at once: one row per output element.
- ``mode="auto"`` picks forward when the inputs are no larger than the
  outputs (a tall Jacobian), reverse otherwise, as JAX's advice goes.
- ``hessian(f)`` is forward-over-reverse, ``jacobian(grad(f), mode="fwd")``;
  ``hessian_product(f)(x, v)`` is ``jvp`` of ``grad(f)`` at ``x`` in direction
  ``v``: the product ``H(x) v`` without forming ``H``.

Shapes follow ``jax.jacobian``: an output leaf of shape ``o`` and an input of
shape ``i`` give a block of shape ``o + i``; a tuple ``argnums`` gives a tuple
of blocks per output leaf.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> acc.jit(ad.jacobian(lambda x: x * x), backend="interp")(np.array([1.0, 2.0]))
array([[2., 0.],
       [0., 4.]])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod
from typing import Any

from pyaccad.ad.vmap import staged, vmap
from pyaccad.errors import Error, NotDifferentiable
from pyaccad.frontend import combinators, shapes
from pyaccad.frontend.operators import cast
from pyaccad.frontend.pytree import flatten, unflatten
from pyaccad.frontend.tracing import Value, fail, to_value, trace_program
from pyaccad.ir.types import is_float

MODES = ("fwd", "rev", "auto")


def jacobian(f: Callable[..., Any], argnums: int | Sequence[int] = 0, mode: str = "auto") -> Callable[..., Any]:
    """The Jacobian of ``f`` with respect to the arguments ``argnums`` (arrays), as in ``jax.jacobian``.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> f = lambda x, y: acc.sin(x) * y
    >>> jx, jy = acc.jit(ad.jacobian(f, argnums=(0, 1), mode="rev"), backend="interp")(np.zeros(2), np.ones(2))
    >>> jx
    array([[1., 0.],
           [0., 1.]])
    """
    if mode not in MODES:
        fail(Error, f"jacobian: mode must be one of {', '.join(MODES)}, got {mode!r}")
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    return staged(f, lambda *args: _jacobian(f, nums, isinstance(argnums, int), mode, args))


def hessian(f: Callable[..., Any], argnums: int | Sequence[int] = 0) -> Callable[..., Any]:
    """The Hessian of a scalar-valued ``f``: forward mode over reverse mode.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> f = lambda x: (x * x * x).sum()
    >>> acc.jit(ad.hessian(f), backend="interp")(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    from pyaccad.ad import grad  # the rest of pyaccad.ad imports this module

    return jacobian(grad(f, argnums), argnums, mode="fwd")


def hessian_product(f: Callable[..., Any]) -> Callable[[Any, Any], Any]:
    """``(x, v) -> H(x) v`` for a scalar-valued ``f`` of one array, without forming ``H`` (``jvp`` of ``grad``).

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> f = lambda x: (x * x * x).sum()
    >>> acc.jit(ad.hessian_product(f), backend="interp")(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    array([ 6., 12.])
    """
    from pyaccad.ad import grad, jvp

    def hvp(x: Any, v: Any) -> Any:
        return jvp(grad(f), (x,), (v,))[1]

    return staged(f, hvp)


def _jacobian(f: Callable[..., Any], nums: tuple[int, ...], single: bool, mode: str, args: tuple[Any, ...]) -> Any:
    args = list(args)
    for i in nums:
        if not 0 <= i < len(args):
            fail(Error, f"jacobian: argnums {i} is out of range for {len(args)} arguments")
        args[i] = to_value(args[i], "jacobian")
        if not is_float(args[i].dtype):
            fail(
                NotDifferentiable,
                f"jacobian: argument {i} has dtype {args[i].dtype}; only float inputs have a derivative",
            )
    if mode == "auto":
        mode = "fwd" if sum(args[i].size for i in nums) <= _output_size(f, args) else "rev"
    per_arg = [(_forward if mode == "fwd" else _reverse)(f, args, i) for i in nums]  # each shaped like f's output
    if single:
        return per_arg[0]
    leaves = [flatten(blocks)[0] for blocks in per_arg]
    return unflatten(flatten(per_arg[0])[1], [tuple(column) for column in zip(*leaves, strict=True)])


def _output_size(f: Callable[..., Any], args: list[Any]) -> int:
    """The number of elements ``f`` returns (traced aside: nothing is added to the current program)."""
    leaves, tree = flatten(tuple(args))
    types = [to_value(x, "jacobian").var.type for x in leaves]
    program, _ = trace_program(lambda *xs: f(*unflatten(tree, list(xs))), types)
    return sum(prod(t.shape) for t in program.output_types)


def _with_arg(f: Callable[..., Any], args: list[Any], i: int) -> Callable[[Any], Any]:
    return lambda x: f(*args[:i], x, *args[i + 1 :])


def _basis(shape: tuple[int, ...], dtype: Any) -> Value:
    """The identity basis of arrays of ``shape``: ``n = prod(shape)`` one-hot arrays stacked on axis 0."""
    n = prod(shape)
    eye = combinators.generate((n, n), lambda i, j: cast(i == j, dtype))
    return shapes.reshape(eye, (n, *shape))


def _forward(f: Callable[..., Any], args: list[Any], i: int) -> Any:
    """Columns ``J e_k`` for the whole basis at once, stacked last, then folded to ``out.shape + x.shape``."""
    from pyaccad.ad import jvp

    x = args[i]
    column = lambda t: jvp(_with_arg(f, args, i), (x,), (t,))[1]  # noqa: E731
    stacked, tree = flatten(vmap(column, out_axes=-1)(_basis(x.shape, x.dtype)))
    return unflatten(tree, [shapes.reshape(s, (*s.shape[:-1], *x.shape)) for s in stacked])


def _reverse(f: Callable[..., Any], args: list[Any], i: int) -> Any:
    """Rows ``e_k^T J`` for the basis of each output leaf at once, folded to ``out.shape + x.shape``."""
    from pyaccad.ad import vjp

    x = args[i]
    out, pullback = vjp(_with_arg(f, args, i), x)
    outs, tree = flatten(out)
    zeros = [combinators.fill(o.shape, 0, dtype=o.dtype) for o in outs]
    blocks = []
    for k, o in enumerate(outs):
        # Cotangent k runs over its basis; the other outputs' cotangents are zero for every row.
        def row(ct: Value, k: int = k) -> Value:
            return pullback(unflatten(tree, [ct if j == k else z for j, z in enumerate(zeros)]))[0]

        blocks.append(shapes.reshape(vmap(row)(_basis(o.shape, o.dtype)), (*o.shape, *x.shape)))
    return unflatten(tree, blocks)
