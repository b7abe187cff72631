"""Element-wise rules: one table-driven rule for every ``ELEMENTWISE`` row, plus ``select`` and ``cast``.

These rules do not care whether they run at array level or inside a lambda:
NumPy broadcasts per-lane (1-D) and uniform (0-d) operands together.

Semantics are the ``numpy`` functions of :data:`pyaccad.ir.ELEMENTWISE`,
evaluated under ``np.errstate(all="ignore")`` (set once per run by the
backend) so that results are IEEE like C: ``1/0 = inf``, ``log(-1) = nan``.
Points the C and CUDA backends must match:

* integer ``floordiv`` and ``mod`` by zero give 0; ``INT_MIN // -1`` wraps to
  ``INT_MIN`` and ``INT_MIN % -1`` is 0;
* integer ``pow`` wraps on overflow; a negative exponent gives the exact power
  truncated toward zero: 1 for base 1, +-1 for base -1, otherwise 0;
* ``round`` rounds half away from zero (C's ``round``);
* ``cast`` float → int truncates toward zero (C); NaN and out-of-range values
  are unspecified (C leaves them undefined; on x86 both give INT_MIN); any
  non-zero value (NaN included) casts to ``True``.

>>> import numpy as np
>>> from pyaccad.ir import ELEMENTWISE
>>> with np.errstate(all="ignore"):
...     int(ELEMENTWISE["floordiv"].numpy(np.int32(7), np.int32(0)))
0
"""

from __future__ import annotations

import numpy as np

from pyaccad.backends.interp.evaluator import Context, Env, register
from pyaccad.ir import ELEMENTWISE, Stmt


@register(*ELEMENTWISE)
def _elementwise(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    result = ELEMENTWISE[stmt.prim.name].numpy(*args)
    # The IR type is authoritative: some NumPy functions return scalars or wider types for 0-d inputs.
    return [np.asarray(result).astype(stmt.outs[0].dtype, copy=False)]


@register("select")
def _select(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    pred, on_true, on_false = args
    return [np.where(pred, on_true, on_false)]


@register("cast")
def _cast(stmt: Stmt, args: list[np.ndarray], env: Env, ctx: Context) -> list[np.ndarray]:
    # NumPy's float → int conversion truncates toward zero, as C's does.
    return [np.asarray(args[0]).astype(stmt.params["dtype"])]
