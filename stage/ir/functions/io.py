"""`st.print`: print staged values when the compiled program runs."""
from __future__ import annotations

import builtins

from ..rep import Rep
from .base import _staging, apply, as_rep


def print(*values, sep: str = " ", end: str = "\n") -> None:    # noqa: A001 (NumPy-style name)
    parts, staged = [], []
    for k, v in enumerate(values):
        if k:
            parts.append(sep)
        if isinstance(v, Rep):
            parts.append(None)
            staged.append(v)
        else:
            parts.append(builtins.str(v))
    parts.append(end)
    if not _staging(*staged):
        builtins.print(*values, sep=sep, end=end)
        return None
    # adjacent text parts are joined: one runtime call each
    merged = []
    for p in parts:
        if p is not None and merged and merged[-1] is not None:
            merged[-1] += p
        else:
            merged.append(p)
    apply("print", *[as_rep(v) for v in staged], parts=tuple(merged))
    return None
