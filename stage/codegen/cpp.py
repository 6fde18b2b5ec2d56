"""C++ spellings: scalar types, literals, function-parameter types."""
from __future__ import annotations

import math

import numpy as np

from ..ir.types import FunType, RefType, TensorType

CPP_SCALAR = {"float32": "float", "float64": "double", "int32": "int32_t", "int64": "int64_t",
              "bool": "bool"}


def ctype(dtype: str) -> str:
    return CPP_SCALAR[dtype]


def literal(value, T: str) -> str:
    """A C++ literal of scalar type T (a C++ type name or a dtype)."""
    T = CPP_SCALAR.get(T, T)
    v = value.item() if isinstance(value, np.generic) or (isinstance(value, np.ndarray)) else value
    if T == "bool":
        return "true" if v else "false"
    if T in ("int32_t", "int64_t"):
        v = int(v)
        return f"int64_t({v})" if T == "int64_t" and abs(v) >= 2**31 else str(v)
    v = float(v)
    if math.isnan(v):
        return f"std::numeric_limits<{T}>::quiet_NaN()"
    if math.isinf(v):
        return f"{'-' if v < 0 else ''}std::numeric_limits<{T}>::infinity()"
    s = repr(v)
    if "e" not in s and "." not in s:
        s += ".0"
    return s + ("f" if T == "float" else "")


def param_type(t) -> str:
    """How a value of staged type t is passed to a native closure."""
    if isinstance(t, TensorType):
        return ctype(t.dtype) if t.shape == () else f"const {ctype(t.dtype)}*"
    if isinstance(t, RefType):
        return f"{ctype(t.elem.dtype)}*"
    if isinstance(t, FunType):
        return f"stage::fref<{signature(t)}>"
    raise TypeError(t)


def out_param_type(t: TensorType) -> str:
    return f"{ctype(t.dtype)}*"


def signature(ft: FunType) -> str:
    """The C++ function type of a closure: inputs, then out-pointers for direct-style results."""
    params = [param_type(t) for t in ft.inputs] + [out_param_type(t) for t in ft.outputs]
    return f"void({', '.join(params)})"
