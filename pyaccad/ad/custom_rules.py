"""The derivative passes' side of ``custom_rule``: the rule protocol and its three table entries.

A ``custom_rule(*args; body, rule)`` statement (:mod:`pyaccad.ir.primitives.custom`) computes
``body(*args)``; the JVP, transpose and batching tables hand it to its ``rule``, a
:class:`CustomRule`:

* ``rule.jvp(stmt, env, args, args_tan) -> (outs, outs_tan)``, as any JVP rule;
* ``rule.transpose(stmt, ctx, args, cts) -> [(arg, arg_ct), ...]`` for a rule whose statement is linear
  in some of its arguments (``ctx.is_linear`` says which), as any transpose rule;
* ``rule.batch(stmt, ctx, args, bdims) -> (outs, out_bdims)``, as any batching rule; by default the
  batched body under the same rule, right for a rule that means the same for every example.

Each method has the shape of a rule of its table (:mod:`pyaccad.ad.rules`), so the table entries
only pick the statement's rule and call it.

The values a rule reads are the statement's arguments, never hidden references, so a pass that
renames or batches the statement renames or batches them too. Rules built on this:
``stop_gradient`` and ``custom_vjp`` (:mod:`pyaccad.ad.custom`), and the loop-read tangent
(:class:`pyaccad.ad.loop_reads.LoopReads`).

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> from pyaccad.frontend import trace
>>> [s.params["rule"] for s in trace(ad.stop_gradient, np.ones(2)).program.stmts]
[stop_gradient]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pyaccad.ad.batching import BATCH_RULES, BatchContext, BDim, moveaxis
from pyaccad.ad.batching_rules.control import batch_body
from pyaccad.ad.jvp import JVP_RULES, Env, jvp_stmts
from pyaccad.ad.tangents import Tan
from pyaccad.ad.transpose import TRANSPOSE_RULES, Contributions, TransposeContext
from pyaccad.errors import NotDifferentiable
from pyaccad.frontend.tracing import emit, fail, in_scalar_scope, trace_program
from pyaccad.ir import PRIMITIVES, Atom, Program, Stmt, Var

CUSTOM_RULE = PRIMITIVES["custom_rule"]


class CustomRule:
    """A derivative rule carried by ``custom_rule`` statements (see the module doc).

    ``forward_error`` is None when running the body gives this rule's forward meaning; otherwise it is
    the message of the :class:`pyaccad.NotDifferentiable` raised where the body would be run.
    ``forward_mode`` says whether the rule defines a JVP that forward mode may use (a ``custom_vjp``
    does not: ``jacobian(mode="auto")`` then takes reverse mode).
    """

    name = "custom_rule"
    forward_error: str | None = None
    forward_mode = True

    def jvp(self, stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]) -> tuple[Sequence[Atom], list[Tan]]:
        raise NotImplementedError

    def transpose(self, stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
        fail(NotDifferentiable, f"{self.name}: not a linear statement, so it has no transpose (at {stmt.source})")

    def batch(
        self, stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]
    ) -> tuple[Sequence[Atom], Sequence[BDim]]:
        program, out_bdims = batch_body(ctx, stmt.params["body"], [None if b is None else 0 for b in bdims])
        return emit_rule(self, program, batched_args(args, bdims)), out_bdims

    def __repr__(self) -> str:
        return self.name


def emit_rule(rule: CustomRule, body: Program, args: Sequence[Atom]) -> tuple[Var, ...]:
    """Emit ``custom_rule(*args; body, rule)`` into the current builder."""
    return emit(CUSTOM_RULE, tuple(args), {"body": body, "rule": rule})


def body_over(fn: Callable[..., Sequence[Any]], args: Sequence[Atom]) -> Program:
    """Trace ``fn`` (tracers in, tracers out) at the types of ``args`` as a body at the current level."""
    kind = "scalar" if in_scalar_scope() else "array"
    program, _ = trace_program(lambda *xs: list(fn(*xs)), [a.type for a in args], kind)
    return program


def batched_args(args: Sequence[Atom], bdims: Sequence[BDim]) -> list[Atom]:
    """The arguments with their batch axis first (unbatched ones as they are), as :func:`batch_body` takes them."""
    return [a if b is None else moveaxis(a, b, 0) for a, b in zip(args, bdims, strict=True)]


def has_forward_mode(program: Program) -> bool:
    """Whether forward-mode differentiation of ``program`` meets no rule without one (nested programs too).

    >>> import numpy as np
    >>> from pyaccad import ad
    >>> from pyaccad.frontend import trace
    >>> has_forward_mode(trace(lambda x: ad.stop_gradient(x) * x, np.ones(2)).program)
    True
    """
    for stmt in program.stmts:
        if stmt.prim is CUSTOM_RULE and not stmt.params["rule"].forward_mode:
            return False
        if not all(has_forward_mode(sub) for sub in stmt.subprograms()):
            return False
    return True


def jvp_of_body(stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]) -> tuple[list[Atom], list[Tan]]:
    """The JVP of ``stmt``'s body, inlined at ``args`` (for a rule whose body is its forward meaning)."""
    body = stmt.params["body"]
    inner = Env(env)
    inner.bind(body.inputs, args, args_tan)
    return jvp_stmts(body, inner)


def _by_rule(method: str) -> Callable[[Stmt, Any, list[Atom], list[Any]], Any]:
    """The table entry of ``custom_rule`` for one pass: the statement's rule's ``method``, called alike."""

    def rule(stmt: Stmt, ctx: Any, args: list[Atom], flows: list[Any]) -> Any:
        return getattr(stmt.params["rule"], method)(stmt, ctx, args, flows)

    return rule


JVP_RULES[CUSTOM_RULE] = _by_rule("jvp")
TRANSPOSE_RULES[CUSTOM_RULE] = _by_rule("transpose")
BATCH_RULES[CUSTOM_RULE] = _by_rule("batch")
