"""Loops (``awhile``'s host-side C) as functions of their own, each with the loops inside it called.

gcc's register allocation and its data-flow passes grow faster than the size of a function: the second
derivative of a loop (loops inside loops inside ``acond`` branches) was one function of 5 800 lines that took
gcc 12-14 s of CPU (30-40 s of wall time under load) on one core, most of it in ``df live regs``,
``integrated RA`` and LRA. So :func:`.program._control` marks the lines of each loop (:func:`begin`,
:func:`end`), and :func:`outline` moves every marked run of at least :data:`OUTLINE_LINES` lines (the loops
inside it moved already) into a ``static`` function of the same translation unit, called in its place::

    static __attribute__((noinline)) int pyaccad_loop7(void **B, const int64_t *E, double *cur3) {
        int err = 0;
        <the entry's declarations that the loop uses, its run-time integers as locals>
        double *cur9 = b4, *nxt10 = b5;  for (;;) { ... }  /* the loop, as it was */
    done:
        return err;
    }
    ...
    if ((err = pyaccad_loop7(B, E, cur3))) goto done;

The loop reads the entry's buffers and run-time integers through its own declarations (the same lines as the
entry's, so the same ``restrict`` qualifiers), and the state of the loops around it (:mod:`.control`'s
``cur``/``nxt`` pointers, which those loops swap between trips) as arguments. The kernels are the same
statements in the same order, so they compute the same bits. A loop is called once each time it runs, not
once a trip: the LSTM gradient with its trip's kernels as a function of their own took 1.55-1.59 ms against
1.33-1.48 ms (best of 30, three runs each, load 14). Not inside a loop's parallel region (:mod:`.region`):
every thread runs the region's lines, and no ``goto`` may leave it.

``noinline``: gcc inlines a static function called once, which would give back the one large function.

>>> lines = ["    double *cur3 = b1, *nxt4 = b2;", "    for (;;) {", begin(7), "        x = cur3[0];", end(7), "    }"]
>>> functions, body = outline(lines, ["    double *b1 = (double *)(W + E[0]);"], minimum=1)
>>> body[2]
'        if ((err = pyaccad_loop7(B, E, cur3))) goto done;'
>>> functions[0]
'static __attribute__((noinline)) int pyaccad_loop7(void **B, const int64_t *E, double *cur3) {'
"""

from __future__ import annotations

import re

OUTLINE_LINES = 60
"""The fewest lines of a loop made a function of its own: below it the call and the declarations cost about
as much to compile as they save."""

_MARK = re.compile(r"^\s*/\* pyaccad: loop (\d+) ([{}]) \*/$")
_NAME = re.compile(r"\b[A-Za-z_]\w*\b")
_DECLARED = re.compile(r"^\s*(?:const )?[\w ]*?\**\s*(?:restrict )?([A-Za-z_]\w*)(?: = |\[)")
_STATE = re.compile(r"\b(\w+) \*((?:cur|nxt)\d+) = [^,;]*(?:, \*(nxt\d+) = )?")


def begin(number: int) -> str:
    """The line before the lines of loop ``number``."""
    return f"/* pyaccad: loop {number} {{ */"


def end(number: int) -> str:
    """The line after them."""
    return f"/* pyaccad: loop {number} }} */"


def outline(lines: list[str], declarations: list[str], minimum: int = OUTLINE_LINES) -> tuple[list[str], list[str]]:
    """The static functions made of ``lines``' marked loops of at least ``minimum`` lines, and ``lines`` with
    each of them replaced by its call and every mark removed. ``declarations``: the entry's (each ``name =``
    something of ``B`` and ``E``), from which each function takes those it uses."""
    state = _state_types(lines)
    declared = {m.group(1): line for line in declarations if (m := _DECLARED.match(line))}
    functions: list[str] = []
    out: list[str] = []
    starts: list[int] = []
    for line in lines:
        mark = _MARK.match(line)
        if mark is None:
            out.append(line)
        elif mark.group(2) == "{":
            starts.append(len(out))
        else:
            start = starts.pop()
            if len(out) - start >= minimum:
                body = out[start:]
                del out[start:]
                indent = body[0][: len(body[0]) - len(body[0].lstrip())]
                call, function = _function(int(mark.group(1)), body, declared, state)
                out.append(indent + call)
                functions += function
    return functions, out


def _function(number: int, body: list[str], declared: dict[str, str], state: dict[str, str]) -> tuple[str, list[str]]:
    """The call of loop ``number``'s function and the function's lines."""
    used = _names(body)
    if "PA_FAIL_AT" in used:  # the prelude's macro records the failure in the entry's ``R``
        used.add("R")
    lines: list[str] = []
    while True:  # the declarations used, and those they use (the workspace ``W``, for its arrays)
        wanted = [line for name, line in declared.items() if name in used]
        if len(wanted) == len(lines):
            break
        lines = wanted
        used |= _names(lines)
    inner = _state_types(body)  # the state of the loops inside: declared there
    arguments = [name for name in state if name in used and name not in inner]
    name = f"pyaccad_loop{number}"
    parameters = "".join(f", {state[a]} *{a}" for a in arguments)
    head = f"static __attribute__((noinline)) int {name}(void **B, const int64_t *E{parameters}) {{"
    function = [head, "    int err = 0;", *lines, *extent_locals(body, always=True), "done:", "    return err;", "}"]
    call = f"if ((err = {name}(B, E{''.join(', ' + a for a in arguments)}))) goto done;"
    return call, function


def _names(lines: list[str]) -> set[str]:
    return {name for line in lines for name in _NAME.findall(line)}


def _state_types(lines: list[str]) -> dict[str, str]:
    """The C element type of each loop state pointer (``cur``/``nxt``, :mod:`.control`) declared in ``lines``."""
    types: dict[str, str] = {}
    for line in lines:
        for ctype, cur, nxt in _STATE.findall(line):
            types[cur] = ctype
            if nxt:
                types[nxt] = ctype
    return types


_EXTENT = re.compile(r"\bE\[(\d+)\]")


def extent_locals(part: list[str], always: bool = False) -> list[str]:
    """``part``'s lines (a function's) reading each run-time integer ``E[n]`` from a local ``En`` declared
    before them.

    A local whose address is never taken is loop-invariant to gcc; a load of ``E[n]`` inside a loop, read
    again on every iteration, was not hoisted out of long loops (an element loop of the LSTM's trip), so an
    index built from it was no affine function of the loop index, and a guarded load at it (a ``backpermute``)
    a masked gather that gcc cannot vectorise: the whole loop ran scalar, ``exp`` and ``tanh`` included.

    Only in a part that holds a loop (``for (;;)``), or ``always`` (a loop's function, :func:`outline`): outside
    loops nothing is read again, and a thousand locals live across one long function made gcc 4x slower on a
    3-D stencil's gradient (the CI suite's compile time).

    >>> extent_locals(["for (;;) {", "for (j = 0; j < E[3]; j++) x[j] = E[3] * E[10];", "}"])[:2]
    ['    const int64_t E3 = E[3];', '    const int64_t E10 = E[10];']
    >>> extent_locals(["x[0] = E[3];"])
    ['x[0] = E[3];']
    """
    if not always and not any("for (;;)" in line for line in part):
        return part
    slots: dict[str, None] = {}

    def local(match: re.Match) -> str:
        slots.setdefault(match.group(1))
        return f"E{match.group(1)}"

    lines = [_EXTENT.sub(local, line) for line in part]
    return [f"    const int64_t E{n} = E[{n}];" for n in slots] + lines
