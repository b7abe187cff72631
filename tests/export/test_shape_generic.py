"""Shape-generic exports: exported at one size, the module means what interp computes at others.

Every program of the meaning tests, the gradients of :data:`programs.CASES` and the ``hs/``
workloads (primal and gradient) is exported once at its example arguments (shape-generic, the
default), then the module is evaluated by :mod:`hs_eval` (the independent evaluator of
``test_export_meaning``) on arguments of two other sizes, and compared with what interp computes
for the program traced at those sizes, within the evaluator's rounding bounds
(:func:`test_export_meaning.assert_means`). The new arguments repeat the example's values
(``np.resize``), so index arrays stay in range. Where ``$PYACCAD_GHC_ENV`` names a GHC environment
with accelerate, a few modules are also compiled and run at two other sizes by accelerate's
interpreter (elsewhere that test skips, saying why).
"""

from __future__ import annotations

import numpy as np
import pytest
from hs_eval import evaluate_module
from programs import CASES, gradient_of, module_name
from test_export_meaning import ALL_CASES, APPROXIMATIONS, _workloads, assert_means

import pyaccad as acc
from pyaccad import ad
from pyaccad.backends import get_backend
from pyaccad.export.extents import fit_extents
from pyaccad.frontend import trace
from pyaccad.frontend.pytree import flatten, unflatten
from pyaccad.opt import optimize

# Programs whose extents are written into them (a reshape to (12,), an argument's extents equal to
# another's): each must still export, with those extents fixed and the reason in its header.
FIXED = {"gathers", "slicesPadsConcatenations", "boolLiterals"}
# Doubles its argument while the sum is below 100: repeated values of another sign would never stop.
POSITIVE = {"loops"}


def fixed(name: str) -> bool:
    """Whether the program (or the one it is the gradient of) has all its extents fixed."""
    return name.removesuffix("Grad") in FIXED


def exported(fn, args: tuple) -> np.ndarray:
    return optimize(trace(fn, *args).program, "export")


def resized(fn, args: tuple, step: int, positive: bool = False) -> tuple:
    """``args`` with every generic extent grown (by 1, then by 3), the fixed ones kept.

    Grown, not shrunk: some programs read at indices written into them (``a[j, i]`` of a ``(4, 3)``
    generate), in bounds only at extents no smaller than the example's.
    """
    extents = fit_extents(fn, args, exported)
    moved = {s.extent: s.extent + (1 if step == 0 else 3) for s in extents.generic}
    leaves, tree = flatten(tuple(args))
    new = [
        np.resize(np.abs(leaf) if positive else leaf, tuple(moved.get(n, n) for n in np.shape(leaf)))
        if isinstance(leaf, np.ndarray)
        else leaf
        for leaf in leaves
    ]
    return unflatten(tree, new)


def check_at_other_sizes(fn, args: tuple, name: str) -> str:
    source = acc.export_haskell(fn, *args, module=module_name(name), name=name, generic=True)
    for step in (0, 1):
        other = resized(fn, args, step, name in POSITIVE)
        inputs = [np.asarray(x) for x in flatten(tuple(other))[0]]
        assert [x.shape for x in inputs] != [np.shape(x) for x in flatten(tuple(args))[0]] or fixed(name)
        got = evaluate_module(source, *inputs, approximations=APPROXIMATIONS)
        want = get_backend("interp").compile(exported(fn, other))(inputs)
        assert len(got) == len(want)
        for k, (out, expected) in enumerate(zip(got, want, strict=True)):
            assert_means(out, np.asarray(expected), f"{name} at {[x.shape for x in inputs]}, result {k}")
    return source


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.name)
def test_exported_once_runs_at_other_sizes(case):
    source = check_at_other_sizes(case.fn, case.args, case.name)
    header = source.split("\n")[1]
    if case.name in FIXED:
        assert header.startswith("-- Extents fixed at the example's. Fixed:"), header
    else:
        assert header.startswith("-- Written for every size:"), header


@pytest.mark.parametrize("case", [c for c in CASES if gradient_of(c) is not None], ids=lambda c: c.name)
def test_gradients_exported_once_run_at_other_sizes(case):
    source = check_at_other_sizes(gradient_of(case), case.args, f"{case.name}Grad")
    assert source.split("\n")[1].startswith("-- Extents" if fixed(case.name) else "-- Written for every size:")


@pytest.mark.parametrize("suffix", ["", "Grad"])
@pytest.mark.parametrize("name", ["Elementwise", "LogsumexpRows", "Mlp", "Gmm"])
def test_workloads_exported_once_run_at_other_sizes(name: str, suffix: str):
    fn, args, argnums = _workloads()[name]
    fn = ad.grad(fn, argnums=argnums) if suffix else fn
    source = check_at_other_sizes(fn, args, f"{name[0].lower()}{name[1:]}{suffix}")
    assert "-- Written for every size:" in source


def test_a_triangle_and_a_mean_print_as_expressions():
    def fn(a):
        tri = acc.generate((a.shape[0] * (a.shape[0] - 1) // 2,), lambda i: a[i % a.shape[0], 0])
        return tri, a.mean()

    source = check_at_other_sizes(fn, (np.arange(20.0).reshape(5, 4),), "triangle")
    assert "(n * n - n) `div` 2" in source
    assert "(/ (fromIntegral (n * m)))" in source


def test_a_loop_over_an_extent_keeps_it_fixed():
    def fn(x):
        total = x[0]
        for k in range(1, x.shape[0]):
            total = total + x[k]
        return total * x

    source = check_at_other_sizes(fn, (np.arange(12.0).reshape(3, 4),), "unrolled")
    assert "-- Written for every size: n = x's axis 1." in source
    assert "Fixed: 3 (x's axis 0): the program traced is different when it alone changes" in source


def test_small_extents_beside_a_large_one_fit_without_allocating_the_design_points():
    # The fit traces at extents above every example extent: beside a 2^18 vector, a (3, 5) matrix is traced at
    # about (2^18)^2 elements. Tracing needs shapes only; this once asked NumPy for 256 GiB (a MemoryError).
    def fn(m, v):
        return m.sum(1) * 2.0, v.sum()

    fitted = fit_extents(fn, (np.ones((3, 5)), np.ones(2**18)))
    assert [s.fixed for s in fitted.symbols] == [None, None, None]
    assert [s.extent for s in fitted.symbols] == [3, 5, 2**18]


def test_a_number_the_printer_computed_from_an_extent_is_caught(monkeypatch):
    # A printer that computes with an extent's value (here: the mirror stencil's period, as a plain int)
    # would print the example's number: the export sees its text change with the size and fixes the extents.
    from pyaccad.export import structural

    original = structural._boundary_index
    monkeypatch.setattr(structural, "_boundary_index", lambda index, n, b: original(index, int(n), b))
    source = acc.export_haskell(
        lambda v: acc.stencil(lambda n: n[0] - n[2], v, 3, boundary="mirror"), np.ones(6), generic=True
    )
    assert "-- Extents fixed at the example's. Fixed: 6 (v's axis 0): the export wrote a number" in source


# Compiled by GHC against accelerate (where $PYACCAD_GHC_ENV names it): exported once, run at two other sizes.
GHC_CASES = ["matrixProducts", "stencils2dMirror", "gathersAndGenerate", "scans3d", "scatters"]


def test_accelerate_runs_a_generic_module_at_other_sizes(tmp_path):
    from test_integration import _compile_and_run, _ghc_flags, _hs_array, _parse_values, _require

    flags = _ghc_flags()
    _require(flags, "accelerate", "Data.Array.Accelerate.Interpreter", tmp_path)
    cases = [(c.name, c.fn, c.args) for c in ALL_CASES if c.name in GHC_CASES]
    fn, args, argnums = _workloads()["Mlp"]
    cases += [("mlp", fn, args), ("mlpGrad", ad.grad(fn, argnums=argnums), args)]
    modules, lines, expected = {}, [], {}
    for name, fn, args in cases:
        modules[module_name(name)] = acc.export_haskell(fn, *args, module=module_name(name), name=name, generic=True)
        assert "-- Written for every size:" in modules[module_name(name)]
        for step in (0, 1):
            inputs = [np.asarray(x) for x in flatten(tuple(resized(fn, args, step)))[0]]
            argument = _hs_array(inputs[0]) if len(inputs) == 1 else "(" + ", ".join(map(_hs_array, inputs)) + ")"
            outputs = get_backend("interp").compile(exported(fn, unflatten(flatten(tuple(args))[1], inputs)))(inputs)
            outs = [f"o{k}" for k in range(len(outputs))]
            pattern = outs[0] if len(outs) == 1 else "(" + ", ".join(outs) + ")"
            lines.append(f"  let {pattern} = run ({name} (use ({argument})))")
            lines += [f'  putStrLn ("{name}/{step}/{k} " ++ show (toList {o}))' for k, o in enumerate(outs)]
            expected.update({f"{name}/{step}/{k}": np.asarray(o) for k, o in enumerate(outputs)})
    main = "\n".join(
        [
            "module Main (main) where",
            "import Data.Array.Accelerate (Z (..), (:.) (..), fromList, toList, use)",
            "import Data.Array.Accelerate.Interpreter (run)",
            *[f"import {m}" for m in modules],
            "main :: IO ()",
            "main = do",
            *lines,
        ]
    )
    printed = _compile_and_run(flags, tmp_path, main + "\n", modules)
    results = dict(line.split(" ", 1) for line in printed.splitlines())
    for key, want in expected.items():
        tol = {np.dtype("float32"): 2e-4, np.dtype("float64"): 1e-9}.get(want.dtype, 0)
        got = _parse_values(results[key])
        np.testing.assert_allclose(got, want.reshape(-1).astype(float), rtol=tol, atol=tol, err_msg=key)
