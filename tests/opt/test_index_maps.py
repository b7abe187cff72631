"""The index-map descriptions (``pyaccad.ir.index_maps``) against NumPy: what the simplifier and the row analysis
derive from them.

* Composition: a chain of two maps of one kind simplifies into one statement of that kind
  (:attr:`IndexMap.compose`), whose result, evaluated from its description, is NumPy's of the chain.
* Identity: a map that is the identity vanishes, one that is not stays (:attr:`IndexMap.identity`).
* Rows: :func:`follows_row` says a read stays in the row being computed exactly when the gathered
  positions along the first axis are the result's own.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from helpers import prim, program_of
from hypothesis import given
from hypothesis import strategies as st

import pyaccad as acc
from pyaccad.backends.interp import BACKEND as INTERP
from pyaccad.backends.interp.structural import gather
from pyaccad.ir.index_maps import follows_row, reads_of
from pyaccad.opt.simplify import simplify

X = np.arange(2 * 3 * 4).reshape(2, 3, 4)


def _slices(draw: Any, shape: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    starts, stops, steps = [], [], []
    for n in shape:
        lo = draw(st.integers(0, n))
        starts.append(lo)
        stops.append(draw(st.integers(lo, n)))
        steps.append(draw(st.integers(1, 3)))
    return {"starts": tuple(starts), "stops": tuple(stops), "steps": tuple(steps)}


def _numpy_slice(x: np.ndarray, p: dict[str, tuple[int, ...]]) -> np.ndarray:
    return x[tuple(slice(a, b, c) for a, b, c in zip(p["starts"], p["stops"], p["steps"], strict=True))]


def _chain(draw: Any, kind: str) -> tuple[list[dict[str, Any]], np.ndarray]:
    """Params of two ``kind`` maps applied to :data:`X` in turn, and NumPy's result of the chain."""
    if kind == "transpose":
        perms = [tuple(draw(st.permutations(range(3)))) for _ in range(2)]
        return [{"perm": p} for p in perms], np.transpose(np.transpose(X, perms[0]), perms[1])
    if kind == "reverse":
        axes = [tuple(sorted(draw(st.sets(st.integers(0, 2))))) for _ in range(2)]
        return [{"axes": a} for a in axes], np.flip(np.flip(X, axes[0]), axes[1])
    if kind == "reshape":
        shapes = [draw(st.sampled_from([(6, 4), (4, 6), (24,), (2, 12), (3, 1, 8)])) for _ in range(2)]
        return [{"shape": s} for s in shapes], X.reshape(shapes[0]).reshape(shapes[1])
    if kind == "slice":
        first = _slices(draw, X.shape)
        inner = _numpy_slice(X, first)
        second = _slices(draw, inner.shape)
        return [first, second], _numpy_slice(inner, second)
    assert kind == "broadcast_in_dim"
    first, second = {"shape": (3, 2, 3, 4), "dims": (1, 2, 3)}, {"shape": (5, 3, 2, 3, 4), "dims": (1, 2, 3, 4)}
    return [first, second], np.broadcast_to(X, (5, 3, 2, 3, 4))


@pytest.mark.parametrize("kind", ["transpose", "reverse", "reshape", "slice", "broadcast_in_dim"])
@given(data=st.data())
def test_two_maps_compose_into_one(kind: str, data: st.DataObject) -> None:
    params, expected = _chain(data.draw, kind)
    program = program_of(lambda a: prim(kind, prim(kind, a, **params[0])[0], **params[1]), [X])
    simplified = simplify(program)
    assert [s.prim.name for s in simplified.stmts if s.outs[0] in simplified.outputs] in ([kind], [])
    np.testing.assert_array_equal(INTERP.compile(simplified)([X])[0], expected)


IDENTITIES = {
    "transpose": ({"perm": (0, 1, 2)}, {"perm": (0, 2, 1)}),
    "reverse": ({"axes": ()}, {"axes": (1,)}),
    "reshape": ({"shape": (2, 3, 4)}, {"shape": (6, 4)}),
    "slice": (
        {"starts": (0, 0, 0), "stops": (2, 3, 4), "steps": (1, 1, 1)},
        {"starts": (0, 1, 0), "stops": (2, 3, 4), "steps": (1, 1, 1)},
    ),
    "broadcast_in_dim": ({"shape": (2, 3, 4), "dims": (0, 1, 2)}, {"shape": (2, 2, 3, 4), "dims": (1, 2, 3)}),
}


@pytest.mark.parametrize("kind", list(IDENTITIES))
def test_identity_maps_vanish_and_others_stay(kind: str) -> None:
    same, other = IDENTITIES[kind]
    identity = simplify(program_of(lambda a: prim(kind, a, **same), [X]))
    assert identity.outputs[0] is identity.inputs[0]
    assert [s.prim.name for s in simplify(program_of(lambda a: prim(kind, a, **other), [X])).stmts] == [kind]


def test_pad_and_concatenate_identities() -> None:
    zero = {"lo": (0, 0, 0), "hi": (0, 0, 0), "interior": (0, 0, 0)}
    assert not simplify(program_of(lambda a, v: prim("pad", a, v, **zero), [X, np.asarray(0)])).stmts
    assert not simplify(program_of(lambda a: prim("concatenate", a, axis=1), [X])).stmts
    padded = simplify(program_of(lambda a, v: prim("pad", a, v, **{**zero, "interior": (0, 1, 0)}), [X, X[0, 0, 0]]))
    assert [s.prim.name for s in padded.stmts] == ["pad"]


ROW_CASES = {
    "transpose keeping the first axis": ("transpose", [X], {"perm": (0, 2, 1)}),
    "transpose moving the first axis": ("transpose", [X], {"perm": (1, 0, 2)}),
    "reverse of a later axis": ("reverse", [X], {"axes": (2,)}),
    "reverse of the first axis": ("reverse", [X], {"axes": (0,)}),
    "slice of later axes": ("slice", [X], {"starts": (0, 1, 0), "stops": (2, 3, 4), "steps": (1, 1, 2)}),
    "slice of the first axis": ("slice", [X], {"starts": (1, 0, 0), "stops": (2, 3, 4), "steps": (1, 1, 1)}),
    "pad of later axes": ("pad", [X, X[0, 0, 0]], {"lo": (0, 1, 0), "hi": (0, 2, 1), "interior": (0, 1, 0)}),
    "pad before the first axis": ("pad", [X, X[0, 0, 0]], {"lo": (1, 0, 0), "hi": (0, 0, 0), "interior": (0, 0, 0)}),
    "reshape of later axes": ("reshape", [X], {"shape": (2, 12)}),
    "reshape of the first axis": ("reshape", [X], {"shape": (6, 4)}),
    "reshape adding a unit axis": ("reshape", [X], {"shape": (2, 1, 3, 4)}),
    "broadcast keeping rows": ("broadcast_in_dim", [X[:, :1]], {"shape": (2, 5, 4), "dims": (0, 1, 2)}),
    "broadcast of one row": ("broadcast_in_dim", [X[:1]], {"shape": (2, 3, 4), "dims": (0, 1, 2)}),
    "concatenate of later axes": ("concatenate", [X, X], {"axis": 2}),
    "concatenate of rows": ("concatenate", [X, X], {"axis": 0}),
}


@pytest.mark.parametrize("case", list(ROW_CASES))
def test_follows_row_is_where_the_gather_stays_in_the_row(case: str) -> None:
    """Gather each operand's row numbers (operand ``k`` filled with its first-axis index): a read follows the
    row exactly when every result element it gives comes from the result's own row."""
    kind, args, params = ROW_CASES[case]
    stmt = program_of(lambda *a: prim(kind, *a, **params), args).stmts[-1]
    for k, read in enumerate(reads_of(stmt)):
        arg = stmt.args[read.arg]
        if arg.type.ndim == 0:
            continue
        # every other operand marked -1, so that only the elements this operand gives are compared
        marked = [
            np.broadcast_to(np.arange(a.type.shape[0]).reshape((-1,) + (1,) * (a.type.ndim - 1)), a.type.shape)
            if n == read.arg
            else np.full(a.type.shape, -1)
            for n, a in enumerate(stmt.args)
        ]
        rows = gather(stmt, marked)
        own = np.broadcast_to(np.arange(rows.shape[0]).reshape((-1,) + (1,) * (rows.ndim - 1)), rows.shape)
        given_here = rows >= 0
        stays = bool(np.all(rows[given_here] == own[given_here]))
        assert follows_row(read, stmt) == stays, (case, k)


def test_an_empty_slice_of_a_slice_composes() -> None:
    """The outer slice starts past the inner one's last element (``x[1::3]`` has one element, ``[1:]`` none):
    the composed slice must still start inside the array (it started at 4 of 3, and tracing raised)."""
    assert acc.jit(lambda x: x[1::3][1:] * 2.0)(np.ones(3)).shape == (0,)
