"""Derivatives as IR → IR program transformations (``pyaccad.ad``).

Forward mode (:mod:`~pyaccad.ad.jvp`) re-traces a program with a JVP rule
per primitive whose tangent statements are linear; ``linearize`` splits
the result into a primal part and a linear program
(:mod:`~pyaccad.ad.linearize`); reverse mode transposes the linear program
(:mod:`~pyaccad.ad.transpose`). Element functions (lambdas) are
differentiated at the scalar level (:mod:`~pyaccad.ad.lambdas.partials`). Batching
(``vmap``) and Jacobians live in :mod:`pyaccad.ad.vmap` and
:mod:`pyaccad.ad.jacobians`.

What is not differentiable is listed in :data:`pyaccad.ad.gaps.UNSUPPORTED_CASES`, each case
raising :class:`pyaccad.NotDifferentiable`: a ``permute`` whose combine is not +, *, max, min or
overwrite.

>>> import numpy as np, pyaccad as acc
>>> from pyaccad import ad
>>> acc.jit(ad.grad(lambda x: (acc.sin(x) * x).sum()))(np.array([0.0]))
array([0.])
"""

from pyaccad.ad.api import diff, grad, grad_with, jvp, linearize, value_and_grad, vjp
from pyaccad.ad.custom import checkpoint, custom_vjp, stop_gradient

# Imported eagerly: importing the submodule pyaccad.ad.vmap binds the package attribute ``vmap`` to the
# module, so a lazy ``__getattr__`` would hand out the module instead of the function.
from pyaccad.ad.jacobians import hessian, hessian_product, jacobian
from pyaccad.ad.vmap import vmap

__all__ = [
    "checkpoint",
    "custom_vjp",
    "diff",
    "grad",
    "grad_with",
    "hessian",
    "hessian_product",
    "jacobian",
    "jvp",
    "linearize",
    "stop_gradient",
    "value_and_grad",
    "vjp",
    "vmap",
]
