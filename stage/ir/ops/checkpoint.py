"""The schedule of checkpointed loops under grad, as two integer ops (Griewank's binomial
checkpointing, "revolve"): `stage.cps.checkpoint` stages the recursion that stores a few loop
carries and recomputes the rest, and these ops say where it places each checkpoint. They are ops of
the table (rather than Python run while staging) because the trip count is a runtime value.

- `checkpoint_capacity(s, r)`: beta(s, r) = C(s + r, s), the most steps that s stored states (the
  start's included) reverse when every step is recomputed at most r times; saturates at 2**62.
- `checkpoint_split(n, s)`: where to put the next checkpoint when reversing n steps from a stored
  state with s states: the m in [1, n) minimising the forward steps of "advance m steps, reverse the
  last n - m with s - 1 states, then the first m with s states" (n - 1 for one state, 0 for n < 2).

The NumPy references below and the runtime's `stage::checkpoint_*` (runtime_cpp/stage/
checkpoint.h) are the same integer algorithm; `reversal_cost` counts what a schedule recomputes.
"""
import numpy as np

from ..types import TensorType
from . import NONDIFF, OpDef, shape_error

CAP = 1 << 62


def capacity(s: int, r: int) -> int:
    """beta(s, r) = C(s + r, s), saturating at 2**62; 0 for negative arguments."""
    if s < 0 or r < 0:
        return 0
    b = 1
    for i in range(1, r + 1):
        if b > CAP // (s + i):
            return CAP
        b = b * (s + i) // i
    return b


def split(n: int, s: int) -> int:
    """The optimal first checkpoint for reversing n steps with s stored states (see the module)."""
    if n < 2:
        return 0
    if s <= 1:
        return n - 1
    r, b, b1, b2 = 0, 1, 0, 0
    while b < n:
        r += 1
        b2, b1 = b1, b
        b = CAP if b > CAP // (s + r) else b * (s + r) // r
    lo = max(1, b2, n - (b - b1))
    hi = min(b1, n - (b1 - b2))
    return min(max(hi, lo), n - 1)


def repetitions(n: int, s: int) -> int:
    """The smallest r with beta(s, r) >= n: how often the binomial schedule recomputes a step."""
    r = 0
    while capacity(s, r) < n:
        r += 1
    return r


def reversal_cost(n: int, s: int) -> int:
    """Forward steps recomputed when reversing n steps with s states (the start's included) by the
    binomial schedule: r * n - beta(s + 1, r - 1) for s >= 2, n (n - 1) / 2 for s = 1."""
    if n < 2:
        return 0
    if s <= 1:
        return n * (n - 1) // 2
    r = repetitions(n, s)
    return r * n - capacity(s + 1, r - 1)


def _int_infer(name):
    def infer(ts):
        for t in ts:
            if not isinstance(t, TensorType) or t.dtype != "int64":
                raise shape_error(name, "needs int64 arguments", *ts)
        try:
            shape = np.broadcast_shapes(*[t.shape for t in ts])
        except ValueError:
            raise shape_error(name, "shapes cannot be broadcast together", *ts) from None
        return TensorType("int64", tuple(shape))
    return infer


def _vectorised(f):
    def ref(a, b):
        return np.vectorize(lambda x, y: f(int(x), int(y)), otypes=[np.int64])(a, b)
    return ref


OpDef("checkpoint_capacity", _int_infer("checkpoint_capacity"), _vectorised(capacity),
      "elementwise", NONDIFF, nargs=2)
OpDef("checkpoint_split", _int_infer("checkpoint_split"), _vectorised(split), "elementwise",
      NONDIFF, nargs=2)


def online_cost(n: int, s: int) -> int:
    """Forward steps recomputed when a while loop of n iterations is reversed with s stored states
    by the online schedule of `stage.cps.checkpoint` (exploring forward: the first sweep counts
    too, as the trip count is unknown until it ends)."""
    if n < 1:
        return 0
    if s <= 1:
        return n + reversal_cost(n, 1)
    if n == 1:
        return 1
    cost, dist, r = 1, 1, 1                 # one step explored; a checkpoint at dist = beta(s, r - 1)
    while True:
        left, level, spent, pending = n - dist, s - 1, 0, []
        while True:                         # the nested levels of one epoch
            bound = r + 1 if level == 1 else capacity(level, r - 1)
            if left <= bound:               # the loop ends at this level
                spent += left + reversal_cost(left, level) + sum(pending)
                return cost + spent + reversal_cost(dist, s)
            spent += bound
            if level == 1:                  # capacity exhausted: the outermost level moves on
                break
            pending.append(reversal_cost(bound, level))
            left, level = left - bound, level - 1
        cost += spent
        dist, r = capacity(s, r), r + 1
