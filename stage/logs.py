"""Recompiles you can see: the `stage` logger and the reasons for new specialisations.

`logging.getLogger("stage")` reports each new specialisation of a compiled function with its reason
("first call", "argument `x` shape (32, 10) -> (17, 10)", "static argument `lr` 0.1 -> 0.2") and
each build with its time and whether the cache had it. `STAGE_LOG=info` (or debug, warning, ...)
sets its level and prints it to stderr; without it, the logger is left to the application's logging
configuration. A function specialised more than `WARN_AFTER` times warns once (`UserWarning`),
naming the argument that keeps changing and what to do about it.
"""
from __future__ import annotations

import collections
import logging
import os
import sys
import warnings
from typing import List, Optional, Tuple

from .names import leaf_names

logger = logging.getLogger("stage")
WARN_AFTER = 8
_PKG_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep

ADVICE = {
    "static": "a Python scalar is static -- each new value stages and compiles the function again; "
              "pass it as a NumPy scalar (e.g. np.float32(lr)) to make it a runtime argument",
    "shape": "each new shape is a new specialisation; pad or bucket it to a few shapes (e.g. a "
             "fixed batch size, dropping or padding the last batch)",
    "dtype": "each dtype is a new specialisation; cast it to one dtype before the call (e.g. "
             "x.astype(np.float32))",
    "kind": "it changes between a runtime array and a static Python value; pass the same kind "
            "every time",
    "structure": "the nesting of the arguments (tuples, lists, dicts) changes; keep it the same",
}


def configure(value: Optional[str] = None):
    """Set the `stage` logger's level from `STAGE_LOG` and print it to stderr (when set)."""
    value = os.environ.get("STAGE_LOG", "") if value is None else value
    if not value.strip():
        return
    v = value.strip().upper()
    level = int(v) if v.isdigit() else logging.getLevelName(v)
    if not isinstance(level, int):
        warnings.warn(f"STAGE_LOG={value!r} is not a logging level (use debug, info, warning or "
                      f"error); the stage logger is left as it is", stacklevel=2)
        return
    logger.setLevel(level)
    if not logger.handlers:
        h = logging.StreamHandler(sys.stderr)
        h.setFormatter(logging.Formatter("stage: %(message)s"))
        logger.addHandler(h)


def _show(entry) -> str:
    """A key entry for people: ("a", dtype, shape) or (type name, value)."""
    if entry[0] == "a":
        return f"array {entry[1]}{list(entry[2])}"
    return repr(entry[1]) if entry[0] not in ("list", "dict", "set") else f"a {entry[0]}"


def changes(fn, old, new, args) -> List[Tuple[str, str, str]]:
    """What differs between two specialisation keys: [(argument name, kind, description)]."""
    (otd, okey), (ntd, nkey) = old, new
    if otd != ntd:
        return [("arguments", "structure", f"argument structure {otd} -> {ntd}")]
    names = leaf_names(fn, tuple(args), ntd)
    out = []
    for name, a, b in zip(names, okey, nkey):
        if a == b:
            continue
        if a[0] == "a" and b[0] == "a":
            if a[1] != b[1]:
                out.append((name, "dtype", f"argument `{name}` dtype {a[1]} -> {b[1]}"))
            else:
                out.append((name, "shape", f"argument `{name}` shape {a[2]} -> {b[2]}"))
        elif a[0] != "a" and b[0] != "a":
            out.append((name, "static", f"static argument `{name}` {_show(a)} -> {_show(b)}"))
        else:
            out.append((name, "kind", f"argument `{name}` {_show(a)} -> {_show(b)}"))
    return out


class Specialisations:
    """Why a compiled function specialises again, and the one warning when it does so too often."""

    def __init__(self, fn):
        self.fn = fn
        self.counts = collections.Counter()       # (argument, kind) -> times it caused a new one
        self.warned = False

    def new(self, key, previous, count: int, args) -> str:
        """Record the count-th specialisation (key, after `previous`, a key or None): its reason."""
        if previous is None:
            return "first call"
        found = changes(self.fn, previous, key, args)
        for name, kind, _ in found:
            self.counts[(name, kind)] += 1
        if count > WARN_AFTER and not self.warned and self.counts:
            self.warned = True
            (name, kind), times = self.counts.most_common(1)[0]
            fname = getattr(self.fn, "__name__", "function")
            warnings.warn(f"stage: {fname} has been specialised {count} times (staged and compiled "
                          f"again); argument `{name}` changed {times} of them ({kind}): "
                          f"{ADVICE[kind]}. STAGE_LOG=info logs every specialisation and its "
                          f"reason.", UserWarning, stacklevel=user_stacklevel())
        text = "; ".join(d for _, _, d in found[:3])
        return text + (f" and {len(found) - 3} more" if len(found) > 3 else "")


def user_stacklevel() -> int:
    """The stacklevel of the innermost frame outside the stage package (for warnings.warn)."""
    f, level = sys._getframe(1), 1
    while f is not None and f.f_code.co_filename.startswith(_PKG_DIR):
        f, level = f.f_back, level + 1
    return level
