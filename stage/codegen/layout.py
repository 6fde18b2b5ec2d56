"""Layouts: where a tensor's elements are. Views (reshape, transpose, broadcast, basic indexing, refs
read back) are layouts over another value's buffer, so they cost nothing; a kernel that needs
contiguous data asks for it and gets a copy only when the layout is not contiguous."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional, Tuple, Union

import numpy as np


def contiguous_strides(shape) -> Tuple[int, ...]:
    st, acc = [], 1
    for n in reversed(shape):
        st.append(acc)
        acc *= n
    return tuple(reversed(st))


Offset = Union[int, str]


def add_offset(a: Offset, b: Offset) -> Offset:
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    if a == 0:
        return b
    if b == 0:
        return a
    return f"{a} + {b}"


@dataclass(frozen=True)
class Layout:
    base: str                  # C++ pointer expression, scalar variable, or literal
    dtype: str
    shape: Tuple[int, ...]
    strides: Tuple[int, ...]
    offset: Offset = 0
    root: Optional[int] = None  # id of the buffer it lives in (for liveness), None for none
    kind: str = "ptr"          # "ptr": memory at base; "scalar": a C++ scalar (or literal) value;
                               # "index": the value is the index itself (iota)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def is_contiguous(self) -> bool:
        if self.kind != "ptr":
            return False
        return all(s == c for s, c, n in zip(self.strides, contiguous_strides(self.shape), self.shape)
                   if n != 1)

    def pointer(self) -> str:
        assert self.kind == "ptr", self
        if self.offset == 0:
            return self.base
        return f"({self.base} + {self.offset})"

    def at(self, index: str) -> str:
        """The element at a (C++) linear index expression `index` into this layout's indexing."""
        if self.kind == "scalar":
            return self.base
        if self.kind == "index":
            return f"{self.base}({index})"
        off = self.offset
        if index == "0":
            idx = off
        else:
            idx = index if off == 0 else f"{off} + {index}"
        return f"{self.base}[{idx}]"

    # -- views ----------------------------------------------------------------------------------
    def reshape(self, shape) -> Optional["Layout"]:
        shape = tuple(shape)
        if self.kind == "scalar":
            return replace(self, shape=shape, strides=(0,) * len(shape))
        if not self.is_contiguous():
            return None
        return replace(self, shape=shape, strides=contiguous_strides(shape))

    def transpose(self, axes) -> "Layout":
        return replace(self, shape=tuple(self.shape[a] for a in axes),
                       strides=tuple(self.strides[a] for a in axes))

    def broadcast_to(self, shape) -> "Layout":
        shape = tuple(shape)
        lead = len(shape) - len(self.shape)
        strides = (0,) * lead + tuple(0 if n == 1 and m != 1 else s for s, n, m in
                                      zip(self.strides, self.shape, shape[lead:]))
        return replace(self, shape=shape, strides=strides)

    def slice(self, axis, start, n, step=1) -> "Layout":
        shape = list(self.shape)
        strides = list(self.strides)
        shape[axis] = n
        off = add_offset(self.offset, start * self.strides[axis])
        strides[axis] *= step
        return replace(self, shape=tuple(shape), strides=tuple(strides), offset=off)

    def index(self, spec, dyn_exprs) -> "Layout":
        """Basic indexing (see ops/shape.py for `spec`); dyn_exprs are checked C++ index values."""
        shape, strides, off, d = [], [], self.offset, 0
        for s in spec:
            if s[0] == "new":
                shape.append(1)
                strides.append(0)
                continue
            st = self.strides[d]
            if s[0] == "int":
                off = add_offset(off, s[1] * st)
            elif s[0] == "dyn":
                if st:
                    off = add_offset(off, f"{dyn_exprs[s[1]]} * {st}" if st != 1 else dyn_exprs[s[1]])
            else:
                start, stop, step = s[1], s[2], s[3]
                shape.append(len(range(start, stop, step)))
                strides.append(st * step)
                off = add_offset(off, start * st)
            d += 1
        if self.kind == "scalar":
            return replace(self, shape=tuple(shape), strides=tuple(strides))
        return replace(self, shape=tuple(shape), strides=tuple(strides), offset=off)
