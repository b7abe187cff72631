"""The Haskell export of a value branch reads inside accelerate's ``cond``, as the user's ``lambda:`` form does.

accelerate evaluates a ``let`` before its body, so an exported read bound ahead of the ``cond`` would run
where the branch is not taken. The reference is the ``lambda:`` form, whose read is written in the branch.
"""

from __future__ import annotations

import numpy as np

import pyaccad as acc
from pyaccad import ad

K, D = 2, 3
IC = np.zeros((K, (D - 1) * D))
W = np.ones((K, D, D))


def _tril(lazy: bool):
    def fn(ic):
        def element(kk, i, j):
            read = lambda: ic[kk, (i - j - 1) * D + j]  # out of bounds (negative) where i <= j
            return acc.cond(i > j, read if lazy else read(), 0.0)

        return acc.generate((K, D, D), element)

    return fn


def test_value_and_lambda_branches_export_alike(hs_parse):
    exported = {}
    for lazy in (False, True):
        fn = _tril(lazy)
        grad = ad.grad(lambda ic, fn=fn: (fn(ic) * W).sum())
        exported[lazy] = (acc.export_haskell(fn, IC, module="Tril"), acc.export_haskell(grad, IC, module="TrilGrad"))
    assert exported[False] == exported[True]
    primal, gradient = exported[False]
    assert "cond (i > j) (ic ! I2 kk" in primal  # the read is the branch itself
    hs_parse({"Tril": primal, "TrilGrad": gradient})
