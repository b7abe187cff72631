"""``python -m pyaccad.bench``: time the workloads of docs/WORKLOADS.md in pyaccad, JAX and PyTorch.

For each selected workload and each importable implementation: the first
call of pyaccad's gradient (trace + optimise + compile + one run), then the
primal and the gradient timed (3 warm-up calls, then the median and minimum of
``--repeat`` calls). Then, unless ``--no-subprocess``, one fresh process per
implementation and workload measures the gradient's peak resident memory and
its first call — for pyaccad with the compile cache this run filled (a warm
cache). By default the run uses a new, empty ``$PYACCAD_CACHE_DIR`` so the
in-process first call really compiles; ``--keep-cache`` uses the existing one.
``--check`` compares pyaccad's value and gradient with JAX's.

>>> import json, tempfile, os
>>> out = os.path.join(tempfile.mkdtemp(), "rows.json")
>>> code = main(["--backend", "interp", "--size", "tiny", "--workloads", "elementwise", "--impls", "pyaccad",
...              "--repeat", "2", "--no-subprocess", "--json", out, "--quiet"])
>>> code, sorted(r["pass"] for r in json.load(open(out))["rows"])
(0, ['grad', 'primal'])
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pyaccad.bench.impls import IMPLS, OURS, Prepared, prepare, unavailable
from pyaccad.bench.measure import first_call_ms, fresh_process, time_interleaved
from pyaccad.bench.registry import SIZES, WORKLOADS, Workload
from pyaccad.bench.report import Row, StartupRow, rows_table, startup_table, summary_table

CHECK_RTOL = 2e-3
"""Largest error of a result leaf, relative to the largest magnitude of JAX's same leaf, that ``--check`` accepts
(float32 sums)."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m pyaccad.bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", default="native", help="pyaccad backend (default: native)")
    p.add_argument("--size", default="small", choices=SIZES)
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated (default: all)")
    p.add_argument("--impls", default=",".join(IMPLS), help="comma-separated (default: all importable)")
    p.add_argument("--repeat", type=int, default=10, help="timed calls per pass (default 10)")
    p.add_argument("--json", metavar="FILE", help="write the rows (and startup rows, checks) as JSON")
    p.add_argument("--check", action="store_true", help="compare pyaccad's value and gradient with JAX's")
    p.add_argument("--no-subprocess", action="store_true", help="skip fresh-process first-call and memory")
    p.add_argument("--keep-cache", action="store_true", help="use the existing $PYACCAD_CACHE_DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar or tables")
    p.add_argument(
        "--scaling", action="store_true", help="instead: trace/optimise/compile time against program size (scaling.py)"
    )
    p.add_argument(
        "--ranks",
        nargs="?",
        const="1,2",
        metavar="K,K",
        help="instead: the mlp gradient data-parallel over MPI ranks (default 1,2), with the allreduce's share "
        "(ranks.py; needs pyaccad[mpi])",
    )
    return p


def _progress(items: list, quiet: bool) -> Any:
    try:
        from tqdm import tqdm
    except ImportError:
        return items
    return items if quiet else tqdm(items, desc="bench", file=sys.stderr)


def check(mine: Prepared, reference: Prepared) -> dict[str, list[float]]:
    """Per pass, the error of each of pyaccad's result leaves (the value; each gradient leaf) against JAX's.

    A leaf's error is its largest absolute difference from JAX's same leaf relative to that leaf's largest
    JAX magnitude (absolute where JAX's leaf is all zeros), so a wrong small leaf is not hidden behind a large
    one; a NaN where JAX has none, or a shape that differs, is an infinite error.

    >>> from pyaccad.bench.registry import WORKLOADS
    >>> run = prepare("pyaccad", WORKLOADS["elementwise"], "tiny")
    >>> {k: [e == 0.0 for e in v] for k, v in check(run, run).items()}
    {'primal': [True], 'grad': [True]}
    """
    return {
        pass_: [
            leaf_error(g, w)
            for g, w in zip(
                mine.to_numpy(getattr(mine, pass_)()), reference.to_numpy(getattr(reference, pass_)()), strict=True
            )
        ]
        for pass_ in ("primal", "grad")
    }


def leaf_error(got: np.ndarray, want: np.ndarray) -> float:
    """``max |got - want|`` over ``max |want|`` (see :func:`check`).

    >>> leaf_error(np.array([1.0, 2.5]), np.array([1.0, 2.0]))
    0.25
    >>> leaf_error(np.array([np.nan]), np.array([1.0])), leaf_error(np.zeros(2), np.zeros(3))
    (inf, inf)
    """
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    if got.shape != want.shape:
        return math.inf
    both_nan = np.isnan(got) & np.isnan(want)
    diff = np.where(both_nan, 0.0, np.abs(got - want))
    if np.isnan(diff).any():
        return math.inf
    scale = float(np.max(np.where(both_nan, 0.0, np.abs(want)), initial=0.0)) or 1.0
    return float(np.max(diff, initial=0.0)) / scale


def _check_failed(errors: dict[str, list[float]]) -> bool:
    return max(e for leaves in errors.values() for e in leaves) > CHECK_RTOL


def main(argv: Sequence[str] | None = None) -> int:
    """Run the bench; returns the exit status (1 when a run or a check failed)."""
    args = _parser().parse_args(argv)
    if args.scaling:
        from pyaccad.bench.scaling import STEPS, measure, scaling_table

        print(f"# compile time against program size: backend={args.backend} cpus={os.cpu_count()}")
        print(scaling_table(measure(list(STEPS[args.size]), args.backend, with_jax="jax" in args.impls)))
        return 0
    if args.ranks:
        from pyaccad.bench.ranks import measure as measure_ranks
        from pyaccad.bench.ranks import ranks_table

        counts = [int(k) for k in args.ranks.split(",")]
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"# mlp gradient over MPI ranks: backend={args.backend} size={args.size} repeat={args.repeat} ", end="")
        print(f"cpus={os.cpu_count()} load={load}")
        print(ranks_table(measure_ranks(counts, args.size, args.backend, args.repeat)))
        return 0
    if args.size != "tiny" and args.repeat < 10:
        _parser().error("--repeat must be at least 10 (docs/WORKLOADS.md): use --size tiny for quick runs")
    if args.keep_cache:
        return _run(args)
    previous = os.environ.get("PYACCAD_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="pyaccad-bench-cache-") as cache:
        os.environ["PYACCAD_CACHE_DIR"] = cache  # read by this process's compiles and inherited by the children
        try:
            return _run(args)
        finally:
            if previous is None:
                del os.environ["PYACCAD_CACHE_DIR"]
            else:
                os.environ["PYACCAD_CACHE_DIR"] = previous


@dataclass
class _Results:
    rows: list[Row] = field(default_factory=list)
    startup: list[StartupRow] = field(default_factory=list)
    checks: dict[str, dict[str, list[float]]] = field(default_factory=dict)
    failed: bool = False


def _measure(workload: Workload, impls: list[str], args: argparse.Namespace, out: _Results) -> None:
    """Time every implementation of one workload, interleaved; then pyaccad's check, and each implementation's
    first calls and memory (in a fresh process)."""
    runs: dict[str, Prepared] = {}
    firsts: dict[str, float] = {}
    for impl in impls:
        try:
            runs[impl] = prepare(impl, workload, args.size, args.backend)
            firsts[impl] = first_call_ms(runs[impl].grad) if impl in OURS else math.nan
        except Exception as exc:  # one broken implementation must not hide the others' numbers
            _failed(out, impl, workload, exc)
            runs.pop(impl, None)
    for pass_ in ("primal", "grad"):
        try:
            times = time_interleaved({impl: getattr(run, pass_) for impl, run in runs.items()}, args.repeat)
        except Exception as exc:
            _failed(out, "pyaccad/jax/torch", workload, exc)
            return
        out.rows += [Row(impl, workload.name, args.size, pass_, *times[impl]) for impl in runs]
    if args.check and unavailable("jax") is None:
        for impl in (i for i in OURS if i in runs):
            name = workload.name if impl == "pyaccad" else f"{workload.name} ({impl})"
            errors = out.checks[name] = check(runs[impl], prepare("jax", workload, args.size))
            out.failed |= _check_failed(errors)
    for impl in runs:
        child: dict = {}
        if not args.no_subprocess:
            child = fresh_process(impl, workload.name, args.size, args.backend)
            if "error" in child:
                print(f"{impl} {workload.name}: fresh process failed: {child['error']}", file=sys.stderr)
        elif impl not in OURS:
            continue
        grad_min = next(r.min_ms for r in out.rows if (r.impl, r.workload, r.pass_) == (impl, workload.name, "grad"))
        keys = ("first_call_ms", "run_ms", "rss_before_mb", "peak_first_mb", "peak_run_mb")
        fresh = (child.get(k, math.nan) for k in keys)
        out.startup.append(StartupRow(impl, workload.name, args.size, firsts[impl], grad_min, *fresh))


def _failed(out: _Results, impl: str, workload: Workload, exc: Exception) -> None:
    out.failed = True
    print(f"{impl} {workload.name}: failed: {type(exc).__name__}: {exc}", file=sys.stderr)


def _print(args: argparse.Namespace, out: _Results) -> None:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"# backend={args.backend} size={args.size} repeat={args.repeat} cpus={os.cpu_count()} load={load}")
    print(rows_table(out.rows), summary_table(out.rows), startup_table(out.startup), sep="\n\n")
    for name, errs in out.checks.items():
        grads = " ".join(f"{e:.1e}" for e in errs["grad"])
        verdict = "MISMATCH" if _check_failed(errs) else "ok"
        print(f"check {name}: value rel err {errs['primal'][0]:.1e}, grad rel err per leaf {grads} {verdict}")


def _run(args: argparse.Namespace) -> int:
    workloads = [WORKLOADS[w] for w in args.workloads.split(",")]
    impls = []
    for impl in args.impls.split(","):
        reason = unavailable(impl)
        if reason is None:
            impls.append(impl)
        else:
            print(f"skipping {impl}: {reason}", file=sys.stderr)
    out = _Results()
    for workload in _progress(workloads, args.quiet):
        _measure(workload, impls, args, out)
    if not args.quiet:
        _print(args, out)
    if args.json:
        report = {"backend": args.backend, "size": args.size, "cpu_count": os.cpu_count(), "loadavg": os.getloadavg()}
        report |= {"rows": [r.as_dict() for r in out.rows], "startup": [r.as_dict() for r in out.startup]}
        with open(args.json, "w") as fh:
            json.dump(report | {"checks": out.checks}, fh, indent=1)
    return 1 if out.failed else 0
