"""Buffer planning: every buffer of a native function gets a fixed offset in that function's frame.

Lifetimes are intervals of statement positions (a buffer used inside a loop lives to the loop's end;
one captured by a closure lives as long as the closure is used). Buffers whose lifetimes do not
overlap share memory; the frame is one arena push per call.
"""
from __future__ import annotations

from typing import Dict, List

ALIGN = 64


class Buffer:
    __slots__ = ("id", "name", "nbytes", "first", "last", "owner", "offset")

    def __init__(self, id: int, name: str, nbytes: int, first: int, owner):
        self.id, self.name, self.owner = id, name, owner
        self.nbytes = max(ALIGN, (nbytes + ALIGN - 1) // ALIGN * ALIGN)
        self.first = self.last = first
        self.offset = None


def plan(buffers: List[Buffer]) -> int:
    """Assign offsets (first fit among buffers alive at the same time); return the frame size."""
    active: List[Buffer] = []          # sorted by offset
    total = 0
    for b in sorted(buffers, key=lambda b: (b.first, -b.nbytes)):
        active = [a for a in active if a.last >= b.first]
        pos = 0
        for a in active:               # active is sorted by offset: find the first gap that fits
            if a.offset - pos >= b.nbytes:
                break
            pos = max(pos, a.offset + a.nbytes)
        b.offset = pos
        active.append(b)
        active.sort(key=lambda a: a.offset)
        total = max(total, pos + b.nbytes)
    return total
