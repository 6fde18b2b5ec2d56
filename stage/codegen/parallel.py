"""When a generated loop runs on several threads, and how finely it is split.

Work is counted in element-operations: a loop's elements times (1 + the cost of the ops fused into
it; a transcendental function costs more than an add, see `Elementwise.cost`). A loop is shared out
between threads only when it has at least two grains of work (a grain, `GRAIN`, is about what a
thread's wake-up costs, measured in benchmarks/parallel_dispatch.py), so a loop over 64 floats stays
serial; at run time each loop wakes only as many threads as it has grains (runtime
`stage::parallel_for`).

Splits never change results: elementwise loops and reductions kept along a dimension are split
along a dimension whose iterations write different outputs (each output is computed by one thread,
in the serial order); a reduction to one value is a sum of partial results over chunks fixed by the
size of the work alone (`reduction_chunks`), combined in chunk order.
"""
from __future__ import annotations

import math
import os

DEFAULT_GRAIN = 1 << 15    # element-operations; the runtime's stage::PARALLEL_GRAIN (parallel.h)


def _grain_from_env() -> int:
    """$STAGE_PARALLEL_GRAIN, a testing knob: a small grain (1) splits every loop and kernel that
    can be split, however small, and shares out loops while the pool sleeps too (the fuzzer's
    threaded profile runs its tiny programs that way, so parallel code meets every shape)."""
    v = os.environ.get("STAGE_PARALLEL_GRAIN", "").strip()
    if not v:
        return DEFAULT_GRAIN
    try:
        n = int(v)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"STAGE_PARALLEL_GRAIN={v!r}: expected a positive count of "
                         f"element-operations")
    return n


GRAIN = _grain_from_env()
MAX_CHUNKS = 64            # partial results of a reduction to one value (on the stack)
MAX_PARTIAL = 1 << 18      # elements of the partial outputs of a reduction kept along some axes


# An in-place update of the caller's arrays (an optimizer step) split between threads leaves the
# part each thread wrote in that core's cache; a step that then reads them on one thread (a batch-1
# recursion's matrix-vector products) fetches half of every parameter from the other core. On the
# TreeLSTM (1.8 MB of parameters and Adagrad state updated per tree) that made a tree 10% slower at
# 2 threads than at 1 (1.50 vs 1.36 ms), and as fast with the update on the caller. So an update
# of less than this many bytes wakes no sleeping thread: it is shared out only when the step's other
# work has the pool's threads awake already (whose loops then read the parts they wrote). Bigger
# arrays than the cores' caches hold come from memory whichever thread reads them.
UPDATE_WAKE_BYTES = 8 << 20


def runtime_defines() -> list:
    """Lines for the top of a generated library: the runtime's grain made the same as GRAIN when
    a test changed it (and no loop then kept serial for a sleeping pool); none by default."""
    if GRAIN == DEFAULT_GRAIN:
        return []
    return [f"#define STAGE_PARALLEL_GRAIN {GRAIN}", "#define STAGE_COLD_GRAINS 0"]


def update_wakes(nbytes: int) -> bool:
    """Whether an in-place update of `nbytes` of the caller's arrays may wake sleeping threads."""
    return nbytes >= UPDATE_WAKE_BYTES or GRAIN != DEFAULT_GRAIN


def grain(work_per_iteration: float) -> int:
    """The fewest iterations of a loop worth giving a thread."""
    return max(1, math.ceil(GRAIN / max(work_per_iteration, 1.0)))


def worth(extent: int, work_per_iteration: float) -> bool:
    """Whether a loop of `extent` iterations of this much work each is worth splitting."""
    return extent >= 2 and extent // grain(work_per_iteration) >= 2


def reduction_chunks(extent: int, total_work: float) -> int:
    """Chunks of a reduction to one value over `extent` outer iterations (1: serial). A function
    of the work alone, so the partial sums -- and the rounding -- are the same for any number of
    threads."""
    if total_work < 2 * GRAIN:
        return 1
    return int(max(1, min(MAX_CHUNKS, extent, total_work // GRAIN)))
