"""Loops that compute part of another loop: a ``while`` whose state follows an earlier ``while``'s.

Reverse mode leaves such loops behind. The gradient of a loop runs the loop
forward once for its value and once more counting trips (so that the reverse
loop knows how many to take); once dead-code elimination has trimmed the
second copy to what its count needs, it holds a trip counter and a copy of
the forward loop's own counter, nothing else, and repeats the forward loop's
trips for no new value.

A later loop ``B`` *projects* an earlier loop ``A`` through a map ``σ`` from
``B``'s state components to ``A``'s when

* ``B``'s initial value ``j`` is the same atom as ``A``'s initial value ``σ(j)``;
* ``B``'s body computes its result ``j`` from its state exactly as ``A``'s body
  computes its result ``σ(j)``, reading ``B``'s component ``k`` where ``A``'s
  reads ``σ(k)``; and ``B``'s condition is ``A``'s, read the same way. Both are
  compared as CSE compares statements (:mod:`pyaccad.opt.keys`: up to renaming
  of bound variables), with the two loops' state named by ``A``'s positions.

Then before every trip ``B``'s state is ``A``'s seen through ``σ`` (both start so,
and each next state follows), both conditions agree, both loops stop after the
same trips, and ``B``'s result ``j`` is ``A``'s result ``σ(j)``. Nothing of ``A``'s
state outside the image of ``σ`` can matter: ``B``'s result ``j`` reads only ``B``'s
state, so ``A``'s result ``σ(j)``, being the same computation, reads only the image.
``σ`` need not be one-to-one: a trip counter that starts and steps as ``A``'s
counter does is that counter. Two loops with identical state, condition and
body are the case ``σ = identity`` (which CSE's statement keys already merge).

>>> import numpy as np, pyaccad as acc
>>> from pyaccad.frontend import trace
>>> from pyaccad.opt import optimize
>>> def f(x):
...     zero = acc.fill((), 0, "int64")
...     _, y = acc.awhile(lambda s: acc.the(s[0]) < 3, lambda s: (s[0] + 1, s[1] * 0.5), (zero, x))
...     (n,) = acc.awhile(lambda s: acc.the(s[0]) < 3, lambda s: (s[0] + 1,), (zero,))
...     return y, n
>>> program = trace(f, np.ones(2)).program
>>> first, second = [s for s in program.stmts if s.prim.name == "while"]
>>> projection(second, first)  # the second loop's state is the first loop's component 0
(0,)
>>> [s.prim.name for s in optimize(program, "native").stmts].count("while")
1
"""

from __future__ import annotations

import itertools
from collections.abc import Hashable, Sequence

from pyaccad.ir import ArrayType, Atom, Program, Stmt, Var
from pyaccad.ir.rewrite import inline
from pyaccad.opt.dce import prune
from pyaccad.opt.keys import atom_key, param_key, program_key

MAX_MAPPINGS = 64
"""How many maps ``σ`` :func:`projection` tries at most (several are possible where ``A`` starts components at
one value); past that it gives up, which only leaves a loop unmerged."""

_COMPARED_APART = ("cond", "body", "checkpoint")
"""Parameters :func:`projection` does not compare whole: the condition and body component by component, and
``checkpoint`` not at all, since it says only how reverse mode gets a loop's states back, never what the loop
computes (and the optimiser runs on programs already differentiated)."""


def projection(loop: Stmt, earlier: Stmt) -> tuple[int, ...] | None:
    """``σ`` with ``loop``'s result ``j`` equal to ``earlier``'s result ``σ[j]`` (both ``while`` statements of one
    scope, ``earlier`` first), or None where this module cannot show it."""
    if _other_params(loop) != _other_params(earlier):
        return None
    a_cond, a_body = earlier.params["cond"], earlier.params["body"]
    b_cond, b_body = loop.params["cond"], loop.params["body"]
    # Cheap filters first, since most pairs of loops differ: the same initial value, then the same computation
    # whatever the positions it reads.
    inits = [atom_key(a, {}) for a in earlier.args]
    candidates = [[i for i, a_init in enumerate(inits) if a_init == atom_key(init, {})] for init in loop.args]
    if not all(candidates):
        return None
    anywhere = {v.type: Var(v.type) for v in (*a_body.inputs, *b_body.inputs)}  # a component of any position
    a_erased, b_erased = _erased_keys(a_body, anywhere), _erased_keys(b_body, anywhere)
    candidates = [[i for i in same if a_erased[i] == b_erased[j]] for j, same in enumerate(candidates)]
    if not all(candidates):
        return None
    state = tuple(Var(v.type) for v in a_body.inputs)  # A's components, free in every key below
    a_results = [_key(a_body, i, state) for i in range(len(state))]
    a_test = _key(a_cond, None, state)
    for sigma in itertools.islice(itertools.product(*candidates), MAX_MAPPINGS):
        seen = [state[i] for i in sigma]
        if _key(b_cond, None, seen) == a_test and all(
            _key(b_body, j, seen) == a_results[i] for j, i in enumerate(sigma)
        ):
            return sigma
    return None


def projected_results(loop: Stmt, earlier: Sequence[Stmt]) -> tuple[Atom, ...] | None:
    """The results of the first of the ``earlier`` loops that ``loop`` projects, standing for ``loop``'s."""
    for other in earlier:
        sigma = projection(loop, other)
        if sigma is not None:
            return tuple(other.outs[i] for i in sigma)
    return None


def _erased_keys(body: Program, anywhere: dict[ArrayType, Var]) -> list[Hashable]:
    """Each result's key with every state component of one type read as the same variable."""
    state = [anywhere[v.type] for v in body.inputs]
    return [_key(body, k, state) for k in range(len(body.outputs))]


def _other_params(stmt: Stmt) -> Hashable:
    return tuple(sorted((k, param_key(v, {})) for k, v in stmt.params.items() if k not in _COMPARED_APART))


def _key(program: Program, output: int | None, state: Sequence[Var]) -> Hashable:
    """The key of what ``program`` computes for its output ``output`` (all for None), its inputs read as ``state``.

    ``state`` are variables free in the key (no program binds them), so two programs reading the same of them
    the same way have equal keys whatever their own inputs' names and positions.
    """
    pruned = prune(program, None if output is None else [output])
    stmts: list[Stmt] = []
    outputs = inline(pruned, state, stmts)
    return program_key(Program((), tuple(stmts), outputs))
