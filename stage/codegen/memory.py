"""Buffer planning: every buffer of a native function gets a fixed offset in that function's frame.

Lifetimes are intervals of statement positions (a buffer used inside a loop lives to the loop's end;
one captured by a closure lives as long as the closure is used). Buffers whose lifetimes do not
overlap share memory; the frame is one arena push per call.
"""
from __future__ import annotations

import bisect
import heapq
from typing import List

ALIGN = 64


class Buffer:
    __slots__ = ("id", "name", "nbytes", "first", "last", "owner", "offset")

    def __init__(self, id: int, name: str, nbytes: int, first: int, owner):
        self.id, self.name, self.owner = id, name, owner
        self.nbytes = max(ALIGN, (nbytes + ALIGN - 1) // ALIGN * ALIGN)
        self.first = self.last = first
        self.offset = None


def plan(buffers: List[Buffer]) -> int:
    """Assign offsets (first fit among the gaps freed by dead buffers); return the frame size."""
    alive: list = []                  # heap of (last use, id, buffer)
    free: list = []                   # sorted, coalesced (offset, size) gaps below `top`
    top = total = 0

    def release(off, size):
        nonlocal top
        k = bisect.bisect(free, (off, size))
        free.insert(k, (off, size))
        if k + 1 < len(free) and free[k][0] + free[k][1] == free[k + 1][0]:
            free[k:k + 2] = [(free[k][0], free[k][1] + free[k + 1][1])]
        if k > 0 and free[k - 1][0] + free[k - 1][1] == free[k][0]:
            free[k - 1:k + 1] = [(free[k - 1][0], free[k - 1][1] + free[k][1])]
        if free and free[-1][0] + free[-1][1] == top:
            top = free.pop()[0]

    for b in sorted(buffers, key=lambda b: (b.first, -b.nbytes)):
        while alive and alive[0][0] < b.first:
            _, _, dead = heapq.heappop(alive)
            release(dead.offset, dead.nbytes)
        for k, (off, size) in enumerate(free):
            if size >= b.nbytes:
                b.offset = off
                free[k:k + 1] = [(off + b.nbytes, size - b.nbytes)] if size > b.nbytes else []
                break
        else:
            b.offset = top
            top += b.nbytes
        total = max(total, top)
        heapq.heappush(alive, (b.last, b.id, b))
    return total
