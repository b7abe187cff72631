"""What exported programs mean: each export, run by an independent evaluator of accelerate Haskell, agrees with interp.

The other export tests check that exports parse (GHC's parser), read as pinned
(goldens) and — only where accelerate is installed — compile and run. Here every
program of :data:`programs.CASES` and :data:`meaning_programs.MEANING_CASES`, as
traced and optimised, its gradient (``ad.grad``), and where the program allows a
``jvp`` and a ``vmap`` of it, plus the benchmark workloads of ``hs/``, is exported
at its example arguments and run by :mod:`hs_eval` — a Python evaluator of the
exported text written from accelerate's documentation and reference interpreter,
not from pyaccad — and the results are compared with what the interp backend
computes for the same program (what ``acc.jit(f, backend="interp")`` runs).

Tolerance: integers and bools must be equal. For floats, the evaluator bounds the
rounding error of every result (first order, from the magnitudes involved: see
:mod:`hs_eval.values`); that bound holds for any order of the sums, so it bounds
interp's rounding of the same program too, and the two results may differ by at
most twice it. Non-finite results must match exactly.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from hs_eval import evaluate_module
from meaning_programs import MEANING_CASES
from programs import CASES, Case, gradient_of, module_name

from pyaccad import ad
from pyaccad.ad.custom_rules import has_forward_mode
from pyaccad.backends import get_backend
from pyaccad.export import export_program, structural
from pyaccad.export.rules import RULES
from pyaccad.export.templates import FIXITY
from pyaccad.frontend import trace
from pyaccad.frontend.pytree import flatten
from pyaccad.opt import optimize

# The exported erf, expm1, log1p and tanh' (pyaccad.export.templates.HELPERS) are rational approximations (Cody's,
# Cephes') whose own error, beside the rounding the evaluator bounds, is below 1.2e-18, 1.4e-19, 2.4e-20 and 6e-19
# relative to results of magnitude at most 1 (erf), 0.65 (expm1 for |x| <= 1/2), 0.35 (log1p in its interval) and
# 0.56 (tanh' for |x| < 0.625): measured against mpmath at 50 digits with the printed coefficients. Elsewhere they
# are exp x - 1, log (1 + x) and 1 - 2/(exp 2|x| + 1), exact to rounding.
APPROXIMATIONS = {"erf": 1.2e-18, "expm1": 1e-19, "log1p": 1e-20, "tanh'": 3.4e-19}
ALL_CASES = CASES + MEANING_CASES
RNG = np.random.default_rng(3)


def check_meaning(fn, args: tuple, name: str, optimized: bool = True, blas: bool = False) -> str:
    """Export ``fn`` traced at ``args``, evaluate the export on ``args`` and compare with interp; the source.

    Traced once: the program exported (as ``export_haskell`` makes it: optimised unless ``optimized`` is
    False) is the program interp runs, as ``acc.jit(fn, backend="interp")`` would run it.
    """
    traced = trace(fn, *args).program
    program = optimize(traced, "export") if optimized else traced
    source = export_program(program, module=module_name(name), name=name, blas=blas)
    assert_source_means(source, program, args, name)
    return source


def assert_source_means(source: str, program, args: tuple, name: str) -> None:
    """The module ``source``, evaluated on ``args``, gives what interp computes for ``program``."""
    inputs = [np.asarray(x) for x in flatten(tuple(args))[0]]
    got = evaluate_module(source, *inputs, approximations=APPROXIMATIONS)
    want = [np.asarray(w) for w in get_backend("interp").compile(program)(inputs)]
    assert len(got) == len(want), f"{name}: the export returns {len(got)} arrays, interp {len(want)}"
    for k, (out, expected) in enumerate(zip(got, want, strict=True)):
        assert_means(out, expected, f"{name}, result {k}")


def assert_means(out, want: np.ndarray, what: str) -> None:
    values = out.values
    assert (values.dtype, values.shape) == (want.dtype, want.shape), (
        f"{what}: the export gives {values.dtype}{list(values.shape)}, interp {want.dtype}{list(want.shape)}"
    )
    if want.dtype.kind != "f":
        np.testing.assert_array_equal(values, want, err_msg=f"{what}: the export means something else")
        return
    finite = np.isfinite(values) & np.isfinite(want)
    difference = np.abs(np.where(finite, values, 0).astype(np.float64) - np.where(finite, want, 0))
    allowed = 2 * out.bounds  # each side within its rounding bound of the exact value
    same_special = (values == want) | (np.isnan(values) & np.isnan(want))
    wrong = np.where(finite, difference > allowed, ~same_special)
    if wrong.any():
        at = tuple(int(i) for i in np.argwhere(wrong)[0])
        raise AssertionError(
            f"{what}: the export means something else at {at} and {int(wrong.sum()) - 1} more places: "
            f"{values[at]!r} where interp gives {want[at]!r} (allowed difference {allowed[at]:.3g}, "
            f"from the rounding bound)\nexport: {values.reshape(-1)[:8]}\ninterp: {want.reshape(-1)[:8]}"
        )


def _all_float(case: Case) -> bool:
    return all(np.asarray(a).dtype.kind == "f" for a in flatten(tuple(case.args))[0])


def jvp_of(case: Case):
    """``(primals..., tangents...) -> `` the tangent part of ``ad.jvp``, and its example arguments.

    The primal part is what the ``optimised`` variant checks; leaving it out keeps a program of many
    results within accelerate's 16-tuples.
    """
    n = len(case.args)
    tangents = tuple(RNG.standard_normal(np.shape(a)).astype(np.asarray(a).dtype) for a in case.args)
    return (lambda *xs: ad.jvp(case.fn, xs[:n], xs[n:])[1]), case.args + tangents


def vmap_of(case: Case):
    """``ad.vmap(f)`` over a batch of two: the example arguments, and a second example beside them."""

    def second(a: np.ndarray) -> np.ndarray:
        return a * np.asarray(0.5, a.dtype) + np.asarray(0.25, a.dtype) if a.dtype.kind == "f" else a[::-1].copy()

    batched = tuple(np.stack([np.asarray(a), second(np.asarray(a))]) for a in case.args)
    return ad.vmap(case.fn), batched


def _variants():
    for case in ALL_CASES:
        yield pytest.param(case, "traced", id=f"{case.name}-traced")
        yield pytest.param(case, "optimised", id=f"{case.name}-optimised")
        if gradient_of(case) is not None:
            yield pytest.param(case, "grad", id=f"{case.name}-grad")
        # tangents of integer inputs are not floats; a custom_vjp defines no forward mode
        if _all_float(case) and has_forward_mode(trace(case.fn, *case.args).program):
            yield pytest.param(case, "jvp", id=f"{case.name}-jvp")
        yield pytest.param(case, "vmap", id=f"{case.name}-vmap")


@pytest.mark.parametrize(("case", "variant"), list(_variants()))
def test_export_means_what_interp_computes(case: Case, variant: str):
    name = f"{case.name}{variant.capitalize()}"
    if variant in ("traced", "optimised"):
        check_meaning(case.fn, case.args, name, optimized=variant == "optimised")
    elif variant == "grad":
        check_meaning(gradient_of(case), case.args, name)
    else:
        fn, args = (jvp_of if variant == "jvp" else vmap_of)(case)
        check_meaning(fn, args, name)


def test_blas_product_means_the_matrix_product():
    a, b = (RNG.standard_normal(shape).astype(np.float32) for shape in [(3, 4), (4, 2)])
    assert "BLAS.<>" in check_meaning(lambda x, y: x @ y, (a, b), "blasProduct", blas=True)


def test_blas_products_of_transposes_read_them_in_place():
    """A transpose only products use is gemm's T on its source, not a `transpose` binding; one that is also
    used elsewhere stays (and the product reads it as it is)."""
    a, b, c = (RNG.standard_normal(shape).astype(np.float32) for shape in [(3, 4), (3, 2), (5, 2)])

    def products(x, y, z):
        return x.T @ y, y @ z.T, (y.T @ x) + y.T.sum()

    source = check_meaning(products, (a, b, c), "blasTransposed", blas=True)
    assert "BLAS.gemm 1 BLAS.T x BLAS.N y" in source and "BLAS.gemm 1 BLAS.N y BLAS.T z" in source
    assert source.count("transpose") == 1 and "transpose y" in source  # the one also summed


HS = Path(__file__).parents[2] / "hs"


def _workloads() -> dict:
    sys.path.insert(0, str(HS))
    import regenerate

    return regenerate.WORKLOADS


@pytest.mark.parametrize("suffix", ["", "Grad"])
@pytest.mark.parametrize("name", ["Elementwise", "LogsumexpRows", "Mlp", "Gmm"])
def test_hs_project_modules_mean_what_interp_computes(name: str, suffix: str):
    # The committed modules of hs/, gradients included (whose staleness nothing else checks), as they are.
    fn, args, argnums = _workloads()[name]
    fn = ad.grad(fn, argnums=argnums) if suffix else fn
    source = (HS / "src" / "Workloads" / f"{name}{suffix}.hs").read_text()
    assert_source_means(source, optimize(trace(fn, *args).program, "export"), args, f"{name}{suffix}")


def test_the_new_programs_export_as_haskell_ghc_parses(hs_parse):
    # The evaluator parses a superset of what GHC accepts: the programs it checks must be real Haskell.
    sources = {}
    for case in MEANING_CASES:
        for suffix, fn, optimized in [
            ("Traced", case.fn, False),
            ("", case.fn, True),
            ("Grad", gradient_of(case), True),
        ]:
            if fn is not None:
                program = trace(fn, *case.args).program
                module = module_name(case.name) + suffix
                sources[module] = export_program(optimize(program, "export") if optimized else program, module=module)
    hs_parse(sources)


# Faults of the exporter the meaning tests must catch, each made for the duration of one test (and its case).
def _mirror_reflects_one_too_far(monkeypatch):
    original = structural._boundary_index

    def mutant(index: str, n: int, boundary: str) -> str:
        text = original(index, n, boundary)
        return text.replace(f"? ({2 * n - 2} - ", f"? ({2 * n - 1} - ") if boundary == "mirror" else text

    monkeypatch.setattr(structural, "_boundary_index", mutant)


def _mirror_printed_as_clamp(monkeypatch):
    original = RULES["stencil"]
    monkeypatch.setitem(
        RULES, "stencil", lambda p, stmt, level: original(p, stmt, level).replace(" mirror ", " clamp ")
    )


def _division_binding_looser(monkeypatch):
    # (mod' once had its fixity wrong here; float mod is now the helper modFloat, so no fixity of it shows)
    monkeypatch.setitem(FIXITY, "/", (6, "l"))


@pytest.mark.parametrize(
    ("mutate", "case_name"),
    [
        (_mirror_reflects_one_too_far, "stencils1dMirror"),  # extents 1 and 11: printed as a generate
        (_mirror_printed_as_clamp, "stencils2dMirror"),  # extents 3..9: accelerate's own `mirror`
        (_division_binding_looser, "stencils"),  # (a + b) / c would print as a + b / c
    ],
)
def test_a_wrong_export_is_caught(monkeypatch, mutate, case_name: str):
    case = next(c for c in ALL_CASES if c.name == case_name)
    check_meaning(case.fn, case.args, case_name)  # the case passes as exported...
    mutate(monkeypatch)
    with pytest.raises(AssertionError, match="means something else"):  # ...and fails with the fault in place
        check_meaning(case.fn, case.args, case_name)
