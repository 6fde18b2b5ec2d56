"""Tracebacks that point at the user's code: stage's own frames are hidden from errors raised
through its public entry points.

A staging error (a shape mismatch, a bad argument) travels through a dozen frames of the tracer,
the CPS transformation and the code generator before it reaches the user; none of them helps the
user fix their model. As JAX filters its own frames, every public entry point (a compiled
function's call, `st.grad` called eagerly, `st.train_step` / `st.eval_step`, `st.export`) lets an
exception leave with a traceback that keeps only the frames outside the `stage` package: the
user's call, and the user's functions that stage ran while staging (the line that made the
mismatch is the last one shown). One frame of stage stays on top (the entry point that re-raised,
whose source line says so), and on Python 3.11+ a note under the message says how to see
everything.

`STAGE_TRACEBACK=full` (or `off`, `0`, `no`) turns the filtering off, for reporting a bug in
stage itself.
"""
from __future__ import annotations

import functools
import os
import types
from typing import Callable, Optional, TypeVar

__all__ = ["filtered", "api_boundary", "filtering_enabled"]

_PKG_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_NOTE = ("stage hid its internal frames from this traceback; set STAGE_TRACEBACK=full to "
         "show them")
_MARK = "__stage_filtered__"

F = TypeVar("F", bound=Callable)


def filtering_enabled() -> bool:
    """Whether tracebacks are filtered (the default; `STAGE_TRACEBACK=full` turns it off)."""
    v = os.environ.get("STAGE_TRACEBACK", "").strip().lower()
    return v not in ("full", "off", "0", "no", "false")


def _is_internal(tb: types.TracebackType) -> bool:
    return tb.tb_frame.f_code.co_filename.startswith(_PKG_DIR)


def _filter(tb: Optional[types.TracebackType]) -> Optional[types.TracebackType]:
    """A new traceback chain holding only the entries of `tb` outside the stage package."""
    kept = []
    while tb is not None:
        if not _is_internal(tb):
            kept.append(tb)
        tb = tb.tb_next
    out = None
    for t in reversed(kept):
        out = types.TracebackType(out, t.tb_frame, t.tb_lasti, t.tb_lineno)
    return out


def filtered(e: BaseException) -> BaseException:
    """The exception `e` with stage's frames removed from its traceback (unless disabled).

    For ``raise filtered(e)`` in the ``except`` block of a public entry point (no extra frame on
    the hot path, unlike `api_boundary`). Idempotent: nested entry points may all call it. On
    Python 3.11+ a note under the message says how to see the full traceback.

    Parameters
    ----------
    e : BaseException
        The exception being handled.

    Returns
    -------
    BaseException
        `e` itself, its traceback replaced.
    """
    if not filtering_enabled():
        return e
    e.with_traceback(_filter(e.__traceback__))
    if not getattr(e, _MARK, False):
        try:
            setattr(e, _MARK, True)
            if hasattr(e, "add_note"):
                e.add_note(_NOTE)
        except (AttributeError, TypeError):     # exceptions with __slots__ or frozen attributes
            pass
    return e


def api_boundary(fn: F) -> F:
    """Decorate a public entry point `fn` so that exceptions leave it with a filtered traceback
    (one frame of stage, the decorator's, stays on top)."""
    @functools.wraps(fn)
    def stage_entry_point(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            raise filtered(e)   # stage's own frames are hidden: STAGE_TRACEBACK=full shows them
    return stage_entry_point  # type: ignore[return-value]
