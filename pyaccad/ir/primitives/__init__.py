"""Declares every primitive (importing this package fills :data:`pyaccad.ir.core.PRIMITIVES`)."""

from pyaccad.ir.primitives import collective, control, custom, elementwise, linalg, structural

__all__ = ["collective", "control", "custom", "elementwise", "linalg", "structural"]
