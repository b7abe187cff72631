"""Loops that compute part of another loop: a ``while`` whose state follows another ``while``'s.

Reverse mode leaves such loops behind. The gradient of a loop runs the loop
forward once for its value and once more counting trips (so that the reverse
loop knows how many to take). Where the loop has a counter, dead-code
elimination trims that second copy to a trip counter and a copy of the
counter, which follow the forward loop's counter; where its condition reads
its values, the copy keeps them all, and the forward loop's whole state
follows the copy's.

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

CSE (:mod:`pyaccad.opt.cse`) drops a later loop that projects an earlier one
(:func:`projected_results`), and puts a later loop that an earlier one projects
(one-to-one) in the earlier one's place where what it reads is computed there
(:func:`absorb`). Literals broadcast by statements that read no variable
(:func:`closed`) compare by value wherever they stand: CSE makes a loop body
read such a statement of an enclosing scope where one exists, so one of two
equal loops may hold its own and the other read the enclosing scope's.

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
from collections.abc import Hashable, Mapping, Sequence

from pyaccad.ir import ArrayType, Atom, Program, Stmt, Var
from pyaccad.ir.rewrite import inline
from pyaccad.opt.dce import prune
from pyaccad.opt.keys import atom_key, param_key, program_key, stmt_key

MAX_MAPPINGS = 64
"""How many maps ``σ`` :func:`projection` tries at most (several are possible where ``A`` starts components at
one value); past that it gives up, which only leaves a loop unmerged."""

_COMPARED_APART = ("cond", "body", "checkpoint")
"""Parameters :func:`projection` does not compare whole: the condition and body component by component, and
``checkpoint`` not at all, since it says only how reverse mode gets a loop's states back, never what the loop
computes (and the optimiser runs on programs already differentiated)."""


def projection(loop: Stmt, earlier: Stmt, fixed: Mapping[Var, Stmt] | None = None) -> tuple[int, ...] | None:
    """``σ`` with ``loop``'s result ``j`` equal to ``earlier``'s result ``σ[j]`` (two ``while`` statements of one
    scope), or None where this module cannot show it.

    ``fixed`` maps variables of enclosing scopes to their :func:`closed` definitions: CSE may have made one loop
    read an enclosing scope's ``broadcast_in_dim`` of a literal where the other computes its own.
    """
    fixed = fixed or {}
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
    a_erased, b_erased = _erased_keys(a_body, anywhere, fixed), _erased_keys(b_body, anywhere, fixed)
    candidates = [[i for i in same if a_erased[i] == b_erased[j]] for j, same in enumerate(candidates)]
    if not all(candidates):
        return None
    state = tuple(Var(v.type) for v in a_body.inputs)  # A's components, free in every key below
    a_results = [_key(a_body, i, state, fixed) for i in range(len(state))]
    a_test = _key(a_cond, None, state, fixed)
    for sigma in itertools.islice(itertools.product(*candidates), MAX_MAPPINGS):
        seen = [state[i] for i in sigma]
        if _key(b_cond, None, seen, fixed) == a_test and all(
            _key(b_body, j, seen, fixed) == a_results[i] for j, i in enumerate(sigma)
        ):
            return sigma
    return None


Signature = tuple[Hashable, frozenset[Hashable]]
"""A loop's :func:`signature`."""


def signature(loop: Stmt) -> Signature:
    """What :func:`projection` checks first, for a cheaper test: the parameters compared whole, and the keys
    of the initial values."""
    return _other_params(loop), frozenset(atom_key(a, {}) for a in loop.args)


def may_project(loop: Signature, earlier: Signature) -> bool:
    """False where :func:`projection` of loops of these signatures returns None for certain: other parameters
    differ, or one of ``loop``'s initial values is none of ``earlier``'s."""
    return loop[0] == earlier[0] and loop[1] <= earlier[1]


def projected_results(
    loop: Stmt, earlier: Sequence[Stmt], fixed: Mapping[Var, Stmt] | None = None
) -> tuple[Atom, ...] | None:
    """The results of the first of the ``earlier`` loops that ``loop`` projects, standing for ``loop``'s."""
    for other in earlier:
        sigma = projection(loop, other, fixed)
        if sigma is not None:
            return tuple(other.outs[i] for i in sigma)
    return None


def absorb(loop: Stmt, stmts: list[Stmt], fixed: Mapping[Var, Stmt]) -> tuple[Stmt, Stmt] | None:
    """Put ``loop`` in the place of an earlier loop of ``stmts`` that it extends (the earlier loop projects it,
    each of its components following a different one of ``loop``'s), binding the earlier loop's results there.

    Only where everything ``loop`` reads is computed before that place, or by :func:`closed` statements, which
    move up with it. Returns ``(the replaced loop, the placed statement)``, or None with ``stmts`` unchanged.
    """
    where = {var: k for k, stmt in enumerate(stmts) for var in stmt.outs}
    reads = Program((), (loop,), ()).free_vars
    for position in reversed(range(len(stmts))):
        earlier = stmts[position]
        if earlier.prim.name != "while":
            continue
        late = sorted({where[v] for v in reads if where.get(v, -1) >= position})
        if not all(closed(stmts[k]) for k in late):
            continue  # it reads what is computed after the earlier loop (that loop's results included)
        sigma = projection(earlier, loop, fixed)
        if sigma is None or len(set(sigma)) != len(sigma):
            continue
        outs = list(loop.outs)
        for i, m in enumerate(sigma):
            outs[m] = earlier.outs[i]
        placed = Stmt(loop.prim, loop.args, loop.params, tuple(outs), loop.source)
        moved = [stmts[k] for k in late]
        stmts[position:] = [*moved, placed, *(s for k, s in enumerate(stmts) if k > position and k not in late)]
        return earlier, placed
    return None


def closed(stmt: Stmt) -> bool:
    """Whether ``stmt`` reads no variable (a literal's ``broadcast_in_dim``, a ``const``): it has one value
    wherever it stands."""
    return not stmt.prim.subprogram_params and not any(isinstance(a, Var) for a in stmt.args)


def _erased_keys(body: Program, anywhere: dict[ArrayType, Var], fixed: Mapping[Var, Stmt]) -> list[Hashable]:
    """Each result's key with every state component of one type read as the same variable."""
    state = [anywhere[v.type] for v in body.inputs]
    return [_key(body, k, state, fixed) for k in range(len(body.outputs))]


def _other_params(stmt: Stmt) -> Hashable:
    return tuple(sorted((k, param_key(v, {})) for k, v in stmt.params.items() if k not in _COMPARED_APART))


def _key(program: Program, output: int | None, state: Sequence[Var], fixed: Mapping[Var, Stmt]) -> Hashable:
    """The key of what ``program`` computes for its output ``output`` (all for None), its inputs read as ``state``.

    ``state`` are variables free in the key (no program binds them), so two programs reading the same of them
    the same way have equal keys whatever their own inputs' names and positions. The closed statements it
    computes, and those of ``fixed`` that define what it reads, come first, in one order: one loop's literal
    read from an enclosing scope then keys as the other's own.
    """
    pruned = prune(program, None if output is None else [output])
    body: list[Stmt] = []
    outputs = inline(pruned, state, body)
    defined = {id(fixed[v]): fixed[v] for v in Program((), tuple(body), outputs).free_vars if v in fixed}
    stmts = [*defined.values(), *body]
    first = sorted((s for s in stmts if closed(s)), key=lambda s: hash(stmt_key(s)))  # one order within a process
    return program_key(Program((), (*first, *(s for s in stmts if not closed(s))), outputs))
