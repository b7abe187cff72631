"""Export: a Python function (or a program in hand) as Haskell source, one entry point per target.

:func:`export_haskell` and :func:`export_program` print an ``accelerate`` module
(:mod:`pyaccad.export.haskell`), :func:`export_generic` plain Haskell for ``Numeric.AD``
(:mod:`pyaccad.export.generic`). A function is traced at NumPy example arguments, as ``acc.jit`` would,
and optimised first unless ``optimized=False``. :mod:`pyaccad.export` hands them on, with what the
export can and cannot print.

>>> import numpy as np
>>> "f :: Acc (Vector Double) -> Acc (Vector Double)" in export_haskell(lambda x: -x, np.ones(3))
True
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyaccad.export.generic import generic_module_source
from pyaccad.export.haskell import module_source, shape_generic_module_source
from pyaccad.frontend import trace
from pyaccad.ir import Program
from pyaccad.opt import optimize


def traced_programs(f: Callable[..., Any], example_args: tuple, optimized: bool = True) -> tuple[Program, Program]:
    """``f`` traced at ``example_args`` (a tuple): the program as traced, and as the export prints it (optimised
    unless ``optimized=False``, then the same program). :mod:`pyaccad.export.ad_check` prints the second and
    names the first's custom derivative rules (``stop_gradient``, ``custom_vjp``), which the optimiser splices in.

    >>> import numpy as np
    >>> from pyaccad import ad
    >>> traced, printed = traced_programs(lambda x: ad.stop_gradient(x) * 2.0, (np.ones(3),))
    >>> [s.prim.name for s in traced.stmts], [s.prim.name for s in printed.stmts]
    (['custom_rule', 'broadcast_in_dim', 'mul'], ['broadcast_in_dim', 'mul'])
    """
    program = trace(f, *example_args).program
    # What a backend would run (constant folding, simplification, CSE, DCE): derivatives in particular
    # read far better without their `1.0 *` and `+ 0.0`.
    return program, optimize(program, "export") if optimized else program


def export_haskell(
    f: Callable[..., Any],
    *example_args: Any,
    module: str = "M",
    name: str = "f",
    blas: bool = False,
    optimized: bool = True,
    generic: bool = True,
    ordered_folds: bool = True,
    partial_sums: bool = False,
) -> str:
    """The ``accelerate`` Haskell module of ``f`` traced at ``example_args`` (NumPy arrays or pytrees).

    ``blas=True`` prints float matrix products as ``accelerate-blas``'s ``<>``
    (the module then imports ``Data.Array.Accelerate.Numeric.LinearAlgebra``).
    Float ``max``/``min`` reductions print as integer folds of the elements' ordered bits (``orderedBits32``),
    which accelerate-llvm vectorises, NaN winning as in NumPy; ``ordered_folds=False`` prints ``maximum``/
    ``minimum`` (accelerate 1.4's Interpreter miscomputes ``bitcast``, and its ``max`` drops NaN).
    ``partial_sums=True`` prints float sums of long rows as chunks of partial sums (``sumLong``,
    :mod:`pyaccad.export.sums`): for accelerate-llvm compiled without fast-math (``-fno-fast-math``), where
    ``sum`` adds one term at a time, unvectorised; with accelerate's default flags ``sum`` is faster.
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
            return traced_programs(fn, args, optimized)[1]

        return shape_generic_module_source(
            f, example_args, tracer, module, name, blas, ordered_folds=ordered_folds, partial_sums=partial_sums
        )[0]
    traced = traced_programs(f, example_args, optimized)[1]
    return export_program(traced, module, name, blas, ordered_folds, partial_sums)


def export_program(
    program: Program,
    module: str = "M",
    name: str = "f",
    blas: bool = False,
    ordered_folds: bool = True,
    partial_sums: bool = False,
) -> str:
    """:func:`export_haskell` for an IR program already in hand (a derivative, an optimised program).

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> "neg :: Acc (Scalar Int) -> Acc (Scalar Int)" in export_program(trace(lambda x: -x, np.int64(3)).program,
    ...                                                                  name="neg")
    True
    """
    return module_source(program, module, name, blas=blas, ordered_folds=ordered_folds, partial_sums=partial_sums)


def export_generic(
    f: Callable[..., Any], *example_args: Any, module: str = "M", name: str = "f", optimized: bool = True
) -> str:
    """``f`` as plain Haskell generic in its number type, for ``Numeric.AD`` (see :mod:`pyaccad.export.generic`).

    >>> import numpy as np
    >>> src = export_generic(lambda x: (x * x).sum(), np.ones(3), module="Sq", name="sq")
    >>> "sq :: RealFloat a => Vector a -> a" in src
    True
    """
    return generic_module_source(traced_programs(f, example_args, optimized)[1], module, name)
