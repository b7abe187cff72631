"""The optimiser stage: IR → IR passes run before a backend sees a program.

``optimize(program, backend)`` is the pipeline a backend gets: ``custom_rule``
bodies spliced in (derivative rules have done their work), then the named
passes of :data:`PASSES` (constant folding, algebraic simplification, CSE,
DCE), repeated until the program stops changing (at most
:data:`MAX_ROUNDS` rounds), since each pass exposes work for the others, and
last ``remat`` bodies spliced in (:mod:`pyaccad.opt.inline_rules`: after the
last CSE, so a checkpoint's recomputation is never merged with stored values).
Every pass keeps :func:`pyaccad.ir.verify` green and results identical to the
input program under ``interp``. Fusion is not here: the backends that fuse
(``native``, ``cuda``) apply :mod:`pyaccad.opt.fusion` to this pipeline's
output themselves.

As in Futhark, any stage can be printed: :func:`stages` returns each pass's
output, and ``PYACCAD_DUMP_PASSES=1`` prints them to stderr as ``optimize``
runs.

>>> import numpy as np
>>> from pyaccad.frontend import trace
>>> from pyaccad.opt import optimize, stages
>>> prog = trace(lambda x: x * 1.0 + 0.0, np.ones(3)).program
>>> len(optimize(prog, "interp").stmts)
0
>>> [name for name, _ in stages(prog)][:6]
['input', 'custom_rules', 'constant_fold', 'simplify', 'cse', 'dce']
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator

from pyaccad.ir import Program, pprint
from pyaccad.opt.constant_fold import constant_fold
from pyaccad.opt.cse import cse
from pyaccad.opt.dce import dce
from pyaccad.opt.inline_rules import inline_custom_rules, inline_remat
from pyaccad.opt.keys import program_key
from pyaccad.opt.simplify import simplify

Pass = Callable[[Program], Program]

PASSES: tuple[tuple[str, Pass], ...] = (
    ("constant_fold", constant_fold),
    ("simplify", simplify),
    ("cse", cse),
    ("dce", dce),
)
"""The pipeline, in order: each entry is a pass's name and its function."""

MAX_ROUNDS = 4
"""Rounds of :data:`PASSES` at most; one more round after a change usually finds nothing."""


def stages(program: Program) -> list[tuple[str, Program]]:
    """``[("input", program), (pass name, its output), ...]`` for every pass run, in order.

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> prog = trace(lambda x: -(-x), np.ones(2)).program
    >>> [(name, len(p.stmts)) for name, p in stages(prog)][:6]
    [('input', 2), ('custom_rules', 2), ('constant_fold', 2), ('simplify', 1), ('cse', 1), ('dce', 0)]
    """
    return list(_stages(program))


def _stages(program: Program) -> Iterator[tuple[str, Program]]:
    yield "input", program
    program = inline_custom_rules(program)
    yield "custom_rules", program
    before = program_key(program)
    for _ in range(MAX_ROUNDS):
        for name, run in PASSES:
            program = run(program)
            yield name, program
        after = program_key(program)
        if after == before:
            break
        before = after
    yield "remat", inline_remat(program)


def optimize(program: Program, backend: str) -> Program:
    """The program as the backend ``backend`` should run it (every backend gets the same passes today)."""
    dump = os.environ.get("PYACCAD_DUMP_PASSES")
    # Each stage is let go once the next exists: holding all of them (as stages() does) triples a large
    # program's heap, and Python's full garbage collections, which walk all of it, grew faster than linearly.
    for name, stage in _stages(program):
        if dump:
            print(f"-- {name} ({backend}) --\n{pprint(stage)}", file=sys.stderr)
    return stage


__all__ = ["MAX_ROUNDS", "PASSES", "constant_fold", "cse", "dce", "optimize", "simplify", "stages"]
