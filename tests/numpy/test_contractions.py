"""``pyaccad.numpy``'s contractions (``einsum``, ``dot``, ``tensordot``...) against NumPy, gradients against JAX.

Each output element is a dot product of length k (the product of the contracted extents), so it is within
:func:`helpers.dot_bound` of NumPy's float64 result; with float64 data both sides are that close to exact.
"""

from __future__ import annotations

import jax
import jax.numpy as jjnp
import numpy as np
import pytest
from helpers import assert_close, assert_within, gamma
from hypothesis import given
from hypothesis import strategies as st
from numpy_cases import B, floats

import pyaccad as acc
import pyaccad.numpy as jnp
from pyaccad import ad


def _bound(want_abs: np.ndarray, k: int) -> np.ndarray:
    """Both sides within γ_k·Σ|aᵢbᵢ| of the exact contraction (``want_abs``: the contraction of |a| and |b|)."""
    return 2 * gamma(k + 1, "float64") * want_abs


@st.composite
def einsum_case(draw: st.DrawFn) -> tuple[str, list[tuple[int, ...]]]:
    """A random two- or three-operand ``einsum`` over labels i..m, with shared, batch, summed and free labels."""
    letters = "ijklm"
    extent = {c: draw(st.integers(1, 3)) for c in letters}
    n = draw(st.integers(1, 3))
    terms = ["".join(draw(st.lists(st.sampled_from(letters), min_size=0, max_size=3, unique=True))) for _ in range(n)]
    used = sorted(set("".join(terms)))
    out = "".join(draw(st.permutations(used))[: draw(st.integers(0, len(used)))])
    return f"{','.join(terms)}->{out}", [tuple(extent[c] for c in t) for t in terms]


@given(data=st.data())
def test_einsum_against_numpy_and_jax(data: st.DataObject) -> None:
    spec, operand_shapes = data.draw(einsum_case())
    xs = [data.draw(floats(s, -2, 2)) for s in operand_shapes]
    got = acc.run(lambda *xs: jnp.einsum(spec, *xs), *xs, backend=B)
    want = np.einsum(spec, *xs)
    assert_within(got, want, _bound(np.einsum(spec, *map(np.abs, xs)), 27), dtype="float64")
    w = np.cos(np.arange(np.size(want))).reshape(np.shape(want))
    argnums = tuple(range(len(xs)))
    g = ad.grad(lambda *xs: (jnp.einsum(spec, *xs) * w).sum(), argnums=argnums)(*xs)
    want_g = jax.grad(lambda *xs: (jjnp.einsum(spec, *xs) * w).sum(), argnums=argnums)(*xs)
    for a, b in zip(g, want_g, strict=True):
        assert_close(a, np.asarray(b), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "spec, shapes_",
    [
        ("ij,jk->ik", [(2, 3), (3, 4)]),
        ("ij,jk", [(2, 3), (3, 4)]),
        ("ii->i", [(3, 3)]),
        ("ii", [(3, 3)]),
        ("ij->", [(2, 3)]),
        ("bij,bjk->bik", [(2, 2, 3), (2, 3, 1)]),
        ("...ij,...jk->...ik", [(2, 2, 3), (2, 3, 4)]),
        ("i...,i...->...", [(3, 2, 2), (3, 2, 2)]),
        ("ij,ij->i", [(2, 3), (2, 3)]),
        ("i,j->ij", [(2,), (3,)]),
        ("iij,jk->ik", [(2, 2, 3), (3, 2)]),
        ("ij,jk,kl->il", [(2, 3), (3, 2), (2, 2)]),
    ],
)
def test_einsum_common_forms(spec: str, shapes_: list[tuple[int, ...]]) -> None:
    rng = np.random.default_rng(len(spec))
    xs = [rng.uniform(-2, 2, s) for s in shapes_]
    want = np.einsum(spec, *xs)
    got = acc.run(lambda *xs: jnp.einsum(spec, *xs), *xs, backend=B)
    assert_within(got, want, _bound(np.einsum(spec, *map(np.abs, xs)), 27), dtype="float64")


@given(data=st.data())
def test_dot_family(data: st.DataObject) -> None:
    na, nb = data.draw(st.integers(0, 3)), data.draw(st.integers(0, 3))
    k = data.draw(st.integers(1, 3))
    sa = tuple(data.draw(st.integers(1, 3)) for _ in range(na - 1)) + (k,) * (na > 0)
    sb = tuple(data.draw(st.integers(1, 3)) for _ in range(max(nb - 2, 0))) + (k,) * (nb > 0)
    sb += tuple(data.draw(st.integers(1, 3)) for _ in range(nb >= 2))
    a, b = data.draw(floats(sa, -2, 2)), data.draw(floats(sb, -2, 2))
    inner = na > 0 and nb > 0 and a.shape[-1] == b.shape[-1]
    names = ["dot", "outer"] + ["inner"] * inner + ["vdot"] * (a.size == b.size)
    for name in names:
        ours, theirs = getattr(jnp, name), getattr(np, name)
        want = theirs(a, b)
        bound = _bound(np.abs(theirs(np.abs(a), np.abs(b))), max(a.size, 1))
        assert_within(acc.run(ours, a, b, backend=B), want, bound, dtype="float64")
        g = ad.grad(lambda a, b, f=ours: (f(a, b) * 1.5).sum(), argnums=(0, 1))(a, b)
        reference = getattr(jjnp, name)
        want_g = jax.grad(lambda a, b, f=reference: (f(a, b) * 1.5).sum(), argnums=(0, 1))(a, b)
        for x, y in zip(g, want_g, strict=True):
            assert_close(x, np.asarray(y), rtol=1e-12, atol=1e-12)


@given(data=st.data())
def test_tensordot_and_matmul(data: st.DataObject) -> None:
    n = data.draw(st.integers(0, 2))
    shared = tuple(data.draw(st.integers(1, 3)) for _ in range(n))
    a = data.draw(floats((2, *shared), -2, 2))
    b = data.draw(floats((*shared, 3), -2, 2))
    want = np.tensordot(a, b, axes=n)
    got = acc.run(lambda a, b: jnp.tensordot(a, b, axes=n), a, b, backend=B)
    assert_within(got, want, _bound(np.tensordot(np.abs(a), np.abs(b), axes=n), 9), dtype="float64")
    c = data.draw(floats((3, 2), -2, 2))
    assert_within(
        acc.run(lambda c, a: jnp.tensordot(c, a, axes=([1], [0])), c, a, backend=B),
        np.tensordot(c, a, axes=([1], [0])),
        _bound(np.tensordot(np.abs(c), np.abs(a), axes=([1], [0])), 2),
    )
    assert_within(acc.run(jnp.matmul, c, c.T, backend=B), c @ c.T, _bound(np.abs(c) @ np.abs(c.T), 2))


def test_einsum_errors() -> None:
    with pytest.raises(acc.ShapeError, match="einsum: 'ij,jk->ik' names 2 operands, got 1"):
        acc.run(lambda a: jnp.einsum("ij,jk->ik", a), np.ones((2, 2)), backend=B)
    with pytest.raises(acc.ShapeError, match="label 'j' has extent 3 in one operand and 2"):
        acc.run(lambda a, b: jnp.einsum("ij,jk->ik", a, b), np.ones((2, 3)), np.ones((2, 2)), backend=B)
