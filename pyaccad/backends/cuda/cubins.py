"""A module's kernels compiled in groups, in parallel, and cached one kernel at a time.

A generated module is the prelude and then its kernels, each an ``extern "C" __global__`` function and
nothing else at file scope (a kernel declares its shared memory inside itself; the prelude's helpers are
``__forceinline__`` or templates, and there are no ``__device__`` globals), so a kernel compiles alone with
the prelude and means the same. Each kernel is cached under its own key: the prelude, the kernel's text
with its name left out (``k17`` of a gradient may be ``k3`` of its primal), NVRTC's version, the
architecture and the options. A kernel numbers its buffers, run-time integers and names on its own
(:mod:`.frames`), so its text is the same wherever it sits in a module. A module whose kernels are all cached
compiles nothing: a new batch size, or a program sharing kernels with one compiled before; a kernel a module
holds twice (a loop's trip, repeated by a gradient) is compiled once.

The kernels not found are compiled in *groups*, one translation unit each (the prelude once, the kernels
renamed ``pa_k0``, ``pa_k1``, ...): NVRTC costs ~30 ms per unit before any kernel, so a unit per kernel
would double a large module's work. Little work, or one core, makes one group compiled here; more makes
one group per worker process (:mod:`.workers`, NVRTC holds the GIL), balanced by their estimated cost
(:data:`KERNEL_COST`). A group's CUBIN is stored under its own key (``KEY.cubin`` with its ``KEY.cu``), and
each of its kernels gets a record ``KEY.kernel`` naming the group and the function, both with the store's
checksum and atomic publication (:mod:`pyaccad.store`): a kernel whose record or group is missing or
damaged compiles again.
The device loads each group's CUBIN as one module (:meth:`.driver.Device.load`).

>>> compiled = compile_module('extern "C" __global__ void k0(int *x) { x[0] = 1; }\\n')
>>> compiled.functions
{'k0': (0, 'pa_k0')}
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from pyaccad.backends.cuda import workers
from pyaccad.backends.cuda.nvrtc import DEFAULT_ARCH, FILENAME, OPTIONS, Rejected, compile_source, version
from pyaccad.errors import CompileError
from pyaccad.store import Store

GROUPS = Store("cuda", ".cubin")
RECORDS = Store("cuda", ".kernel")
KERNEL_COST = 4_000
"""What a kernel costs NVRTC whatever its length, in characters of text: ~30 ms, then ~7 µs a character (the
lstm gradient's kernels compiled one by one: 618 to 24 000 characters, 0.03 to 0.19 s)."""
PARALLEL_FROM = 60_000
"""Work (characters, :data:`KERNEL_COST` a kernel) below which one group compiled here beats starting workers:
~0.4 s of NVRTC, where a worker takes ~0.15 s to start and ~0.02 s more for its unit's fixed cost."""
PER_WORKER = 16_000
"""Work at least per worker process, so that each repays its start (the starts run side by side on idle cores;
the time to beat is the largest group's)."""

_HEAD = re.compile(r'^extern "C" __global__ void (\w+)\(', re.M)


@dataclass(frozen=True)
class Compiled:
    """A module's CUBINs (one per group its kernels came from) and, for each kernel, its CUBIN's index and
    its function's name there."""

    cubins: list[bytes]
    functions: dict[str, tuple[int, str]]


@dataclass(frozen=True)
class _Kernel:
    name: str
    text: str  # the function, its name as the module has it
    key: str


def split(source: str) -> tuple[str, list[tuple[str, str]]]:
    """The prelude of a generated module and its kernels, as ``(name, text)``.

    >>> split('#define N 2\\nextern "C" __global__ void k0(int *x) { x[0] = N; }\\n')
    ('#define N 2', [('k0', 'extern "C" __global__ void k0(int *x) { x[0] = N; }')])
    """
    starts = [m.start() for m in _HEAD.finditer(source)]
    prelude = source[: starts[0] if starts else len(source)].rstrip()
    bounds = [*starts, len(source)]
    kernels = [source[a:b].rstrip() for a, b in zip(bounds, bounds[1:], strict=False)]
    return prelude, [(_HEAD.match(text).group(1), text) for text in kernels]  # type: ignore[union-attr]


def _renamed(text: str, name: str) -> str:
    return _HEAD.sub(f'extern "C" __global__ void {name}(', text, count=1)


def _hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:32]


def compile_module(source: str, arch: str = DEFAULT_ARCH) -> Compiled:
    """The CUBINs of the generated module ``source`` for ``arch``, each kernel from the cache or compiled now;
    CompileError naming the kernel and carrying NVRTC's log when one does not compile."""
    prelude, named = split(source)
    settings = (version(), arch, *OPTIONS)
    kernels = [_Kernel(name, text, _hash(prelude, _renamed(text, "pa_kernel"), *settings)) for name, text in named]
    found: dict[str, tuple[str, str]] = {}  # kernel key -> (group key, function)
    cubins: dict[str, bytes] = {}  # group key -> CUBIN
    missing: dict[str, _Kernel] = {}  # one of each kernel not found (a module may hold a kernel twice)
    for kernel in kernels:
        if kernel.key not in found and kernel.key not in missing:
            place = _cached(kernel.key, cubins)
            if place is None:
                missing[kernel.key] = kernel
            else:
                found[kernel.key] = place
    if missing:
        found.update(_compile(prelude, list(missing.values()), arch, settings, cubins))
    order = list(dict.fromkeys(found[k.key][0] for k in kernels))
    index = {group: n for n, group in enumerate(order)}
    return Compiled(
        [cubins[group] for group in order],
        {k.name: (index[found[k.key][0]], found[k.key][1]) for k in kernels},
    )


def _cached(key: str, cubins: dict[str, bytes]) -> tuple[str, str] | None:
    """Where the kernel ``key`` was compiled, ``(group key, function)``, if its record and its group's CUBIN
    are both there and intact (the CUBIN read into ``cubins``)."""
    record = RECORDS.find(key)
    if record is None:
        return None
    group, function = record.read_text().split()
    if group not in cubins:
        path = GROUPS.find(group)
        if path is None:
            return None
        cubins[group] = path.read_bytes()
    return group, function


def _groups(kernels: list[_Kernel]) -> list[list[_Kernel]]:
    """The kernels in groups: one, or one per worker, each kernel (the costliest first) placed in the group with
    the least work so far."""
    work = [KERNEL_COST + len(k.text) for k in kernels]
    count = min(workers.count(), len(kernels), sum(work) // PER_WORKER) if sum(work) >= PARALLEL_FROM else 1
    if count <= 1:
        return [kernels]
    groups: list[list[_Kernel]] = [[] for _ in range(count)]
    loads = [0] * count
    for cost, kernel in sorted(zip(work, kernels, strict=True), key=lambda pair: -pair[0]):
        n = loads.index(min(loads))
        groups[n].append(kernel)
        loads[n] += cost
    return groups


def _unit(prelude: str, group: list[_Kernel]) -> tuple[str, list[tuple[int, str]]]:
    """The translation unit of ``group``, and the first line of each kernel in it (to name a failing one)."""
    parts, starts, line = [prelude], [], prelude.count("\n") + 3
    for n, kernel in enumerate(group):
        text = _renamed(kernel.text, f"pa_k{n}")
        starts.append((line, kernel.name))
        parts.append(text)
        line += text.count("\n") + 2
    return "\n\n".join(parts) + "\n", starts


def _compile(
    prelude: str, kernels: list[_Kernel], arch: str, settings: tuple[str, ...], cubins: dict[str, bytes]
) -> dict[str, tuple[str, str]]:
    """Compile ``kernels`` (in groups, in parallel when there are several), publish each group's CUBIN and each
    kernel's record; where each kernel now is."""
    groups = _groups(kernels)
    units = [_unit(prelude, group) for group in groups]
    if len(units) == 1:
        answers = [_compile_here(units[0][0], arch)]
    else:
        answers = workers.compile_all([source for source, _ in units], arch)
    places: dict[str, tuple[str, str]] = {}
    for group, (source, starts), (kind, answer) in zip(groups, units, answers, strict=True):
        if kind == "rejected":
            raise CompileError(_rejection(str(answer), starts))
        key = _hash(source, *settings)
        cubin = bytes(answer)  # type: ignore[arg-type]
        _publish(GROUPS, key, cubin, source)
        cubins[key] = cubin
        for n, kernel in enumerate(group):
            places[kernel.key] = (key, f"pa_k{n}")
            _publish(RECORDS, kernel.key, f"{key} pa_k{n}\n".encode())
    return places


def _compile_here(source: str, arch: str) -> tuple[str, bytes | str]:
    try:
        return "cubin", compile_source(source, arch)
    except Rejected as exc:
        return "rejected", exc.log


def _publish(store: Store, key: str, data: bytes, source: str | None = None) -> None:
    def make(tmp: Path, companions: dict[str, Path]) -> None:
        if source is not None:
            companions[".cu"].write_text(source)
        tmp.write_bytes(data)

    store.publish(key, make, companions=(".cu",) if source is not None else ())


def _rejection(log: str, starts: list[tuple[int, str]]) -> str:
    """NVRTC's log, headed by the kernels its errors are in (the prelude's lines come before the first)."""
    lines = {int(m) for m in re.findall(rf"{re.escape(FILENAME)}\((\d+)\): (?:catastrophic )?error", log)}
    culprits = []
    for line in sorted(lines):
        before = [name for first, name in starts if first <= line]
        culprits.append(f"kernel {before[-1]}" if before else "the prelude")
    where = ", ".join(dict.fromkeys(culprits)) or "kernels " + ", ".join(name for _, name in starts)
    return f"cuda: NVRTC rejected the generated CUDA C++ of {where}:\n{log}"
