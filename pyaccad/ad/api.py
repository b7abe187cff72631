"""The public transforms: ``jvp``, ``linearize``, ``vjp``, ``grad``, ``value_and_grad``, ``grad_with``, ``diff``.

Every transform takes a plain Python function. Called with tracers (inside
``acc.jit``, another transform, or a lambda) it traces the function in a
nested builder and adds the derivative program to the current trace; called
with NumPy arrays it compiles and runs that program (``acc.jit``, default
backend). Outer tracers a function closes over are free variables of its
nested trace — constants with zero tangent to this transform — so nested
derivatives cannot confuse their perturbations.

Inside a lambda (scalar level) ``grad`` and ``vjp`` use forward mode, one
pass per input: scalars have no arrays to transpose.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> f = lambda x: ad.grad(lambda x: x * ad.grad(lambda y: x + y)(x))(x)
>>> acc.jit(f)(np.array(3.0))
array(1.)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import pyaccad.ad.jvp_rules  # noqa: F401  (importing the rule packages fills the tables)
import pyaccad.ad.transpose_rules  # noqa: F401
from pyaccad.ad import custom_rules, remat  # noqa: F401  (the custom family's rules, in all three tables)
from pyaccad.ad.emitters import lit
from pyaccad.ad.jvp import jvp_atoms
from pyaccad.ad.linearize import linearize_into
from pyaccad.ad.tangents import Tan, Zero, differentiable, instantiate, is_zero, tcast, tscale, tsum
from pyaccad.ad.transpose import transpose_into
from pyaccad.errors import NotDifferentiable, ShapeError
from pyaccad.frontend.pytree import TreeDef, flatten, unflatten
from pyaccad.frontend.tracing import (
    Value,
    check_live,
    current_builder,
    fail,
    in_scalar_scope,
    is_scalar_literal,
    to_value,
    trace_program,
    value_of,
)
from pyaccad.ir import Atom, Program
from pyaccad.ir.rewrite import substitute
from pyaccad.wiring import compile_function


def staged(f: Callable[..., Any], traced: Callable[..., Any]) -> Callable[..., Any]:
    """``traced`` inside a trace; with NumPy arguments, compiled (by :mod:`pyaccad.wiring`'s compiler,
    ``acc.jit``, cached per signature) and run.

    Keyword arguments are passed on to ``traced``; with NumPy arguments, those holding no array (a flag,
    a Python number) stay Python values, each new value compiling anew (``static_argnames``)."""
    jitted: dict[tuple[str, ...], Any] = {}

    @functools.wraps(f)
    def transformed(*args: Any, **kwargs: Any) -> Any:
        leaves, _ = flatten((args, kwargs))
        if current_builder() is None and not any(isinstance(x, Value) for x in leaves):
            static = tuple(sorted(k for k, v in kwargs.items() if is_python_value(v)))
            if static not in jitted:
                jitted[static] = compile_function(traced, static_argnames=static)
            return jitted[static](*args, **kwargs)
        return traced(*args, **kwargs)

    return transformed


def is_python_value(x: Any) -> bool:
    """True when the pytree ``x`` holds no array (NumPy, device or traced) and no NumPy scalar."""
    return not any(hasattr(leaf, "dtype") or isinstance(leaf, Value) for leaf in flatten(x)[0])


def bind_keywords(f: Callable[..., Any], kwargs: dict[str, Any]) -> Callable[..., Any]:
    """``f`` with the keyword arguments ``kwargs`` bound (constants to the transform that calls it)."""
    if not kwargs:
        return f

    @functools.wraps(f)
    def bound(*args: Any, **more: Any) -> Any:
        return f(*args, **kwargs, **more)

    return bound


def _trace(f: Callable[..., Any], args: Sequence[Any], what: str) -> tuple[Program, list[Atom], TreeDef, TreeDef]:
    """Trace ``f`` at the arguments (a pytree per positional argument) in a builder nested in the current one."""
    leaves, in_tree = flatten(tuple(args))
    atoms = [check_live(to_value(x, what)) for x in leaves]
    kind = "scalar" if in_scalar_scope() else "array"
    program, out_tree = trace_program(f, [a.type for a in atoms], kind, in_tree, what=what)
    return program, atoms, in_tree, out_tree


def _values(atoms: Sequence[Atom]) -> list[Value]:
    return [value_of(a) for a in atoms]


def jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(f(*primals), J_f(primals) · tangents)``, as ``jax.jvp``.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> run = acc.jit(lambda x, t: ad.jvp(acc.sin, (x,), (t,)))
    >>> run(np.array(0.0), np.array(2.0))
    (array(0.), array(2.))
    """
    return staged(f, lambda p, t: _jvp(f, p, t))(tuple(primals), tuple(tangents))


def _jvp(f: Callable[..., Any], primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    program, atoms, in_tree, out_tree = _trace(f, primals, "jvp")
    t_leaves, t_tree = flatten(tuple(tangents))
    if t_tree != in_tree:
        fail(ShapeError, f"jvp: tangents have structure {t_tree}, primals {in_tree}")
    tans: list[Tan] = [
        tangent_like(t, a, "jvp") if differentiable(a.type) else Zero(a.type)
        for a, t in zip(atoms, t_leaves, strict=True)
    ]
    outs, outs_tan = jvp_atoms(program, atoms, tans)
    return unflatten(out_tree, _values(outs)), unflatten(out_tree, _values([instantiate(t) for t in outs_tan]))


def linearize(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """``(f(*primals), f_jvp)`` where ``f_jvp(*tangents)`` is the linear map ``J_f(primals)``, as ``jax.linearize``.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> def g(x):
    ...     y, f_jvp = ad.linearize(lambda x: x * x, x)
    ...     return f_jvp(np.array(1.0))
    >>> acc.jit(g)(np.array(3.0))
    array(6.)
    """
    return _staged_pair(f, primals, _linearize)


def vjp(f: Callable[..., Any], *primals: Any) -> tuple[Any, Callable[..., Any]]:
    """``(f(*primals), pullback)`` with ``pullback(ct)`` the cotangents of the primals, as ``jax.vjp``.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> def g(x):
    ...     y, pullback = ad.vjp(lambda x: x * x, x)
    ...     return pullback(np.ones(2))[0]
    >>> acc.jit(g)(np.array([1.0, 3.0]))
    array([2., 6.])
    """
    return _staged_pair(f, primals, _vjp)


def _staged_pair(f: Callable[..., Any], primals: Sequence[Any], transform: Callable[..., Any]) -> tuple[Any, Any]:
    """Run ``transform`` (``_vjp``/``_linearize``) in the current trace; with NumPy primals, compile the
    primal part once (it returns the residuals too) and the linear function once, residuals as arguments."""
    leaves, _ = flatten(tuple(primals))
    if current_builder() is not None or any(isinstance(x, Value) for x in leaves):
        return transform(f, primals)
    made: list[LinearFunction] = []

    def primal_part(*ps: Any) -> Any:
        out, linear_fn = transform(f, ps)
        made.append(linear_fn)
        return out, linear_fn.residuals()

    out, residuals = compile_function(primal_part)(*primals)
    linear = compile_function(lambda res, *args: made[0].rebound(res)(*args))
    return out, lambda *args: linear(residuals, *args)


class LinearFunction:
    """A linear function (``f_jvp``, ``pullback``): ``apply`` run on a linear program whose free
    variables are residuals of the trace that made it."""

    def __init__(self, linear: Program, apply: Callable[..., Any]) -> None:
        self.linear = linear
        self._apply = apply

    def residuals(self) -> list[Value]:
        return [value_of(v) for v in self.linear.free_vars]

    def rebound(self, residuals: Sequence[Value]) -> LinearFunction:
        """The same function reading ``residuals`` (tracers of another trace) instead."""
        env = {v: check_live(r) for v, r in zip(self.linear.free_vars, residuals, strict=True)}
        return LinearFunction(substitute(self.linear, env), self._apply)

    def __call__(self, *args: Any) -> Any:
        return self._apply(self.linear, *args)


def _linearize(f: Callable[..., Any], primals: Sequence[Any]) -> tuple[Any, LinearFunction]:
    program, atoms, in_tree, out_tree = _trace(f, primals, "linearize")
    lin = linearize_into(program, atoms)

    def f_jvp(linear: Program, *tangents: Any) -> Any:
        t_leaves, _ = flatten(tuple(tangents))
        if len(t_leaves) != len(atoms):
            fail(ShapeError, f"linearize: f_jvp got {len(t_leaves)} tangent arrays, expected {len(atoms)}")
        tans = [tangent_like(t_leaves[i], atoms[i], "f_jvp") for i in lin.diff_inputs]
        outs_tan = jvp_atoms(linear, tans, [Zero(t.type) for t in tans])[0]
        return unflatten(out_tree, _values(outs_tan))

    return unflatten(out_tree, _values(lin.outs)), LinearFunction(lin.linear, f_jvp)


def tangent_like(x: Any, like: Atom, what: str) -> Tan:
    """``x`` as a (co)tangent for the value ``like``: same shape, converted to its float dtype.

    A Python number stands for an array of ``like``'s type filled with it; a symbolic ``Zero`` stays one."""
    if isinstance(x, Zero):
        return Zero(like.type)
    if is_scalar_literal(x) and differentiable(like.type):
        return lit(x, like.type)
    atom = check_live(to_value(x, what))
    if atom.type.shape != like.type.shape:
        fail(ShapeError, f"{what}: got shape {atom.type.shape} for a value of shape {like.type.shape}")
    return tcast(atom, like.type) if differentiable(atom.type) else atom


def _vjp(f: Callable[..., Any], primals: Sequence[Any]) -> tuple[Any, Any]:
    return _vjp_of(*_trace(f, primals, "vjp"))


def _vjp_of(program: Program, atoms: list[Atom], in_tree: TreeDef, out_tree: TreeDef) -> tuple[Any, Any]:
    """``(outputs, pullback)`` of a traced ``program`` at ``atoms``; a cotangent may be a symbolic ``Zero``."""
    if in_scalar_scope():
        return _scalar_vjp(program, atoms, in_tree, out_tree)
    lin = linearize_into(program, atoms)

    def pullback(linear: Program, *cts: Any) -> Any:
        ct_leaves, _ = flatten(cts[0] if len(cts) == 1 else tuple(cts))
        if len(ct_leaves) != len(lin.outs):
            fail(ShapeError, f"vjp: {len(ct_leaves)} cotangent arrays for {len(lin.outs)} outputs ({out_tree})")
        ct_atoms = [tangent_like(c, o, "pullback") for c, o in zip(ct_leaves, lin.outs, strict=True)]
        in_cts = transpose_into(linear, ct_atoms)
        by_input = dict(zip(lin.diff_inputs, in_cts, strict=True))
        result = [instantiate(by_input.get(i, Zero(a.type))) for i, a in enumerate(atoms)]
        return unflatten(in_tree, _values(result))

    return unflatten(out_tree, _values(lin.outs)), LinearFunction(lin.linear, pullback)


def _scalar_vjp(program: Program, atoms: list[Atom], in_tree: TreeDef, out_tree: TreeDef) -> tuple[Any, Any]:
    """``vjp`` of a scalar function inside a lambda: one forward pass per input (no arrays to transpose)."""
    outs, _ = jvp_atoms(program, atoms, [Zero(a.type) for a in atoms])

    def pullback(*cts: Any) -> Any:
        ct_leaves, _ = flatten(cts[0] if len(cts) == 1 else tuple(cts))
        ct_atoms = [c if isinstance(c, Zero) else check_live(to_value(c, "pullback")) for c in ct_leaves]
        result: list[Atom] = []
        for i, a in enumerate(atoms):
            if not differentiable(a.type):
                result.append(lit(0, a.type))
                continue
            seeds: list[Tan] = [Zero(b.type) for b in atoms]
            seeds[i] = lit(1, a.type)
            _, outs_tan = jvp_atoms(program, atoms, seeds)
            terms = [
                tscale(t, tcast(c, t.type))
                for t, c in zip(outs_tan, ct_atoms, strict=True)
                if not is_zero(t) and not isinstance(c, Zero)
            ]
            result.append(instantiate(tsum(terms, a.type)))
        return unflatten(in_tree, _values(result))

    return unflatten(out_tree, _values(outs)), pullback


def _argnums(argnums: int | Sequence[int], n: int, what: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for k in nums:
        if not -n <= k < n:
            fail(ShapeError, f"{what}: argnums {argnums} out of range for {n} arguments")
    return tuple(k % n for k in nums)


def _value_and_grad(
    f: Callable[..., Any], argnums: int | Sequence[int], args: Sequence[Any], what: str, has_aux: bool = False
) -> tuple[Any, Any]:
    """``(f(*args), gradient)``; with ``has_aux``, ``f`` returns ``(value, aux)`` and ``aux`` has no cotangent."""
    nums = _argnums(argnums, len(args), what)
    for k in nums:
        for leaf in flatten(args[k])[0]:
            value = to_value(leaf, what)
            if not differentiable(value.var.type):
                fail(
                    NotDifferentiable,
                    f"{what}: argument {k} has dtype {value.dtype}; "
                    "only float inputs can be differentiated (use acc.cast to a float)",
                )
    program, atoms, in_tree, out_tree = _trace(f, args, what)
    if has_aux and (out_tree.kind not in ("tuple", "list") or len(out_tree.children) != 2):
        fail(ShapeError, f"{what}: with has_aux=True the function must return a pair (value, aux), got {out_tree}")
    n_value = out_tree.children[0].num_leaves if has_aux else out_tree.num_leaves
    value_type = program.output_types[0] if n_value == 1 else None
    if value_type is None or value_type.shape != () or not differentiable(value_type):
        shapes = [t.shape for t in program.output_types[:n_value]]
        fail(ShapeError, f"{what}: the function must return one float scalar, got {shapes}; use ad.vjp for others")
    out, pullback = _vjp_of(program, atoms, in_tree, out_tree)
    seeds = [1.0] + [Zero(t) for t in program.output_types[1:]]  # aux outputs: no cotangent
    grads = pullback(*seeds)
    chosen = tuple(grads[k] for k in nums)
    return out, chosen[0] if isinstance(argnums, int) else chosen


def lit_value(value: float, like: Value) -> Value:
    return value_of(lit(value, like.var.type))


def grad(f: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Callable[..., Any]:
    """The gradient of a scalar-valued ``f`` with respect to the arguments ``argnums`` (pytrees allowed).

    With ``has_aux=True``, ``f`` returns ``(value, aux)`` and the result is ``(gradient, aux)``; keyword
    arguments are passed to ``f`` and not differentiated, as in ``jax.grad``.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> acc.jit(ad.grad(lambda x: (x * x).sum()))(np.array([1.0, 2.0]))
    array([2., 4.])
    >>> ad.grad(lambda x, scale: ((x * x).sum() * scale, x.max()), has_aux=True)(np.array([1.0, 2.0]), scale=3.0)
    (array([ 6., 12.]), array(2.))
    """

    def traced(*args: Any, **kwargs: Any) -> Any:
        out, g = _value_and_grad(bind_keywords(f, kwargs), argnums, args, "grad", has_aux)
        return (g, out[1]) if has_aux else g

    return staged(f, traced)


def value_and_grad(
    f: Callable[..., Any], argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Callable[..., Any]:
    """``(f(*args), grad(f)(*args))`` in one pass, as ``ad``'s ``grad'``; with ``has_aux=True``,
    ``((value, aux), gradient)``, as ``jax.value_and_grad``.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> acc.jit(ad.value_and_grad(lambda x: (x * x).sum()))(np.array([3.0]))
    (array(9.), array([6.]))
    """
    return staged(
        f, lambda *args, **kwargs: _value_and_grad(bind_keywords(f, kwargs), argnums, args, "value_and_grad", has_aux)
    )


def grad_with(combine: Callable[[Any, Any], Any], f: Callable[..., Any]) -> Callable[..., Any]:
    """``combine(x, dx)`` element-wise over the input and its gradient, as ``ad``'s ``gradWith``.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> acc.jit(ad.grad_with(lambda x, dx: (x, dx), lambda x: (x * x).sum()))(np.array([2.0]))
    (array([2.]), array([4.]))
    """

    def traced(x: Any, **kwargs: Any) -> Any:
        g = _value_and_grad(bind_keywords(f, kwargs), 0, (x,), "grad_with")[1]
        x_leaves, tree = flatten(x)
        g_leaves, _ = flatten(g)
        return unflatten(tree, [combine(to_value(a, "grad_with"), b) for a, b in zip(x_leaves, g_leaves, strict=False)])

    return staged(f, traced)


def diff(f: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """The derivative of a scalar → scalar function; usable inside lambdas, as ``ad``'s ``diff``.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad
    >>> acc.jit(lambda a: acc.map(ad.diff(lambda x: x * x * x), a))(np.array([1.0, 2.0]))
    array([ 3., 12.])
    """

    def traced(x: Any) -> Any:
        value = to_value(x, "diff")
        if not differentiable(value.var.type):
            fail(NotDifferentiable, f"diff: the argument has dtype {value.dtype}; only floats can be differentiated")
        one = lit_value(1, value)
        return _jvp(f, (value,), (one,))[1]

    return staged(f, traced)
