"""Workspace planning (:mod:`pyaccad.opt.memory`): buffers alive at the same time never share bytes.

Hypothesis draws buffers with sizes and lifetimes; the assignment is checked against the definition
(no two buffers overlap in both time and memory, every offset aligned) and against the bounds any
assignment obeys: at least the most bytes alive at one step, at most the sum of all sizes.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from pyaccad.opt.memory import ALIGN, assign_offsets

buffers = st.lists(
    st.tuples(st.integers(1, 40).map(lambda k: k * ALIGN), st.integers(0, 12), st.integers(0, 6)).map(
        lambda b: (b[0], b[1], b[1] + b[2])
    ),
    max_size=30,
)


@given(buffers)
def test_buffers_alive_together_never_share_bytes(bufs: list[tuple[int, int, int]]) -> None:
    offsets, total = assign_offsets(bufs)
    for k, (size, first, last) in enumerate(bufs):
        assert offsets[k] % ALIGN == 0 and offsets[k] + size <= total
        for j in range(k):
            other, o_first, o_last = bufs[j]
            if first <= o_last and o_first <= last:  # alive at a common step: disjoint bytes
                assert offsets[k] + size <= offsets[j] or offsets[j] + other <= offsets[k], (k, j)
    steps = {t for _, first, last in bufs for t in range(first, last + 1)}
    live_peak = max((sum(s for s, f, la in bufs if f <= t <= la) for t in steps), default=0)
    assert live_peak <= total <= sum(s for s, _, _ in bufs)


def test_a_chain_reuses_memory() -> None:
    """Each buffer read only by the next: two buffers' worth of bytes, however long the chain."""
    chain = [(1024, t, t + 1) for t in range(50)]
    assert assign_offsets(chain)[1] == 2048
