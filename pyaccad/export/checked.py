"""Checked reads: a program that also says whether every read it made was inside its array.

accelerate does not check the indices of its reads (``a ! ix`` outside ``a`` is undefined behaviour in
accelerate-llvm: garbage, or a crash of the process that loaded the library), where pyaccad's other
backends raise :class:`pyaccad.IndexOutOfBounds`. The bridge therefore runs :func:`checked_reads`'s
version of a program: every read inside a lambda becomes a *checked* ``index`` statement, which reads
only where the index is inside the array (``undef`` elsewhere: memory safe) and yields a flag beside
the value; a ``backpermute`` becomes the ``generate`` of such a read, and a ``permute`` drops a target
outside its result (as accelerate's ``Nothing_``) and flags it. The flags follow the control flow: only
a taken ``cond`` branch's reads count (the branches return their flag), a ``while`` carries the flag
in its state (from the reads before it, whose garbage could keep it running, through every trip's
body), stops when a read fails and checks its condition's reads once more on the final state, a
``custom_rule``/``remat`` body returns its flag, and each collective operation whose lambda reads
has its flags computed by a second operation (fused into their fold) and folded to one, the fold
starting from the flag so far. A read that every element of a ``generate``/``map`` makes at the same
index (but for the ``generate``'s own indices), and a ``permute`` whose targets are alike
(:func:`_decided_by_the_last`), are checked once instead, by a one-element ``generate`` (:func:`_once`):
a loop reading or writing one row per trip then pays one small operation, not a fold of flags.
The program gets one more output, a rank-0 bool: True where every read was inside its array. Where it
is False the bridge runs the program on the interpreter, which raises the exact error.

Not followed (the read is still memory safe, but a failure there is not reported): reads inside
``fold``/``scan`` combiners and ``stencil`` lambdas, whose flags have no way out of accelerate's
operation.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad.frontend import trace
>>> program = trace(lambda x: acc.generate((2,), lambda i: x[i + 2]), np.ones(3)).program
>>> checked = checked_reads(program)
>>> [str(t) for t in checked.output_types]
['f64[2]', 'bool[]']
>>> [s.prim.name for s in checked.stmts]  # the values, the flags, the flags folded
['generate', 'generate', 'fold']
"""

from __future__ import annotations

from collections.abc import Sequence

from pyaccad.export.symbolic import SymInt
from pyaccad.ir import BOOL, PRIMITIVES, Atom, Lit, Program, Stmt, Var
from pyaccad.ir.rewrite import substitute
from pyaccad.ir.types import INDEX_DTYPE, ArrayType

_AND, _INDEX = PRIMITIVES["and"], PRIMITIVES["index"]
_TRUE = Lit(True, BOOL)
_FLAG = ArrayType(BOOL, ())


def checked_reads(program: Program) -> Program:
    """``program`` with its reads checked and one more output, True where all were in bounds (module doc)."""
    stmts, flag = _stmts(program.stmts)
    return Program(program.inputs, tuple(stmts), (*program.outputs, flag))


def _flag(hint: str = "ok") -> Var:
    return Var(_FLAG, hint)


def _both(a: Atom, b: Atom, out: list[Stmt]) -> Atom:
    """``a && b`` (a statement appended to ``out`` unless either is the literal True)."""
    if a is _TRUE:
        return b
    if b is _TRUE:
        return a
    result = _flag()
    out.append(Stmt(_AND, (a, b), {}, (result,)))
    return result


def _stmts(stmts: Sequence[Stmt], flag: Atom = _TRUE) -> tuple[list[Stmt], Atom]:
    """The statements with their reads checked, and the flag (``flag`` and theirs: ``True`` where nothing reads)."""
    out: list[Stmt] = []
    for stmt in stmts:
        rule = _RULES.get(stmt.prim.name)
        if rule is not None:
            flag = rule(stmt, out, flag)
        elif stmt.prim.subprogram_params:  # fold/scan combiners, stencils: their reads are made safe, not followed
            params = {**stmt.params, **{name: _guarded(sub) for name, sub in stmt.named_subprograms()}}
            out.append(Stmt(stmt.prim, stmt.args, params, stmt.outs, stmt.source))
        else:
            out.append(stmt)
    return out, flag


def _guarded(program: Program) -> Program:
    """``program`` whose reads (nested ones too) are checked reads, their flags unused: never outside an array."""
    stmts, _ = _stmts(program.stmts)
    return Program(program.inputs, tuple(stmts), program.outputs)


def _lambda(lam: Program) -> Program | None:
    """The lambda with its reads checked and its flag as one more output, or None where it reads nothing."""
    stmts, flag = _stmts(lam.stmts)
    return None if flag is _TRUE else Program(lam.inputs, tuple(stmts), (*lam.outputs, flag))


def _index(stmt: Stmt, out: list[Stmt], flag: Atom) -> Atom:
    if len(stmt.args) == 1 or stmt.params.get("checked") or inside_at_trace(stmt):
        out.append(stmt)  # a rank-0 array's one element; a read checked apart; one inside wherever it runs
        return flag
    ok = _flag()
    out.append(Stmt(stmt.prim, stmt.args, {**stmt.params, "checked": True}, (*stmt.outs, ok), stmt.source))
    return _both(flag, ok, out)


def inside_at_trace(stmt: Stmt) -> bool:
    """Whether the read ``stmt`` is inside its array at every run: literal indices within fixed extents (an
    extent that varies with the inputs, :class:`SymInt`, is known only then).

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> lam = trace(lambda x: acc.generate((2,), lambda i: x[1] + x[i]), np.ones(3)).program.stmts[0].params["lam"]
    >>> [inside_at_trace(s) for s in lam.stmts if s.prim.name == "index"]
    [True, False]
    """
    array, *indices = stmt.args
    return all(
        isinstance(i, Lit) and not isinstance(i.value, SymInt) and not isinstance(n, SymInt) and 0 <= i.value < n
        for i, n in zip(indices, array.type.shape, strict=True)
    )


def _cond(stmt: Stmt, out: list[Stmt], flag: Atom) -> Atom:
    branches = [_stmts(stmt.params[name].stmts) for name in ("then_", "else_")]
    if all(branch_flag is _TRUE for _, branch_flag in branches):
        out.append(stmt)
        return flag
    params = dict(stmt.params)
    for name, (stmts, branch_flag) in zip(("then_", "else_"), branches, strict=True):
        params[name] = Program((), tuple(stmts), (*stmt.params[name].outputs, branch_flag))
    ok = _flag()
    out.append(Stmt(stmt.prim, stmt.args, params, (*stmt.outs, ok), stmt.source))
    return _both(flag, ok, out)


def _while(stmt: Stmt, out: list[Stmt], flag: Atom) -> Atom:
    """The loop's state carries the flag, from the reads before it (a loop whose bound was read out of bounds
    would run on garbage) through every trip's body; a failed read ends the loop."""
    cond, body = stmt.params["cond"], stmt.params["body"]
    state_in, cond_in = _flag("okSoFar"), _flag("okSoFar")
    cond_stmts, cond_flag = _stmts(cond.stmts, cond_in)
    body_stmts, body_out = _stmts(body.stmts, state_in)
    if flag is _TRUE and cond_flag is cond_in and body_out is state_in:
        out.append(stmt)  # nothing read before or inside
        return flag
    (going,) = cond.outputs
    going = _both(cond_flag, going, cond_stmts)
    params = dict(stmt.params)
    params["cond"] = Program((*cond.inputs, cond_in), tuple(cond_stmts), (going,))
    params["body"] = Program((*body.inputs, state_in), tuple(body_stmts), (*body.outputs, body_out))
    ok = _flag()
    out.append(Stmt(stmt.prim, (*stmt.args, flag), params, (*stmt.outs, ok), stmt.source))
    if cond_flag is cond_in:
        return ok
    # The condition's reads at the final state: the loop stopped there, perhaps because one of them failed.
    final_state = dict(zip((*cond.inputs, cond_in), (*stmt.outs, ok), strict=True))
    final = substitute(Program((), tuple(cond_stmts), (cond_flag,)), final_state)
    out.extend(final.stmts)
    return final.outputs[0]


def _collective(stmt: Stmt, out: list[Stmt], flag: Atom) -> Atom:
    """``generate``/``map``: the values as before (their reads made safe), and the flags of the elements by the
    same operation of a copy of the lambda that keeps only its flag, folded to one flag; the reads that
    :func:`_once` checks once for all elements leave that flag.

    Two operations, not one of pairs: the values stay fusible into their consumers, and the flags' operation
    fuses into the fold (an array of pairs would be written to memory, being read twice). But one operation
    for one element (a scalar loop's ``generate``, :mod:`.scalar_loops`): its flag is one more result.
    """
    lam, flag = _once(stmt, out, flag)
    checked = _lambda(lam)
    if checked is None:
        same = lam is stmt.params["lam"]
        out.append(stmt if same else Stmt(stmt.prim, stmt.args, {**stmt.params, "lam": lam}, stmt.outs, stmt.source))
        return flag
    lam = checked
    *values, lam_flag = lam.outputs
    if not stmt.outs[0].shape:  # one element: its flag is one more result, and the lambda (a loop?) runs once
        ok = _flag()
        out.append(Stmt(stmt.prim, stmt.args, {**stmt.params, "lam": lam}, (*stmt.outs, ok), stmt.source))
        return _both(flag, ok, out)
    out.append(
        Stmt(
            stmt.prim,
            stmt.args,
            {**stmt.params, "lam": Program(lam.inputs, lam.stmts, tuple(values))},
            stmt.outs,
            stmt.source,
        )
    )
    flags = Var(ArrayType(BOOL, stmt.outs[0].shape), "oks")
    only_flag = substitute(Program(lam.inputs, lam.stmts, (lam_flag,)), {})
    out.append(Stmt(stmt.prim, stmt.args, {**stmt.params, "lam": only_flag}, (flags,), stmt.source))
    return _all(flags, flag, out)


def _once(stmt: Stmt, out: list[Stmt], flag: Atom) -> tuple[Program, Atom]:
    """The reads of a ``generate``/``map`` lambda that can be checked once for all its elements, checked by one
    one-element ``generate`` appended to ``out``: the lambda with those reads checked (their flags unused), and
    ``flag`` and their check.

    Such a read runs for every element (it is in the lambda's body, not in a branch or a loop there), and on
    each axis its index is either the same for all elements (a literal, a value from outside, arithmetic on
    those: no read, no branch) or a ``generate``'s index along an axis of extent ``n``, whose elements read
    ``0`` to ``n - 1``: some element's read is outside exactly where the read at the last of those is, unless
    there are no elements. A loop reading the row ``t`` of an array (the LSTM's sequence) so checks one index
    per trip, where the elements' flags took a fold.
    """
    lam = stmt.params["lam"]
    extents = stmt.outs[0].shape
    if not all(extents):  # no elements: no reads
        return lam, flag
    ranges = dict(zip(lam.inputs, extents, strict=True)) if stmt.prim.name == "generate" else {}
    varying: set[Var] = set(lam.inputs)  # the values that may differ between elements
    defined: dict[Var, Stmt] = {}  # the others' statements
    stmts: list[Stmt] = []
    check: list[Stmt] = []  # the one-element generate's lambda: what the points need, the reads at them
    ok: Atom = _TRUE
    corners: dict[Var, list[int]] = {}  # per array read at literal points: the largest index along each axis
    for s in lam.stmts:
        free = [a for a in s.args if isinstance(a, Var)] + [v for sub in s.subprograms() for v in sub.free_vars]
        if any(v in varying for v in free):
            varying.update(s.outs)
        else:
            defined.update(dict.fromkeys(s.outs, s))
        found = _point(s, varying, defined, ranges, lam.stmts)
        if found is None:
            stmts.append(s)
            continue
        point, needed = found
        stmts.append(Stmt(s.prim, s.args, {**s.params, "checked": True}, (*s.outs, _flag("unused")), s.source))
        if _literal_point(point):  # inside where the largest index along each axis is: checked once, below
            corner = corners.setdefault(s.args[0], [0] * len(point))
            corners[s.args[0]] = [max(c, p.value) for c, p in zip(corner, point, strict=True)]  # type: ignore[union-attr]
            continue
        check += [d for d in needed if d not in check]
        ok = _both(ok, _checked_read(s.args[0], point, check, s.source), check)
    for array, corner in corners.items():
        ok = _both(ok, _checked_read(array, [Lit(i, INDEX_DTYPE) for i in corner], check, stmt.source), check)
    if ok is _TRUE:
        return lam, flag
    once = _checked_once(check, ok, extents, flag, out, stmt.source)
    return Program(lam.inputs, tuple(stmts), lam.outputs), once


def _literal_point(point: Sequence[Atom]) -> bool:
    """Whether ``point`` is plain literal indices, none negative (a read there is inside an array when a read
    at each axis's largest of them is)."""
    return all(isinstance(i, Lit) and not isinstance(i.value, SymInt) and i.value >= 0 for i in point)


def _checked_read(array: Atom, point: Sequence[Atom], out: list[Stmt], source: str | None) -> Var:
    """Whether ``point`` is inside ``array``: a checked read there appended to ``out``, its value unused."""
    inside, unused = _flag("inside"), Var(ArrayType(array.type.dtype, ()), "unused")
    out.append(Stmt(_INDEX, (array, *point), {"checked": True}, (unused, inside), source))
    return inside


def _checked_once(
    check: list[Stmt],
    ok: Atom,
    extents: Sequence[int],
    flag: Atom,
    out: list[Stmt],
    source: str | None,
    at: dict[Var, Atom] | None = None,
) -> Var:
    """``flag`` and ``ok``, which ``check`` computes for the elements of an operation of ``extents`` (the
    statements of its lambda, whose inputs ``at`` gives), by a one-element ``generate`` appended to ``out``.
    At a generic extent ``ok`` also holds where it is 0: there are then no elements, and no reads."""
    check = list(check)
    for n in extents:
        if isinstance(n, SymInt):
            empty = _flag("empty")
            check.append(Stmt(PRIMITIVES["eq"], (Lit(n, INDEX_DTYPE), Lit(0, INDEX_DTYPE)), {}, (empty,)))
            either = _flag()
            check.append(Stmt(PRIMITIVES["or"], (ok, empty), {}, (either,)))
            ok = either
    ok = _both(flag, ok, check)
    once = Var(_FLAG, "ok")
    lam = substitute(Program((), tuple(check), (ok,)), dict(at or {}))
    out.append(Stmt(PRIMITIVES["generate"], (), {"shape": (), "lam": lam}, (once,), source))
    return once


def _point(
    s: Stmt, varying: set[Var], defined: dict[Var, Stmt], ranges: dict[Var, int], order: Sequence[Stmt]
) -> tuple[list[Atom], list[Stmt]] | None:
    """Where a read ``s`` of every element is checked once (:func:`_once`), and the statements that compute that
    index from outside the lambda, in order; None where it is not such a read."""
    if s.prim is not _INDEX or len(s.args) == 1 or s.params.get("checked") or inside_at_trace(s):
        return None
    point: list[Atom] = []
    for i in s.args[1:]:
        if isinstance(i, Var) and i in ranges:  # a generate's index: its last value
            point.append(Lit(ranges[i] - 1, INDEX_DTYPE))
        elif isinstance(i, Var) and i in varying:
            return None
        else:
            point.append(i)
    needed: set[Stmt] = set()
    pending = [a for a in point if isinstance(a, Var) and a in defined]
    while pending:
        d = defined[pending.pop()]
        if d.prim is _INDEX and len(d.args) > 1 or d.prim.subprogram_params:  # a read that may fail, a branch
            return None
        needed.add(d)
        pending += [a for a in d.args if isinstance(a, Var) and a in defined]
    return point, [d for d in order if d in needed]


def _all(flags: Var, flag: Atom, out: list[Stmt]) -> Atom:
    """``flag`` and all of ``flags``: ``flags`` folded (innermost axis first, as accelerate folds), the last fold
    starting from ``flag`` (where a separate ``&&`` would be one more operation: a loop's trip runs each once)."""
    if not flags.shape:
        return _both(flag, flags, out)
    a, b, c = _flag(), _flag(), _flag()
    both = Program((a, b), (Stmt(_AND, (a, b), {}, (c,)),), (c,))
    for axis in reversed(range(len(flags.shape))):
        folded = Var(ArrayType(BOOL, flags.shape[:axis]), "oks" if axis else "ok")
        out.append(
            Stmt(PRIMITIVES["fold"], (flags, flag if axis == 0 else _TRUE), {"lam": both, "axis": axis}, (folded,))
        )
        flags = folded
    return flags


def _backpermute(stmt: Stmt, out: list[Stmt], flag: Atom) -> Atom:
    """The ``generate`` of a checked read of the source at the index lambda's result."""
    (x,), index = stmt.args, stmt.params["index"]
    if not x.shape:
        out.append(stmt)
        return flag
    value = Var(ArrayType(x.dtype, ()), "v")
    read = Stmt(_INDEX, (x, *index.outputs), {}, (value,), stmt.source)
    lam = Program(index.inputs, (*index.stmts, read), (value,))
    generate = Stmt(PRIMITIVES["generate"], (), {"shape": stmt.params["shape"], "lam": lam}, stmt.outs, stmt.source)
    return _collective(generate, out, flag)


def _permute(stmt: Stmt, out: list[Stmt], flag: Atom) -> Atom:
    """A target outside the result is dropped (accelerate would write there) and flagged, where it is kept.

    The flags come from a ``generate`` over the source of the same index lambda (a copy), whose target is
    checked against the result's extents by a checked read of ``defaults`` (its value unused).
    """
    defaults, x = stmt.args
    index = stmt.params["index"]
    stmts, index_flag = _stmts(index.stmts)
    keep, *target = index.outputs
    if not target and index_flag is _TRUE:  # a rank-0 result: every target is its one element
        out.append(stmt)
        return flag
    inside: Atom = _TRUE
    if target:
        inside = _flag("inside")
        unused = Var(ArrayType(defaults.dtype, ()), "unused")
        stmts.append(Stmt(_INDEX, (defaults, *target), {"checked": True}, (unused, inside), stmt.source))
    kept = _both(keep, inside, stmts)
    checked_index = Program(index.inputs, tuple(stmts), (kept, *target))
    out.append(Stmt(stmt.prim, stmt.args, {**stmt.params, "index": checked_index}, stmt.outs, stmt.source))
    # Each source element's flag: its lambda's reads succeeded, and a kept target is inside.
    dropped = _flag("dropped")
    stmts.append(Stmt(PRIMITIVES["not"], (keep,), {}, (dropped,)))
    fine = _flag("fine")
    stmts.append(Stmt(PRIMITIVES["or"], (dropped, inside), {}, (fine,)))
    fine = _both(index_flag, fine, stmts)
    if index_flag is _TRUE and all(x.shape) and _decided_by_the_last(index):
        last = {i: Lit(n - 1, INDEX_DTYPE) for i, n in zip(index.inputs, x.shape, strict=True)}
        return _checked_once(stmts, fine, x.shape, flag, out, stmt.source, last)
    flags_lam = substitute(Program(index.inputs, tuple(stmts), (fine,)), {})
    flags = Var(ArrayType(BOOL, x.shape), "oks")
    generate = Stmt(PRIMITIVES["generate"], (), {"shape": tuple(x.shape), "lam": flags_lam}, (flags,), stmt.source)
    out.append(generate)
    return _all(flags, flag, out)


def _decided_by_the_last(index: Program) -> bool:
    """Whether a ``permute``'s index lambda keeps every source element or none, and sends some kept one outside
    exactly where it sends the last one there: each of its targets' axes is the same for every element, or
    one of the element's indices (``0`` to ``n - 1``), directly or as a branch's result, where every element
    takes the same branch (the scatter to the LSTM's tape, at a row the loop's counter gives, or nowhere).

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad.frontend import trace
    >>> def scatter(index):
    ...     f = lambda x, t: acc.permute(lambda a, b: a, acc.fill((4, 3), 0.0), index(t), x)
    ...     return trace(f, np.ones(3), np.int64(1)).program.stmts[-1].params["index"]
    >>> _decided_by_the_last(scatter(lambda t: lambda j: (t, j)))
    True
    >>> _decided_by_the_last(scatter(lambda t: lambda j: (t, j + 1)))
    False
    >>> _decided_by_the_last(scatter(lambda t: lambda j: (j, j)))
    True
    """
    keep, *target = _sources(index, {i: i for i in index.inputs})
    return keep is _SAME and all(t is not None for t in target)


_SAME = "same"


def _sources(program: Program, known: dict[Var, object]) -> list[object]:
    """What each output of ``program`` is for all elements: :data:`_SAME` (the same for all), one of the
    element's indices (an input of the lambda: that input itself) or None (anything else)."""
    known = dict(known)

    def of(atom: Atom) -> object:
        return known.get(atom, _SAME) if isinstance(atom, Var) else _SAME  # a free variable is the same for all

    for s in program.stmts:
        if s.prim.name == "cond" and of(s.args[0]) is _SAME:  # every element takes the same branch
            branches = zip(*(_sources(s.params[name], known) for name in ("then_", "else_")), strict=True)
            for var, pair in zip(s.outs, branches, strict=True):
                indices = {a for a in pair if a is not _SAME}
                known[var] = None if None in indices or len(indices) > 1 else indices.pop() if indices else _SAME
            continue
        uses = [*s.args, *(v for sub in s.subprograms() for v in sub.free_vars)]
        same = all(of(a) is _SAME for a in uses) and not (s.prim is _INDEX and len(s.args) > 1)
        known.update(dict.fromkeys(s.outs, _SAME if same else None))
    return [of(a) for a in program.outputs]


def _inlined(stmt: Stmt, out: list[Stmt], flag: Atom) -> Atom:
    """``custom_rule``/``remat``: their body (which every backend runs) returns its flag too."""
    body = stmt.params["body"]
    stmts, body_flag = _stmts(body.stmts)
    if body_flag is _TRUE:
        out.append(stmt)
        return flag
    params = {**stmt.params, "body": Program(body.inputs, tuple(stmts), (*body.outputs, body_flag))}
    ok = _flag()
    out.append(Stmt(stmt.prim, stmt.args, params, (*stmt.outs, ok), stmt.source))
    return _both(flag, ok, out)


_RULES = {
    "index": _index,
    "cond": _cond,
    "while": _while,
    "generate": _collective,
    "map": _collective,
    "backpermute": _backpermute,
    "permute": _permute,
    "custom_rule": _inlined,
    "remat": _inlined,
}
