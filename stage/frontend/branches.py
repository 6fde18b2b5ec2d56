"""A staged `if`: both branches traced by `st.cond`, the variables they assign merged.

The branches return the values of the variables live after the `if`. Leaves that are staged on
either path go through the `cond`; Python numbers stay static while both branches agree and become
staged scalars where they differ (the first branch is then traced again, as `st.cond` itself
retraces to adapt weakly typed scalars); other Python values must be the same object on both paths.
A converted `return` inside one branch only leaves the other branch's `retval__` unassigned: it
gets zeros of the same type there, never read (its `do_return__` flag is false on that path).
"""
from __future__ import annotations

import threading
from typing import Dict, List, Set, Tuple

from .. import pytree
from ..control import cond
from ..ir.graph import StageError
from .values import (RETVAL, Undefined, copy_containers, describe, kind, placeholder, same_static,
                     template, type_of)

_BRANCH = ("if", "else")


class _Retry(Exception):
    """Trace the branches again with more leaves staged or a return-value template known."""

    def __init__(self, dynamic: Set[Tuple[int, int]], templates: Dict[int, object]):
        self.dynamic, self.templates = dynamic, templates


def _label(names, i):
    n = names[i]
    return "the returned value" if n == RETVAL else repr(n)


def _merge_error(names, i, site, a, b, what=""):
    return StageError(
        f"{_label(names, i)} is {describe(a)} after the if branch and {describe(b)} after the else "
        f"branch of the `if` at {site}, whose condition is staged{what}")


def _only_one(names, i, site, defined_in):
    n = names[i]
    return StageError(
        f"{n!r} is assigned only in the {defined_in} branch of the `if` at {site} (its condition is "
        f"staged, so both branches run in the compiled code) but is used after it: assign it in "
        f"both branches, or before the `if`")


class _Branches:
    def __init__(self, names, site, dynamic, templates):
        self.names, self.site = names, site
        self.dynamic, self.templates = dynamic, templates
        self.rec: List = [None, None]            # per branch: [(leaves, treedef)] per variable

    def returned(self, flat, i, j) -> bool:
        return (i, j) in self.dynamic or kind(flat[i][0][j]) == "staged"

    def run(self, k, fn, ins):
        def branch():
            outs = fn(*copy_containers(ins))
            flat = []
            for i, v in enumerate(outs):
                if isinstance(v, Undefined) and i in self.templates:
                    v = placeholder(self.templates[i])
                flat.append(pytree.flatten(v))
            other = self.rec[0] if k == 1 else None
            if other is not None:
                flat = self.reconcile(other, flat)
            self.rec[k] = flat
            base = other if other is not None else flat
            return tuple(flat[i][0][j] for i in range(len(flat)) for j in range(len(flat[i][0]))
                         if self.returned(base, i, j))
        return branch

    def reconcile(self, first, second):
        """Check the second branch's values against the first's; decide what must be staged."""
        names, site = self.names, self.site
        retry: Set[Tuple[int, int]] = set()
        templates: Dict[int, object] = {}
        out = []
        for i, ((l1, td1), (l2, td2)) in enumerate(zip(first, second)):
            u1 = td1 is pytree.LEAF and isinstance(l1[0], Undefined)
            u2 = td2 is pytree.LEAF and isinstance(l2[0], Undefined)
            if u1 != u2:
                if names[i] != RETVAL:
                    raise _only_one(names, i, site, _BRANCH[1] if u1 else _BRANCH[0])
                if u2:          # no return on the else path: zeros of the if path's value there
                    l2, td2 = pytree.flatten(placeholder(template(pytree.unflatten(td1, l1))))
                else:           # no return on the if path, which was traced first: trace it again
                    templates[i] = template(pytree.unflatten(td2, l2))
            elif td1 != td2:
                raise _merge_error(names, i, site, pytree.unflatten(td1, l1),
                                   pytree.unflatten(td2, l2),
                                   f" (a different structure: {td1} vs {td2})")
            if i not in templates:
                for j, (a, b) in enumerate(zip(l1, l2)):
                    if self._leaf(i, j, a, b):
                        retry.add((i, j))
            out.append((l2, td2))
        if retry or templates:
            raise _Retry(retry, templates)
        return out

    def _leaf(self, i, j, a, b) -> bool:
        """Check one leaf pair; True when it must become staged (trace again)."""
        ka, kb = kind(a), kind(b)
        names, site = self.names, self.site
        if "undefined" in (ka, kb) and ka != kb:
            raise _only_one(names, i, site, _BRANCH[1] if ka == "undefined" else _BRANCH[0])
        if ka == "static" or kb == "static":
            if not same_static(a, b):
                raise _merge_error(names, i, site, a, b, ": only arrays and numbers can differ "
                                   "between the branches of a staged `if`")
            return False
        if ka == "staged" and kb == "staged":
            (sa, da), (sb, db) = type_of(a), type_of(b)
            if sa != sb or da != db:
                raise _merge_error(names, i, site, a, b, ": the branches must give it the same "
                                   "shape and dtype")
            return False
        if ka == "number" and (i, j) not in self.dynamic:
            return not (kb == "number" and type(a) is type(b) and a == b)
        return False

    def assemble(self, result):
        """The variables' values after the `if`: staged leaves from the cond, static ones as traced."""
        base = self.rec[0] if self.rec[0] is not None else self.rec[1]
        it = iter(result)
        values = []
        for i, (leaves, td) in enumerate(base):
            full = [next(it) if self.returned(base, i, j) else x for j, x in enumerate(leaves)]
            values.append(pytree.unflatten(td, full))
        return tuple(values)


_depth = threading.local()


def staged_if(pred, true_fn, false_fn, ins, names, site):
    """`true_fn(*ins)` / `false_fn(*ins)` (each returning the values of `names`) as one `st.cond`."""
    depth = getattr(_depth, "n", 0)
    _depth.n = depth + 1
    try:
        return _staged_if(pred, true_fn, false_fn, ins, names, site)
    except RecursionError:
        if depth:
            raise
        raise StageError(
            f"Python recursion too deep while staging the `if` at {site}: both branches of a staged "
            f"`if` are traced, so a function calling itself in one of them recurses forever while "
            f"staging; make it an @st.function, whose recursion is staged as a call") from None
    finally:
        _depth.n = depth


def _staged_if(pred, true_fn, false_fn, ins, names, site):
    dynamic: Set[Tuple[int, int]] = set()
    templates: Dict[int, object] = {}
    for _ in range(100):            # each round stages more leaves: it ends
        b = _Branches(names, site, dynamic, templates)
        try:
            result = cond(pred, b.run(0, true_fn, ins), b.run(1, false_fn, ins))
        except _Retry as r:
            dynamic |= r.dynamic
            templates.update(r.templates)
            continue
        if b.rec[0] is None and b.rec[1] is None:
            raise StageError(f"the `if` at {site}: neither branch could be traced")
        return b.assemble(result)
    raise StageError(f"the `if` at {site}: its branches do not settle on the types of "
                     f"{', '.join(map(repr, names))}")
