"""Type aliases for the annotations of stage's public functions (documentation and type checkers).

`ArrayLike` is what a staged function accepts where NumPy would take an array: a staged value
(`Rep`), a NumPy array or scalar, or a Python number (weakly typed: it takes the other operand's
dtype).
"""
from __future__ import annotations

from typing import Sequence, Tuple, Union

import numpy as np

from .rep import Rep

__all__ = ["ArrayLike", "Shape", "Axis", "DTypeLike", "PadWidth"]

ArrayLike = Union[Rep, np.ndarray, np.generic, float, int, bool]
"""A staged value, a NumPy array or scalar, or a Python number."""

Shape = Union[int, Sequence[int]]
"""A shape: an int or a sequence of ints."""

Axis = Union[None, int, Sequence[int]]
"""One axis, several, or None for all (negative values count from the end)."""

DTypeLike = Union[str, np.dtype, type]
"""A dtype: "float32", np.float32, np.dtype("int64"), ..."""

PadWidth = Union[int, Tuple[int, int], Sequence[Tuple[int, int]]]
"""Widths for `pad`: one int, one (before, after) pair, or a pair per dimension."""
