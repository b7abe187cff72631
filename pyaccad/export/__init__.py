"""Export: pyaccad programs (and their derivatives, which are programs too) as Haskell source.

Two targets:

* :func:`export_haskell` — an ``accelerate`` module (``Data.Array.Accelerate``
  names and types) exporting one function ``name :: Acc (...) -> Acc (...)``;
  see :mod:`pyaccad.export.haskell` for the layout and
  :mod:`pyaccad.export.rules` for what each primitive prints as.
* :func:`export_generic` — plain Haskell generic in its number type, over
  ``Data.Vector``, so that ``Numeric.AD.grad`` from the ``ad`` package can
  differentiate it (:mod:`pyaccad.export.generic`).

Both trace ``f`` at NumPy example arguments, exactly as ``acc.jit`` would
(:mod:`pyaccad.export.targets`). The
command line is ``python -m pyaccad export FILE.py:FUNC`` (:mod:`pyaccad.__main__`).

Known gaps (kept here, in one place):

* accelerate target: ``erf``, ``expm1`` and ``log1p``, which accelerate lacks, are
  printed as helpers (Cody's and Cephes' rational approximations, a few ulps in
  ``Float`` and ``Double``); float ``mod`` is the helper ``modFloat``, exact (accelerate's ``mod'`` floors the
  quotient to an ``Int``), but it loops in ``Double``; tuples are limited to accelerate's widths (16 arrays,
  ``zipWith9``, ``I9``). Stencils of extents other than 3, 5, 7, 9 (or rank above 3),
  and mirror/wrap stencils reaching further than accelerate's single reflection on a short
  array, print as a ``generate`` that gathers the neighbours. Extents are written in terms of the
  inputs' shapes (:mod:`pyaccad.export.extents`); that cannot separate axes whose example extents
  are equal, and keeps fixed (saying why in the header) an extent that changes the traced program
  (a Python loop over it, a size written into ``f``, an extent tied to another), and extents of 0 or 1.
  :func:`export_program`, which has no function to trace again, prints the example's extents.
* generic target (:mod:`pyaccad.export.generic`): no lambdas of more than six results
  (``Data.Vector``'s ``unzip6``; :class:`GenericExportError`); float ``mod`` is
  ``x - y * floor (x / y)``, to rounding, not exact.

>>> import numpy as np, pyaccad as acc
>>> src = acc.export_haskell(lambda x: acc.sin(x) * x, np.zeros(4, np.float32), module="Demo", name="f")
>>> print(src[src.index("f ::"):])
f :: Acc (Vector Float) -> Acc (Vector Float)
f x =
  let a = map sin x
  in
  zipWith (*) a x
<BLANKLINE>
"""

from __future__ import annotations

from typing import Any

from pyaccad.export.generic import GenericExportError
from pyaccad.export.syntax import ExportError
from pyaccad.export.targets import export_generic, export_haskell, export_program

__all__ = ["ExportError", "GenericExportError", "check_ad", "export_generic", "export_haskell", "export_program"]


def __getattr__(name: str) -> Any:
    # check_ad (which runs GHC) is loaded on first use: exporting needs none of it
    if name == "check_ad":
        from pyaccad.export.ad_check import check_ad

        return check_ad
    raise AttributeError(f"module 'pyaccad.export' has no attribute {name!r}")
