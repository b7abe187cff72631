"""Pytrees: nested tuples, lists and dicts of leaves, flattened and rebuilt as in JAX.

>>> leaves, tree = flatten({"b": (1, 2), "a": [3]})
>>> leaves
[3, 1, 2]
>>> unflatten(tree, [30, 10, 20])
{'a': [30], 'b': (10, 20)}
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class TreeDef:
    """The structure of a pytree: ``kind`` is "leaf", "none", "tuple", "namedtuple", "list" or "dict".

    >>> from collections import namedtuple
    >>> Pair = namedtuple("Pair", "w b")
    >>> leaves, tree = flatten(Pair(1, (2, 3)))
    >>> str(tree), unflatten(tree, [10, 20, 30])
    ('Pair(*, (*, *))', Pair(w=10, b=(20, 30)))
    """

    kind: str
    children: tuple[TreeDef, ...] = ()
    keys: tuple[Any, ...] = ()

    @property
    def num_leaves(self) -> int:
        if self.kind == "leaf":
            return 1
        return sum(c.num_leaves for c in self.children)

    def __str__(self) -> str:
        if self.kind == "leaf":
            return "*"
        if self.kind == "none":
            return "None"
        inner = (
            ", ".join(f"{k!r}: {c}" for k, c in zip(self.keys, self.children, strict=True))
            if self.kind == "dict"
            else ", ".join(map(str, self.children))
        )
        if self.kind == "namedtuple":
            return f"{self.keys[0].__name__}({inner})"
        return {"tuple": f"({inner})", "list": f"[{inner}]", "dict": f"{{{inner}}}"}[self.kind]


LEAF = TreeDef("leaf")


def flatten(tree: Any) -> tuple[list[Any], TreeDef]:
    """Leaves in order (dict keys sorted) and the structure."""
    leaves: list[Any] = []
    return leaves, _flatten(tree, leaves)


def _flatten(tree: Any, leaves: list[Any]) -> TreeDef:
    if tree is None:
        return TreeDef("none")
    if isinstance(tree, tuple):
        children = tuple(_flatten(t, leaves) for t in tree)
        # A namedtuple keeps its class (in ``keys``) so that it comes back as itself.
        return (
            TreeDef("namedtuple", children, (type(tree),)) if hasattr(tree, "_fields") else TreeDef("tuple", children)
        )
    if isinstance(tree, list):
        return TreeDef("list", tuple(_flatten(t, leaves) for t in tree))
    if isinstance(tree, dict):
        keys = tuple(sorted(tree))
        return TreeDef("dict", tuple(_flatten(tree[k], leaves) for k in keys), keys)
    leaves.append(tree)
    return LEAF


def unflatten(treedef: TreeDef, leaves: list[Any]) -> Any:
    """Rebuild the structure ``treedef`` from ``leaves``."""
    it = iter(leaves)
    result = _unflatten(treedef, it)
    if next(it, _END) is not _END:
        raise ValueError("unflatten: more leaves than the structure holds")
    return result


_END = object()


def rebuilder(treedef: TreeDef) -> Callable[[Sequence[Any]], Any]:
    """``lambda leaves: unflatten(treedef, leaves)``, made once for a structure rebuilt many times (a jitted
    function's results): a single leaf and a flat tuple skip the walk.

    >>> _, tree = flatten((1, 2))
    >>> rebuilder(tree)([10, 20]), rebuilder(LEAF)([10])
    ((10, 20), 10)
    """
    if treedef.kind == "leaf":
        return operator.itemgetter(0)
    if treedef.kind == "tuple" and all(c.kind == "leaf" for c in treedef.children):
        return tuple
    return lambda leaves: unflatten(treedef, leaves)


def _unflatten(treedef: TreeDef, it: Any) -> Any:
    if treedef.kind == "leaf":
        return next(it)
    if treedef.kind == "none":
        return None
    children = [_unflatten(c, it) for c in treedef.children]
    if treedef.kind == "tuple":
        return tuple(children)
    if treedef.kind == "list":
        return children
    if treedef.kind == "namedtuple":
        return treedef.keys[0](*children)
    return dict(zip(treedef.keys, children, strict=True))


def flatten_up_to(tree: TreeDef, value: Any) -> list[Any]:
    """The leaves of ``value`` taken along the structure ``tree``, a ``None`` in ``value`` standing for a
    whole subtree (each of its leaves given as None), as JAX's cotangents may; ValueError on another mismatch.

    >>> _, tree = flatten(({"a": 1, "b": (2, 3)}, 4))
    >>> flatten_up_to(tree, ({"a": 10, "b": None}, 40))
    [10, None, None, 40]
    """
    if value is None:
        return [None] * tree.num_leaves
    if tree.kind == "leaf":
        return [value]
    if tree.kind == "dict":
        if not isinstance(value, dict) or tuple(sorted(value)) != tree.keys:
            raise ValueError(f"expected a dict with keys {list(tree.keys)}, got {value!r}")
        parts = [value[k] for k in tree.keys]
    else:
        if not isinstance(value, (tuple, list)) or len(value) != len(tree.children):
            raise ValueError(f"expected {tree}, got {value!r}")
        parts = list(value)
    return [leaf for child, part in zip(tree.children, parts, strict=True) for leaf in flatten_up_to(child, part)]
