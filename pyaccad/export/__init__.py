"""Export: pyaccad programs (and their derivatives, which are programs too) as Haskell source.

Two targets:

* :func:`export_haskell` — an ``accelerate`` module (``Data.Array.Accelerate``
  names and types) exporting one function ``name :: Acc (...) -> Acc (...)``;
  see :mod:`pyaccad.export.haskell` for the layout and
  :mod:`pyaccad.export.rules` for what each primitive prints as.
* :func:`export_generic` — plain Haskell generic in its number type, over
  ``Data.Vector``, so that ``Numeric.AD.grad`` from the ``ad`` package can
  differentiate it (:mod:`pyaccad.export.generic`).

Both trace ``f`` at NumPy example arguments, exactly as ``acc.jit`` would. The
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
* generic target (:mod:`pyaccad.export.generic`): no ``permute``, ``scan``,
  ``stencil``, ``awhile``/``acond``, ``erf``, float ``mod``, float → int casts, tuple
  folds or several results — each raises :class:`GenericExportError`.

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

from collections.abc import Callable
from typing import Any

from pyaccad.export.generic import GenericExportError, generic_module_source
from pyaccad.export.haskell import module_source, shape_generic_module_source
from pyaccad.export.syntax import ExportError
from pyaccad.frontend import trace
from pyaccad.ir import Program
from pyaccad.opt import optimize

__all__ = ["ExportError", "GenericExportError", "check_ad", "export_generic", "export_haskell", "export_program"]


def __getattr__(name: str) -> Any:
    # check_ad (which runs GHC) is loaded on first use: exporting needs none of it
    if name == "check_ad":
        from pyaccad.export.ad_check import check_ad

        return check_ad
    raise AttributeError(f"module 'pyaccad.export' has no attribute {name!r}")


def _traced(f: Callable[..., Any], example_args: tuple, optimized: bool) -> Program:
    program = trace(f, *example_args).program
    # What a backend would run (constant folding, simplification, CSE, DCE): derivatives in particular
    # read far better without their `1.0 *` and `+ 0.0`.
    return optimize(program, "export") if optimized else program


def export_haskell(
    f: Callable[..., Any],
    *example_args: Any,
    module: str = "M",
    name: str = "f",
    blas: bool = False,
    optimized: bool = True,
    generic: bool = True,
    ordered_folds: bool = True,
) -> str:
    """The ``accelerate`` Haskell module of ``f`` traced at ``example_args`` (NumPy arrays or pytrees).

    ``blas=True`` prints float matrix products as ``accelerate-blas``'s ``<>``
    (the module then imports ``Data.Array.Accelerate.Numeric.LinearAlgebra``).
    Float ``max``/``min`` reductions print as integer folds of the elements' ordered bits (``orderedBits32``),
    which accelerate-llvm vectorises, NaN winning as in NumPy; ``ordered_folds=False`` prints ``maximum``/
    ``minimum`` (accelerate 1.4's Interpreter miscomputes ``bitcast``, and its ``max`` drops NaN).
    ``optimized=False`` prints the program as traced, before :func:`pyaccad.opt.optimize`.
    The module is written in terms of the inputs' extents (``let I2 n m = shape x``), found
    by tracing ``f`` again at other sizes (:mod:`pyaccad.export.extents`): it holds at every size at which
    ``f`` traces to the same program. Axes whose example extents are equal share one symbol, so give
    distinct sizes to axes that vary independently; the header says which extents stay fixed, and why.
    ``generic=False`` prints the example's extents (one trace, no header note).

    >>> import numpy as np, pyaccad as acc
    >>> src = acc.export_haskell(lambda a, b: a @ b, np.ones((2, 3)), np.ones((3, 4)), module="MatMul", name="mm")
    >>> "mm :: Acc (Matrix Double, Matrix Double) -> Acc (Matrix Double)" in src
    True
    """
    if generic:

        def tracer(fn: Callable[..., Any], args: tuple) -> Program:
            return _traced(fn, args, optimized)

        return shape_generic_module_source(f, example_args, tracer, module, name, blas, ordered_folds)[0]
    traced = _traced(f, example_args, optimized)
    return export_program(traced, module=module, name=name, blas=blas, ordered_folds=ordered_folds)


def export_program(
    program: Program, module: str = "M", name: str = "f", blas: bool = False, ordered_folds: bool = True
) -> str:
    """:func:`export_haskell` for an IR program already in hand (a derivative, an optimised program).

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> "neg :: Acc (Scalar Int) -> Acc (Scalar Int)" in export_program(trace(lambda x: -x, np.int64(3)).program,
    ...                                                                  name="neg")
    True
    """
    return module_source(program, module, name, blas=blas, ordered_folds=ordered_folds)


def export_generic(
    f: Callable[..., Any], *example_args: Any, module: str = "M", name: str = "f", optimized: bool = True
) -> str:
    """``f`` as plain Haskell generic in its number type, for ``Numeric.AD`` (see :mod:`pyaccad.export.generic`).

    >>> import numpy as np
    >>> src = export_generic(lambda x: (x * x).sum(), np.ones(3), module="Sq", name="sq")
    >>> "sq :: RealFloat a => Vector a -> a" in src
    True
    """
    return generic_module_source(_traced(f, example_args, optimized), module, name)
