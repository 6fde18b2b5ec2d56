"""Minimal pytrees: nested tuples, lists, dicts and namedtuples of leaves."""
from __future__ import annotations

from typing import Any, Callable, List, Tuple


class TreeDef:
    __slots__ = ("kind", "meta", "children")

    def __init__(self, kind, meta, children):
        self.kind, self.meta, self.children = kind, meta, children

    def __eq__(self, other):
        return isinstance(other, TreeDef) and (self.kind, self.meta, self.children) == \
            (other.kind, other.meta, other.children)

    def __hash__(self):
        return hash((self.kind, self.meta, self.children))

    def __repr__(self):
        if self.kind == "leaf":
            return "*"
        return f"{self.kind}{self.meta or ''}{list(self.children)}"

    @property
    def num_leaves(self):
        return 1 if self.kind == "leaf" else sum(c.num_leaves for c in self.children)


LEAF = TreeDef("leaf", None, ())


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(x, "_fields")


def flatten(tree, is_leaf: Callable[[Any], bool] = None) -> Tuple[List[Any], TreeDef]:
    leaves: List[Any] = []

    def rec(x):
        if is_leaf is not None and is_leaf(x):
            leaves.append(x)
            return LEAF
        if _is_namedtuple(x):
            return TreeDef("namedtuple", type(x), tuple(rec(c) for c in x))
        if isinstance(x, (tuple, list)):
            return TreeDef(type(x).__name__, None, tuple(rec(c) for c in x))
        if isinstance(x, dict):
            keys = tuple(sorted(x))
            return TreeDef("dict", keys, tuple(rec(x[k]) for k in keys))
        if x is None:
            return TreeDef("none", None, ())
        leaves.append(x)
        return LEAF
    return leaves, rec(tree)


def unflatten(td: TreeDef, leaves) -> Any:
    it = iter(leaves)

    def rec(t):
        if t.kind == "leaf":
            return next(it)
        if t.kind == "none":
            return None
        kids = [rec(c) for c in t.children]
        if t.kind == "namedtuple":
            return t.meta(*kids)
        if t.kind == "tuple":
            return tuple(kids)
        if t.kind == "list":
            return kids
        return dict(zip(t.meta, kids))
    out = rec(td)
    return out


def tree_map(fn, tree, *rest):
    leaves, td = flatten(tree)
    others = [flatten(r)[0] for r in rest]
    return unflatten(td, [fn(x, *ys) for x, *ys in zip(leaves, *others)])
