"""Kernel plans: a program grouped into the kernels a compiled backend runs.

Fusion (:mod:`pyaccad.opt.fusion`) decides which array values are *manifest*
(written to memory) and which are *delayed* (recomputed inside each kernel
that reads them, as accelerate does for its delayed arrays). A :class:`Plan`
lists the kernels in execution order; each :class:`Kernel` computes the
statements in ``roots`` and inlines the delayed producers in ``fused``. The
bodies of array-level ``while``/``cond`` get plans of their own, run by the
host between kernels. Backends (native C, CUDA) share this structure.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad.frontend import trace
>>> from pyaccad.opt.fusion import plan_program
>>> p = plan_program(trace(lambda x: acc.exp(x) + x, np.ones(3)).program)
>>> [k.kind for k in p.kernels], [s.prim.name for s in p.kernels[0].fused]
(['map'], ['exp'])
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pyaccad.ir import Atom, Lit, Program, Stmt, Var, pprint


@dataclass
class Kernel:
    """One kernel: the skeleton, the statements it computes, the producers fused into it."""

    kind: str  # "map", "fold", "scan", "permute", "stencil", "matmul", "while", "cond"
    roots: list[Stmt]
    fused: list[Stmt] = field(default_factory=list)
    bodies: dict[str, Plan] = field(default_factory=dict)

    @property
    def outs(self) -> list[Var]:
        return [v for s in self.roots for v in s.outs]


@dataclass
class Plan:
    """The kernels of one program (or control body) in execution order, and its delayed values."""

    program: Program
    kernels: list[Kernel]
    delayed: dict[Var, Stmt]
    consts: list[Stmt] = field(default_factory=list)  # live acc.use statements (buffers, not kernels)
    row_groups: dict[int, Any] = field(default_factory=dict)
    """First kernel -> :class:`pyaccad.opt.rows.RowGroup`: runs of kernels sharing one loop over rows, for a
    backend that runs them so (:func:`pyaccad.opt.rows.group_rows` sets them with the backend's limits)."""
    in_loop: bool = False
    """A ``while`` body or condition, or inside one: it runs once per trip (:func:`.fusion.plan_program`)."""

    def count(self) -> int:
        """The number of kernels, counting those inside control bodies (what fusion tests assert).

        >>> import numpy as np
        >>> from pyaccad.frontend import trace
        >>> from pyaccad.opt.fusion import plan_program
        >>> plan_program(trace(lambda x: -(x + x), np.ones(3)).program).count()
        1
        """
        return sum(1 + sum(b.count() for b in k.bodies.values()) for k in self.kernels)


def describe_plan(plan: Plan) -> str:
    """The program as text followed by its kernels, each with the statements fused into it.

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.opt.fusion import plan_program
    >>> import pyaccad as acc
    >>> print(describe_plan(plan_program(trace(lambda x: acc.sin(x) * x, np.ones(3)).program)))
    ... # doctest: +ELLIPSIS
    program (x: f64[3]) {
    ...
    kernels:
      1. map mul <- fused [sin] -> f64[3]
    """
    lines = [pprint(plan.program), "kernels:"]
    _kernel_lines(plan, lines, "  ")
    lines += [group.describe(first) for first, group in plan.row_groups.items()]
    return "\n".join(lines)


def _kernel_lines(plan: Plan, lines: list[str], indent: str) -> None:
    for n, kernel in enumerate(plan.kernels, 1):
        roots = " + ".join(s.prim.name for s in kernel.roots)
        fused = f" <- fused [{', '.join(s.prim.name for s in kernel.fused)}]" if kernel.fused else ""
        outs = ", ".join(str(v.type) for v in kernel.outs)
        lines.append(f"{indent}{n}. {kernel.kind} {roots}{fused} -> {outs}")
        for name, body in kernel.bodies.items():
            lines.append(f"{indent}   {name}:")
            _kernel_lines(body, lines, indent + "     ")
            lines += [f"{indent}     {group.describe(first)}" for first, group in body.row_groups.items()]


def in_place_components(cond: Program, body: Program) -> set[int]:
    """The state components a trip can update in place: the body's result is a ``permute`` onto the component
    (whose copy of its defaults a backend skips when they are its own result), and nothing else reads the component.

    A backend keeps such a component (a tape of states, :mod:`pyaccad.ad.transpose_rules.loop`) in one buffer:
    a trip writes its slots, where double buffers would copy the whole array every trip.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> def f(tape, x):  # state: (step, x, tape); the tape gets x in slot step
    ...     write = lambda s: acc.permute(lambda new, old: new, s[2], lambda i: (s[0], i), s[1])
    ...     return acc.awhile(lambda s: s[0] < 4, lambda s: (s[0] + 1, s[1] * 2.0, write(s)), (0, x, tape))
    >>> (loop,) = [s for s in trace(f, np.zeros((4, 2)), np.ones(2)).program.stmts if s.prim.name == "while"]
    >>> in_place_components(loop.params["cond"], loop.params["body"])
    {2}
    """
    uses = Counter(a for s in body.stmts for a in s.args if isinstance(a, Var))
    uses.update(v for s in body.stmts for sub in s.subprograms() for v in sub.free_vars)
    uses.update(a for a in body.outputs if isinstance(a, Var))
    read_by_cond = {a for s in cond.stmts for a in s.args} | {
        v for s in cond.stmts for sub in s.subprograms() for v in sub.free_vars
    }
    producers = {s.outs[0]: s for s in body.stmts if s.prim.name == "permute"}
    found = set()
    for j, (var, result) in enumerate(zip(body.inputs, body.outputs, strict=True)):
        scatter = producers.get(result) if isinstance(result, Var) else None
        if scatter is not None and scatter.args[0] is var and uses[var] == 1 and cond.inputs[j] not in read_by_cond:
            found.add(j)
    return found


def output_sources(plan: Plan) -> list[tuple[str, object]]:
    """Where each output of ``plan``'s program comes from, for a backend's runtime: ``("buffer", n)``, a kernel
    writes it into output buffer ``n`` (the first time a produced value is returned); ``("output", k)``, the
    same value as output ``k``; ``("input", i)``; ``("const", j)``, the plan's ``j``-th constant;
    ``("lit", value)``.

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.opt import optimize
    >>> from pyaccad.opt.fusion import plan_program
    >>> program = optimize(trace(lambda x: (x * 2.0, x, x * 2.0), np.ones(3)).program, "native")
    >>> output_sources(plan_program(program))
    [('buffer', 0), ('input', 0), ('output', 0)]
    """
    program = plan.program
    produced = {v for k in plan.kernels for v in k.outs}
    consts = {id(s.outs[0]): j for j, s in enumerate(plan.consts)}
    outputs: list[tuple[str, object]] = []
    first: dict[Var, int] = {}
    for n, a in enumerate(program.outputs):
        if isinstance(a, Lit):
            outputs.append(("lit", a.value))
        elif a in first:
            outputs.append(("output", first[a]))
        elif a in produced:
            first[a] = n
            outputs.append(("buffer", n))
        elif a in program.inputs:
            outputs.append(("input", program.inputs.index(a)))
        else:
            outputs.append(("const", consts[id(a)]))
    return outputs


def forget_made(plan: Plan, placed: MutableMapping[Var, Any]) -> None:
    """Drop from ``placed`` (a generator's buffer names or slots, by value) the values ``plan``'s statements make,
    before a generator emits a control body's ``plan``.

    One body program may stand in two statements: a rewrite that copies a ``while`` with other arguments keeps
    its ``cond`` and ``body`` (the same ``Var`` objects), and each copy makes those values once a trip. Each
    emission must place them anew: a name the first left is out of the second's scope (a C compile error), and
    a workspace slot placed for the first is free again after it (its memory may hold another value by then).

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.opt.fusion import plan_program
    >>> plan = plan_program(trace(lambda x: acc.exp(x) + x, np.ones(3)).program)
    >>> placed = {plan.program.inputs[0]: "in0", plan.kernels[0].outs[0]: "nxt7"}
    >>> forget_made(plan, placed)
    >>> list(placed.values())
    ['in0']
    """
    for stmt in plan.program.stmts:
        for var in stmt.outs:
            placed.pop(var, None)


T = TypeVar("T")


def body_outputs(
    plan: Plan, targets: Sequence[T], placed: Container[Var]
) -> tuple[list[tuple[Var, T]], list[tuple[T, Atom]]]:
    """How the outputs of a control body's ``plan`` reach the buffers ``targets`` its enclosing loop or branch
    gives them: ``(written, copies)``. A value a kernel of the plan produces, not yet in a buffer (``placed``),
    is ``written`` by that kernel straight into its target; any other output (an input, a literal, a value
    returned twice) is copied into its target after the plan's kernels.

    >>> import numpy as np
    >>> from pyaccad.frontend import trace
    >>> from pyaccad.opt.fusion import plan_program
    >>> plan = plan_program(trace(lambda x: (x * 2.0, x), np.ones(3)).program)
    >>> written, copies = body_outputs(plan, ["t0", "t1"], set())
    >>> [t for _, t in written], [t for t, _ in copies]
    (['t0'], ['t1'])
    """
    produced = {v for k in plan.kernels for v in k.outs}
    written: list[tuple[Var, T]] = []
    copies: list[tuple[T, Atom]] = []
    for target, a in zip(targets, plan.program.outputs, strict=True):
        if isinstance(a, Var) and a in produced and a not in placed and all(a is not v for v, _ in written):
            written.append((a, target))
        else:
            copies.append((target, a))
    return written, copies
