"""Shifted tangents of a ``stencil``: ``x`` read at ``i + d`` through the boundary, built from slices.

The tangent of a stencil is ``Σ_k ∂f/∂n_k · shift_k(x_tan)``. Along one axis
of length ``n`` and stencil radius ``r`` the boundary sends each index
``k ∈ [-r, n + r)`` to a source index known before run time (or to the
constant, whose tangent is 0). Those sources split into runs of consecutive
indices, ascending or descending; each run is a slice (reversed when it
descends), and their ``concatenate`` (zero-padded where a constant boundary
reads outside) is ``x`` *extended* by ``r`` on each side. The shift by ``d``
is the slice ``[r + d, r + d + n)`` of it. A shift along several axes is the
shifts along each axis in turn; shifts with the same leading offsets share
their first steps and their extended array.

Why not a ``backpermute`` through the boundary's index map: its transpose is
a scatter (``permute (+)``), one full pass per neighbour. Slices, ``reverse``,
``concatenate`` and ``pad`` transpose into one another (``slice`` ↔ ``pad``,
``concatenate`` → slices), so reverse mode *reads* the cotangent: the
cotangents of one axis's shifts add up in one extended cotangent (each
shifted back by a ``pad``), whose ends fold back onto the edges (slices added
at their sources), and the whole cotangent of a stencil fuses into a few map
kernels. Batching and higher derivatives use those primitives' rules.

>>> boundary_sources(5, -2, 7, "mirror"), boundary_sources(5, -2, 7, "clamp"), boundary_sources(3, -2, 5, "constant")
([2, 1, 0, 1, 2, 3, 4, 3, 2], [0, 0, 0, 1, 2, 3, 4, 4, 4], [None, None, 0, 1, 2, None, None])
>>> runs([2, 1, 0, 1, 2, 3, 4, 3, 2])
[(2, -1, 3), (1, 1, 4), (3, -1, 2)]
"""

from __future__ import annotations

from collections.abc import Callable

from pyaccad.ad.emitters import axis_slice, lit, op
from pyaccad.ad.tangents import Tan, is_zero
from pyaccad.ir import Atom


def boundary_sources(n: int, start: int, stop: int, boundary: str) -> list[int | None]:
    """The indices ``start .. stop - 1`` of an axis of length ``n``, brought into ``[0, n)`` by ``boundary``.

    ``None`` where a ``constant`` boundary reads its value. Mirror reflects without repeating the edge and
    repeats with period ``2n - 2`` (the interpreter's stencil); an axis of length 1 reads index 0.

    >>> boundary_sources(3, -4, -1, "mirror"), boundary_sources(3, 3, 6, "wrap"), boundary_sources(1, -1, 2, "mirror")
    ([0, 1, 2], [0, 1, 2], [0, 0, 0])
    """
    sources: list[int | None] = []
    for k in range(start, stop):
        if boundary == "wrap":
            sources.append(k % n)
        elif boundary == "clamp":
            sources.append(min(max(k, 0), n - 1))
        elif boundary == "mirror":
            period = max(2 * (n - 1), 1)
            folded = k % period
            sources.append(period - folded if folded >= n else folded)
        else:
            sources.append(k if 0 <= k < n else None)
    return sources


def runs(sources: list[int]) -> list[tuple[int, int, int]]:
    """``sources`` as ``(first, step, length)`` runs of consecutive indices, ``step`` ±1, greedily.

    >>> runs([1, 0, 1, 2]), runs([4])
    ([(1, -1, 2), (1, 1, 2)], [(4, 1, 1)])
    """
    found: list[tuple[int, int, int]] = []
    j = 0
    while j < len(sources):
        first = sources[j]
        step = sources[j + 1] - first if j + 1 < len(sources) and abs(sources[j + 1] - first) == 1 else 1
        length = 1
        while j + length < len(sources) and sources[j + length] == first + step * length:
            length += 1
        found.append((first, step, length))
        j += length
    return found


def gathered(x: Atom, axis: int, sources: list[int | None]) -> Atom:
    """``x`` read at ``sources`` along ``axis`` (0 at ``None``, which may only lead or trail), from slices.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend.tracing import value_of
    >>> f = lambda x: value_of(gathered(x.var, 0, [None, 1, 0, 1, 2, 3, 3]))
    >>> acc.run(f, np.arange(4.0))
    array([0., 1., 0., 1., 2., 3., 3.])
    """
    n = x.shape[axis]
    lo = next(j for j, s in enumerate(sources) if s is not None)
    hi = next(j for j, s in enumerate(reversed(sources)) if s is not None)
    inside = [s for s in sources[lo : len(sources) - hi] if s is not None]  # all of them (see above)
    pieces = []
    for first, step, length in runs(inside):
        start = first if step == 1 else first - length + 1
        piece = x if length == n else axis_slice(x, axis, start, start + length)  # length n: the whole axis
        pieces.append(piece if step == 1 or length == 1 else op("reverse", piece, axes=(axis,)))
    out = pieces[0] if len(pieces) == 1 else op("concatenate", *pieces, axis=axis)
    if lo or hi:

        def along(k: int) -> tuple[int, ...]:
            return tuple(k if a == axis else 0 for a in range(x.type.ndim))

        out = op("pad", out, lit(0, x.type.with_shape(())), lo=along(lo), hi=along(hi), interior=along(0))
    return out


def shifter(x: Tan, boundary: str, radii: tuple[int, ...]) -> Callable[[tuple[int, ...]], Tan]:
    """``shift(offset)``: ``x`` read at ``i + offset`` with ``boundary``, linear in ``x``; ``|offset| ≤ radii``.

    Axis by axis, first axis first: ``x`` extended by ``radii[axis]`` elements on each side as the boundary
    reads them, then sliced at the offset. The shifts with the same leading offsets share their first
    steps and their extended array, so the transpose adds the cotangents of one axis's shifts into one
    extended cotangent before folding its edges back (fewer reads per element than one fold per shift).

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend.tracing import value_of
    >>> f = lambda x: value_of(shifter(x.var, "wrap", (1, 1))((1, -1)))
    >>> acc.run(f, np.arange(6.0).reshape(2, 3))
    array([[5., 3., 4.],
           [2., 0., 1.]])
    """
    done: dict[tuple[int, ...], Tan] = {(): x}
    extended: dict[tuple[int, ...], Atom] = {}

    def shift(offset: tuple[int, ...]) -> Tan:
        offset = tuple(offset)
        if offset not in done:
            before, axis, d = shift(offset[:-1]), len(offset) - 1, offset[-1]
            if is_zero(before) or before.type.size == 0 or d == 0:
                done[offset] = before
            else:
                n, r = before.shape[axis], radii[axis]
                if offset[:-1] not in extended:
                    extended[offset[:-1]] = gathered(before, axis, boundary_sources(n, -r, n + r, boundary))
                done[offset] = axis_slice(extended[offset[:-1]], axis, r + d, r + d + n)
        return done[offset]

    return shift
