"""Neural-network helpers on traced arrays, with JAX's names and axis conventions.

All are compositions of the array language (element-wise operations and the
NumPy-style reductions), so they differentiate and fuse like user code.
``logsumexp`` and ``softmax`` subtract the maximum first, so large inputs do
not overflow; as in JAX, that shift is a constant to AD (``stop_gradient``):
the result does not depend on it, and differentiating through the maximum
would only add two reductions that cancel. ``adam`` (with ``adam_init``) is an
optimiser step over a pytree of parameters, for a jitted training step.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import nn
>>> acc.run(lambda x: nn.softmax(x), np.array([0.0, np.log(3.0)]))
array([0.25, 0.75])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from pyaccad.errors import ArgumentError, DTypeError, ShapeError
from pyaccad.frontend.combinators import generate
from pyaccad.frontend.operators import SCALAR_FUNCTIONS, where
from pyaccad.frontend.pytree import flatten, unflatten
from pyaccad.frontend.shapes import normalize_axes, reshape
from pyaccad.frontend.tracing import Value, fail, to_value
from pyaccad.ir.types import is_float, is_int

__all__ = ["adam", "adam_init", "cross_entropy", "log_softmax", "logsumexp", "relu", "sigmoid", "softmax"]

_exp, _log, _isinf = SCALAR_FUNCTIONS["exp"], SCALAR_FUNCTIONS["log"], SCALAR_FUNCTIONS["isinf"]


def __dir__() -> list[str]:
    return list(__all__)  # the imports above are not part of the API


def _shift(value: Value, axes: tuple[int, ...]) -> Value:
    """The per-slice maximum used to shift ``value`` before ``exp``, with no derivative."""
    from pyaccad.ad.custom import stop_gradient  # nn sits above AD; imported late to keep the stages acyclic

    peak = value.max(axis=axes, keepdims=True)
    peak = where(_isinf(peak), 0.0, peak)  # all -inf (or an inf) along the axis: leave x unshifted
    return stop_gradient(peak)


def _floats(x: Any, op: str) -> Value:
    value = to_value(x, op)
    if not is_float(value.dtype):
        fail(DTypeError, f"{op}: expects a float array, got {value.dtype}; use acc.cast")
    return value


def relu(x: Any) -> Value:
    """``max(x, 0)`` element-wise.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import nn
    >>> acc.run(nn.relu, np.array([-1.0, 2.0]))
    array([0., 2.])
    """
    return SCALAR_FUNCTIONS["maximum"](to_value(x, "relu"), 0)


def sigmoid(x: Any) -> Value:
    """The logistic function ``1 / (1 + exp(-x))``.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import nn
    >>> acc.run(nn.sigmoid, np.array([0.0]))
    array([0.5])
    """
    return 1.0 / (1.0 + _exp(-_floats(x, "sigmoid")))


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Value:
    """``log(sum(exp(x), axis))``, computed stably (the maximum is subtracted first).

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import nn
    >>> acc.run(lambda x: nn.logsumexp(x), np.array([1000.0, 1000.0]))
    array(1000.69314718)
    """
    value = _floats(x, "logsumexp")
    axes = normalize_axes(axis, value.ndim, "logsumexp")
    peak = _shift(value, axes)
    out = _log(_exp(value - peak).sum(axis=axes, keepdims=True)) + peak
    return out if keepdims else reshape(out, tuple(d for ax, d in enumerate(out.shape) if ax not in axes))


def log_softmax(x: Any, axis: Any = -1) -> Value:
    """``x - logsumexp(x, axis)``: log-probabilities along ``axis``.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import nn
    >>> np.exp(acc.run(nn.log_softmax, np.array([[0.0, np.log(3.0)]])))
    array([[0.25, 0.75]])
    """
    value = _floats(x, "log_softmax")
    return value - logsumexp(value, axis=axis, keepdims=True)


def softmax(x: Any, axis: Any = -1) -> Value:
    """``exp(x) / sum(exp(x), axis)``, computed stably.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import nn
    >>> acc.run(lambda x: nn.softmax(x, axis=0), np.zeros((2, 1)))
    array([[0.5],
           [0.5]])
    """
    value = _floats(x, "softmax")
    axes = normalize_axes(axis, value.ndim, "softmax")
    shifted = _exp(value - _shift(value, axes))
    return shifted / shifted.sum(axis=axes, keepdims=True)


def cross_entropy(logits: Any, labels: Any) -> Value:
    """Mean over the batch of ``-log_softmax(logits)[..., label]`` for integer class ``labels``.

    ``logits`` has shape ``(..., classes)`` and ``labels`` the leading shape ``(...)``.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import nn
    >>> logits = np.log(np.array([[0.25, 0.75], [0.5, 0.5]]))
    >>> float(acc.run(nn.cross_entropy, logits, np.array([1, 0])))  # -(log .75 + log .5) / 2
    0.4904...
    """
    scores = _floats(logits, "cross_entropy")
    classes = to_value(labels, "cross_entropy")
    if not is_int(classes.dtype):
        fail(DTypeError, f"cross_entropy: labels must be integers, got {classes.dtype}")
    if scores.ndim == 0 or classes.shape != scores.shape[:-1]:
        fail(
            ShapeError,
            f"cross_entropy: logits {scores.shape} need labels of shape {scores.shape[:-1]}, got {classes.shape}",
        )
    # One-hot compare instead of a gather: element-wise only, so it fuses and differentiates everywhere.
    onehot = generate(scores.shape, lambda *ix: ix[-1] == classes[ix[:-1]].astype("int64"))
    picked = where(onehot, log_softmax(scores), 0.0).sum(axis=-1)
    return -picked.mean()


def adam_init(params: Any) -> tuple:
    """The starting state of :func:`adam` for the pytree ``params`` (NumPy arrays): zero moments.

    The state is a pytree ``(b1 ** t, b2 ** t, first moments, second moments)``
    (the powers start at 1 for ``t = 0``, in the parameters' float dtype), so it
    passes in and out of a jitted training step like the parameters do.

    >>> import numpy as np
    >>> from pyaccad import nn
    >>> nn.adam_init({"w": np.ones(2, np.float32)})
    (array(1., dtype=float32), array(1., dtype=float32), {'w': array([0., 0.], dtype=float32)}, \
{'w': array([0., 0.], dtype=float32)})
    """
    leaves, tree = flatten(params)
    arrays = [np.asarray(leaf) for leaf in leaves]
    if not arrays or any(a.dtype.kind != "f" for a in arrays):
        kinds = [str(a.dtype) for a in arrays]
        fail(ArgumentError, f"adam_init: params must be a non-empty pytree of float arrays, got dtypes {kinds}")
    one = np.ones((), np.result_type(*arrays))
    zeros = unflatten(tree, [np.zeros_like(a) for a in arrays])
    return one, one.copy(), zeros, unflatten(tree, [np.zeros_like(a) for a in arrays])


def adam(
    params: Any,
    grads: Any,
    state: tuple,
    lr: Any = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> tuple[Any, tuple]:
    """One Adam step (Kingma & Ba, 2015): ``(new_params, new_state)``.

    ``params`` and ``grads`` are pytrees of one structure, ``state`` comes from
    :func:`adam_init` or the previous step. With ``t`` the step number,
    ``m = b1 m + (1 - b1) g``, ``v = b2 v + (1 - b2) g²`` and
    ``p -= lr · (m / (1 - b1ᵗ)) / (√(v / (1 - b2ᵗ)) + eps)``. Written with
    element-wise arithmetic only, it runs inside a jitted training step (fused
    with the gradient) and equally on NumPy arrays; ``lr`` may be a traced
    scalar, so a schedule does not retrace.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import ad, nn
    >>> loss = lambda p: ((p - 3.0) ** 2).sum()
    >>> @acc.jit
    ... def step(p, state):
    ...     return nn.adam(p, ad.grad(loss)(p), state, lr=0.1)
    >>> p = np.zeros(2)
    >>> state = nn.adam_init(p)
    >>> for _ in range(200):
    ...     p, state = step(p, state)
    >>> np.round(p, 2)
    array([3., 3.])
    """
    p_leaves, tree = flatten(params)
    g_leaves, g_tree = flatten(grads)
    if g_tree != tree:
        fail(ShapeError, f"adam: grads have the structure {g_tree}, params {tree}")
    power1, power2, m_tree, v_tree = state
    power1, power2 = power1 * b1, power2 * b2
    m = [b1 * m_i + (1 - b1) * g for m_i, g in zip(flatten(m_tree)[0], g_leaves, strict=True)]
    v = [b2 * v_i + (1 - b2) * g * g for v_i, g in zip(flatten(v_tree)[0], g_leaves, strict=True)]
    step = [
        p - lr * (m_i / (1 - power1)) / ((v_i / (1 - power2)) ** 0.5 + eps)
        for p, m_i, v_i in zip(p_leaves, m, v, strict=True)
    ]
    return unflatten(tree, step), (power1, power2, unflatten(tree, m), unflatten(tree, v))
