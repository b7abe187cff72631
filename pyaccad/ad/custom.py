"""User control over derivatives: ``stop_gradient``, ``custom_vjp``, ``checkpoint``.

All three are ordinary IR — a ``cond`` whose predicate is ``True`` — so every
backend runs them as the plain computation, and only the derivative passes
see the difference:

* ``checkpoint(f)``: the ``cond`` holds ``f``. Forward mode carries the
  tangents through it; in reverse mode its linear half recomputes ``f``'s
  primal values inside the transposed branch
  (:mod:`pyaccad.ad.transpose_control`), so only ``f``'s inputs are kept.
* ``stop_gradient(x)`` and ``custom_vjp(f)``: the ``cond`` carries a
  ``custom`` parameter, an object with a ``jvp`` (and for the linear half of
  a ``custom_vjp``, a ``transpose``) rule that the rule tables defer to.
  Those rules must name values of the enclosing program (residuals,
  tangents) that renaming passes rewrite; they are named as the free
  variables of the never-taken ``else_`` branch, which passes rename like
  any other.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> f = lambda x: (x * ad.stop_gradient(x)).sum()
>>> acc.jit(ad.grad(f), backend="interp")(np.array([3.0]))
array([3.])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pyaccad.ad.jvp import Env, jvp_stmts
from pyaccad.ad.tangents import Tan, Zero, instantiate, is_zero
from pyaccad.ad.transpose import Contributions
from pyaccad.errors import NotDifferentiable
from pyaccad.frontend.pytree import TreeDef, flatten, unflatten
from pyaccad.frontend.tracing import check_live, emit, fail, in_scalar_scope, to_value, trace_program, value_of
from pyaccad.ir import BOOL, Atom, Lit, Program, Stmt, Var


def _true() -> Atom:
    return Lit(True, BOOL) if in_scalar_scope() else value_of(Lit(True, BOOL)).var


def _naming(refs: Sequence[Atom], outputs: Sequence[Atom]) -> Program:
    """The ``else_`` branch: zeros of the outputs' types, reading ``refs`` (in order) so passes rename them."""
    kind = "scalar" if in_scalar_scope() else "array"

    def body() -> list[object]:
        for r in refs:
            emit("cast", (r,), {"dtype": r.dtype})
        return [value_of(instantiate(Zero(o.type))) for o in outputs]

    return trace_program(body, [], kind)[0]


def guarded_refs(stmt: Stmt, n: int) -> list[Atom]:
    """The first ``n`` values named by the ``else_`` branch of a guarded ``cond`` (the ``refs`` of
    :func:`guarded_cond`)."""
    return [s.args[0] for s in stmt.params["else_"].stmts[:n]]


def guarded_cond(then_: Program, custom: object, refs: Sequence[Atom]) -> tuple[Var, ...]:
    """Emit ``then_`` as a ``cond(True)`` whose ``custom`` rule the derivative passes call instead of their own.

    ``refs`` are values of the enclosing scope the rule needs later (read back with :func:`guarded_refs`).
    """
    return emit("cond", (_true(),), {"then_": then_, "else_": _naming(refs, then_.outputs), "custom": custom})


class _StopGradient:
    """The ``custom`` rule of ``stop_gradient``: zero tangent."""

    def jvp(self, stmt: Stmt, env: Env, args: list[Atom]):
        then_ = env.rename(stmt.params["then_"])
        outs = guarded_cond(then_, self, [])
        return list(outs), [Zero(v.type) for v in outs]

    def __repr__(self) -> str:
        return "stop_gradient"


def stop_gradient(x: Any) -> Any:
    """``x`` (a pytree of arrays or scalars) with a zero derivative.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> acc.jit(ad.grad(lambda x: ad.stop_gradient(x * x) + x), backend="interp")(np.array(2.0))
    array(1.)
    """
    leaves, tree = flatten(x)
    atoms = [check_live(to_value(v, "stop_gradient")) for v in leaves]
    kind = "scalar" if in_scalar_scope() else "array"
    then_, _ = trace_program(lambda: [value_of(a) for a in atoms], [], kind)
    return unflatten(tree, [value_of(v) for v in guarded_cond(then_, _StopGradient(), [])])


def checkpoint(f: Callable[..., Any]) -> Callable[..., Any]:
    """``f`` whose primal values are recomputed in the reverse pass instead of stored (``jax.checkpoint``).

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> g = ad.checkpoint(lambda x: acc.sin(acc.sin(x)))
    >>> acc.jit(ad.grad(lambda x: g(x).sum()), backend="interp")(np.array([0.0]))
    array([1.])
    """

    def wrapped(*args: Any) -> Any:
        kind = "scalar" if in_scalar_scope() else "array"
        then_, out_tree = trace_program(lambda: f(*args), [], kind, what="checkpoint")
        outs = emit("cond", (_true(),), {"then_": then_, "else_": _naming([], then_.outputs)})
        return unflatten(out_tree, [value_of(v) for v in outs])

    return wrapped


class custom_vjp:  # noqa: N801  (the public name, as jax.custom_vjp)
    """``f`` with a user-supplied reverse-mode derivative, as ``jax.custom_vjp``.

    ``fwd(*args) -> (out, residuals)``; ``bwd(residuals, out_ct) -> tuple of
    cotangents, one per argument``. Forward mode differentiates ``f`` itself.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> @ad.custom_vjp
    ... def clip_grad(x):
    ...     return x
    >>> clip_grad.defvjp(lambda x: (x, None), lambda res, g: (acc.minimum(g, 1.0),))
    >>> acc.jit(ad.grad(lambda x: (clip_grad(x) * 5.0).sum()), backend="interp")(np.array([1.0]))
    array([1.])
    """

    def __init__(self, f: Callable[..., Any]) -> None:
        self.f = f
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args: Any) -> Any:
        leaves, in_tree = flatten(tuple(args))
        atoms = [check_live(to_value(v, "custom_vjp")) for v in leaves]
        kind = "scalar" if in_scalar_scope() else "array"
        then_, out_tree = trace_program(
            lambda: self.f(*unflatten(in_tree, [value_of(a) for a in atoms])), [], kind, what="custom_vjp"
        )
        rule = _CustomVJP(self, in_tree, out_tree, len(atoms))
        outs = guarded_cond(then_, rule, atoms)
        return unflatten(out_tree, [value_of(v) for v in outs])


class _CustomVJP:
    """The ``custom`` rule of a ``custom_vjp`` call; the ``else_`` branch names its arguments."""

    def __init__(self, fn: custom_vjp, in_tree: TreeDef, out_tree: TreeDef, n_args: int) -> None:
        self.fn, self.in_tree, self.out_tree, self.n_args = fn, in_tree, out_tree, n_args

    def jvp(self, stmt: Stmt, env: Env, args: list[Atom]):
        old_args = guarded_refs(stmt, self.n_args)
        primals = [env.primal(a) for a in old_args]
        tangents = [env.tangent(a) for a in old_args]
        if self.fn.fwd is None:
            fail(NotDifferentiable, "custom_vjp: call .defvjp(fwd, bwd) before differentiating")
        out, res = self.fn.fwd(*unflatten(self.in_tree, [value_of(p) for p in primals]))
        out_atoms = [check_live(to_value(o, "custom_vjp fwd")) for o in flatten(out)[0]]
        res_leaves, res_tree = flatten(res)
        res_atoms = [check_live(to_value(r, "custom_vjp fwd")) for r in res_leaves]
        moving = [t for t in tangents if not is_zero(t)]
        kind = "scalar" if in_scalar_scope() else "array"

        def tangent_branch() -> list[object]:
            inner = Env(env)
            _, outs_tan = jvp_stmts(stmt.params["then_"], inner)
            return [value_of(instantiate(t)) for t in outs_tan]

        then_, _ = trace_program(tangent_branch, [], kind)
        linear = _CustomLinear(self, res_tree, len(res_atoms), [is_zero(t) for t in tangents])
        outs_tan = guarded_cond(then_, linear, [*res_atoms, *moving])
        return out_atoms, list(outs_tan)


class _CustomLinear:
    """The linear half of a ``custom_vjp``: forward it is ``f``'s JVP, transposed it is ``bwd``.

    It has no ``jvp`` of its own: differentiating it again (higher order) differentiates ``f``'s JVP.
    """

    def __init__(self, vjp: _CustomVJP, res_tree: TreeDef, n_res: int, zero: list[bool]) -> None:
        self.vjp, self.res_tree, self.n_res, self.zero = vjp, res_tree, n_res, zero

    def transpose(self, stmt: Stmt, linear: set[Var], cts: list[Tan]) -> Contributions:
        refs = guarded_refs(stmt, self.n_res + sum(not z for z in self.zero))
        res, moving = refs[: self.n_res], refs[self.n_res :]
        res_values = unflatten(self.res_tree, [value_of(r) for r in res])
        ct_values = unflatten(self.vjp.out_tree, [value_of(instantiate(c)) for c in cts])
        in_cts = self.vjp.fn.bwd(res_values, ct_values)  # type: ignore[misc]
        ct_leaves = flatten(tuple(in_cts))[0]
        found: Contributions = []
        targets = iter(moving)
        for was_zero, ct in zip(self.zero, ct_leaves, strict=False):
            if not was_zero:
                found.append((next(targets), check_live(to_value(ct, "custom_vjp bwd"))))
        return found
