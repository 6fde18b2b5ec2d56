"""Staged types: tensors of a fixed shape and dtype, closures, and mutable buffers (refs).

Shapes are static: `st.compile` specialises on them, so every type here is fully known while staging.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Tuple

import numpy as np

DTYPES = ("float32", "float64", "int32", "int64", "bool")
FLOATS = ("float32", "float64")
INTS = ("int32", "int64")
SHORT = {"float32": "f32", "float64": "f64", "int32": "i32", "int64": "i64", "bool": "bool"}


def canonical_dtype(dt) -> str:
    """The name of a supported dtype; raises TypeError for anything else."""
    if isinstance(dt, str) and dt in DTYPES:
        return dt
    name = np.dtype(dt).name
    if name not in DTYPES:
        raise TypeError(f"stage does not support dtype {name}; supported: {', '.join(DTYPES)}")
    return name


class Type:
    """Base of staged types."""


@dataclass(frozen=True)
class TensorType(Type):
    dtype: str
    shape: Tuple[int, ...]

    def __post_init__(self):
        if not isinstance(self.dtype, str):        # a numpy.dtype (Rep.dtype is one): its name
            object.__setattr__(self, "dtype", canonical_dtype(self.dtype))
        assert self.dtype in DTYPES, self.dtype
        assert all(isinstance(d, int) for d in self.shape), self.shape
        if any(d < 0 for d in self.shape):
            from .graph import StageValueError
            raise StageValueError(f"negative dimensions are not allowed (shape {self.shape})")
        if math.prod(self.shape) * 8 >= 1 << 62:
            from .graph import StageValueError
            raise StageValueError(f"an array of shape {self.shape} is too large (its byte size "
                                  f"overflows 64-bit sizes)")

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOATS

    def __str__(self):
        return f"{SHORT[self.dtype]}[{','.join(map(str, self.shape))}]"


@dataclass(frozen=True)
class RefType(Type):
    """A mutable buffer holding a tensor (gradient accumulators across staged scopes)."""
    elem: TensorType

    def __str__(self):
        return f"ref {self.elem}"


@dataclass(frozen=True)
class FunType(Type):
    """A staged function or continuation: inputs -> outputs (outputs empty for CPS functions)."""
    inputs: Tuple[Type, ...]
    outputs: Tuple[Type, ...]

    def __str__(self):
        return f"({', '.join(map(str, self.inputs))}) -> ({', '.join(map(str, self.outputs))})"


@functools.lru_cache(maxsize=4096)
def result_dtype(*dtypes: str) -> str:
    """NumPy promotion restricted to the supported dtypes."""
    if len(set(dtypes)) == 1:
        return canonical_dtype(dtypes[0])
    return canonical_dtype(np.result_type(*[np.dtype(d) for d in dtypes]))


@functools.lru_cache(maxsize=4096)
def broadcast_shapes(*shapes):
    return tuple(np.broadcast_shapes(*shapes))
