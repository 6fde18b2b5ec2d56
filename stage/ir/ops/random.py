"""Counter-based random numbers: `random_uniform(seed, counter)` is a pure function of its runtime
arguments (int64 scalars) and the static `stream`, so the draw is reproducible, CSE-safe, and the
NumPy reference and the native code agree bit for bit. A training step passes a new `counter` each
call; each call site (e.g. each dropout layer) gets its own `stream`.

Element i is mix64(key + (i + 1) * GAMMA) with key = mix64(mix64(mix64(seed) + counter) + stream)
(splitmix64's finaliser), and its top 24 (float32) or 53 (float64) bits scaled to [0, 1).
"""
import numpy as np

from ..types import FLOATS, TensorType
from . import NONDIFF, OpDef, shape_error

GAMMA = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def mix64(z):
    z = np.asarray(z, np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def _u64(v):
    return np.asarray(v).astype(np.int64).astype(np.uint64)


def _uniform_ref(seed, counter, shape, dtype, stream):
    with np.errstate(over="ignore"):
        key = mix64(mix64(mix64(_u64(seed)) + _u64(counter)) + _u64(stream))
        n = int(np.prod(shape, dtype=np.int64))
        bits = mix64(key + np.arange(1, n + 1, dtype=np.uint64) * GAMMA)
    if dtype == "float32":
        u = (bits >> np.uint64(40)).astype(np.float32) * np.float32(2.0 ** -24)
    else:
        u = (bits >> np.uint64(11)).astype(np.float64) * 2.0 ** -53
    return u.reshape(shape)


def _uniform_infer(ts, shape, dtype, stream):
    for t in ts:
        if t.shape != () or t.dtype not in ("int32", "int64"):
            raise shape_error("random_uniform", "seed and counter must be integer scalars", *ts)
    if dtype not in FLOATS:
        raise shape_error("random_uniform", f"needs a floating-point dtype, not {dtype}")
    return TensorType(dtype, tuple(shape))


OpDef("random_uniform", _uniform_infer, _uniform_ref, "general", NONDIFF, nargs=2,
      domain={"params": {"shape": (3, 4), "dtype": "float32", "stream": 0}})
