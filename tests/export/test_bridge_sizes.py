"""One bridge library for every batch size: the keying (everywhere) and the reuse (where accelerate is).

``acc.jit`` hands the accelerate backend the function with its program
(:class:`pyaccad.backends.Retrace`), so the library's module is the shape-generic export and
its key is the same at every size the export is written for; a program traced at a new size is
matched against the fitted module (:meth:`~pyaccad.export.extents.Extents.describes`) without
tracing again. These tests need neither GHC nor accelerate, except the last, which runs a program
and a gradient at three sizes through the bridge, counts GHC's builds and compares with interp.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from helpers import skip_without_bridge

import pyaccad as acc
from pyaccad import ad, api
from pyaccad.backends import Retrace, get_backend
from pyaccad.backends import accelerate as bridge
from pyaccad.backends.accelerate import build, fastmath, remembered
from pyaccad.export import ghc
from pyaccad.frontend import trace
from pyaccad.frontend.pytree import flatten
from pyaccad.ir import Program, Stmt, pprint
from pyaccad.opt import optimize

SIZES = (6, 10, 17)
RNG = np.random.default_rng(7)
# Small integers as floats: every product and sum below is exact, whatever the order accelerate adds in, and
# a mean's `1 / n` rounds once on both sides; so the bridge must give interp's bits.
W = RNG.integers(-3, 4, (5, 3)).astype(np.float64)


def forward(x, w):
    h = x @ w
    return (h[:, 1:] * h[:, :-1]).sum(axis=1), h.mean()


def loss(w, x):
    h = x @ w
    return (h * h).sum() + 0.5 * h[1:, :].sum()


CASES = [("forward", forward, lambda n: (_x(n), W)), ("gradient", ad.grad(loss), lambda n: (W, _x(n)))]


def _x(n: int) -> np.ndarray:
    return RNG.integers(-3, 4, (n, 5)).astype(np.float64)


def _optimized(fn, args: tuple):
    return optimize(trace(fn, *args).program, "accelerate")


def _key(fn, args: tuple, target: str = "native", counter: list | None = None) -> str:
    """The library key of ``fn`` at ``args``, as ``acc.jit`` would have the bridge compute it."""

    def tracer(f, a):
        if counter is not None:
            counter.append(a)
        return _optimized(f, a)

    return bridge.library(_optimized(fn, args), target, Retrace(fn, args, tracer))[0]


@pytest.fixture(autouse=True)
def _fresh_fits(monkeypatch, tmp_path):
    monkeypatch.setattr(bridge, "_WRITTEN", {})  # what one test fitted is not another's
    monkeypatch.setenv("PYACCAD_CACHE_DIR", str(tmp_path))  # nor what it remembered on disk


@pytest.mark.parametrize("name, fn, make", CASES, ids=[c[0] for c in CASES])
def test_a_program_has_one_key_at_every_size_and_is_fitted_once(name, fn, make):
    traced: list = []
    keys = [_key(fn, make(n), counter=traced) for n in SIZES]
    assert len(set(keys)) == 1, keys
    fits = len(traced)
    assert fits > 2  # the first size traced the function again at other sizes to fit its extents
    assert _key(fn, make(23), counter=traced) == keys[0] and len(traced) == fits  # later sizes: no new trace
    bridge._WRITTEN.clear()  # as in a new process: a size the cache has seen is remembered there, not fitted
    assert _key(fn, make(SIZES[1]), counter=traced) == keys[0] and len(traced) == fits
    assert _key(fn, make(12), counter=traced) == keys[0] and len(traced) > fits  # a new size is fitted there
    module = bridge.program_module(_optimized(fn, make(6)), Retrace(fn, make(6), lambda f, a: _optimized(f, a)))
    assert "-- Written for every size: n = " in module and "shape x" in module and "Fixed" not in module


def test_a_remembered_module_is_found_only_for_its_own_program_and_printer(monkeypatch):
    traced: list = []
    args, blas = (_x(6), W), build.uses_blas()
    key = _key(forward, args, counter=traced)
    program = _optimized(forward, args)
    style = True, not fastmath.reassociates()  # the bridge's: ordered folds, partial sums without fast-math
    entry = remembered.key(program, blas, *style)
    assert remembered.find(entry) == bridge.program_module(program, Retrace(forward, args, _optimized), *style)
    others = [
        remembered.key(program, not blas, *style),
        remembered.key(program, blas, style[0], not style[1]),
        remembered.key(_optimized(forward, (_x(7), W)), blas, *style),
    ]
    assert None not in others and entry not in others
    bridge._WRITTEN.clear()
    remembered._path(entry).write_text('{"key": "another", "module": "f = undefined"}')  # a foreign entry: ignored
    fits = len(traced)
    assert _key(forward, args, counter=traced) == key and len(traced) > fits  # fitted again...
    module = bridge.program_module(program, Retrace(forward, args, _optimized), *style)
    assert remembered.find(entry) == module  # ...kept
    monkeypatch.setattr(remembered, "_printer_digest", lambda: "another printer")
    assert remembered.key(program, blas, *style) != entry

    class Opaque:  # a parameter program_key would write by its address: such a program is not remembered
        pass

    first, *rest = program.stmts
    odd = Stmt(first.prim, first.args, {**first.params, "rule": Opaque()}, first.outs, first.source)
    assert remembered.key(Program(program.inputs, (odd, *rest), program.outputs), blas, *style) is None


def test_a_program_whose_extents_stay_fixed_has_a_library_per_size():
    def unrolled(v):  # a Python loop over the extent: each size is another program
        return sum(v[i] * float(i) for i in range(v.shape[0]))

    keys = [_key(unrolled, (np.ones(n),)) for n in SIZES]
    assert len(set(keys)) == len(SIZES)
    module = bridge.program_module(_optimized(unrolled, (np.ones(6),)), Retrace(unrolled, (np.ones(6),), _optimized))
    assert "Fixed: 6 (v's axis 0): the program traced is different when it alone changes" in module


def test_a_function_that_fails_at_other_sizes_is_compiled_at_its_own():
    def checked(v):
        assert v.shape == (6,), "made for 6 elements"  # what a user's function may do
        return v * 2.0

    module = bridge.program_module(_optimized(checked, (np.ones(6),)), Retrace(checked, (np.ones(6),), _optimized))
    assert "Fixed: 6 (v's axis 0): AssertionError: made for 6 elements." in module


def test_a_fitted_module_is_not_reused_for_another_program_of_the_same_structure():
    def tail1(v):
        return v[1:] * 2.0

    def tail2(v):
        return v[2:] * 2.0

    first = _key(tail1, (np.ones(5),))
    second = _key(tail2, (np.ones(9),))  # same primitives, another slice: tail1's module must not serve it
    assert first != second and _key(tail1, (np.ones(9),)) == first
    module = bridge.program_module(_optimized(tail2, (np.ones(9),)), Retrace(tail2, (np.ones(9),), _optimized))
    assert "I1 (n - 2)" in module

    def product(x):  # same structure as with another constant matrix
        return x @ W

    other = W + 1.0
    key = _key(product, (_x(6),))
    assert _key(lambda x: x @ other, (_x(10),)) != key and _key(product, (_x(10),)) == key


def test_axes_that_shared_a_symbol_and_come_apart_get_their_own_module():
    def sums(a, b):
        return a.sum() + b.sum()

    shared = _key(sums, (np.ones(5), np.ones(5)))  # one symbol n for both extents
    assert _key(sums, (np.ones(8), np.ones(8))) == shared
    apart = _key(sums, (np.ones(7), np.ones(9)))  # not `n` at both: fitted again, two symbols
    assert apart != shared and _key(sums, (np.ones(11), np.ones(4))) == apart


def test_the_key_follows_target_ghc_and_packages(monkeypatch):
    args = (_x(6), W)
    keys = {_key(forward, args, target) for target in ("native", "interpreter", "ptx")}
    assert len(keys) == 3
    monkeypatch.setattr(build, "uses_blas", lambda: False)
    monkeypatch.setattr(ghc, "ghc", lambda: "/opt/ghc/bin/ghc")
    seen = set()
    for version in ("The Glorious Glasgow Haskell Compilation System, version 9.0.2", "version 9.4.7"):
        for fingerprint in ("packages-a", "packages-b"):
            monkeypatch.setattr(ghc, "ghc_version", lambda compiler, v=version: v)
            monkeypatch.setattr(ghc, "environment_fingerprint", lambda f=fingerprint: f)
            seen.add(_key(forward, args))
    assert len(seen) == 4


class _Recording:
    """A backend that says it is shape-generic, keys the bridge's libraries and runs the program by interp."""

    name = "accelerate"
    shape_generic = True

    def __init__(self) -> None:
        self.keys: list[str] = []

    def unavailable_reason(self) -> None:
        return None

    def compile(self, program, retrace=None):
        assert retrace is not None and pprint(retrace.trace(retrace.fn, retrace.args)) == pprint(program)
        self.keys.append(bridge.library(program, "native", retrace)[0])
        return get_backend("interp").compile(program)


@pytest.mark.parametrize("name, fn, make", CASES, ids=[c[0] for c in CASES])
def test_jit_hands_the_function_over_and_every_size_has_the_same_key(monkeypatch, name, fn, make):
    recording = _Recording()
    monkeypatch.setattr(api, "get_backend", lambda chosen: recording)
    jitted = acc.jit(fn, backend="accelerate")
    for n in SIZES:
        jitted(*make(n))
    assert len(recording.keys) == len(SIZES) and len(set(recording.keys)) == 1
    keywords = acc.jit(lambda x, *, w: forward(x, w), backend="accelerate")  # keyword arguments trace too
    for n in SIZES:
        keywords(_x(n), w=W)
    assert len(set(recording.keys[len(SIZES) :])) == 1


def test_one_bridge_library_serves_a_program_and_its_gradient_at_every_size(monkeypatch, tmp_path):
    skip_without_bridge()
    monkeypatch.setenv("PYACCAD_CACHE_DIR", str(tmp_path))  # an empty cache: the first size must build
    for name, fn, make in CASES:
        jitted = acc.jit(fn, backend="accelerate")
        builds = len(bridge.BUILDS)
        for n in SIZES:
            args = make(n)
            got, want = flatten(jitted(*args))[0], flatten(acc.jit(fn, backend="interp")(*args))[0]
            for g, w in zip(got, want, strict=True):
                assert g.dtype == w.dtype and g.shape == w.shape
                np.testing.assert_array_equal(g, w, err_msg=f"{name} at n={n}")  # exact: see W
            assert len(bridge.BUILDS) == builds + 1, (name, n)  # built at the first size, never again


def test_the_remembered_modules_are_keyed_by_the_element_templates_too():
    # a fix to an element-wise operation's Haskell (its row in the IR's table) must not find modules printed before
    from pyaccad.ir.primitives import elementwise

    root = Path(remembered.__file__).resolve().parents[2]
    printers = {(root / part).resolve() for part in remembered._PRINTER}
    assert Path(elementwise.__file__).resolve().parent in printers
