"""The bench's tables: timing rows, per-workload ratios, first-call and memory rows.

>>> rows = [Row("pyaccad", "elementwise", "small", "primal", 2.0, 1.9),
...         Row("pyaccad", "elementwise", "small", "grad", 3.0, 2.9),
...         Row("jax", "elementwise", "small", "primal", 4.0, 3.9),
...         Row("jax", "elementwise", "small", "grad", 6.0, 5.5)]
>>> print(summary_table(rows))  # doctest: +NORMALIZE_WHITESPACE
workload     pass    pyaccad/jax  pyaccad/torch  pyaccad grad/primal
elementwise  primal  0.50         -              1.50
elementwise  grad    0.50         -              1.50
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Row:
    """One timing: an implementation's median and minimum over the timed calls of one pass."""

    impl: str
    workload: str
    size: str
    pass_: str
    median_ms: float
    min_ms: float

    def as_dict(self) -> dict:
        d = asdict(self)
        d["pass"] = d.pop("pass_")
        return d


@dataclass(frozen=True)
class StartupRow:
    """First-call times and resident memory of one implementation's gradient (NaN where not measured).

    ``run_ms`` is the fastest steady-state call in the same process as ``first_call_ms``, so their
    difference is the set-up the first call paid (tracing, optimising, compiling or loading).
    See :mod:`pyaccad.bench.measure` for what each memory figure covers.
    """

    impl: str
    workload: str
    size: str
    first_call_ms: float
    run_ms: float
    fresh_first_call_ms: float
    fresh_run_ms: float
    rss_before_mb: float
    peak_first_mb: float
    peak_run_mb: float

    def as_dict(self) -> dict:
        return asdict(self)


def text_table(header: Sequence[str], lines: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell, two spaces apart."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines, strict=True)]
    return "\n".join(
        "  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() for line in [header, *lines]
    )


def rows_table(rows: Sequence[Row]) -> str:
    """``impl workload size pass median_ms min_ms``, one line per row."""
    lines = [(r.impl, r.workload, r.size, r.pass_, f"{r.median_ms:.3f}", f"{r.min_ms:.3f}") for r in rows]
    return text_table(("impl", "workload", "size", "pass", "median_ms", "min_ms"), lines)


def summary_table(rows: Sequence[Row]) -> str:
    """Per workload and pass: pyaccad's median over each peer's (jax, torch, and accelerate where it ran),
    and pyaccad's own grad/primal."""
    median = {(r.impl, r.workload, r.pass_): r.median_ms for r in rows}
    peers = ["jax", "torch", *(["accelerate"] if any(r.impl == "accelerate" for r in rows) else [])]

    def ratio(a: float | None, b: float | None) -> str:
        return f"{a / b:.2f}" if a is not None and b else "-"

    lines = []
    for workload in dict.fromkeys(r.workload for r in rows):
        own = ratio(median.get(("pyaccad", workload, "grad")), median.get(("pyaccad", workload, "primal")))
        for pass_ in ("primal", "grad"):
            mine = median.get(("pyaccad", workload, pass_))
            lines.append((workload, pass_, *(ratio(mine, median.get((p, workload, pass_))) for p in peers), own))
    return text_table(("workload", "pass", *(f"pyaccad/{p}" for p in peers), "pyaccad grad/primal"), lines)


def startup_table(rows: Sequence[StartupRow]) -> str:
    """First calls (total and set-up before running, in-process and in a fresh process) and memory (MiB)."""

    def num(x: float) -> str:
        return "-" if x != x else f"{x:.1f}"

    lines = [
        (
            r.impl,
            r.workload,
            r.size,
            *map(num, (r.first_call_ms, r.first_call_ms - r.run_ms)),
            *map(num, (r.fresh_first_call_ms, r.fresh_first_call_ms - r.fresh_run_ms)),
            *map(num, (r.rss_before_mb, r.peak_first_mb, r.peak_run_mb)),
        )
        for r in rows
    ]
    header = (
        "impl",
        "workload",
        "size",
        "first_ms",
        "first_setup_ms",
        "fresh_first_ms",
        "fresh_setup_ms",
        "rss_before_mb",
        "peak_first_mb",
        "peak_run_mb",
    )
    return text_table(header, lines)
