"""Minimal pytrees: nested tuples, lists, dicts and namedtuples of leaves.

`flatten` is on the hot path of every compiled call, so tree definitions are small immutable objects
with precomputed hashes, and the walk dispatches on exact container types first.
"""
from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple


class TreeDef:
    """The structure of a pytree without its leaves: hashable and comparable, printed as the
    nesting it describes.

    Parameters
    ----------
    kind : str
        "leaf", "tuple", "list", "dict", "namedtuple" or "none".
    meta : object
        The dict's keys or the namedtuple's class (None otherwise).
    children : tuple of TreeDef
        The structures of the elements.
    """
    __slots__ = ("kind", "meta", "children", "_hash", "num_leaves")

    def __init__(self, kind, meta, children):
        self.kind, self.meta, self.children = kind, meta, children
        self._hash = hash((kind, meta, children))
        self.num_leaves = 1 if kind == "leaf" else sum(c.num_leaves for c in children)

    def __eq__(self, other):
        return self is other or (isinstance(other, TreeDef) and self._hash == other._hash and
                                 (self.kind, self.meta, self.children) ==
                                 (other.kind, other.meta, other.children))

    def __hash__(self):
        return self._hash

    def __repr__(self):
        if self.kind == "leaf":
            return "*"
        return f"{self.kind}{self.meta or ''}{list(self.children)}"


LEAF = TreeDef("leaf", None, ())
NONE = TreeDef("none", None, ())


def flatten(tree: Any, is_leaf: Optional[Callable[[Any], bool]] = None) -> Tuple[List[Any], TreeDef]:
    """The leaves of a pytree, in order, and its structure (as `jax.tree_util.tree_flatten`).

    Parameters
    ----------
    tree : pytree
        Nested tuples, lists, dicts (keys in sorted order) and namedtuples; anything else is a
        leaf (None is an empty subtree).
    is_leaf : callable, optional
        Treat the subtrees it accepts as leaves.

    Returns
    -------
    (list, TreeDef)
        The leaves and the structure, so that ``unflatten(td, leaves)`` rebuilds the tree.
    """
    leaves: List[Any] = []
    return leaves, _flatten(tree, leaves.append, is_leaf)


def _flatten(x: Any, append, is_leaf) -> TreeDef:
    # module-level, as `_build`: a closure calling itself would be a reference cycle per call
    t = type(x)
    if is_leaf is not None and is_leaf(x):
        append(x)
        return LEAF
    if t is tuple:
        return TreeDef("tuple", None, tuple([_flatten(c, append, is_leaf) for c in x]))
    if t is list:
        return TreeDef("list", None, tuple([_flatten(c, append, is_leaf) for c in x]))
    if t is dict:
        keys = tuple(sorted(x))
        return TreeDef("dict", keys, tuple([_flatten(x[k], append, is_leaf) for k in keys]))
    if x is None:
        return NONE
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return TreeDef("namedtuple", t, tuple([_flatten(c, append, is_leaf) for c in x]))
    if isinstance(x, (tuple, list)):
        return TreeDef(type(x).__name__ if isinstance(x, list) else "tuple", None,
                       tuple([_flatten(c, append, is_leaf) for c in x]))
    if isinstance(x, dict):
        keys = tuple(sorted(x))
        return TreeDef("dict", keys, tuple([_flatten(x[k], append, is_leaf) for k in keys]))
    append(x)
    return LEAF


def unflatten(td: TreeDef, leaves: Sequence[Any]) -> Any:
    """The pytree of structure `td` with the given `leaves` (the inverse of `flatten`)."""
    return _build(td, iter(leaves))


def _build(t: TreeDef, it) -> Any:
    # a module-level function, not a closure calling itself: that closure would be a reference
    # cycle holding the leaves until the garbage collector ran (outputs of compiled functions
    # stayed alive a call longer, and every call left a cycle to collect)
    if t.kind == "leaf":
        return next(it)
    if t.kind == "none":
        return None
    kids = [_build(c, it) for c in t.children]
    if t.kind == "namedtuple":
        return t.meta(*kids)
    if t.kind == "tuple":
        return tuple(kids)
    if t.kind == "list":
        return kids
    return dict(zip(t.meta, kids))


def tree_map(fn: Callable[..., Any], tree: Any, *rest: Any) -> Any:
    """`fn` applied to every leaf of `tree` (and the matching leaves of the trees in `rest`),
    in a tree of the same structure, as `jax.tree_util.tree_map`."""
    leaves, td = flatten(tree)
    others = [flatten(r)[0] for r in rest]
    return unflatten(td, [fn(x, *ys) for x, *ys in zip(leaves, *others)])


def match_leaves(td: TreeDef, tree) -> Any:
    """The leaves of `tree` if it has exactly the structure `td`, else None (no TreeDef is built:
    this is the fast path of a call whose structure was seen before)."""
    out: List[Any] = []
    append = out.append
    stack = [(td, tree)]
    pop, push = stack.pop, stack.append
    while stack:
        t, x = pop()
        k = t.kind
        if k == "leaf":
            tx = type(x)
            if tx is tuple or tx is list or tx is dict or x is None:
                return None
            append(x)
        elif k == "tuple" or k == "list":
            if type(x) is not (tuple if k == "tuple" else list) or len(x) != len(t.children):
                return None
            for c, v in zip(reversed(t.children), reversed(x)):
                push((c, v))
        elif k == "dict":
            if type(x) is not dict or len(x) != len(t.meta):
                return None
            for key, c in zip(reversed(t.meta), reversed(t.children)):
                if key not in x:
                    return None
                push((c, x[key]))
        elif k == "none":
            if x is not None:
                return None
        else:                                   # namedtuple
            if type(x) is not t.meta:
                return None
            for c, v in zip(reversed(t.children), reversed(x)):
                push((c, v))
    return out
