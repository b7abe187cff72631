"""Neural-network helpers on traced arrays, with JAX's names and axis conventions.

All are compositions of the array language (element-wise operations and the
NumPy-style reductions), so they differentiate and fuse like user code.
``logsumexp`` and ``softmax`` subtract the maximum first, so large inputs do
not overflow; as in JAX, that shift is a constant to AD (``stop_gradient``):
the result does not depend on it, and differentiating through the maximum
would only add two reductions that cancel.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import nn
>>> acc.run(lambda x: nn.softmax(x), np.array([0.0, np.log(3.0)]), backend="interp")
array([0.25, 0.75])
"""

from __future__ import annotations

from typing import Any

from pyaccad.errors import DTypeError, ShapeError
from pyaccad.frontend.combinators import generate
from pyaccad.frontend.operators import SCALAR_FUNCTIONS, where
from pyaccad.frontend.shapes import normalize_axes, reshape
from pyaccad.frontend.tracing import Value, fail, to_value
from pyaccad.ir.types import is_float, is_int

__all__ = ["cross_entropy", "log_softmax", "logsumexp", "relu", "sigmoid", "softmax"]

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
    >>> acc.run(nn.relu, np.array([-1.0, 2.0]), backend="interp")
    array([0., 2.])
    """
    return SCALAR_FUNCTIONS["maximum"](to_value(x, "relu"), 0)


def sigmoid(x: Any) -> Value:
    """The logistic function ``1 / (1 + exp(-x))``.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import nn
    >>> acc.run(nn.sigmoid, np.array([0.0]), backend="interp")
    array([0.5])
    """
    return 1.0 / (1.0 + _exp(-_floats(x, "sigmoid")))


def logsumexp(x: Any, axis: Any = None, keepdims: bool = False) -> Value:
    """``log(sum(exp(x), axis))``, computed stably (the maximum is subtracted first).

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import nn
    >>> acc.run(lambda x: nn.logsumexp(x), np.array([1000.0, 1000.0]), backend="interp")
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
    >>> np.exp(acc.run(nn.log_softmax, np.array([[0.0, np.log(3.0)]]), backend="interp"))
    array([[0.25, 0.75]])
    """
    value = _floats(x, "log_softmax")
    return value - logsumexp(value, axis=axis, keepdims=True)


def softmax(x: Any, axis: Any = -1) -> Value:
    """``exp(x) / sum(exp(x), axis)``, computed stably.

    >>> import numpy as np, pyaccad as acc
    >>> from pyaccad import nn
    >>> acc.run(lambda x: nn.softmax(x, axis=0), np.zeros((2, 1)), backend="interp")
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
    >>> float(acc.run(nn.cross_entropy, logits, np.array([1, 0]), backend="interp"))  # -(log .75 + log .5) / 2
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
