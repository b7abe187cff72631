"""A kernel's text made independent of where it sits in its module: its own numbers for buffers, integers, errors.

The printer numbers things module-wide: the pointer table's slots (``B[17]``), the run-time integers
(``E[44]``), the error ids (``PA_FAIL_AT(3, ...)``) and every fresh name (``acc812``). A kernel printed with
those numbers differs between a primal and its gradient, or two programs, even where it computes the same
thing on the same kinds of buffers, and so does its compiled CUBIN's cache key (:mod:`.cubins`). Each kernel
is therefore renumbered once printed (:func:`localise`): its names from 1 in the order they first appear,
its buffers ``B[0]``, ``B[1]``, ... in the order of their names, its integers ``E[0]``, ``E[1]``, ... and its
error ids 1, 2, ... likewise, by what the printer's state (:class:`CudaCtx`) recorded of each name and
buffer. Its :class:`Frame` says what each local number stands for in the module; the
runtime gives each launch ``E`` and ``B`` pointing at the kernel's own run of the module's integers and of a
pointer table filled once per call (:mod:`.runtime`), and maps a recorded error id back to the module's.

>>> ctx = CudaCtx()
>>> b, x, ints = ctx.fresh("b"), ctx.fresh("x"), [ctx.ext(5) for _ in range(4)]
>>> ctx.pointers[b] = ("double", 12)
>>> lines = [f"    const double {x} = {b}[E[3]];", f"    if (!ok) PA_FAIL_AT(9, w, {x});"]
>>> text, frame = localise(ctx, "k3", lines)
>>> print(text)
extern "C" __global__ void k3(const int64_t *E, void *const *B, int64_t *R) {
    double *b2 = (double *)B[0];
    const double x1 = b2[E[0]];
    if (!ok) PA_FAIL_AT(1, w, x1);
}
>>> frame
Frame(slots=(12,), ints=(3,), errors=(8,))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pyaccad.backends.clike.cgen import Ctx
from pyaccad.ir import Var

_TOKEN = re.compile(r"(\bE\[\d+\]|\bPA_FAIL_AT\(\d+|\b[A-Za-z_]\w*\d\b)")
"""What a kernel numbers module-wide: an integer's slot, an error id, a name ending in a digit (as every name the
printer makes does: a prefix and a number)."""


class CudaCtx(Ctx):
    """The printer's state for one CUDA module: also the slot each buffer is in, and what a kernel's text is
    renumbered by (:func:`localise`): the prefix of every name :meth:`fresh` made, and each buffer pointer's
    C type and slot, by name."""

    def __init__(self) -> None:
        super().__init__()
        self.slots: dict[Var, int] = {}
        self.prefixes: dict[str, str] = {}
        self.pointers: dict[str, tuple[str, int]] = {}

    def fresh(self, prefix: str = "v") -> str:
        name = super().fresh(prefix)
        self.prefixes[name] = prefix
        return name


@dataclass(frozen=True)
class Frame:
    """What a kernel's local numbers stand for: its ``B[k]`` is the module's slot ``slots[k]``, its ``E[k]`` the
    printer's run-time integer ``ctx.ints[ints[k]]``, its error id ``k + 1`` the printer's error
    ``ctx.errors[errors[k]]``."""

    slots: tuple[int, ...]
    ints: tuple[int, ...]
    errors: tuple[int, ...]


def localise(ctx: CudaCtx, name: str, lines: list[str]) -> tuple[str, Frame]:
    """The ``__global__`` function ``name`` whose body is ``lines``, renumbered (see the module doc), and its
    frame; the buffers it names (``ctx.pointers``) are declared first, taken from ``B``."""
    parts = _TOKEN.split("\n".join(lines))  # text, token, text, token, ..., text
    prefixes = ctx.prefixes
    tokens = dict.fromkeys(parts[1::2])  # each once, in order
    taken = {token for token in tokens if token not in prefixes}  # a renumbered name is none of these
    new: dict[str, str] = {}
    ints: list[int] = []
    errors: list[int] = []
    names = 0
    for token in tokens:
        if token.startswith("E["):
            new[token] = f"E[{len(ints)}]"
            ints.append(int(token[2:-1]))
        elif token.startswith("PA_FAIL_AT("):
            errors.append(int(token[11:]) - 1)
            new[token] = f"PA_FAIL_AT({len(errors)}"
        elif token not in prefixes:
            new[token] = token
        else:
            names += 1
            while f"{prefixes[token]}{names}" in taken:
                names += 1
            new[token] = f"{prefixes[token]}{names}"
    parts[1::2] = [new[token] for token in parts[1::2]]
    buffers = [(new[token], *ctx.pointers[token]) for token in tokens if token in ctx.pointers]
    head = f'extern "C" __global__ void {name}(const int64_t *E, void *const *B, int64_t *R) {{'
    pointers = [f"    {ctype} *{buf} = ({ctype} *)B[{k}];" for k, (buf, ctype, _) in enumerate(buffers)]
    frame = Frame(tuple(slot for _, _, slot in buffers), tuple(ints), tuple(errors))
    return "\n".join([head, *pointers, "".join(parts), "}"]), frame
