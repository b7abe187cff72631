"""NumPy's operators and methods of traced values: ``x + y``, ``x @ w``, ``x[i]``, ``x.T``, ``x.sum()``, ``x.at``.

Each is an operation of a module built on :mod:`pyaccad.frontend.values` (:mod:`.operators`,
:mod:`.shapes`, :mod:`.indexing`, :mod:`.reductions`, :mod:`.fancy`, :mod:`.interop`), so
:class:`~pyaccad.frontend.values.Value` cannot define them without importing its own users. They are
defined here, above all of those, and attached to ``Value`` when this module is imported;
``pyaccad/frontend/__init__.py`` imports it, so every traced value has them, whichever part of the front
end was imported first. Each binary operator is its element-wise operation, the operands swapped for the
reflected one (``2 - x`` is ``x.__rsub__(2)``); ``& | ^ ~`` are bitwise on integers and logical on bool,
as in NumPy (see :func:`~pyaccad.frontend.operators.elementwise`).

>>> import numpy as np, pyaccad as acc
>>> acc.run(lambda a: (2.0 - a @ a.T)[0].sum(), np.ones((2, 3)))
array(-2.)
"""

from __future__ import annotations

from collections.abc import Callable
from types import FunctionType
from typing import Any

import numpy as np

from pyaccad.frontend.fancy import IndexUpdateHelper
from pyaccad.frontend.indexing import getitem
from pyaccad.frontend.interop import array_function, array_ufunc
from pyaccad.frontend.literals import is_scalar_literal
from pyaccad.frontend.operators import cast, elementwise
from pyaccad.frontend.reductions import METHODS
from pyaccad.frontend.shapes import matmul, reshape, transpose
from pyaccad.frontend.values import Value


def _binary(op: str, swap: bool = False) -> Callable[[Value, Any], Value]:
    """The method of a binary operator: the element-wise ``op`` of the value and the other operand (in
    swapped order for a reflected operator); NotImplemented for an operand we do not take."""

    def method(self: Value, other: Any) -> Value:
        if not (isinstance(other, (Value, np.ndarray)) or is_scalar_literal(other)):
            return NotImplemented
        return elementwise(op, other, self) if swap else elementwise(op, self, other)

    method.__doc__ = f"``{'other ' + op + ' self' if swap else 'self ' + op + ' other'}``, element-wise."
    return method


class _ValueMethods:
    """What this module gives every :class:`~pyaccad.frontend.values.Value` (attached below, not a base class)."""

    __add__, __radd__ = _binary("add"), _binary("add", swap=True)
    __sub__, __rsub__ = _binary("sub"), _binary("sub", swap=True)
    __mul__, __rmul__ = _binary("mul"), _binary("mul", swap=True)
    __truediv__, __rtruediv__ = _binary("div"), _binary("div", swap=True)
    __floordiv__, __rfloordiv__ = _binary("floordiv"), _binary("floordiv", swap=True)
    __mod__, __rmod__ = _binary("mod"), _binary("mod", swap=True)
    __pow__, __rpow__ = _binary("pow"), _binary("pow", swap=True)
    __and__, __rand__ = _binary("bitwise_and"), _binary("bitwise_and", swap=True)
    __or__, __ror__ = _binary("bitwise_or"), _binary("bitwise_or", swap=True)
    __xor__, __rxor__ = _binary("bitwise_xor"), _binary("bitwise_xor", swap=True)
    __lshift__, __rlshift__ = _binary("left_shift"), _binary("left_shift", swap=True)
    __rshift__, __rrshift__ = _binary("right_shift"), _binary("right_shift", swap=True)
    __lt__, __le__, __gt__, __ge__ = _binary("lt"), _binary("le"), _binary("gt"), _binary("ge")
    __eq__ = _binary("eq")  # type: ignore[assignment]  (element-wise, as in NumPy)
    __ne__ = _binary("ne")  # type: ignore[assignment]

    def __neg__(self: Value) -> Value:
        return elementwise("neg", self)

    def __pos__(self: Value) -> Value:
        return self

    def __abs__(self: Value) -> Value:
        return elementwise("abs", self)

    def __invert__(self: Value) -> Value:
        return elementwise("invert", self)

    def __matmul__(self: Value, other: Any) -> Value:
        """The matrix product ``a @ b``, as ``acc.matmul`` (NumPy's ``matmul``).

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a, b: a @ b, np.eye(2), np.array([3.0, 4.0]))
        array([3., 4.])
        """
        return matmul(self, other)

    def __rmatmul__(self: Value, other: Any) -> Value:
        return matmul(other, self)

    def __getitem__(self: Value, key: Any) -> Value:
        """NumPy indexing (ints, slices, None, ``...``, integer arrays); inside lambdas ``a[i, j]`` reads an element.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a[1:, ::-1], np.arange(6).reshape(2, 3))
        array([[5, 4, 3]])
        >>> acc.run(lambda a, i: a[i, 0], np.arange(6).reshape(3, 2), np.array([2, 0]))
        array([4, 0])
        >>> acc.run(lambda a: acc.generate((2,), lambda i: a[i, 2 - i]), np.arange(6).reshape(2, 3))
        array([2, 4])
        """
        return getitem(self, key)

    def __array_ufunc__(self: Value, ufunc: np.ufunc, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """NumPy's ufuncs on traced values call ``pyaccad.numpy``'s (``np.sin(x)``, ``ndarray + x``).

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: np.sin(a) + np.ones(2), np.zeros(2))
        array([1., 1.])
        """
        return array_ufunc(ufunc, method, inputs, kwargs)

    def __array_function__(self: Value, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """NumPy's functions on traced values call ``pyaccad.numpy``'s (``np.sum(x)``, ``np.stack([x, y])``).

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: np.sum(a, axis=0), np.ones((2, 3)))
        array([2., 2., 2.])
        """
        return array_function(func, args, kwargs)

    @property
    def at(self: Value) -> Any:
        """JAX's functional updates: ``a.at[idx].set(v)``, ``.add``, ``.multiply``, ``.min``, ``.max``, ``.get``.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.at[np.array([0, 0, 2])].add(1.0), np.zeros(3))
        array([2., 0., 1.])
        """
        return IndexUpdateHelper(self)

    def astype(self: Value, dtype: Any) -> Value:
        """The values converted to ``dtype``, as ``acc.cast``.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.astype("int32"), np.array([1.5, -2.5]))
        array([ 1, -2], dtype=int32)
        """
        return cast(self, dtype)

    @property
    def T(self: Value) -> Value:  # noqa: N802  (NumPy's name)
        """The axes reversed, as in NumPy.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.T, np.zeros((2, 3))).shape
        (3, 2)
        """
        return transpose(self)

    def reshape(self: Value, *shape: Any) -> Value:
        """``a.reshape(2, 3)`` or ``a.reshape((2, 3))``, one extent may be -1.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.reshape(2, -1), np.arange(4))
        array([[0, 1],
               [2, 3]])
        """
        return reshape(self, shape[0] if len(shape) == 1 else shape)

    def sum(self: Value, axis: Any = None, keepdims: bool = False) -> Value:
        """Sum over ``axis`` (default all), as ``numpy.sum``; booleans count as int64.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.sum(axis=-1), np.arange(6).reshape(2, 3))
        array([ 3, 12])
        """
        return METHODS["sum"](self, axis, keepdims)

    def prod(self: Value, axis: Any = None, keepdims: bool = False) -> Value:
        """Product over ``axis`` (default all), as ``numpy.prod``.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.prod(axis=0), np.arange(1, 7).reshape(2, 3))
        array([ 4, 10, 18])
        """
        return METHODS["prod"](self, axis, keepdims)

    def max(self: Value, axis: Any = None, keepdims: bool = False) -> Value:
        """Maximum over ``axis`` (default all), as ``numpy.max``; an empty axis is an error.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.max(axis=1), np.array([[1, 5], [7, 2]]))
        array([5, 7])
        """
        return METHODS["max"](self, axis, keepdims)

    def min(self: Value, axis: Any = None, keepdims: bool = False) -> Value:
        """Minimum over ``axis`` (default all), as ``numpy.min``; an empty axis is an error.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.min(), np.array([[1, 5], [7, 2]]))
        array(1)
        """
        return METHODS["min"](self, axis, keepdims)

    def mean(self: Value, axis: Any = None, keepdims: bool = False) -> Value:
        """Arithmetic mean over ``axis`` (default all); integers give float64, as in NumPy.

        >>> import numpy as np, pyaccad as acc
        >>> acc.run(lambda a: a.mean(axis=0), np.array([[1, 2], [4, 4]]))
        array([2.5, 3. ])
        """
        return METHODS["mean"](self, axis, keepdims)


# Attached rather than inherited: Value stands below the operations these methods call (see the module doc).
for _name, _attr in vars(_ValueMethods).items():
    if isinstance(_attr, (FunctionType, property)):
        setattr(Value, _name, _attr)
