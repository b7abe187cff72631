"""Products and contractions: ``dot``, ``vdot``, ``inner``, ``outer``, ``tensordot``, ``matmul``, ``einsum``.

Every contraction of two arrays is lowered to one batched ``matmul`` (BLAS on
the native backend): the operands are transposed to ``(batch, free,
contracted)`` and ``(batch, contracted, free)``, merged into three axes,
multiplied, and the result is reshaped and transposed to the requested
order. Labels that appear in one operand only and not in the result are
summed first; a label repeated within one operand takes its diagonal
(``backpermute``). ``einsum`` with more than two operands contracts them left
to right. Shared labels must have equal extents (no broadcasting of extent 1
within ``einsum``), and the operands one dtype, as in ``matmul``.

>>> import numpy as np, pyaccad as acc
>>> import pyaccad.numpy as jnp
>>> acc.run(lambda a, b: jnp.einsum("bij,bjk->bik", a, b), np.ones((2, 2, 3)), np.ones((2, 3, 1)))[:, :, 0]
array([[3., 3.],
       [3., 3.]])
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from math import prod
from typing import Any

from pyaccad.errors import ShapeError
from pyaccad.frontend import shapes
from pyaccad.frontend.arrayops import array_op, normalize_axes
from pyaccad.frontend.combinators import backpermute
from pyaccad.frontend.tracing import Value, fail
from pyaccad.numpy.common import as_value

__all__ = ["dot", "einsum", "inner", "matmul", "outer", "tensordot", "vdot"]

Labels = tuple[Hashable, ...]


def _sum_out(x: Value, labels: Labels, keep: set[Hashable]) -> tuple[Value, Labels]:
    """Sum the axes whose labels are not in ``keep``."""
    gone = tuple(i for i, label in enumerate(labels) if label not in keep)
    if not gone:
        return x, labels
    return x.sum(axis=gone), tuple(label for label in labels if label in keep)


def _diagonal(x: Value, labels: Labels) -> tuple[Value, Labels]:
    """The diagonal over repeated labels (``einsum("ii->i")``): one axis per distinct label."""
    unique = tuple(dict.fromkeys(labels))
    if len(unique) == len(labels):
        return x, labels
    extents: dict[Hashable, int] = {}
    for label, d in zip(labels, x.shape, strict=True):
        if extents.setdefault(label, d) != d:
            fail(ShapeError, f"einsum: label {label!r} has extents {extents[label]} and {d} in one operand")
    where = {label: unique.index(label) for label in unique}
    out = backpermute(tuple(extents[u] for u in unique), lambda *ix: tuple(ix[where[lb]] for lb in labels), x)
    return out, unique


def _arrange(x: Value, labels: Labels, order: Labels) -> Value:
    return shapes.transpose(x, tuple(labels.index(label) for label in order))


def _pair(x: Value, xl: Labels, y: Value, yl: Labels, out: Labels) -> tuple[Value, Labels]:
    """Contract ``x`` and ``y`` over their shared labels not in ``out``, as one batched matmul."""
    x, xl = _sum_out(x, xl, set(yl) | set(out))
    y, yl = _sum_out(y, yl, set(xl) | set(out))
    for label in set(xl) & set(yl):
        dx, dy = x.shape[xl.index(label)], y.shape[yl.index(label)]
        if dx != dy:
            fail(ShapeError, f"einsum: label {label!r} has extent {dx} in one operand and {dy} in the other")
    batch = tuple(label for label in xl if label in yl and label in out)
    summed = tuple(label for label in xl if label in yl and label not in out)
    free_x = tuple(label for label in xl if label not in yl)
    free_y = tuple(label for label in yl if label not in xl)
    extent = {**dict(zip(xl, x.shape, strict=True)), **dict(zip(yl, y.shape, strict=True))}

    def size(group: Labels) -> int:
        return prod(extent[label] for label in group)

    xm = shapes.reshape(_arrange(x, xl, batch + free_x + summed), (size(batch), size(free_x), size(summed)))
    ym = shapes.reshape(_arrange(y, yl, batch + summed + free_y), (size(batch), size(summed), size(free_y)))
    result_labels = batch + free_x + free_y
    product = shapes.reshape(shapes.matmul(xm, ym), tuple(extent[label] for label in result_labels))
    return product, result_labels


def contract(operands: Sequence[Value], labels: Sequence[Labels], out: Labels) -> Value:
    """``einsum`` on labelled operands: left to right, keeping the labels still needed."""
    prepared = [_diagonal(x, lab) for x, lab in zip(operands, labels, strict=True)]
    x, xl = prepared[0]
    for k in range(1, len(prepared)):
        y, yl = prepared[k]
        later = {label for _, lab in prepared[k + 1 :] for label in lab}
        x, xl = _pair(x, xl, y, yl, tuple(dict.fromkeys(out + tuple(later))))
    x, xl = _sum_out(x, xl, set(out))
    missing = [label for label in out if label not in xl]
    if missing:
        fail(ShapeError, f"einsum: output labels {missing} appear in no operand")
    return _arrange(x, xl, out)


def _parse(subscripts: str, ranks: Sequence[int]) -> tuple[list[Labels], Labels]:
    """NumPy's subscripts (``"ij,jk->ik"``, implicit output, ``...``) as label tuples per operand and output."""
    inputs, arrow, output = subscripts.replace(" ", "").partition("->")
    terms = inputs.split(",")
    if len(terms) != len(ranks):
        fail(ShapeError, f"einsum: {subscripts!r} names {len(terms)} operands, got {len(ranks)}")
    # Ellipsis axes align from the right, as NumPy broadcasts them: label them by their distance from the end.
    width = max(
        (rank - len(term.replace("...", "")) for term, rank in zip(terms, ranks, strict=True) if "..." in term),
        default=0,
    )
    parsed = [_term(term, rank, subscripts, width) for term, rank in zip(terms, ranks, strict=True)]
    if arrow:
        return parsed, _term(output, len(output.replace("...", "")) + width * ("..." in output), subscripts, width)
    counts: dict[Hashable, int] = {}
    for lab in parsed:
        for label in lab:
            counts[label] = counts.get(label, 0) + 1
    broadcast = tuple(("...", i) for i in range(width))
    return parsed, broadcast + tuple(sorted(label for label, n in counts.items() if n == 1 and isinstance(label, str)))


def _term(term: str, rank: int, subscripts: str, width: int) -> Labels:
    head, dots, tail = term.partition("...")
    letters = head + tail
    if not all(c.isalpha() for c in letters):
        fail(ShapeError, f"einsum: subscripts {subscripts!r} may hold only letters, ',', '->' and '...'")
    n = rank - len(letters)
    if (n != 0 and not dots) or n < 0:
        fail(ShapeError, f"einsum: term {term!r} of {subscripts!r} has {len(letters)} labels for rank {rank}")
    return tuple(head) + tuple(("...", width - n + i) for i in range(n)) + tuple(tail)


@array_op
def einsum(subscripts: str, *operands: Any) -> Value:
    """Einstein summation, as ``numpy.einsum`` (explicit ``->``, implicit output, ``...`` and diagonals).

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a: jnp.einsum("ii->", a), np.arange(4.0).reshape(2, 2))  # the trace
    array(3.)
    """
    values = [as_value(x, "einsum") for x in operands]
    if not values:
        fail(ShapeError, "einsum: needs at least one operand")
    labels, out = _parse(subscripts, [v.ndim for v in values])
    return contract(values, labels, out)


def _letters(n: int, offset: int = 0) -> Labels:
    return tuple(range(offset, offset + n))


@array_op
def tensordot(a: Any, b: Any, axes: Any = 2) -> Value:
    """Sum of products over ``axes`` (an int: the last ``axes`` of ``a`` with the first of ``b``; or two lists).

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(lambda a, b: jnp.tensordot(a, b, axes=([0], [1])), np.ones((2, 3)), np.ones((4, 2))).shape
    (3, 4)
    """
    x, y = as_value(a, "tensordot"), as_value(b, "tensordot")
    if isinstance(axes, int):
        ax_x, ax_y = tuple(range(x.ndim - axes, x.ndim)), tuple(range(axes))
    else:
        ax_x, ax_y = (normalize_axes(ax, v.ndim, "tensordot") for ax, v in zip(axes, (x, y), strict=True))
    if len(ax_x) != len(ax_y):
        fail(ShapeError, f"tensordot: axes {axes!r} pair {len(ax_x)} axes of a with {len(ax_y)} of b")
    xl = _letters(x.ndim)
    yl = list(_letters(y.ndim, x.ndim))
    for i, j in zip(ax_x, ax_y, strict=True):
        yl[j] = xl[i]
    out = tuple(label for label in xl if label not in yl) + tuple(label for label in yl if label not in xl)
    return contract([x, y], [xl, tuple(yl)], out)


@array_op
def dot(a: Any, b: Any) -> Value:
    """NumPy's ``dot``: scalars multiply; else a sum over the last axis of ``a`` and the second-to-last of ``b``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(jnp.dot, np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    array(11.)
    """
    x, y = as_value(a, "dot"), as_value(b, "dot")
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    return tensordot(x, y, axes=([x.ndim - 1], [max(y.ndim - 2, 0)]))


@array_op
def vdot(a: Any, b: Any) -> Value:
    """The dot product of ``a`` and ``b`` flattened (real arrays: no conjugation).

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(jnp.vdot, np.ones((2, 2)), np.full((2, 2), 2.0))
    array(8.)
    """
    x, y = as_value(a, "vdot"), as_value(b, "vdot")
    return dot(shapes.reshape(x, (x.size,)), shapes.reshape(y, (y.size,)))


@array_op
def inner(a: Any, b: Any) -> Value:
    """A sum of products over the last axes of ``a`` and ``b``.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(jnp.inner, np.ones((2, 3)), np.ones((4, 3))).shape
    (2, 4)
    """
    x, y = as_value(a, "inner"), as_value(b, "inner")
    if x.ndim == 0 or y.ndim == 0:
        return x * y
    return tensordot(x, y, axes=([x.ndim - 1], [y.ndim - 1]))


@array_op
def outer(a: Any, b: Any) -> Value:
    """``out[i, j] = a[i] * b[j]`` for ``a`` and ``b`` flattened.

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(jnp.outer, np.array([1, 2]), np.array([3, 4, 5]))
    array([[ 3,  4,  5],
           [ 6,  8, 10]])
    """
    x, y = as_value(a, "outer"), as_value(b, "outer")
    return shapes.reshape(x, (x.size, 1)) * shapes.reshape(y, (1, y.size))


@array_op
def matmul(a: Any, b: Any) -> Value:
    """The matrix product with NumPy's ``matmul`` rules (``acc.matmul``, ``a @ b``).

    >>> import numpy as np, pyaccad as acc
    >>> import pyaccad.numpy as jnp
    >>> acc.run(jnp.matmul, np.eye(2), np.array([3.0, 4.0]))
    array([3., 4.])
    """
    return shapes.matmul(as_value(a, "matmul"), as_value(b, "matmul"))
