"""Random IR programs whose ``cond`` branches use values computed outside them, for the sinking tests.

Programs are built as IR directly: tracing would have sunk them already. Every value is float64, of shape
:data:`SHAPE` at array level and rank 0 in the lambdas of ``generate``; every read is in bounds, so nothing
fails before or after sinking. Blocks nest: a branch, a loop body or a ``generate`` lambda is a block of its
own that may use the values of the blocks around it. Some branches return a *planted* value: a statement made
just for that branch and used nowhere else, which sinking must move into it.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from pyaccad.ir import FLOAT64, INT64, PRIMITIVES, ArrayType, Atom, Lit, Program, Stmt, Var, scalar_type

SHAPE = (4,)
INPUTS = 2


class Block:
    """The statements of one program under construction and the values they may use (``pool``)."""

    def __init__(self, scalar: bool, pool: list[Atom]) -> None:
        self.scalar = scalar
        self.stmts: list[Stmt] = []
        self.pool = list(pool)

    def emit(self, prim: str, *args: Atom, **params: object) -> tuple[Var, ...]:
        types = PRIMITIVES[prim].type_rule([a.type for a in args], params)
        outs = tuple(Var(t) for t in types)
        self.stmts.append(Stmt(PRIMITIVES[prim], args, params, outs))
        return outs

    def one(self, prim: str, *args: Atom, **params: object) -> Var:
        return self.emit(prim, *args, **params)[0]

    def fill(self, value: float | int, dtype: np.dtype, shape: tuple[int, ...] = ()) -> Atom:
        """``value`` as a literal in a lambda, else as a broadcast array of ``shape``."""
        lit = Lit(value, dtype)
        return lit if self.scalar else self.one("broadcast_in_dim", lit, shape=shape, dims=())

    def program(self, inputs: tuple[Var, ...], outputs: tuple[Atom, ...]) -> Program:
        return Program(inputs, tuple(self.stmts), outputs)


def _pick(data: st.DataObject, block: Block) -> Atom:
    return data.draw(st.sampled_from(block.pool))


def _block(data: st.DataObject, scalar: bool, pool: list[Atom], depth: int, planted: list[Var]) -> Block:
    block = Block(scalar, pool)
    kinds = ["unary", "binary", "dead"] + (["cond", "cond", "while"] if depth > 0 else [])
    kinds += ["generate"] if depth > 0 and not scalar else []
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(kinds))
        x, y = _pick(data, block), _pick(data, block)
        if kind == "unary":
            block.pool.append(block.one(data.draw(st.sampled_from(["sin", "neg", "tanh"])), x))
        elif kind == "binary":
            block.pool.append(block.one(data.draw(st.sampled_from(["add", "sub", "mul"])), x, y))
        elif kind == "cond":
            block.pool.append(_cond(data, block, x, depth, planted))
        elif kind == "while":
            block.pool.append(_loop(data, block, x, y))
        elif kind == "generate":
            block.pool.append(_generate(data, block, depth, planted))
        else:
            block.one("exp", x)  # dead: nothing reads it
    return block


def _cond(data: st.DataObject, block: Block, x: Atom, depth: int, planted: list[Var]) -> Var:
    if block.scalar:
        pred = block.one("gt", x, Lit(0.0, FLOAT64))
    else:
        total = block.one("fold", x, Lit(0.0, FLOAT64), lam=_sum_lambda(), axis=0)
        pred = block.one("gt", total, block.fill(0.0, FLOAT64))
    branches = []
    for _ in range(2):
        kind = data.draw(st.sampled_from(["outer", "planted", "block"]))
        if kind == "outer":  # a value of the enclosing block, returned as it is
            branches.append(Program((), (), (_pick(data, block),)))
        elif kind == "planted":  # made for this branch only: sinking must move it in
            value = block.one(data.draw(st.sampled_from(["sin", "neg"])), _pick(data, block))
            planted.append(value)
            branches.append(Program((), (), (value,)))
        else:
            inner = _block(data, block.scalar, block.pool, depth - 1, planted)
            branches.append(inner.program((), (_pick(data, inner),)))
    return block.one("cond", pred, then_=branches[0], else_=branches[1])


def _loop(data: st.DataObject, block: Block, x: Atom, y: Atom) -> Var:
    """``while k < n: k += 1; v = v * 0.5 + y`` from ``v = x``: ``y`` is used in the body only."""
    shape = () if block.scalar else SHAPE
    counter, value = Var(scalar_type(INT64)), Var(x.type)
    test = Block(block.scalar, [])
    limit = test.fill(data.draw(st.integers(0, 3)), INT64)
    cond = test.program((counter, value), (test.one("lt", counter, limit),))
    counter_b, value_b = Var(scalar_type(INT64)), Var(x.type)
    step = Block(block.scalar, [])
    nxt = step.one("add", counter_b, step.fill(1, INT64))
    halved = step.one("mul", value_b, step.fill(0.5, FLOAT64, shape))
    body = step.program((counter_b, value_b), (nxt, step.one("add", halved, y)))
    return block.emit("while", block.fill(0, INT64), x, cond=cond, body=body)[1]


def _generate(data: st.DataObject, block: Block, depth: int, planted: list[Var]) -> Var:
    """A ``generate`` whose lambda reads two arrays of the block (at ``i`` and ``(i + 1) % n``)."""
    i = Var(scalar_type(INT64), "i")
    reads = Block(True, [])
    nxt = reads.one("mod", reads.one("add", i, Lit(1, INT64)), Lit(SHAPE[0], INT64))
    pool = [reads.one("index", _pick(data, block), i), reads.one("index", _pick(data, block), nxt)]
    lam = _block(data, True, pool, depth - 1, planted)
    program = Program((i,), (*reads.stmts, *lam.stmts), (_pick(data, lam),))
    return block.one("generate", shape=SHAPE, lam=program)


def _sum_lambda() -> Program:
    a, b = Var(scalar_type(FLOAT64)), Var(scalar_type(FLOAT64))
    total = Var(scalar_type(FLOAT64))
    return Program((a, b), (Stmt(PRIMITIVES["add"], (a, b), {}, (total,)),), (total,))


@st.composite
def branch_programs(draw: st.DrawFn) -> tuple[Program, list[Var], list[np.ndarray]]:
    """A random program, the planted values in it, and inputs to run it on."""
    data = draw(st.data())
    inputs = tuple(Var(ArrayType(FLOAT64, SHAPE), f"x{k}") for k in range(INPUTS))
    planted: list[Var] = []
    block = _block(data, False, list(inputs), 3, planted)
    outputs = (block.pool[-1], _pick(data, block))
    seed = draw(st.integers(0, 2**16))
    values = list(np.random.default_rng(seed).standard_normal((INPUTS, *SHAPE)))
    return block.program(inputs, outputs), planted, values


def count(program: Program) -> int:
    """How many statements ``program`` holds, nested programs included."""
    return sum(1 + sum(count(sub) for sub in s.subprograms()) for s in program.stmts)


def bound_in_branches(program: Program) -> set[Var]:
    """The variables bound by the statements of ``cond`` branches (at any depth) of ``program``."""
    found: set[Var] = set()
    for stmt in program.stmts:
        for name in stmt.prim.subprogram_params:
            sub = stmt.params[name]
            if stmt.prim.name == "cond":
                found.update(v for s in sub.stmts for v in s.outs)
            found |= bound_in_branches(sub)
    return found
