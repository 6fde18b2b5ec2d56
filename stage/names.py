"""Names of the leaves of a function's arguments, as the user wrote them: the Python parameter name
and the pytree path below it (`x`, `params[0]['w']`). Errors at the call boundary, the recompile log
and `st.export` (C names, parameter-file names) all name arguments this way.
"""
from __future__ import annotations

import inspect
from typing import List, Optional, Sequence, Tuple

from . import pytree


def tree_paths(td) -> List[Tuple]:
    """The path (a tuple of keys) of every leaf of a pytree, in pytree.flatten order."""
    out: List[Tuple] = []

    def rec(t, path):
        if t.kind == "leaf":
            out.append(path)
        elif t.kind == "dict":
            for k, c in zip(t.meta, t.children):
                rec(c, path + (k,))
        elif t.kind == "namedtuple":
            for k, c in zip(t.meta._fields, t.children):
                rec(c, path + (k,))
        else:
            for i, c in enumerate(t.children):
                rec(c, path + (i,))
    rec(td, ())
    return out


def py_path(root: str, path: Sequence) -> str:
    """`root` indexed by `path` as Python would write it: py_path("p", (0, "w")) == "p[0]['w']"."""
    return root + "".join(f"[{k!r}]" for k in path)


def arg_names(fn, n: int) -> List[str]:
    """Names of fn's first n positional parameters (`arg<i>` where unknown, e.g. for `*args`)."""
    names = []
    try:
        for p in inspect.signature(fn).parameters.values():
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
                names.append(p.name)
    except (TypeError, ValueError):
        pass
    return [names[i] if i < len(names) else f"arg{i}" for i in range(n)]


def roots_of(fn, args: tuple) -> Tuple[List[str], Optional[Tuple[int, List[str]]]]:
    """(a root name per argument, user_args) for fn. A function that wraps the user's own (st.train_step's
    staged function over the module's state and the user's `args`) says how to name its arguments with
    a `__stage_roots__(args)` attribute returning (roots, (k, names)): the leaves under argument k are
    then named after `names`, the parameter names of the user's function."""
    hook = getattr(fn, "__stage_roots__", None)
    if hook is not None:
        return hook(args)
    return arg_names(fn, len(args)), None


def leaf_names(fn, args: tuple, td=None) -> List[str]:
    """The name of every leaf of `args` (a tuple of fn's arguments), in pytree.flatten order."""
    if td is None:
        td = pytree.flatten(tuple(args))[1]
    roots, user_args = roots_of(fn, args)
    out = []
    for path in tree_paths(td):
        if not path:
            out.append("arguments")
            continue
        root, rest = roots[path[0]] if path[0] < len(roots) else f"arg{path[0]}", path[1:]
        if user_args is not None and path[0] == user_args[0] and rest:
            names = user_args[1]
            root = names[rest[0]] if isinstance(rest[0], int) and rest[0] < len(names) else \
                f"arg{rest[0]}"
            rest = rest[1:]
        out.append(py_path(root, rest))
    return out
