"""User control over derivatives: ``custom_rule`` and ``remat``.

Both compute ``body(*args)``: every backend runs them as their body (the optimiser splices it in,
:mod:`pyaccad.opt.inline_rules`), and only the passes named below treat them differently.

``custom_rule(*args; body, rule)`` attaches a derivative ``rule`` to a computation. The derivative
passes (JVP, transpose, batching: :mod:`pyaccad.ad.custom_rules`) call the rule instead of
differentiating the body; the values the rule needs are the statement's arguments, so every pass
renames them like any operand. ``rule`` is an object with a ``forward_error`` attribute: None when
the body is the rule's forward meaning (``stop_gradient``: the identity), else why running the body
would be wrong (the linear half of a ``custom_vjp`` is defined only transposed, by the user's
``bwd``); the optimiser raises that error rather than run the body.

``remat(*args; body)`` is a recomputation barrier (``ad.checkpoint``): the optimiser never merges a
value computed inside the body with one computed outside (CSE gives the body a scope of its own),
so a reverse pass that recomputes values inside a ``remat`` keeps recomputing them instead of
reading stored ones. It is spliced in only after the optimiser's rounds.

Bodies take the arguments as inputs and may read enclosing scopes lexically.

>>> from pyaccad.ir import PRIMITIVES
>>> PRIMITIVES["custom_rule"].subprogram_params, PRIMITIVES["remat"].scope
(('body',), 'array')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyaccad.errors import ShapeError
from pyaccad.ir.core import Primitive, declare
from pyaccad.ir.types import ArrayType


def _body_rule(name: str):
    def rule(args: Sequence[ArrayType], params: Mapping[str, Any]) -> list[ArrayType]:
        body = params["body"]
        if list(body.input_types) != list(args):
            raise ShapeError(
                f"{name}: the body takes {[str(t) for t in body.input_types]}, given {[str(t) for t in args]}"
            )
        return list(body.output_types)

    return rule


CUSTOM_RULE = declare(
    Primitive(
        "custom_rule",
        _body_rule("custom_rule"),
        scope="both",
        subprogram_params=("body",),
        doc="custom_rule(*args; body, rule): body(*args), differentiated by rule",
        family="custom",
    )
)
REMAT = declare(
    Primitive(
        "remat",
        _body_rule("remat"),
        scope="array",
        subprogram_params=("body",),
        doc="remat(*args; body): body(*args), never merged with values outside it",
        family="custom",
    )
)
