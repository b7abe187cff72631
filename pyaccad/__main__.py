"""The command line: ``python -m pyaccad export FILE.py:FUNC --module M [--name f] --arg f32[3,4] ...``
and ``python -m pyaccad check-ad FILE.py:FUNC --arg f64[10] ...``.

Example arguments are given as dtype-and-shape specs, one ``--arg`` per
positional argument of ``FUNC`` in order (``f32``, ``f64``, ``i32``, ``i64``,
``bool``; ``f32[]`` is a scalar). Without ``--arg``, the file must define
``FUNC_example_args()`` returning the tuple of example NumPy arguments (for
pytrees or real values). The module is written for every size (its extents in
terms of the inputs' shapes, found by tracing ``FUNC`` again at other sizes; the
header says which stay fixed and why); ``--fixed`` prints the example's extents
instead (one trace). ``--generic`` prints the ``ad``-friendly generic target
instead; ``--blas`` prints float matrix products with accelerate-blas. The module
goes to standard output, or to ``--output FILE``.

``check-ad`` compares ``pyaccad.ad.grad`` of a scalar function with Haskell's
``Numeric.AD.grad`` of its generic export (:mod:`pyaccad.export.ad_check`), at
arguments drawn uniformly from [-1, 1] (``--seed``) for ``--arg`` specs or from
``FUNC_example_args()``: it prints both gradients and their largest difference,
and exits 1 past the tolerance (``--rtol``), 2 when GHC or ``ad`` is missing.

>>> parse_arg("f32[3,4]").shape, parse_arg("i64[]").dtype
((3, 4), dtype('int64'))
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import sys
from pathlib import Path

import numpy as np

from pyaccad.errors import Error
from pyaccad.ir.types import from_short_name


def parse_arg(spec: str) -> np.ndarray:
    """A zero array of the dtype and shape written as ``f32[3,4]`` (what the printer's comments show)."""
    match = re.fullmatch(r"(\w+)\[([\d, ]*)\]", spec.strip())
    dtype = None if match is None else from_short_name(match.group(1))
    if match is None or dtype is None:
        raise argparse.ArgumentTypeError(f"{spec!r} is not a spec like f32[3,4], i64[], bool[5]")
    shape = tuple(int(n) for n in match.group(2).replace(" ", "").split(",") if n)
    return np.zeros(shape, dtype=dtype)


def _load(target: str):
    path, _, func = target.rpartition(":")
    if not path or not func:
        raise SystemExit(f"export: expected FILE.py:FUNC, got {target!r}")
    spec = importlib.util.spec_from_file_location(Path(path).stem, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"export: cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    if not hasattr(module, func):
        raise SystemExit(f"export: {path} defines no {func}")
    return module, getattr(module, func), func


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    >>> main(["export", "--help"])  # doctest: +SKIP
    """
    parser = argparse.ArgumentParser(prog="python -m pyaccad")
    commands = parser.add_subparsers(dest="command", required=True)
    export = commands.add_parser("export", help="print a function as an accelerate Haskell module")
    export.add_argument("target", help="FILE.py:FUNC")
    export.add_argument("--module", default="M", help="Haskell module name (default M)")
    export.add_argument("--name", help="Haskell function name (default: FUNC)")
    export.add_argument("--arg", action="append", type=parse_arg, default=[], help="example argument, e.g. f32[3,4]")
    targets = export.add_mutually_exclusive_group()
    targets.add_argument("--generic", action="store_true", help="the generic Data.Vector target for Numeric.AD")
    targets.add_argument(
        "--fixed", action="store_true", help="extents fixed at the example's (default: written for every size)"
    )
    export.add_argument("--blas", action="store_true", help="matrix products through accelerate-blas")
    export.add_argument("--output", "-o", help="write the module here instead of standard output")
    check = commands.add_parser("check-ad", help="compare pyaccad's gradient with Haskell's Numeric.AD.grad")
    check.add_argument("target", help="FILE.py:FUNC (a scalar function of float arrays)")
    check.add_argument("--arg", action="append", type=parse_arg, default=[], help="argument spec, e.g. f64[10]")
    check.add_argument("--seed", type=int, default=0, help="seed of the random arguments (default 0)")
    check.add_argument("--rtol", type=float, default=1e-9, help="tolerance relative to the largest component")
    options = parser.parse_args(argv)

    module, fn, func = _load(options.target)
    if options.arg and options.command == "check-ad":  # a gradient at zero would check little: random points
        rng = np.random.default_rng(options.seed)
        args = tuple(rng.uniform(-1, 1, a.shape).astype(a.dtype) for a in options.arg)
    elif options.arg:
        args = tuple(options.arg)
    elif hasattr(module, f"{func}_example_args"):
        args = tuple(getattr(module, f"{func}_example_args")())
    else:
        raise SystemExit(f"{options.command}: give --arg specs or define {func}_example_args() in {options.target}")
    if options.command == "check-ad":
        return _check_ad(fn, args, options.rtol)
    from pyaccad.export import export_generic, export_haskell

    name = options.name or func
    try:
        if options.generic:
            source = export_generic(fn, *args, module=options.module, name=name)
        else:
            source = export_haskell(
                fn, *args, module=options.module, name=name, blas=options.blas, generic=not options.fixed
            )
    except Error as exc:
        print(f"export: {exc}", file=sys.stderr)
        return 1
    if options.output:
        Path(options.output).write_text(source)
    else:
        sys.stdout.write(source)
    return 0


def _check_ad(fn, args: tuple, rtol: float) -> int:
    from pyaccad.errors import BackendUnavailable
    from pyaccad.export.ad_check import check_ad

    try:
        result = check_ad(fn, *args, rtol=rtol)
    except BackendUnavailable as exc:
        print(exc, file=sys.stderr)
        return 2
    except Error as exc:
        print(f"check-ad: {exc}", file=sys.stderr)
        return 1
    with np.printoptions(precision=17, threshold=50):
        print(f"pyaccad.ad.grad: {result.pyaccad}")
        print(f"Numeric.AD.grad: {result.ad}")
    if result.own_derivative is not None:
        note = f"note: f defines its own derivative ({result.own_derivative})"
        print(f"{note}; Numeric.AD differentiates what f computes")
    verdict = "agree" if result.ok else "DISAGREE"
    print(f"largest difference {result.max_difference:.3g} (tolerance {result.tolerance:.3g}): {verdict}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
