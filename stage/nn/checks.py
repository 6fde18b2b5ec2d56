"""Errors that name the module: input checks of the layers, and the module and its path in the
model prefixed to a staging error raised inside a module's forward.

`Module.__call__` keeps a per-thread stack of the modules whose forward is running while staging;
when a `StageError` escapes the innermost one, its message gets `Linear(10, 5, bias=True) at
model.layers[2]: ` in front (once: outer modules leave it alone), so a shape mismatch says which
layer of which model got the wrong input.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, List, Optional

import numpy as np

from ..ir.graph import StageError, StageTypeError, user_location

if TYPE_CHECKING:
    from .module import Module

__all__ = ["check_input", "input_type", "module_path"]

_LOCAL = threading.local()


def _calls() -> List["Module"]:
    """The modules whose forward is running while staging, outermost first (this thread's)."""
    c = getattr(_LOCAL, "calls", None)
    if c is None:
        c = _LOCAL.calls = []
    return c


def module_path(module: "Module", calls: List["Module"]) -> Optional[str]:
    """Where `module` sits in the outermost running module, as Python would reach it:
    `model.layers[2]` (`model` is the outermost; Sequential's numbered children are indexed)."""
    for root in calls:
        for prefix, m in root.named_modules():
            if m is module:
                path = "model"
                for part in prefix.split(".")[:-1]:
                    path += f"[{part}]" if part.isdigit() else f".{part}"
                return path
    return None


def input_type(x) -> str:
    """A staged value's type as printed in errors (`f32[4,12]`), or a NumPy array's shape."""
    t = getattr(x, "type", None)
    return str(t) if t is not None else f"an array of shape {tuple(np.shape(x))}"


def check_input(ok: bool, message: str):
    """Raise StageTypeError("expects " + message) at the user's line unless `ok`; the running module
    prefixes its own name and path (`Linear(10, 5, bias=True) at model[0]: expects ...`)."""
    if ok:
        return
    loc = user_location()
    raise StageTypeError("expects " + message + (f" (at {loc})" if loc else ""))


def _name_module(e: StageError, module: "Module", calls: List["Module"]):
    """Prefix the error's message with the module and its path, once: the innermost module that
    was running when the error was raised is the one whose input was wrong."""
    if getattr(e, "_stage_module", None) is not None:
        return
    path = module_path(module, calls)
    where = module.describe() + (f" at {path}" if path else "")
    e._stage_module = where
    msg = str(e.args[0]) if e.args else ""
    e.args = (f"{where}: {msg}",) + tuple(e.args[1:])
