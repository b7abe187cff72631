"""Derivatives inside element functions (the scalar lambdas of ``map``, ``fold``, ``stencil``, ...).

- ``partials``: a lambda's partial derivatives as extra outputs of the primal collective, and the linear
  array-level tangent built from them;
- ``closures``: ``fold``/``scan`` operators reading differentiated arrays;
- ``shifts``: stencil tangents through shifted slices of the boundary-extended array;
- ``loop_reads`` and ``lane_steps``: reverse mode through reads inside a lambda's ``while_`` loops.

>>> from pyaccad.ad.lambdas import partials
>>> callable(partials.lambda_tangents)
True
"""
