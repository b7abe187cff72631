"""User control over derivatives: ``stop_gradient``, ``custom_vjp``, ``checkpoint``.

Each is ordinary IR that every backend runs as the plain computation; only the derivative passes see
the difference (:mod:`pyaccad.ir.primitives.custom`):

* ``stop_gradient(x)`` is a ``custom_rule`` whose body is the identity and whose rule gives a zero
  tangent.
* ``custom_vjp(f)`` called on ``args`` is a ``custom_rule`` whose body is ``f``. Its JVP runs the
  user's ``fwd`` and emits the tangent as a second, *linear* ``custom_rule`` over the residuals and
  the arguments' tangents, whose transpose is the user's ``bwd``. That linear rule has no forward
  meaning, so forward mode through a ``custom_vjp`` (``jvp``, ``linearize``, ``jacobian`` in forward
  mode, ``diff``, derivatives inside lambdas) raises :class:`pyaccad.NotDifferentiable`, as in JAX,
  rather than silently differentiate ``f`` instead of the user's rule. Under ``vmap`` the rule batches
  ``fwd`` and ``bwd`` with ``vmap``.
* ``checkpoint(f)`` is a ``remat`` whose body is ``f``; reverse mode recomputes ``f``'s values
  inside the transposed ``remat`` (:mod:`pyaccad.ad.remat`) instead of storing them.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> f = lambda x: (x * ad.stop_gradient(x)).sum()
>>> ad.grad(f)(np.array([3.0]))
array([3.])
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pyaccad.ad.api import tangent_like
from pyaccad.ad.batching import BatchContext, BDim
from pyaccad.ad.batching_rules.control import batch_body
from pyaccad.ad.custom_rules import CustomRule, batched_args, body_over, emit_rule
from pyaccad.ad.jvp import Env
from pyaccad.ad.tangents import Tan, Zero, differentiable, instantiate, is_zero
from pyaccad.ad.transpose import Contributions, TransposeContext
from pyaccad.ad.vmap import vmap
from pyaccad.errors import NotDifferentiable, ShapeError
from pyaccad.frontend.pytree import TreeDef, flatten, flatten_up_to, unflatten
from pyaccad.frontend.tracing import check_live, emit, fail, in_scalar_scope, to_value, trace_program, value_of
from pyaccad.ir import ArrayType, Atom, Stmt


def _atoms(leaves: Sequence[Any], what: str) -> list[Atom]:
    return [check_live(to_value(v, what)) for v in leaves]


class _StopGradient(CustomRule):
    """The rule of ``stop_gradient``: a zero tangent (and the same rule for every example under ``vmap``)."""

    name = "stop_gradient"

    def jvp(self, stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]) -> tuple[Sequence[Atom], list[Tan]]:
        outs = emit_rule(self, env.rename(stmt.params["body"]), args)
        return outs, [Zero(v.type) for v in outs]


STOP_GRADIENT = _StopGradient()


def stop_gradient(x: Any) -> Any:
    """``x`` (a pytree of arrays or scalars) with a zero derivative.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> ad.grad(lambda x: ad.stop_gradient(x * x) + x)(np.array(2.0))
    array(1.)
    """
    leaves, tree = flatten(x)
    atoms = _atoms(leaves, "stop_gradient")
    outs = emit_rule(STOP_GRADIENT, body_over(lambda *xs: xs, atoms), atoms)
    return unflatten(tree, [value_of(v) for v in outs])


def checkpoint(f: Callable[..., Any]) -> Callable[..., Any]:
    """``f`` whose values are recomputed in the reverse pass instead of stored (``jax.checkpoint``).

    The forward pass keeps only ``f``'s arguments for the reverse pass; the optimiser never merges
    the recomputation with the forward values. Inside lambdas (scalars) it is ``f`` itself.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> g = ad.checkpoint(lambda x: acc.sin(acc.sin(x)))
    >>> ad.grad(lambda x: g(x).sum())(np.array([0.0]))
    array([1.])
    """

    def wrapped(*args: Any) -> Any:
        if in_scalar_scope():  # nothing to store inside a lambda: its derivative is forward mode
            return f(*args)
        leaves, in_tree = flatten(tuple(args))
        atoms = _atoms(leaves, "checkpoint")
        body, out_tree = trace_program(f, [a.type for a in atoms], "array", in_tree, what="checkpoint")
        return unflatten(out_tree, [value_of(v) for v in emit("remat", tuple(atoms), {"body": body})])

    return wrapped


class custom_vjp:  # noqa: N801  (the public name, as jax.custom_vjp)
    """``f`` with a user-supplied reverse-mode derivative, as ``jax.custom_vjp``.

    ``fwd(*args) -> (out, residuals)``; ``bwd(residuals, out_ct) -> tuple of cotangents, one per
    argument``. Reverse mode (``grad``, ``vjp``, ``jacobian(mode="rev")``, ``hessian``) uses them,
    under ``vmap`` too; forward mode through ``f`` raises :class:`pyaccad.NotDifferentiable`, as in
    JAX. ``f`` must take the values it is differentiated in as arguments, not close over them.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> @ad.custom_vjp
    ... def clip_grad(x):
    ...     return x
    >>> clip_grad.defvjp(lambda x: (x, None), lambda res, g: (acc.minimum(g, 1.0),))
    >>> ad.grad(lambda x: (clip_grad(x) * 5.0).sum())(np.array([1.0]))
    array([1.])
    """

    def __init__(self, f: Callable[..., Any]) -> None:
        self.f = f
        self.fwd: Callable[..., Any] | None = None
        self.bwd: Callable[..., Any] | None = None

    def defvjp(self, fwd: Callable[..., Any], bwd: Callable[..., Any]) -> None:
        """Set the forward function (``out, residuals``) and the backward one (``residuals, out_ct -> cts``)."""
        self.fwd, self.bwd = fwd, bwd

    def __call__(self, *args: Any) -> Any:
        leaves, in_tree = flatten(tuple(args))
        atoms = _atoms(leaves, "custom_vjp")
        kind = "scalar" if in_scalar_scope() else "array"
        body, out_tree = trace_program(self.f, [a.type for a in atoms], kind, in_tree, what="custom_vjp")
        name = getattr(self.f, "__name__", "custom_vjp")
        outs = emit_rule(_CustomVJP(name, self.fwd, self.bwd, in_tree, out_tree), body, atoms)
        return unflatten(out_tree, [value_of(v) for v in outs])


def _forward_error(name: str) -> str:
    return (
        f"custom_vjp {name}: forward-mode differentiation (jvp, linearize, jacobian(mode='fwd'), diff, or a "
        "derivative inside a map/generate/fold lambda) is not defined by a custom_vjp rule; use reverse mode "
        "(grad, vjp, jacobian(mode='rev')), or call the function on whole arrays outside the lambda"
    )


class _CustomVJP(CustomRule):
    """The rule of a ``custom_vjp`` call: ``fwd`` for the primal, a :class:`_CustomLinear` for the tangent."""

    forward_mode = False

    def __init__(self, name: str, fwd: Callable | None, bwd: Callable | None, in_tree: TreeDef, out_tree: TreeDef):
        self.name, self.fwd, self.bwd, self.in_tree, self.out_tree = name, fwd, bwd, in_tree, out_tree

    def jvp(self, stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]) -> tuple[Sequence[Atom], list[Tan]]:
        if in_scalar_scope():
            fail(NotDifferentiable, _forward_error(self.name))
        closed = [v for v in stmt.params["body"].free_vars if not is_zero(env.tangent(v))]
        if closed:
            fail(
                NotDifferentiable,
                f"custom_vjp {self.name}: the function closes over a value with a derivative "
                f"({closed[0].type}{' ' + closed[0].hint if closed[0].hint else ''}); pass it as an argument",
            )
        if self.fwd is None or self.bwd is None:
            fail(NotDifferentiable, f"custom_vjp {self.name}: call .defvjp(fwd, bwd) before differentiating")
        out, res = self.fwd(*unflatten(self.in_tree, [value_of(a) for a in args]))
        out_leaves, out_tree = flatten(out)
        if out_tree != self.out_tree:
            fail(ShapeError, f"custom_vjp {self.name}: fwd returned {out_tree}, the function returns {self.out_tree}")
        outs = _atoms(out_leaves, "custom_vjp fwd")
        res_leaves, res_tree = flatten(res)
        residuals = _atoms(res_leaves, "custom_vjp fwd")
        moving = [t for t in args_tan if not is_zero(t)]
        tangent_outs = [j for j, o in enumerate(stmt.outs) if differentiable(o.type)]
        if not moving or not tangent_outs:
            return outs, [Zero(v.type) for v in stmt.outs]
        zero = [is_zero(t) for t in args_tan]
        linear = _CustomLinear(self, res_tree, [a.type for a in args], zero, [o.type for o in stmt.outs])
        lin_args = [*residuals, *moving]
        # The body only gives the statement its types: the linear half is never run forward (forward_error).
        zeros = body_over(lambda *xs: [value_of(instantiate(Zero(stmt.outs[j].type))) for j in tangent_outs], lin_args)
        lin_outs = emit_rule(linear, zeros, lin_args)
        outs_tan: list[Tan] = [Zero(v.type) for v in stmt.outs]
        for j, t in zip(tangent_outs, lin_outs, strict=True):
            outs_tan[j] = t
        return outs, outs_tan

    def batch(
        self, stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]
    ) -> tuple[Sequence[Atom], Sequence[BDim]]:
        """Batched ``fwd`` and ``bwd`` (every output and residual batched at axis 0); an argument shared by
        every example gets the sum of its per-example cotangents."""
        flags = [b is not None for b in bdims]
        body = stmt.params["body"]
        program, out_bdims = batch_body(ctx, body, [0 if f else None for f in flags], [0] * len(body.outputs))
        fwd = bwd = None
        if self.fwd is not None and self.bwd is not None:
            fwd = vmap(self.fwd, in_axes=unflatten(self.in_tree, [0 if f else None for f in flags]))
            user_bwd = self.bwd

            def bwd(res: Any, ct: Any) -> Any:
                cts = _cotangent_leaves(self, vmap(user_bwd, in_axes=(0, 0))(res, ct))
                summed = [c if c is None or f else c.sum(axis=0) for c, f in zip(cts, flags, strict=True)]
                return unflatten(self.in_tree, summed)

        rule = _CustomVJP(self.name, fwd, bwd, self.in_tree, self.out_tree)
        return emit_rule(rule, program, batched_args(args, bdims)), out_bdims


def _cotangent_leaves(rule: _CustomVJP, in_cts: Any) -> list[Any]:
    """What ``bwd`` returned, one entry per argument leaf (None where it gave ``None`` for a zero cotangent)."""
    n = len(rule.in_tree.children)
    if not isinstance(in_cts, (tuple, list)) or len(in_cts) != n:
        got = (
            f"{type(in_cts).__name__} of {len(in_cts)}" if isinstance(in_cts, (tuple, list)) else type(in_cts).__name__
        )
        fail(
            ShapeError,
            f"custom_vjp {rule.name}: bwd must return a tuple of {n} cotangents, one per argument, got {got}",
        )
    try:
        return flatten_up_to(rule.in_tree, tuple(in_cts))
    except ValueError:
        fail(
            ShapeError, f"custom_vjp {rule.name}: bwd returned {flatten(tuple(in_cts))[1]} for arguments {rule.in_tree}"
        )


class _CustomLinear(CustomRule):
    """The linear half of a ``custom_vjp``: transposed, it is the user's ``bwd``; it has no forward meaning.

    Its arguments are the residuals of ``fwd`` followed by the tangents of the arguments that have one
    (``zero`` marks the others); its results are the tangents of the float outputs.
    """

    def __init__(
        self,
        vjp: _CustomVJP,
        res_tree: TreeDef,
        arg_types: list[ArrayType],
        zero: list[bool],
        out_types: list[ArrayType],
    ) -> None:
        self.vjp, self.res_tree, self.arg_types, self.zero, self.out_types = vjp, res_tree, arg_types, zero, out_types
        self.name = f"custom_vjp_linear {vjp.name}"
        self.forward_error = _forward_error(vjp.name)
        self.forward_mode = False

    def jvp(self, stmt: Stmt, env: Env, args: list[Atom], args_tan: list[Tan]) -> tuple[Sequence[Atom], list[Tan]]:
        fail(NotDifferentiable, self.forward_error)

    def batch(
        self, stmt: Stmt, ctx: BatchContext, args: list[Atom], bdims: list[BDim]
    ) -> tuple[Sequence[Atom], Sequence[BDim]]:
        fail(NotDifferentiable, self.forward_error)

    def transpose(self, stmt: Stmt, ctx: TransposeContext, args: list[Atom], cts: list[Tan]) -> Contributions:
        n_res = self.res_tree.num_leaves
        residuals, moving = args[:n_res], args[n_res:]
        given = iter(cts)
        out_cts = [instantiate(next(given)) if differentiable(t) else instantiate(Zero(t)) for t in self.out_types]
        in_cts = self.vjp.bwd(  # type: ignore[misc]
            unflatten(self.res_tree, [value_of(r) for r in residuals]),
            unflatten(self.vjp.out_tree, [value_of(c) for c in out_cts]),
        )
        leaves = [
            value_of(instantiate(Zero(t))) if c is None else c
            for c, t in zip(_cotangent_leaves(self.vjp, in_cts), self.arg_types, strict=True)
        ]
        found: Contributions = []
        targets = iter(moving)
        for was_zero, ct in zip(self.zero, leaves, strict=True):
            if not was_zero:
                target = next(targets)
                found.append((target, tangent_like(ct, target, f"custom_vjp {self.vjp.name} bwd")))
        return found
