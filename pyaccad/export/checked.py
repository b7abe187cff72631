"""Checked reads: a program that also says whether every read it made was inside its array.

accelerate does not check the indices of its reads (``a ! ix`` outside ``a`` is undefined behaviour in
accelerate-llvm: garbage, or a crash of the process that loaded the library), where pyaccad's other
backends raise :class:`pyaccad.IndexOutOfBounds`. The bridge therefore runs :func:`checked_reads`'s
version of a program: every read inside a lambda becomes a *checked* ``index`` statement, which reads
only where the index is inside the array (``undef`` elsewhere: memory safe) and yields a flag beside
the value; a ``backpermute`` becomes the ``generate`` of such a read, and a ``permute`` drops a target
outside its result (as accelerate's ``Nothing_``) and flags it. The flags follow the control flow: only
a taken ``cond`` branch's reads count (the branches return their flag), a ``while`` carries its
body's flag in its state, stops when a read fails and checks its condition's reads once more on the
final state, and each collective operation whose lambda reads returns an array of flags, folded to
one. The program gets one more output, a rank-0 bool: True where every read was inside its array.
Where it is False the bridge runs the program on the interpreter, which raises the exact error.

Not followed (the read is still memory safe, but a failure there is not reported): reads inside
``fold``/``scan`` combiners, ``stencil`` lambdas and ``custom_rule``/``remat`` bodies.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad.frontend import trace
>>> program = trace(lambda x: acc.generate((2,), lambda i: x[i + 2]), np.ones(3)).program
>>> checked = checked_reads(program)
>>> [str(t) for t in checked.output_types]
['f64[2]', 'bool[]']
>>> [s.prim.name for s in checked.stmts]
['generate', 'fold']
"""

from __future__ import annotations

from collections.abc import Sequence

from pyaccad.ir import BOOL, PRIMITIVES, Atom, Lit, Program, Stmt, Var
from pyaccad.ir.rewrite import substitute
from pyaccad.ir.types import ArrayType

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


def _stmts(stmts: Sequence[Stmt]) -> tuple[list[Stmt], Atom]:
    """The statements with their reads checked, and their flag (``True`` where nothing reads)."""
    out: list[Stmt] = []
    flag: Atom = _TRUE
    for stmt in stmts:
        rule = _RULES.get(stmt.prim.name)
        stmt_flag = rule(stmt, out) if rule is not None else out.append(stmt)
        flag = _both(flag, stmt_flag if stmt_flag is not None else _TRUE, out)
    return out, flag


def _lambda(lam: Program) -> Program | None:
    """The lambda with its reads checked and its flag as one more output, or None where it reads nothing."""
    stmts, flag = _stmts(lam.stmts)
    return None if flag is _TRUE else Program(lam.inputs, tuple(stmts), (*lam.outputs, flag))


def _index(stmt: Stmt, out: list[Stmt]) -> Atom | None:
    if len(stmt.args) == 1:  # a rank-0 array's one element
        out.append(stmt)
        return None
    ok = _flag()
    out.append(Stmt(stmt.prim, stmt.args, {**stmt.params, "checked": True}, (*stmt.outs, ok), stmt.source))
    return ok


def _cond(stmt: Stmt, out: list[Stmt]) -> Atom | None:
    branches = [_stmts(stmt.params[name].stmts) for name in ("then_", "else_")]
    if all(flag is _TRUE for _, flag in branches):
        out.append(stmt)
        return None
    params = dict(stmt.params)
    for name, (stmts, flag) in zip(("then_", "else_"), branches, strict=True):
        params[name] = Program((), tuple(stmts), (*stmt.params[name].outputs, flag))
    ok = _flag()
    out.append(Stmt(stmt.prim, stmt.args, params, (*stmt.outs, ok), stmt.source))
    return ok


def _while(stmt: Stmt, out: list[Stmt]) -> Atom | None:
    cond, body = stmt.params["cond"], stmt.params["body"]
    cond_stmts, cond_flag = _stmts(cond.stmts)
    body_stmts, body_flag = _stmts(body.stmts)
    if cond_flag is _TRUE and body_flag is _TRUE:
        out.append(stmt)
        return None
    # The state carries the flag: the body's reads count on every trip, and a failed read ends the loop.
    state_in, cond_in = _flag("okSoFar"), _flag("okSoFar")
    body_out = _both(state_in, body_flag, body_stmts)
    (going,) = cond.outputs
    going = _both(_both(cond_in, cond_flag, cond_stmts), going, cond_stmts)
    params = dict(stmt.params)
    params["cond"] = Program((*cond.inputs, cond_in), tuple(cond_stmts), (going,))
    params["body"] = Program((*body.inputs, state_in), tuple(body_stmts), (*body.outputs, body_out))
    ok = _flag()
    out.append(Stmt(stmt.prim, (*stmt.args, _TRUE), params, (*stmt.outs, ok), stmt.source))
    if cond_flag is _TRUE:
        return ok
    # The condition's reads at the final state: the loop stopped there, perhaps because one of them failed.
    final = substitute(Program((), tuple(cond_stmts), (cond_flag,)), dict(zip(cond.inputs, stmt.outs, strict=True)))
    out.extend(final.stmts)
    return _both(ok, final.outputs[0], out)


def _collective(stmt: Stmt, out: list[Stmt]) -> Atom | None:
    """``generate``/``map``: one more output, the flags of the elements, folded to one flag."""
    lam = _lambda(stmt.params["lam"])
    if lam is None:
        out.append(stmt)
        return None
    flags = Var(ArrayType(BOOL, stmt.outs[0].shape), "oks")
    out.append(Stmt(stmt.prim, stmt.args, {**stmt.params, "lam": lam}, (*stmt.outs, flags), stmt.source))
    return _all(flags, out)


def _all(flags: Var, out: list[Stmt]) -> Var:
    """``flags`` folded to one (innermost axis first, as accelerate folds), by statements appended to ``out``."""
    a, b, c = _flag(), _flag(), _flag()
    both = Program((a, b), (Stmt(_AND, (a, b), {}, (c,)),), (c,))
    for axis in reversed(range(len(flags.shape))):
        folded = Var(ArrayType(BOOL, flags.shape[:axis]), "oks" if axis else "ok")
        out.append(Stmt(PRIMITIVES["fold"], (flags, _TRUE), {"lam": both, "axis": axis}, (folded,)))
        flags = folded
    return flags


def _backpermute(stmt: Stmt, out: list[Stmt]) -> Atom | None:
    """The ``generate`` of a checked read of the source at the index lambda's result."""
    (x,), index = stmt.args, stmt.params["index"]
    if not x.shape:
        out.append(stmt)
        return None
    value = Var(ArrayType(x.dtype, ()), "v")
    read = Stmt(_INDEX, (x, *index.outputs), {}, (value,), stmt.source)
    lam = Program(index.inputs, (*index.stmts, read), (value,))
    generate = Stmt(PRIMITIVES["generate"], (), {"shape": stmt.params["shape"], "lam": lam}, stmt.outs, stmt.source)
    return _collective(generate, out)


def _permute(stmt: Stmt, out: list[Stmt]) -> Atom | None:
    """A target outside the result is dropped (accelerate would write there) and flagged, where it is kept.

    The flags come from a ``generate`` over the source of the same index lambda (a copy), whose target is
    checked against the result's extents by a checked read of ``defaults`` (its value unused).
    """
    defaults, x = stmt.args
    index = stmt.params["index"]
    stmts, flag = _stmts(index.stmts)
    keep, *target = index.outputs
    if not target and flag is _TRUE:  # a rank-0 result: every target is its one element
        out.append(stmt)
        return None
    inside = Var(ArrayType(BOOL, ()), "inside")
    unused = Var(ArrayType(defaults.dtype, ()), "unused")
    if target:
        stmts.append(Stmt(_INDEX, (defaults, *target), {"checked": True}, (unused, inside), stmt.source))
    else:
        stmts.append(Stmt(PRIMITIVES["or"], (_TRUE, _TRUE), {}, (inside,)))
    kept = _both(keep, inside, stmts)
    checked_index = Program(index.inputs, tuple(stmts), (kept, *target))
    out.append(Stmt(stmt.prim, stmt.args, {**stmt.params, "index": checked_index}, stmt.outs, stmt.source))
    # Each source element's flag: its lambda's reads succeeded, and a kept target is inside.
    dropped = Var(ArrayType(BOOL, ()), "dropped")
    stmts.append(Stmt(PRIMITIVES["not"], (keep,), {}, (dropped,)))
    fine = Var(ArrayType(BOOL, ()), "fine")
    stmts.append(Stmt(PRIMITIVES["or"], (dropped, inside), {}, (fine,)))
    fine = _both(flag, fine, stmts)
    flags_lam = substitute(Program(index.inputs, tuple(stmts), (fine,)), {})
    flags = Var(ArrayType(BOOL, x.shape), "oks")
    generate = Stmt(PRIMITIVES["generate"], (), {"shape": tuple(x.shape), "lam": flags_lam}, (flags,), stmt.source)
    out.append(generate)
    return _all(flags, out)


_RULES = {
    "index": _index,
    "cond": _cond,
    "while": _while,
    "generate": _collective,
    "map": _collective,
    "backpermute": _backpermute,
    "permute": _permute,
}
