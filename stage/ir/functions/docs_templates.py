"""Shapes of docstring shared by the NumPy-named functions (see `docs.py`)."""
from __future__ import annotations


_STAGED = """
Outside staging, on NumPy arrays, it computes eagerly and returns a NumPy array."""

_BROADCAST = """Broadcast together by NumPy's rules. Python scalars are weakly typed: they
    take the other operand's dtype (`x * 2` keeps float32)."""


def _unary(summary: str, like: str, returns: str, notes: str = "") -> str:
    like = like if "." in like else f"numpy.{like}"
    return f"""{summary}, elementwise, as `{like}`.

Parameters
----------
x : Rep or array_like
    A staged value, NumPy array or scalar.

Returns
-------
Rep
    x's shape; {returns}
{("Notes" + chr(10) + "-----" + chr(10) + notes + chr(10)) if notes else ""}{_STAGED}
"""


def _binary(summary: str, like: str, returns: str, notes: str = "") -> str:
    like = like if "." in like else f"numpy.{like}"
    return f"""{summary}, elementwise, as `{like}`.

Parameters
----------
x, y : Rep or array_like
    {_BROADCAST}

Returns
-------
Rep
    The broadcast shape; {returns}
{("Notes" + chr(10) + "-----" + chr(10) + notes + chr(10)) if notes else ""}{_STAGED}
"""


_PROMOTED = "the promoted dtype of x and y."
_FLOAT = "floating point (integers and bools compute in float32)."
_SAME = "x's dtype."
_BOOL = "bool."

