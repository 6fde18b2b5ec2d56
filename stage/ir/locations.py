"""Where the nodes of a program come from in the user's code, and what made them.

Every node records the `file:line` of the user's expression that staged it: by default the innermost
frame on the Python stack outside the stage package; while CPS differentiates a node, the location of
that forward node (`at_location`), so the nodes made for it -- forward replay and backward steps,
in any block -- name the user's line, not the line that called `st.compile` or `st.grad`. `origin`
labels nodes with provenance text ("backward of x7 = mul(x3, x5)") for the printed program.
"""
from __future__ import annotations

import os
import sys
import threading
from typing import Optional

_state = threading.local()
_PKG_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_location() -> Optional[str]:
    """file:line of the innermost frame outside the stage package (the user's code)."""
    f = sys._getframe(1)
    while f is not None:
        fn = f.f_code.co_filename
        if not fn.startswith(_PKG_DIR) and not fn.startswith("<frozen"):
            return f"{fn}:{f.f_lineno}"
        f = f.f_back
    return None


class at_location:
    """Context manager giving the nodes reflected inside it the user's source location `loc` (the
    forward expression they belong to), instead of the innermost user frame on the Python stack:
    the nodes CPS makes while differentiating, and the statements of its backward steps."""

    def __init__(self, loc: Optional[str]):
        self.loc = loc

    def __enter__(self):
        self.prev = getattr(_state, "loc", None)
        if self.loc is not None:
            _state.loc = self.loc

    def __exit__(self, *exc):
        _state.loc = self.prev


def location() -> Optional[str]:
    """Where the node being reflected comes from in the user's code."""
    loc = getattr(_state, "loc", None)
    return loc if loc is not None else user_location()


class origin:
    """Context manager labelling the nodes reflected inside it (provenance in generated code)."""

    def __init__(self, text: str):
        self.text = text

    def __enter__(self):
        self.prev = getattr(_state, "origin", None)
        _state.origin = self.text

    def __exit__(self, *exc):
        _state.origin = self.prev


def current_origin() -> Optional[str]:
    return getattr(_state, "origin", None)
