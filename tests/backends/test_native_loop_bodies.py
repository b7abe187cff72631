"""Loop bodies on the native backend: element groups, tiles and runs of tiling pads.

Inside an ``awhile`` body the maps of one shape that read each other only at
the element they compute share one loop (an *element group*, ``opt/rows.py``),
a small loop runs in vector tiles (``backends/native/map.py``), and a kernel
summing pads that tile its last axis (the cotangent of slices) runs one loop
per run of the axis (``backends/native/interior.py``); long branches of an
``acond`` at the top of a program are functions of their own
(``backends/native/program.py``), and so are loops (``backends/native/outline.py``); a body's small loops run
serially, not in a region of their own (``backends/native/region.py``). The programs here use
only ``+ - * /``, each rounded once in C as in NumPy, so the native results
must equal the interpreter's bit for bit whatever the grouping, tiling and
runs; the plans are checked to hold what is tested.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

import pyaccad as acc
from pyaccad import ad
from pyaccad.backends.clike.cgen import Ctx
from pyaccad.backends.native import interior, layouts, rows
from pyaccad.backends.native import map as native_map
from pyaccad.backends.native.build import UNIT_BREAK
from pyaccad.backends.native.program import generate
from pyaccad.frontend import trace
from pyaccad.opt import optimize
from pyaccad.opt.fusion import plan_program
from pyaccad.opt.rows import element_group_end, row_groups


def _plan(fn, *args):
    return plan_program(optimize(trace(fn, *args).program, "native"))


def _bodies(plan):
    for kernel in plan.kernels:
        for name, body in kernel.bodies.items():
            if kernel.kind == "while" and name == "body":
                yield body
            yield from _bodies(body)


def _element_groups(fn, *args):
    return [g for body in _bodies(_plan(fn, *args)) for g in row_groups(body, rows.LIMITS).values() if g.elements]


def _same_bits(fn, *args):
    native, interp = acc.run(fn, *args, backend="native"), acc.run(fn, *args, backend="interp")
    for a, b in zip(np.atleast_1d(native), np.atleast_1d(interp), strict=True):
        np.testing.assert_array_equal(np.asarray(a).view(np.uint64), np.asarray(b).view(np.uint64))


def _steps(x, flip=False, shift=None):
    """Ten trips of arithmetic whose shared values (``a``, ``b``) are written once per trip by one map and read
    by others at the same element (``b`` by a reversal too, with ``flip``; with ``shift``, the state is read
    ``shift`` elements on, past its end where ``shift`` is positive)."""

    def body(s):
        t, v, u = s
        a = v / (v * v + 1.0) / (u * u + 3.0) / (v * v + 5.0)  # three divisions: too dear to compute twice
        b = a / (a * a + 2.0) / (a * a + 4.0) / (u * u + 7.0) - v
        w = a * b + u * 0.5 - b / (a * a + 3.0) + (b[::-1] if flip else b) * 0.25
        if shift is not None:
            w = w + acc.generate(v.shape, lambda i: v[i + shift])
        return t + 1, w, (a - b) / (a * a + b * b + 1.0)

    return acc.awhile(lambda s: s[0] < 10, body, (0, x, x * 0.5))[1:]


@pytest.mark.parametrize("n", [5, 14, 37, 2100])  # below a tile, tiles overlapping at the end, several blocks
def test_an_element_group_gives_the_interpreters_bits(n):
    x = np.random.default_rng(n).standard_normal(n)
    groups = _element_groups(_steps, x)
    assert groups and all(len(g.kernels) >= 2 for g in groups)
    _same_bits(_steps, x)


def test_a_read_at_another_element_ends_the_group():
    x = np.random.default_rng(1).standard_normal(14)
    for body in _bodies(_plan(lambda v: _steps(v, flip=True), x)):
        for first, group in row_groups(body, rows.LIMITS).items():
            produced = {v for k in body.kernels[first : group.end] for v in k.outs}
            reversed_reads = [s for k in body.kernels[first : group.end] for s in k.fused if s.prim.name == "reverse"]
            assert all(s.args[0] not in produced for s in reversed_reads)
    _same_bits(lambda v: _steps(v, flip=True), x)


def test_element_groups_only_in_loop_bodies():
    x = np.random.default_rng(2).standard_normal(14)

    def unrolled(v):  # the same arithmetic, no loop: each plan is planned as outside loops
        a = v / (v * v + 1.0)
        b = a / (a * a + 2.0) - v
        return a * b, b - a, a + b / 3.0

    plan = _plan(unrolled, x)
    assert all(element_group_end(plan, n) == n + 1 for n in range(len(plan.kernels)))  # not asked for here
    assert not any(g.elements for g in row_groups(plan, rows.LIMITS).values())
    _same_bits(unrolled, x)


def _sliced(w):
    """Products of slices that tile the last axis of ``w`` (and its rows): the gradient sums pads of them."""
    return ((w[0, :4] * w[1, 4:8] + w[0, 8:] * w[1, 8:]) * w[1, :4] - w[0, 4:8]).sum()


def test_pads_tiling_an_axis_run_one_loop_per_run_with_the_interpreters_bits():
    w = np.random.default_rng(3).standard_normal((2, 12))
    plan = _plan(ad.grad(_sliced), w)
    ctx = Ctx()
    ctx.delayed.update(plan.delayed)
    last = plan.kernels[-1]
    assert interior.split(ctx, last) is None  # no one run covers most of the axis
    runs = interior.segments(ctx, last)
    assert [(lo, hi) for lo, hi, _ in runs] == [(0, 4), (4, 8), (8, 12)]
    assert all(known and any(known.values()) for _, _, known in runs)  # in each run some pad reads inside
    _same_bits(ad.grad(_sliced), w)


def test_runs_inside_a_loop_body_agree_with_the_interpreter():
    w = np.random.default_rng(4).standard_normal((2, 12))

    def looped(v):
        def body(s):
            t, acc_w = s
            return t + 1, acc_w + ad.grad(_sliced)(v + acc_w * 0.125)

        return acc.awhile(lambda s: s[0] < 3, body, (0, v * 0.0))[1]

    _same_bits(looped, w)


def test_the_lstm_gradients_reverse_trip_is_a_few_element_loops():
    """Its 35 maps over a row share a handful of loops (the values: ``tests/test_bench.py`` against JAX)."""
    from pyaccad.bench import lstm

    params, data = lstm.WORKLOAD.inputs("tiny")
    reverse = [b for b in _bodies(_plan(ad.grad(lstm.pyaccad_f), params, *data)) if len(b.kernels) > 30]
    assert reverse
    for body in reverse:
        groups = {n: g for n, g in row_groups(body, rows.LIMITS).items() if g.elements}
        assert sum(g.end - n for n, g in groups.items()) >= 30 and len(groups) <= 6


def _branches(x):
    """An ``acond`` at the top of the program whose branches are long (12 steps each, a reversal in every step)."""

    def branch(sign):
        def go():
            v = x * sign
            for k in range(12):
                v = v / (v * v + (k + 1.0)) + v[::-1] * 0.5
            return v

        return go

    return acc.acond(acc.unit(acc.the(x.sum()) > 0.0), branch(1.0), branch(-1.0))


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_long_top_level_branches_are_functions_of_their_own(sign):
    x = sign * np.abs(np.random.default_rng(5).standard_normal(37))  # each sign takes one branch
    source, _ = generate(optimize(trace(_branches, x).program, "native"))
    units = source.split(f"\n{UNIT_BREAK}\n")
    for n in (0, 1):  # each defined in a unit of its own, called from the program's
        assert sum(f"int pyaccad_branch{n}(void **B, const int64_t *E) {{" in unit for unit in units) == 1
        assert f"pyaccad_branch{n}(B, E)))" in source
    _same_bits(_branches, x)


def _loop_in_loop(x, past_the_end=False):
    """Three trips of a loop whose body runs :func:`_steps`' loop from its state (a loop inside a loop); with
    ``past_the_end``, the inner loop reads past its state's end on the outer loop's third trip."""

    def body(s):
        t, v = s
        w, u = _steps(v, flip=True, shift=t // 2 if past_the_end else None)
        return t + 1, w + u * 0.5

    return acc.awhile(lambda s: s[0] < 3, body, (0, x))[1]


def _functions(source):
    """Each loop function of ``source``: its name, parameters and lines."""
    heads = re.finditer(r"static __attribute__\(\(noinline\)\) int (pyaccad_loop\d+)\(void \*\*B, (.*)\) \{", source)
    return [(m.group(1), m.group(2), source[m.end() :].split("\n}\n")[0]) for m in heads]


def test_loops_are_functions_of_their_own():
    """Each loop is a function (``backends/native/outline.py``); the inner one, called from the outer one's,
    takes the outer loop's state as an argument."""
    x = np.random.default_rng(6).standard_normal(37)
    source, _ = generate(optimize(trace(_loop_in_loop, x).program, "native"))
    loops = _functions(source)
    assert len(loops) == 2
    (inner, parameters, _), (outer, _, outer_lines) = loops  # the inner one first: defined before its caller
    assert re.fullmatch(r"const int64_t \*E(, double \*cur\d+)+", parameters)
    assert f"if ((err = {inner}(B, E, cur" in outer_lines.split("for (;;)", 1)[1]  # called on each outer trip
    _same_bits(_loop_in_loop, x)


def test_a_failure_inside_a_loop_inside_a_loop_is_the_interpreters():
    """The inner loop's function records the failed read in ``R`` and returns its error through the outer one's
    and the entry; only the function whose lines check bounds declares ``R``."""
    x = np.random.default_rng(7).standard_normal(37)
    source, _ = generate(optimize(trace(lambda v: _loop_in_loop(v, past_the_end=True), x).program, "native"))
    (inner, _, inner_lines), (outer, _, outer_lines) = _functions(source)
    assert "int64_t *restrict R = B[" in inner_lines and "PA_FAIL_AT(" in inner_lines
    assert f"if ((err = {inner}(B, E, cur" in outer_lines and "R = B[" not in outer_lines
    assert f"if ((err = {outer}(B, E))) goto done;" in source
    messages = []
    for backend in ("native", "interp"):
        with pytest.raises(acc.IndexOutOfBounds) as info:
            acc.jit(lambda v: _loop_in_loop(v, past_the_end=True), backend=backend)(x)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "index (37,) is out of bounds for an array of shape (37,)" in messages[0]
    assert "test_native_loop_bodies.py:" in messages[0]


def _loops_and_kernels(x):
    """Kernels outside any loop, a short loop (left inline in the entry) and a lambda's loop."""
    n = x.shape[0]

    def chase(i):  # a lambda's loop: three steps along x from i
        return acc.while_(lambda s: s[1] < 3, lambda s: (s[0] + x[(i + s[1]) % n], s[1] + 1), (x[i], i * 0))[0]

    y = x * 2.0 + x[::-1]
    looped = acc.awhile(lambda s: s[0] < 3, lambda s: (s[0] + 1, s[1] * 0.5 + s[1][::-1]), (0, y))[1]
    return looped + acc.generate((n,), chase) - y


_LOCAL = re.compile(r"^ *const int64_t E(\d+) = E\[\1\];$")
_DECLARED_FROM_E = ("pa_f64_bits(E[", "(W + E[")  # declarations at the entry's top: literals, intermediates


def _entry_extent_reads(source):
    """The run-time integers the entry function of ``source`` declares as locals, the locals it reads (each with
    whether inside a loop: a lambda's ``for (;;)`` block, a host-side ``while`` kernel's block), and its lines
    reading ``E`` itself, by whether inside a loop."""
    body = source.split("int pyaccad_entry(void **B, const int64_t *E, int nthreads) {\n", 1)[1].split("\n}\n")[0]
    declared, locals_read, loads = set(), set(), {True: [], False: []}
    closing = None  # the line closing the loop's block we are in
    opening = ""  # the header of a loop's block: `for (;;) {`, or the `{` after a `/* while: ... */` title
    for line in body.split("\n"):
        if _LOCAL.match(line) or any(d in line for d in _DECLARED_FROM_E):
            declared |= {int(n) for n in _LOCAL.findall(line)}
            continue
        indent = line[: len(line) - len(line.lstrip())]
        if closing is None and (line.lstrip() == "for (;;) {" or line == opening):
            closing = indent + "}"
        opening = indent + "{" if line.lstrip().startswith("/* while:") else ""
        locals_read |= {(int(n), closing is not None) for n in re.findall(r"\bE(\d+)\b", line)}
        if "E[" in line:
            loads[closing is not None].append(line)
        if line == closing:
            closing = None
    return declared, locals_read, loads


def test_loops_read_run_time_integers_from_locals_and_nothing_else_does():
    """Inside a loop (a host-side one left inline, a lambda's) each run-time integer is read from a local ``En``
    that the function declares (gcc hoists it: ``backends/native/outline.py``'s ``Extents``; a loop's function
    likewise); outside loops from ``E`` itself."""
    x = np.random.default_rng(8).standard_normal(37)
    source, _ = generate(optimize(trace(_loops_and_kernels, x).program, "native"))
    assert "for (;;)" in source and not _functions(source)  # the loops inline in the entry
    declared, locals_read, loads = _entry_extent_reads(source)
    assert loads[False] and not loads[True]  # kernels outside the loops load E[n]; inside, none does
    assert locals_read and {inside for _, inside in locals_read} == {True}  # locals only inside them
    assert {n for n, _ in locals_read} <= declared
    _same_bits(_loops_and_kernels, x)


def _in_trips(source):
    """The lines of ``source`` inside its ``for (;;)`` blocks: the trips of its host-side loops."""
    lines, found = source.split("\n"), []
    for k, line in enumerate(lines):
        if line.strip() == "for (;;) {":
            found += lines[k + 1 : lines.index(line[: len(line) - len(line.lstrip())] + "}", k)]
    return found


@pytest.mark.parametrize("threshold", [native_map.PARALLEL_MIN, 8])
def test_a_trips_small_loops_run_serially_and_the_others_keep_a_serial_copy(threshold, monkeypatch):
    """A parallel region costs its entry even where its ``if`` clause keeps it on one thread, so in a loop's body
    a loop over no more elements than the threshold, as traced, is only its serial copy, and one over more runs
    in parallel where its test holds at run time, else in its serial copy (``backends/native/region.py``'s
    ``parallel_if``); either way the values are the interpreter's, bit for bit."""
    monkeypatch.setattr(native_map, "PARALLEL_MIN", threshold)
    monkeypatch.setattr(layouts, "find", lambda key: None)  # no library built at another threshold
    monkeypatch.setattr(layouts, "remember", lambda key, lib_key, layout: None)  # and none left for later
    x = np.random.default_rng(9).standard_normal(14)
    trips = _in_trips(generate(optimize(trace(_steps, x).program, "native"))[0])
    assert sum(line.strip() == "for (int64_t b = 0; b < nblk; b++) {" for line in trips) >= 2  # the body's maps
    pragmas = [k for k, line in enumerate(trips) if "#pragma omp parallel" in line]
    assert bool(pragmas) == (x.size > threshold)
    for k in pragmas:  # if (test) { <pragma> <loop> } else { <loop> }
        test = trips[k - 1]
        indent = test[: len(test) - len(test.lstrip())]
        assert re.fullmatch(rf"if \(E\d+ > {threshold}\) \{{", test.strip()) and " if (" not in trips[k]
        middle = trips.index(indent + "} else {", k)
        parallel = trips[k + 1 : middle]  # a copy's lines are at the indent of the `if` around them
        assert trips[middle + 1 : middle + 1 + len(parallel)] == parallel
        assert trips[middle + 1 + len(parallel)] == indent + "}"
    _same_bits(lambda v: _steps(v), x)
