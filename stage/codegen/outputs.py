"""The output arrays of a compiled function: fresh ones, or big ones it handed out before that
nothing references any more.

A functional training step (`loss, params = step(params, x, y)`) returns new parameter arrays every
call while the previous ones die. Fresh arrays of a few hundred kilobytes come from `mmap` (glibc's
threshold is 128 KiB and moves only so far), so every call the kernel zeroes and maps their pages
again on first touch: on the MLP benchmark's step that was the largest single cost, ahead of the
matrix products. Outputs of at least `RECYCLE_BYTES` are therefore kept (the last `KEEP` of each
output position) and handed out again once their reference count says only this cache holds them
-- no Python object, view or buffer export can reach such an array, so reusing its memory cannot
change anything a user sees.
"""
from __future__ import annotations

import sys
import threading
from typing import List, Sequence, Tuple

import numpy as np

RECYCLE_BYTES = 1 << 16
KEEP = 2


class Outputs:
    """Allocates a function's outputs (`take`) and takes them back after the call (`keep`)."""

    def __init__(self, specs: Sequence[Tuple[np.dtype, Tuple[int, ...]]]):
        self.specs = list(specs)
        self.big = [int(np.prod(shape, dtype=np.int64)) * dt.itemsize >= RECYCLE_BYTES
                    for dt, shape in self.specs]
        self._kept: List[List[np.ndarray]] = [[] for _ in self.specs]
        self._lock = threading.Lock()      # a check and its take happen together (threads)
        self._any = any(self.big)

    def take(self) -> List[np.ndarray]:
        if not self._any:                  # small outputs only: nothing to look for
            return [np.empty(shape, dt) for dt, shape in self.specs]
        outs = []
        with self._lock:
            for (dt, shape), big, kept in zip(self.specs, self.big, self._kept):
                a = None
                if big:
                    for j in range(len(kept)):
                        if sys.getrefcount(kept[j]) == 2:   # the list's and the argument's
                            a = kept.pop(j)
                            break
                outs.append(a if a is not None else np.empty(shape, dt))
        return outs

    def keep(self, outs: List[np.ndarray]):
        if not self._any:
            return
        with self._lock:
            for a, big, kept in zip(outs, self.big, self._kept):
                if big:
                    kept.append(a)
                    if len(kept) > KEEP:
                        del kept[0]
