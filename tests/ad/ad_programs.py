"""One table of small programs, each exercising primitives, with its JAX twin: the derivative tests' inputs.

``PROGRAMS[name] = Case(fn, jax_fn, shape, lo, hi)``: ``fn`` maps one float64
array of ``shape`` (values drawn in ``[lo, hi]``, away from the points where
the program is not differentiable) to an array. The finite-difference,
dot-product and JAX tests all iterate this table, so a primitive is tested
the same way everywhere (generated from one table, not hand-written twins).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import pyaccad as acc
from pyaccad.frontend.tracing import emit, wrap
from pyaccad.ir import Lit


@dataclass(frozen=True)
class Case:
    fn: Callable[[Any], Any]
    jax_fn: Callable[[Any], Any] | None
    shape: tuple[int, ...]
    lo: float = -2.0
    hi: float = 2.0
    fd: bool = True  # False where float32 rounding inside makes finite differences meaningless


def _jnp() -> Any:
    import jax.numpy as jnp

    return jnp


def _lax() -> Any:
    import jax

    return jax.lax


def _pad(x: Any) -> Any:
    (var,) = emit(
        "pad",
        (x.var, wrap(emit("broadcast_in_dim", (Lit(0.5, x.dtype),), {"shape": (), "dims": ()})[0]).var),
        {"lo": (1,), "hi": (2,), "interior": (1,)},
    )
    return wrap(var)


def _complex_scanr1(re: Any, im: Any) -> Any:
    z = re + 1j * im
    return _jnp().imag(_jnp().cumprod(z[::-1])[::-1])


def _soft(s: Any) -> Callable[[Any, Any], Any]:
    return lambda a, b: s * acc.log(acc.exp(a / s) + acc.exp(b / s))


def _jax_pad(x: Any) -> Any:
    return _lax().pad(x, 0.5, [(1, 2, 1)])


UNARY = {  # name: (pyaccad fn, jax fn name, lo, hi)
    "neg": ("negative", "negative", -2, 2),
    "sin": ("sin", "sin", -2, 2),
    "cos": ("cos", "cos", -2, 2),
    "tan": ("tan", "tan", -1.2, 1.2),
    "asin": ("asin", "arcsin", -0.9, 0.9),
    "acos": ("acos", "arccos", -0.9, 0.9),
    "atan": ("atan", "arctan", -2, 2),
    "sinh": ("sinh", "sinh", -2, 2),
    "cosh": ("cosh", "cosh", -2, 2),
    "tanh": ("tanh", "tanh", -2, 2),
    "asinh": ("asinh", "arcsinh", -2, 2),
    "acosh": ("acosh", "arccosh", 1.1, 3),
    "atanh": ("atanh", "arctanh", -0.9, 0.9),
    "exp": ("exp", "exp", -2, 2),
    "expm1": ("expm1", "expm1", -2, 2),
    "log": ("log", "log", 0.1, 3),
    "log1p": ("log1p", "log1p", -0.5, 2),
    "sqrt": ("sqrt", "sqrt", 0.1, 3),
    "abs": ("abs", "abs", 0.1, 2),
    "erf": ("erf", "erf", -2, 2),
}


def _unary(public: str, jax_name: str, lo: float, hi: float) -> Case:
    def jf(x: Any) -> Any:
        return _lax().erf(x) if jax_name == "erf" else getattr(_jnp(), jax_name)(x)

    return Case(lambda x: getattr(acc, public)(x) * x, lambda x: jf(x) * x, (4,), lo, hi)


PROGRAMS: dict[str, Case] = {f"elementwise_{k}": _unary(*v) for k, v in UNARY.items()}
PROGRAMS.update(
    {
        "add_sub_mul_div": Case(
            lambda x: (x + 1.0) * (x - 2.0) / (x * x + 1.0), lambda x: (x + 1) * (x - 2) / (x * x + 1), (5,)
        ),
        "mod": Case(lambda x: (x + 3.0) % 1.5 * x, lambda x: _jnp().mod(x + 3, 1.5) * x, (4,), 0.1, 1.4),
        "pow": Case(lambda x: x ** (x * 0.5), lambda x: x ** (x * 0.5), (4,), 0.5, 2.0),
        "atan2": Case(lambda x: acc.atan2(x, x * x + 1.0), lambda x: _jnp().arctan2(x, x * x + 1), (4,)),
        "maximum_minimum": Case(
            lambda x: acc.maximum(x, 0.3137) * acc.minimum(x, -0.2071) + acc.maximum(x, x[::-1]),
            lambda x: _jnp().maximum(x, 0.3137) * _jnp().minimum(x, -0.2071) + _jnp().maximum(x, x[::-1]),
            (5,),
        ),
        "rounding_sign": Case(
            lambda x: (acc.floor(x * 3.0) + acc.ceil(x) + acc.round(x * 1.5) + acc.trunc(x) + acc.sign(x)) * x,
            lambda x: (
                (_jnp().floor(x * 3) + _jnp().ceil(x) + _jnp().round(x * 1.5) + _jnp().trunc(x) + _jnp().sign(x)) * x
            ),
            (4,),
            0.05,
            0.3,
        ),
        "select_compare": Case(
            lambda x: acc.where((x > 0.3137) & ~acc.isnan(x) | acc.isinf(x), x * x, -x),
            lambda x: _jnp().where(x > 0.3137, x * x, -x),
            (6,),
        ),
        "cast": Case(
            lambda x: (
                acc.cast(acc.cast(x, "float32") * 2.0, "float64") + acc.cast(acc.cast(x * 3.0, "int64"), "float64")
            ),
            lambda x: (x.astype("float32") * 2).astype("float64") + (x * 3).astype("int64").astype("float64"),
            (4,),
            0.1,
            0.3,
            fd=False,
        ),
        "const_broadcast": Case(lambda x: x[:, None] * np.arange(3.0) + x[None, :2].sum(), None, (3,)),
        "reshape_transpose_reverse": Case(
            lambda x: acc.reverse(acc.transpose(acc.reshape(x, (2, 3))), 0) * x[:2],
            lambda x: x.reshape(2, 3).T[::-1] * x[:2],
            (6,),
        ),
        "slice_strided": Case(lambda x: x[1:6:2] * x[::3], lambda x: x[1:6:2] * x[::3], (7,)),
        "pad": Case(lambda x: _pad(x) * _pad(x), lambda x: _jax_pad(x) * _jax_pad(x), (3,)),
        "concatenate": Case(
            lambda x: acc.concatenate([x, x * x, x[:1]]), lambda x: _jnp().concatenate([x, x * x, x[:1]]), (3,)
        ),
        "matmul": Case(
            lambda x: acc.reshape(x, (2, 3)) @ acc.transpose(acc.reshape(x * x, (2, 3))),
            lambda x: x.reshape(2, 3) @ (x * x).reshape(2, 3).T,
            (6,),
        ),
        "matmul_batched": Case(
            lambda x: acc.reshape(x, (2, 2, 2)) @ acc.reshape(acc.sin(x), (2, 2, 2)),
            lambda x: x.reshape(2, 2, 2) @ _jnp().sin(x).reshape(2, 2, 2),
            (8,),
        ),
        "map_multi_output": Case(
            lambda x: acc.map(lambda a, b: (a * b, acc.exp(a) - b), x, x[::-1])[1] * 2.0,
            lambda x: (_jnp().exp(x) - x[::-1]) * 2,
            (4,),
        ),
        "generate_reads": Case(
            lambda x: acc.generate((3,), lambda i: x[i] * x[i + 1] + x[2]), lambda x: x[:3] * x[1:4] + x[2], (4,)
        ),
        "generate_cond_reads": Case(
            lambda x: acc.generate((4,), lambda i: acc.cond(i % 2 == 0, lambda: x[i] * x[i], lambda: acc.sin(x[0]))),
            lambda x: _jnp().where(_jnp().arange(4) % 2 == 0, x * x, _jnp().sin(x[0])),
            (4,),
        ),
        "fold_add": Case(
            lambda x: acc.fold(lambda a, b: a + b, 1.0, acc.reshape(x * x, (2, 3))),
            lambda x: 1 + (x * x).reshape(2, 3).sum(1),
            (6,),
        ),
        "fold_mul": Case(
            lambda x: acc.fold(lambda a, b: a * b, 2.0, acc.reshape(x, (2, 3)), axis=0),
            lambda x: 2 * x.reshape(2, 3).prod(0),
            (6,),
        ),
        "fold_max": Case(
            lambda x: acc.fold1(lambda a, b: acc.maximum(a, b), acc.reshape(x, (3, 2))),
            lambda x: x.reshape(3, 2).max(1),
            (6,),
        ),
        "fold_min_init": Case(
            lambda x: acc.fold(lambda a, b: acc.minimum(a, b), 0.5, acc.reshape(x, (2, 3))),
            lambda x: _jnp().minimum(0.5, x.reshape(2, 3).min(1)),
            (6,),
        ),
        "fold_general": Case(
            lambda x: acc.fold(lambda a, b: acc.log(acc.exp(a) + acc.exp(b)), 0.2, acc.reshape(x, (2, 3))),
            lambda x: _jnp().log(_jnp().exp(0.2) + _jnp().exp(x.reshape(2, 3)).sum(1)),
            (6,),
        ),
        "fold_tuple": Case(  # complex products and an argmax: tuple-valued operators, integer component included
            lambda x: (
                acc.fold1(lambda p, q: (p[0] * q[0] - p[1] * q[1], p[0] * q[1] + p[1] * q[0]), (x, x * 0.5), axis=0)[0]
                + acc.fold1(
                    lambda p, q: (acc.where(p[0] >= q[0], p[0], q[0]), acc.where(p[0] >= q[0], p[1], q[1])),
                    (x * x, acc.generate((4,), lambda i: i)),
                )[0]
            ),
            lambda x: _jnp().real(_jnp().prod(x + 0.5j * x)) + _jnp().max(x * x),
            (4,),
            0.5,
            1.5,
        ),
        "scan_add": Case(
            lambda x: acc.scanl(lambda a, b: a + b, 1.0, x) * acc.scanr1(lambda a, b: a + b, x)[0],
            lambda x: _jnp().concatenate([_jnp().ones(1), 1 + _jnp().cumsum(x)]) * x.sum(),
            (4,),
        ),
        "scan_mul": Case(lambda x: acc.scanl1(lambda a, b: a * b, x), lambda x: _jnp().cumprod(x), (5,)),
        "scan_general": Case(
            lambda x: acc.scanr(lambda a, b: acc.log(acc.exp(a) + acc.exp(b)), 0.3, x),
            lambda x: _jnp().log(
                _jnp().concatenate([_jnp().cumsum(_jnp().exp(x[::-1]))[::-1], _jnp().zeros(1)]) + _jnp().exp(0.3)
            ),
            (4,),
        ),
        "scan_tuple": Case(  # complex products: a tuple-valued associative operator
            lambda x: acc.scanr1(lambda p, q: (p[0] * q[0] - p[1] * q[1], p[0] * q[1] + p[1] * q[0]), (x, x[::-1]))[1],
            lambda x: _complex_scanr1(x, x[::-1]),
            (4,),
            0.5,
            1.5,
        ),
        "scan_mixed_precision": Case(  # float32 and float64 components: the recurrence runs in float64
            lambda x: acc.scanl1(
                lambda p, q: (p[0] * q[0], p[1] * acc.cast(q[0], "float64") + q[1]), (acc.cast(x, "float32"), x)
            )[1],
            None,
            (4,),
            0.5,
            1.5,
            fd=False,
        ),
        "fold_closure_read": Case(  # the operator reads x[0]: a differentiated value of the enclosing scope
            lambda x: acc.fold1(lambda a, b: a * b * x[0], acc.reshape(x, (2, 3))),
            lambda x: _jnp().prod(x.reshape(2, 3), axis=1) * x[0] ** 2,
            (6,),
        ),
        "fold_closure_init": Case(  # (1 + s·a)(1 + s·b) = 1 + s·f(a, b): associative for every s = sin(x[1])
            lambda x: acc.fold(lambda a, b: a + b + acc.sin(x[1]) * a * b, 0.3, acc.reshape(x, (2, 2))),
            lambda x: (
                ((1 + _jnp().sin(x[1]) * 0.3) * _jnp().prod(1 + _jnp().sin(x[1]) * x.reshape(2, 2), axis=1) - 1)
                / _jnp().sin(x[1])
            ),
            (4,),
            0.5,
            1.5,
        ),
        "scan_closure_scalar": Case(  # log-sum-exp at temperature s: s·log(e^(a/s) + e^(b/s)), s an outer scalar
            lambda x: acc.scanl1(_soft(x.sum() * 0.5), x),
            lambda x: x.sum() * 0.5 * _jnp().log(_jnp().cumsum(_jnp().exp(x / (x.sum() * 0.5)))),
            (4,),
            0.5,
            1.5,
        ),
        "scanr_closure_init": Case(
            lambda x: acc.scanr(_soft(x[3]), 0.4, x),
            lambda x: (
                x[3]
                * _jnp().log(
                    _jnp().concatenate([_jnp().cumsum(_jnp().exp(x[::-1] / x[3]))[::-1], _jnp().zeros(1)])
                    + _jnp().exp(0.4 / x[3])
                )
            ),
            (4,),
            0.5,
            1.5,
        ),
        "backpermute": Case(
            lambda x: acc.backpermute((2, 2), lambda i, j: (3 - 2 * i - j,), x) * 3.0,
            lambda x: x[::-1].reshape(2, 2) * 3,
            (4,),
        ),
        "permute_add": Case(
            lambda x: acc.permute(lambda a, b: a + b, x[:2] * 2.0, lambda i: (i % 2,), x * x),
            lambda x: (x[:2] * 2).at[_jnp().arange(4) % 2].add(x * x),
            (4,),
        ),
        "permute_max": Case(
            lambda x: acc.permute(lambda a, b: acc.maximum(a, b), acc.fill((2,), -1.0), lambda i: (i // 2,), x),
            lambda x: _jnp().full(2, -1.0).at[_jnp().arange(4) // 2].max(x),
            (4,),
        ),
        "permute_ignore": Case(
            lambda x: acc.permute(
                lambda a, b: a + b, acc.fill((3,), 0.0), lambda i: acc.cond(i < 3, (i,), acc.IGNORE), acc.sin(x)
            ),
            lambda x: _jnp().sin(x[:3]),
            (5,),
        ),
        "permute_overwrite": Case(  # collisions: the last source written to a target wins
            lambda x: acc.permute(
                lambda new, old: new, x[:3] * 2.0, lambda i: acc.cond(i < 4, lambda: (i % 2,), acc.IGNORE), x * x
            ),
            lambda x: _jnp().stack([x[2] ** 2, x[3] ** 2, 2 * x[2]]),
            (5,),
        ),
        "stencil": Case(
            lambda x: acc.stencil(lambda n: n[0] * n[1] + n[2] * n[2], x, 3, "clamp"),
            lambda x: _jnp().concatenate([x[:1], x[:-1]]) * x + _jnp().concatenate([x[1:], x[-1:]]) ** 2,
            (5,),
        ),
        "stencil_2d_constant": Case(
            lambda x: acc.stencil(lambda n: n[0][0] * n[1][1] - n[2][1], acc.reshape(x, (2, 3)), (3, 3), 0.0),
            lambda x: (
                _jnp().pad(x.reshape(2, 3), 1)[0:2, 0:3] * x.reshape(2, 3) - _jnp().pad(x.reshape(2, 3), 1)[2:4, 1:4]
            ),
            (6,),
        ),
        "acond": Case(
            lambda x: acc.acond(x.sum() > 0.1234, lambda: x * x, lambda: acc.sin(x)),
            lambda x: _lax().cond(x.sum() > 0.1234, lambda: x * x, lambda: _jnp().sin(x)),
            (3,),
        ),
        "awhile": Case(
            lambda x: acc.awhile(lambda s: s[1] < 3, lambda s: (acc.sin(s[0]) * x, s[1] + 1), (x, np.int64(0)))[0],
            lambda x: _jnp().sin(_jnp().sin(_jnp().sin(x) * x) * x) * x,
            (3,),
        ),
        "while_in_lambda": Case(
            lambda x: acc.map(
                lambda v: acc.while_(lambda s: s[0] < 5.0, lambda s: (s[0] * 2.0 + v, s[1] * v), (v, v))[1], x
            ),
            lambda x: x**3,
            (3,),
            0.75,
            1.0,
        ),
    }
)
"""Every program of the derivative tests, by name."""
