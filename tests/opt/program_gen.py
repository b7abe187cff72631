"""A generator of random well-typed IR programs, for testing that passes preserve meaning.

Programs are built directly as IR (not traced), so they contain what the
optimiser must handle whatever the front end or AD emits: splats of 0, 1,
-0, nan and inf, chains of reshuffles, duplicated statements, dead
statements, maps and folds with lambdas that hold literals, ``cond`` on known
and unknown predicates, and ``while`` loops with state the result never reads.

Every array-level value of the pool has one type (``SHAPE``, float64), so
any operand fits any operation; operations of other shapes are wrapped into
round trips (``reshape`` and back, ``fold`` then ``broadcast_in_dim``).
"""

from __future__ import annotations

import numpy as np

from pyaccad.ir import BOOL, FLOAT64, INDEX_DTYPE, INT64, PRIMITIVES, ArrayType, Lit, Program, Stmt, Var, scalar_type

SHAPE = (3, 4)
TYPE = ArrayType(FLOAT64, SHAPE)
SPECIAL = (0.0, -0.0, 1.0, 2.0, -1.0, 0.5, float("nan"), float("inf"), float("-inf"))


class _Block:
    """Statements of one program under construction."""

    def __init__(self) -> None:
        self.stmts: list[Stmt] = []

    def emit(self, prim: str, args: tuple, params: dict | None = None) -> tuple[Var, ...]:
        params = params or {}
        types = PRIMITIVES[prim].type_rule([a.type for a in args], params)
        outs = tuple(Var(t) for t in types)
        self.stmts.append(Stmt(PRIMITIVES[prim], tuple(args), params, outs))
        return outs

    def one(self, prim: str, *args, **params) -> Var:
        return self.emit(prim, args, params)[0]


def _lit(rng: np.random.Generator) -> Lit:
    return Lit(float(rng.choice(SPECIAL)), FLOAT64)


def _scalar_lambda(rng: np.random.Generator, n_inputs: int, n_stmts: int) -> Program:
    """A rank-0 float64 lambda of ``n_inputs`` arguments, mixing arithmetic and literals."""
    inputs = tuple(Var(scalar_type(FLOAT64)) for _ in range(n_inputs))
    block = _Block()
    pool: list = list(inputs)
    for _ in range(n_stmts):
        op = rng.choice(["add", "mul", "sub", "div", "neg", "sin", "lit_op", "select", "cond"])
        a, b = pool[rng.integers(len(pool))], pool[rng.integers(len(pool))]
        if op == "neg" or op == "sin":
            pool.append(block.one(op, a))
        elif op == "lit_op":
            pool.append(block.one(str(rng.choice(["add", "mul", "sub"])), a, _lit(rng)))
        elif op == "select":
            pool.append(block.one("select", block.one("lt", a, b), a, b))
        elif op == "cond":
            pred = Lit(bool(rng.integers(2)), BOOL) if rng.integers(2) else block.one("gt", a, b)
            then_, else_ = _Block(), _Block()
            then_out = then_.one("mul", a, Lit(1.0, FLOAT64))
            else_out = else_.one("add", b, Lit(0.0, FLOAT64))
            pool.append(
                block.one(
                    "cond",
                    pred,
                    then_=Program((), tuple(then_.stmts), (then_out,)),
                    else_=Program((), tuple(else_.stmts), (else_out,)),
                )
            )
        else:
            pool.append(block.one(op, a, b))
    return Program(inputs, tuple(block.stmts), (pool[-1],))


class _Generator:
    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.block = _Block()
        self.pool: list[Var] = []

    def pick(self) -> Var:
        return self.pool[self.rng.integers(len(self.pool))]

    def splat(self) -> Var:
        return self.block.one("broadcast_in_dim", _lit(self.rng), shape=SHAPE, dims=())

    def step(self) -> Var:
        rng, b = self.rng, self.block
        op = str(
            rng.choice(
                [
                    "splat",
                    "unary",
                    "binary",
                    "binary",
                    "binary_splat",
                    "select",
                    "reshuffle",
                    "cast",
                    "map",
                    "fold",
                    "generate",
                    "duplicate",
                    "const",
                    "cond",
                    "while",
                    "dead",
                ]
            )
        )
        x, y = self.pick(), self.pick()
        if op == "splat":
            return self.splat()
        if op == "unary":
            return b.one(str(rng.choice(["neg", "sin", "exp", "abs", "sqrt", "neg"])), x)
        if op == "binary":
            return b.one(str(rng.choice(["add", "sub", "mul", "div", "minimum", "maximum", "pow"])), x, y)
        if op == "binary_splat":
            s = self.splat()
            prim = str(rng.choice(["add", "sub", "mul", "div", "pow", "minimum"]))
            return b.one(prim, *((x, s) if rng.integers(2) else (s, x)))
        if op == "select":
            pred = (
                b.one("lt", x, y)
                if rng.integers(2)
                else b.one("broadcast_in_dim", Lit(bool(rng.integers(2)), BOOL), shape=SHAPE, dims=())
            )
            return b.one("select", pred, x, y)
        if op == "reshuffle":
            return self.reshuffle(x)
        if op == "cast":
            narrowed = b.one("cast", x, dtype=np.dtype(rng.choice(["float32", "float64"])))
            return b.one("cast", narrowed, dtype=FLOAT64)
        if op == "map":
            lam = _scalar_lambda(rng, 2, int(rng.integers(1, 6)))
            return b.one("map", x, y, lam=lam)
        if op == "fold":
            axis = int(rng.integers(2))
            lam_in = (Var(scalar_type(FLOAT64)), Var(scalar_type(FLOAT64)))
            body = _Block()
            total = body.one("add", *lam_in)
            lam = Program(lam_in, tuple(body.stmts), (total,))
            init = _lit(rng) if rng.integers(2) else Lit(0.0, FLOAT64)
            reduced = b.one("fold", x, init, lam=lam, axis=axis)
            return b.one("broadcast_in_dim", reduced, shape=SHAPE, dims=(1 - axis,))
        if op == "generate":
            idx = (Var(scalar_type(INDEX_DTYPE)), Var(scalar_type(INDEX_DTYPE)))
            body = _Block()
            value = body.one("index", x, idx[0], idx[1])
            scaled = body.one("mul", value, body.one("cast", body.one("add", *idx), dtype=FLOAT64))
            return b.one("generate", shape=SHAPE, lam=Program(idx, tuple(body.stmts), (scaled,)))
        if op == "duplicate" and b.stmts:
            stmt = b.stmts[rng.integers(len(b.stmts))]
            outs = b.emit(stmt.prim.name, stmt.args, dict(stmt.params))
            return next((o for o in outs if o.type == TYPE), x)
        if op == "const":
            value = rng.standard_normal(SHAPE) if rng.integers(2) else np.full(SHAPE, float(rng.choice(SPECIAL)))
            return b.one("const", value=value)
        if op == "cond":
            return self.cond(x, y)
        if op == "while":
            return self.loop(x, y)
        b.one("exp", x)  # "dead" (or "duplicate" with nothing to copy): a statement no output reads
        return x

    def reshuffle(self, x: Var) -> Var:
        b, rng = self.block, self.rng
        kind = rng.integers(6)
        if kind == 0:
            return b.one("reshape", b.one("reshape", x, shape=(12,)), shape=SHAPE)
        if kind == 1:
            return b.one("transpose", b.one("transpose", x, perm=(1, 0)), perm=(1, 0))
        if kind == 2:
            return b.one("reverse", b.one("reverse", x, axes=(1,)), axes=tuple(sorted({1, int(rng.integers(2))})))
        if kind == 3:
            return b.one("slice", x, starts=(0, 0), stops=SHAPE, steps=(1, 1))
        if kind == 4:
            part = b.one(
                "slice",
                b.one("slice", x, starts=(0, 1), stops=(3, 4), steps=(1, 1)),
                starts=(1, 0),
                stops=(3, 3),
                steps=(2, 3),
            )
            return b.one("broadcast_in_dim", part, shape=SHAPE, dims=(0, 1))
        row = b.one("slice", x, starts=(0, 0), stops=(1, 4), steps=(1, 1))
        lifted = b.one("broadcast_in_dim", row, shape=(2, 1, 4), dims=(1, 2))
        middle = b.one("slice", lifted, starts=(0, 0, 0), stops=(1, 1, 4), steps=(1, 1, 1))
        return b.one("broadcast_in_dim", b.one("reshape", middle, shape=(1, 4)), shape=SHAPE, dims=(0, 1))

    def cond(self, x: Var, y: Var) -> Var:
        b, rng = self.block, self.rng
        if rng.integers(2):
            pred = b.one("broadcast_in_dim", Lit(bool(rng.integers(2)), BOOL), shape=(), dims=())
        else:
            pred = self.positive_sum(x)
        branches = []
        for first, second in ((x, y), (y, x)):
            blk = _Block()
            out = blk.one(
                "add",
                first,
                blk.one("mul", second, blk.one("broadcast_in_dim", Lit(1.0, FLOAT64), shape=SHAPE, dims=())),
            )
            extra = blk.one("sin", first)
            branches.append(Program((), tuple(blk.stmts), (out, extra)))
        return b.emit("cond", (pred,), {"then_": branches[0], "else_": branches[1]})[int(rng.integers(2))]

    def positive_sum(self, x: Var) -> Var:
        b = self.block
        total = b.one("fold", b.one("reshape", x, shape=(12,)), Lit(0.0, FLOAT64), lam=_sum_lambda(), axis=0)
        return b.one("gt", total, b.one("broadcast_in_dim", Lit(0.0, FLOAT64), shape=(), dims=()))

    def loop(self, x: Var, y: Var) -> Var:
        """``while i < n: i += 1; acc = acc * 0.5 + y; junk = sin(junk)`` — junk's result may go unread."""
        b, rng = self.block, self.rng
        n = int(rng.integers(0, 4))
        start = b.one("broadcast_in_dim", Lit(0, INT64), shape=(), dims=())
        state = (Var(scalar_type(INT64)), Var(TYPE), Var(TYPE))
        cond = _Block()
        limit = cond.one("broadcast_in_dim", Lit(n, INT64), shape=(), dims=())
        running = cond.one("lt", state[0], limit)
        cond_prog = Program(state, tuple(cond.stmts), (running,))
        state_b = (Var(scalar_type(INT64)), Var(TYPE), Var(TYPE))
        body = _Block()
        one = body.one("broadcast_in_dim", Lit(1, INT64), shape=(), dims=())
        half = body.one("broadcast_in_dim", Lit(0.5, FLOAT64), shape=SHAPE, dims=())
        outs = (
            body.one("add", state_b[0], one),
            body.one("add", body.one("mul", state_b[1], half), y),
            body.one("sin", state_b[2]),
        )
        body_prog = Program(state_b, tuple(body.stmts), outs)
        results = b.emit("while", (start, x, y), {"cond": cond_prog, "body": body_prog})
        return results[1 + int(rng.integers(2))]

    def build(self, n_inputs: int = 2, n_steps: int = 12) -> Program:
        inputs = tuple(Var(TYPE, f"x{k}") for k in range(n_inputs))
        self.pool = list(inputs)
        for _ in range(n_steps):
            self.pool.append(self.step())
        k = int(self.rng.integers(1, 4))
        outputs = tuple(self.pool[-1:] + [self.pick() for _ in range(k - 1)])
        return Program(inputs, tuple(self.block.stmts), outputs)


def _sum_lambda() -> Program:
    a, c = Var(scalar_type(FLOAT64)), Var(scalar_type(FLOAT64))
    blk = _Block()
    total = blk.one("add", a, c)
    return Program((a, c), tuple(blk.stmts), (total,))


def random_program(seed: int, n_steps: int = 12) -> Program:
    """A random well-typed program of two ``TYPE`` inputs (deterministic in ``seed``)."""
    return _Generator(seed).build(n_steps=n_steps)


def random_inputs(seed: int, n: int = 2) -> list[np.ndarray]:
    """Inputs of ``TYPE`` mixing normal values with 0, -0, nan and inf, so unsafe rewrites would show."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        x = rng.standard_normal(SHAPE)
        mask = rng.random(SHAPE) < 0.3
        x[mask] = rng.choice(SPECIAL, size=int(mask.sum()))
        out.append(x)
    return out
